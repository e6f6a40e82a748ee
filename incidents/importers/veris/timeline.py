"""A VERIS record's timeline as dates (pure: no database).

- occurred: ``timeline.incident`` (year, month, day), as ``map._date`` reads it.
- disclosed: VCDB's ``plus.timeline.notification`` (year, month, day), as far as it is valid.
- discovered: ``timeline.discovery`` is relative (a unit, maybe a value: "2 Months"), counted
  from the compromise, itself counted from the incident (``timeline.compromise``). It becomes
  a date only as precisely as the values allow, never more: every moment the record's
  values permit is worked out (the incident's whole period; "2 Months" read as at least 2
  and less than 3 months; a unit without a value as more than one of it and less than the
  next unit: "Hours" is 1 to 24 hours), and the discovery is the day, month or year that
  holds all of them. When no single year does, or a value is Unknown, there is no date.

The record's own values are kept raw (``Incident.timeline_raw``), converted or not.
docs/importers/veris.md says the same with the counts of the real data.
"""

from __future__ import annotations

import calendar
import datetime
import math
from dataclasses import dataclass, replace

from ... import rules
from ...models import Confirmation, DatePrecision

# A unit and its length, for the arithmetic below; months and years by the calendar.
UNITS = {
    "Seconds": datetime.timedelta(seconds=1),
    "Minutes": datetime.timedelta(minutes=1),
    "Hours": datetime.timedelta(hours=1),
    "Days": datetime.timedelta(days=1),
    "Weeks": datetime.timedelta(weeks=1),
    "Months": 1,
    "Years": 12,
}
# A unit without a value: (at least, less than) as (amount, unit) pairs.
UNIT_ALONE = {
    "Seconds": ((0, "Seconds"), (1, "Minutes")),
    "Minutes": ((1, "Minutes"), (1, "Hours")),
    "Hours": ((1, "Hours"), (1, "Days")),
    "Days": ((1, "Days"), (1, "Weeks")),
    "Weeks": ((1, "Weeks"), (5, "Weeks")),
    "Months": ((1, "Months"), (1, "Years")),
}
# A compromise "not applicable" or "never" adds nothing before the discovery.
NO_TIME = {"NA", "Never"}
CONFIRMATION = {
    "Confirmed": Confirmation.CONFIRMED,
    "Suspected": Confirmation.SUSPECTED,
    "Near miss": Confirmation.NEAR_MISS,
}

Dated = tuple[datetime.date | None, str]


@dataclass(frozen=True)
class ParsedTimeline:
    occurred: Dated
    discovered: Dated
    disclosed: Dated
    raw: dict
    confirmation: str
    # What is impossible about the dates (rules.timeline_problems): the record is kept as
    # a draft, for staff to look at, and reported.
    problems: tuple[str, ...] = ()

    def dates(self) -> dict[str, Dated]:
        """rules.timeline_of's shape."""
        return {
            "occurred": self.occurred,
            "occurred_end": (None, DatePrecision.DAY),
            "discovered": self.discovered,
            "disclosed": self.disclosed,
        }

    def columns(self) -> dict:
        """The incident's timeline columns, as every writer keeps them (the dates at their
        period's first day and the lag: rules.prepare_timeline's rules)."""
        dates = self.dates()
        values = {
            f"{name}_{part}": value
            for name in ("occurred", "discovered", "disclosed")
            for part, value in zip(
                ("on", "precision"),
                (rules.date_in_period(*dates[name]), dates[name][1]),
                strict=True,
            )
        }
        return {
            **values,
            "timeline_raw": self.raw,
            "confirmation": self.confirmation,
            # No lag from an impossible timeline (a disclosure in the future).
            "disclosure_lag_days": None if self.problems else rules.disclosure_lag(dates),
        }


TIMELINE_COLUMNS = (
    *(
        f"{name}_{part}"
        for name in ("occurred", "discovered", "disclosed")
        for part in ("on", "precision")
    ),
    "timeline_raw",
    "confirmation",
    "disclosure_lag_days",
)


def parse_timeline(data: dict, occurred: Dated, warnings: list, today) -> ParsedTimeline:
    """The dates of a VERIS record (occurred: ``timeline.incident``, read by the caller),
    its raw timeline values, whether it is confirmed and what is impossible about its
    dates (a future occurred date is the caller's); what cannot be read is added to
    ``warnings``."""
    timeline = data.get("timeline") if isinstance(data.get("timeline"), dict) else {}
    plus = data.get("plus") if isinstance(data.get("plus"), dict) else {}
    plus_timeline = plus.get("timeline") if isinstance(plus.get("timeline"), dict) else {}
    raw = {}
    if timeline:
        raw["timeline"] = timeline
    if plus_timeline:
        raw["plus.timeline"] = plus_timeline
    status = data.get("security_incident")
    confirmation = CONFIRMATION.get(status, Confirmation.CONFIRMED)
    if status is not None and status not in CONFIRMATION:
        warnings.append(("security_incident", f"unknown value {status!r}: read as Confirmed"))
    parsed = ParsedTimeline(
        occurred=occurred,
        discovered=discovered_date(timeline, occurred, warnings),
        disclosed=calendar_date(
            plus_timeline.get("notification"), "plus.timeline.notification", warnings
        ),
        raw=raw,
        confirmation=confirmation,
    )
    problems = rules.timeline_problems(parsed.dates(), today)
    problems.pop("occurred", None)
    for name, message in problems.items():
        warnings.append((TIMELINE_FIELDS[name], f"{message} Kept as a draft."))
    return replace(parsed, problems=tuple(problems.values()))


TIMELINE_FIELDS = {"discovered": "timeline.discovery", "disclosed": "plus.timeline.notification"}


def calendar_date(value, field_name: str, warnings: list) -> Dated:
    """{year, month, day} as far as it is valid: a bad day leaves the month, a bad month
    the year; no valid year, no date."""
    if not isinstance(value, dict) or not value:
        return None, DatePrecision.DAY
    year, month, day = value.get("year"), value.get("month"), value.get("day")
    if not _whole(year) or not 1900 <= year <= 9999:
        warnings.append((f"{field_name}.year", f"missing or out of range: {year!r}: no date"))
        return None, DatePrecision.DAY
    if not _whole(month) or not 1 <= month <= 12:
        if month is not None:
            warnings.append((f"{field_name}.month", f"ignored: {month!r}"))
        return datetime.date(year, 1, 1), DatePrecision.YEAR
    if not _whole(day) or not 1 <= day <= calendar.monthrange(year, month)[1]:
        if day is not None:
            warnings.append((f"{field_name}.day", f"ignored: {day!r} not in {year}-{month}"))
        return datetime.date(year, month, 1), DatePrecision.MONTH
    return datetime.date(year, month, day), DatePrecision.DAY


def discovered_date(timeline: dict, occurred: Dated, warnings: list) -> Dated:
    """``timeline.discovery`` after ``timeline.compromise`` after the incident, as a date
    no more precise than they allow (the module's docstring); (None, day) when it is not."""
    discovery = timeline.get("discovery")
    start, precision = occurred
    if not isinstance(discovery, dict) or start is None:
        return None, DatePrecision.DAY
    compromise = timeline.get("compromise")
    spans = [span(discovery, "timeline.discovery", warnings)]
    if isinstance(compromise, dict) and compromise.get("unit") not in NO_TIME:
        spans.append(span(compromise, "timeline.compromise", warnings))
    if None in spans:
        return None, DatePrecision.DAY
    first_day, last_day = rules.period(start, precision)
    first = datetime.datetime.combine(first_day, datetime.time())
    end = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time())
    try:
        for least, below in spans:
            first, end = shift(first, *least), shift(end, *below)
    except OverflowError:
        return None, DatePrecision.DAY
    return narrowest(first.date(), (end - datetime.timedelta(microseconds=1)).date())


def span(value: dict, field_name: str, warnings: list):
    """((amount, unit) at least, (amount, unit) less than) of a VERIS duration; None when
    it says nothing (Unknown, NA, Never, no unit, Years without a value, a bad value)."""
    unit, amount = value.get("unit"), value.get("value")
    if unit not in UNITS:
        if unit not in (None, "Unknown", "NA", "Never"):
            warnings.append((f"{field_name}.unit", f"unknown value {unit!r}: no date"))
        return None
    if amount is None:
        return UNIT_ALONE.get(unit)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount < 1e5:
        warnings.append((f"{field_name}.value", f"ignored: {amount!r}: no date"))
        return None
    return (amount, unit), (amount + 1, unit)


def shift(moment: datetime.datetime, amount, unit: str) -> datetime.datetime:
    step = UNITS[unit]
    if isinstance(step, datetime.timedelta):
        return moment + amount * step
    months = moment.month - 1 + math.floor(amount * step)
    year, month = moment.year + months // 12, months % 12 + 1
    if year > 9999:
        return datetime.datetime.max
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def narrowest(first: datetime.date, last: datetime.date) -> Dated:
    """The day, month or year holding both dates; (None, day) if no year does."""
    if first == last:
        return first, DatePrecision.DAY
    if (first.year, first.month) == (last.year, last.month):
        return first.replace(day=1), DatePrecision.MONTH
    if first.year == last.year:
        return first.replace(month=1, day=1), DatePrecision.YEAR
    return None, DatePrecision.DAY


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
