"""An incident's timeline as anyone sees it (public, DESIGN.md): when it occurred, was
discovered and was disclosed, each as far as it is known with its source, the disclosure
lag, and whether the source confirms the incident happened."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..models import Confirmation, format_incident_date, incident_date_iso
from ..rules import DatePrecision

# How VERIS's relative discovery reads when it could not become a date.
VERIS_UNITS = {
    "Seconds": "seconds",
    "Minutes": "minutes",
    "Hours": "hours",
    "Days": "days",
    "Weeks": "weeks",
    "Months": "months",
    "Years": "years",
}


@dataclass(frozen=True)
class TimelineEntry:
    label: str
    display: str  # "20 Nov 2019", "Nov 2019 – Jan 2020", or "Not known"
    iso: str  # for <time datetime>; empty when not known
    source_url: str = ""
    note: str = ""  # what the dataset said, where it is not (only) a date

    @property
    def known(self) -> bool:
        return bool(self.iso)


@dataclass(frozen=True)
class TimelineView:
    entries: tuple[TimelineEntry, ...]
    lag_days: int | None
    lag_from: str  # "occurred" or "discovered"
    confirmation: str
    confirmation_display: str

    @property
    def is_confirmed(self) -> bool:
        return self.confirmation == Confirmation.CONFIRMED

    @property
    def any_known(self) -> bool:
        return any(e.known for e in self.entries)


def timeline_view(incident) -> TimelineView:
    """``incident`` from for_public_detail() (or any query loading PUBLIC_TIMELINE_FIELDS)."""
    occurred = _entry("Occurred", incident.occurred_on, incident.occurred_precision)
    if incident.occurred_end_on is not None and occurred.known:
        end = format_incident_date(incident.occurred_end_on, incident.occurred_end_precision)
        occurred = TimelineEntry("Occurred", f"{occurred.display} – {end}", occurred.iso)
    entries = (
        replace(occurred, source_url=incident.occurred_source if occurred.known else ""),
        _entry(
            "Discovered",
            incident.discovered_on,
            incident.discovered_precision,
            incident.discovered_source,
            _veris_discovery(incident.timeline_raw),
        ),
        _entry(
            "Disclosed",
            incident.disclosed_on,
            incident.disclosed_precision,
            incident.disclosed_source,
        ),
    )
    from_occurred = incident.occurred_on and incident.occurred_precision == DatePrecision.DAY
    return TimelineView(
        entries=entries,
        lag_days=incident.disclosure_lag_days,
        lag_from="occurred" if from_occurred else "discovered",
        confirmation=incident.confirmation,
        confirmation_display=Confirmation(incident.confirmation).label,
    )


def _entry(label, value, precision, source="", note="") -> TimelineEntry:
    if value is None:
        return TimelineEntry(label, "Not known", "", "", note)
    return TimelineEntry(
        label,
        format_incident_date(value, precision),
        incident_date_iso(value, precision),
        source,
        note,
    )


def _veris_discovery(raw) -> str:
    """ "The VERIS record: 2 months after the compromise" from the raw timeline values."""
    timeline = raw.get("timeline") if isinstance(raw, dict) else None
    discovery = timeline.get("discovery") if isinstance(timeline, dict) else None
    if not isinstance(discovery, dict) or discovery.get("unit") not in VERIS_UNITS:
        return ""
    unit, value = VERIS_UNITS[discovery["unit"]], discovery.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        amount = unit.capitalize()
    else:
        amount = f"{value:g} {unit.removesuffix('s') if value == 1 else unit}"
    return f"The VERIS record: {amount} after the compromise."
