"""A victim's or a threat actor's incidents on a time axis, drawn as server-rendered SVG.

One row per year (oldest first), January to December across it. Each incident is drawn
as far as its date is known, never more: a dot on its day, a bar over its month, a
dashed band over the whole year when only the year is known (never a dot on 1 January).
A long history (more than ``MARKS`` incidents, or too many at once to tell apart) is
drawn as counts instead: per year, a cell per month and a band for the incidents known
only to the year, from one aggregate query.

``build`` selects (at most two queries: the first ``MARKS + 1`` incidents, then the
counts if there are more), ``drawing`` works out the geometry for
templates/incidents/includes/_timeline.html, with presentation attributes only (the CSP
allows no inline styles). The caller decides who may see which incidents: the view hands
in ``Incident.objects.visible_to(user)`` narrowed to a victim (anyone) or to an actor
(members only).
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils.text import Truncator

from ..filters import encode
from ..models import DatePrecision, format_incident_date, incident_date_iso
from .charts import BLUE, EMPTY_CELL, INK

MIN_INCIDENTS = 2  # fewer is no history: the pages draw no timeline
MARKS = 50  # incidents drawn one by one; more are counted per month and year
MAX_LANES = 4  # marks side by side in one year's row; more and the history is counted
TITLE_WORDS = 14

# Geometry (SVG user units; the drawing scales down to a phone's width).
WIDTH = 360
LEFT = 44  # the year labels
RIGHT = 8
PLOT = WIDTH - LEFT - RIGHT
MONTH_W = PLOT / 12
HEAD = 20  # the month initials
LANE = 16
DOT_R = 4.5
BAR_H = 8
ROW_PAD = 8
CELL_H = 20


@dataclass(frozen=True)
class Mark:
    """One incident: what any viewer of the page may read of it."""

    url: str
    title: str
    date: datetime.date
    precision: str
    date_display: str
    date_iso: str


@dataclass(frozen=True)
class YearCount:
    year: int
    months: tuple[int, ...]  # January to December: incidents whose month is known
    year_only: int  # incidents known only to the year

    @property
    def total(self) -> int:
        return sum(self.months) + self.year_only


@dataclass(frozen=True)
class Timeline:
    total: int
    marks: tuple[Mark, ...] = ()  # every incident, oldest first (when not grouped)
    years: tuple[YearCount, ...] = ()  # every year from the first to the last (grouped)
    finder_params: tuple[tuple[str, str], ...] = ()  # the finder filter of these incidents

    @property
    def grouped(self) -> bool:
        return bool(self.years)


def build(incidents, *, title: str, finder_params: dict) -> Timeline:
    """The timeline of ``incidents`` (already limited to what the viewer may see).

    ``title`` names each incident: "summary" (a victim's page) or "victim" (an actor's).
    ``finder_params`` is the finder's filter that lists the same incidents, for the
    links of a grouped timeline.
    """
    rows = list(incidents.for_timeline()[: MARKS + 1])
    params = tuple(finder_params.items())
    if len(rows) <= MARKS:
        marks = tuple(_mark(incident, title) for incident in rows)
        if max(_lanes_per_year(marks).values(), default=0) <= MAX_LANES:
            return Timeline(len(marks), marks=marks, finder_params=params)
        counts = _count_marks(marks)
    else:
        counts = (
            incidents.order_by()
            .annotate(year=ExtractYear("date"), month=ExtractMonth("date"))
            .values_list("year", "month", "date_precision")
            .annotate(n=Count("pk"))
        )
    return _grouped(counts, params)


def _mark(incident, title) -> Mark:
    if title == "victim":
        text = incident.organisation.name
    else:
        text = Truncator(incident.summary).words(TITLE_WORDS) or incident.organisation.name
    if incident.status != incident.Status.PUBLISHED:
        text += " (draft)"
    return Mark(
        url=incident.get_absolute_url(),
        title=text,
        date=incident.date,
        precision=incident.date_precision,
        date_display=format_incident_date(incident.date, incident.date_precision),
        date_iso=incident_date_iso(incident.date, incident.date_precision),
    )


def _count_marks(marks):
    counts = defaultdict(int)
    for mark in marks:
        counts[mark.date.year, mark.date.month, mark.precision] += 1
    return [(*key, n) for key, n in counts.items()]


def _grouped(counts, params) -> Timeline:
    months, year_only = defaultdict(lambda: [0] * 12), defaultdict(int)
    for year, month, precision, n in counts:
        if precision == DatePrecision.YEAR:
            year_only[year] += n
        else:
            months[year][month - 1] += n
    known = set(months) | set(year_only)
    years = tuple(
        YearCount(year, tuple(months[year]) if year in months else (0,) * 12, year_only[year])
        for year in range(min(known), max(known) + 1)
    )
    return Timeline(sum(y.total for y in years), years=years, finder_params=params)


# Geometry.


def _span(mark) -> tuple[float, float]:
    """Where ``mark`` lies across its year's row, from January's left edge."""
    month = mark.date.month - 1
    if mark.precision == DatePrecision.YEAR:
        return 0.0, PLOT
    if mark.precision == DatePrecision.MONTH:
        return month * MONTH_W, (month + 1) * MONTH_W
    days = calendar.monthrange(mark.date.year, mark.date.month)[1]
    centre = month * MONTH_W + (mark.date.day - 0.5) / days * MONTH_W
    return centre - DOT_R, centre + DOT_R


def _lanes(marks) -> list[int]:
    """A lane for each of one year's ``marks`` (in order), so that none overlaps another."""
    ends: list[float] = []
    lanes = []
    for mark in marks:
        start, end = _span(mark)
        lane = next((i for i, last in enumerate(ends) if last + 2 <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = end
        lanes.append(lane)
    return lanes


def _by_year(marks) -> dict[int, list[Mark]]:
    years = defaultdict(list)
    for mark in sorted(marks, key=lambda m: (_span(m)[0], m.date)):
        years[mark.date.year].append(mark)
    return years


def _lanes_per_year(marks) -> dict[int, int]:
    return {year: max(_lanes(ms)) + 1 for year, ms in _by_year(marks).items()}


def _heads():
    return [
        {"x": f"{LEFT + (m + 0.5) * MONTH_W:.1f}", "label": calendar.month_abbr[m + 1][0]}
        for m in range(12)
    ]


def drawing(timeline: Timeline, finder_url: str) -> dict | None:
    """What _timeline.html draws; None when there is nothing to draw."""
    if not timeline.total:
        return None
    if timeline.grouped:
        return _grouped_drawing(timeline, finder_url)
    by_year = _by_year(timeline.marks)
    years = range(min(by_year), max(by_year) + 1)
    rows, marks, y = [], [], HEAD
    for year in years:
        year_marks = by_year.get(year, [])
        lanes = _lanes(year_marks)
        height = (max(lanes) + 1 if lanes else 1) * LANE + ROW_PAD
        rows.append(_row(year, y, height))
        for mark, lane in zip(year_marks, lanes, strict=True):
            start, end = _span(mark)
            centre_y = y + ROW_PAD / 2 + lane * LANE + LANE / 2
            marks.append(
                {
                    "mark": mark,
                    "shape": mark.precision,
                    "x": f"{LEFT + start:.1f}",
                    "y": f"{centre_y - BAR_H / 2:.1f}",
                    "width": f"{end - start:.1f}",
                    "cx": f"{LEFT + (start + end) / 2:.1f}",
                    "cy": f"{centre_y:.1f}",
                }
            )
        y += height
    return {
        "grouped": False,
        "width": WIDTH,
        "height": y + 2,
        "rows": rows,
        "marks": marks,
        "heads": _heads(),
        "fill": BLUE,
        "r": DOT_R,
        "bar_h": BAR_H,
        "gridlines": _gridlines(HEAD, y),
        **_axes(),
    }


def _axes():
    return {"left": LEFT, "label_x": LEFT - 6, "right_x": WIDTH - RIGHT}


def _row(year, y, height):
    return {
        "year": year,
        "y": f"{y:.1f}",
        "label_y": f"{y + height / 2 + 4:.1f}",
        "line_y": f"{y + height:.1f}",
    }


def _gridlines(top, bottom):
    return [{"x": f"{LEFT + m * MONTH_W:.1f}", "y1": top, "y2": f"{bottom:.1f}"} for m in range(13)]


def _grouped_drawing(timeline: Timeline, finder_url: str) -> dict:
    params = dict(timeline.finder_params)
    top = max((n for year in timeline.years for n in year.months), default=0)
    top_year_only = max((year.year_only for year in timeline.years), default=0)
    rows, cells, bands, y = [], [], [], HEAD
    for year in timeline.years:
        height = CELL_H + (LANE + 2 if year.year_only else 0) + ROW_PAD
        rows.append(_row(year.year, y, height))
        cell_y = y + ROW_PAD / 2
        for m, n in enumerate(year.months):
            start = datetime.date(year.year, m + 1, 1)
            end = datetime.date(year.year, m + 1, calendar.monthrange(year.year, m + 1)[1])
            query = encode(params, date_from=start.isoformat(), date_to=end.isoformat())
            strength = n / top if top else 0
            cells.append(
                {
                    "x": f"{LEFT + m * MONTH_W + 1:.1f}",
                    "y": f"{cell_y:.1f}",
                    "text_x": f"{LEFT + (m + 0.5) * MONTH_W:.1f}",
                    "text_y": f"{cell_y + CELL_H / 2 + 4:.1f}",
                    "fill": BLUE if n else EMPTY_CELL,
                    "opacity": f"{0.15 + 0.85 * strength:.2f}" if n else "1",
                    "text_fill": "#ffffff" if strength > 0.5 else INK,
                    "value": n,
                    "href": f"{finder_url}?{query}" if n else "",
                    "name": f"{calendar.month_name[m + 1]} {year.year}: {_incidents(n)}",
                }
            )
        if year.year_only:
            band_y = cell_y + CELL_H + 2
            strength = year.year_only / top_year_only
            bands.append(
                {
                    "x": f"{LEFT + 1:.1f}",
                    "y": f"{band_y:.1f}",
                    "width": f"{PLOT - 2:.1f}",
                    "height": LANE - 2,
                    "opacity": f"{0.1 + 0.3 * strength:.2f}",
                    "text_x": f"{LEFT + PLOT / 2:.1f}",
                    "text_y": f"{band_y + LANE / 2 + 2:.1f}",
                    "text": f"{_incidents(year.year_only)} known only to the year",
                    "href": f"{finder_url}?{encode(params, year=year.year)}",
                }
            )
        y += height
    return {
        "grouped": True,
        "width": WIDTH,
        "height": y + 2,
        "rows": rows,
        "cells": cells,
        "bands": bands,
        "heads": _heads(),
        "cell_w": f"{MONTH_W - 2:.1f}",
        "cell_h": CELL_H,
        "fill": BLUE,
        "gridlines": [],
        "table": [
            {
                "year": year.year,
                "total": year.total,
                "year_only": year.year_only,
                "href": f"{finder_url}?{encode(params, year=year.year)}" if year.total else "",
            }
            for year in timeline.years
        ],
        **_axes(),
    }


def _incidents(n) -> str:
    return f"{n} incident{'s' if n != 1 else ''}"
