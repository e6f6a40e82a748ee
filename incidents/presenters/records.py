"""What each dataset says of an incident (public): the facts its record gives, labelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..models import DatePrecision, format_incident_date


@dataclass(frozen=True)
class RecordView:
    dataset: str
    dataset_url: str
    licence: str
    licence_url: str
    attribution: str
    external_id: str
    facts: tuple[tuple[str, str], ...]
    summary: str  # the dataset's own narrative, where it differs from the incident's


# The values a dataset's record may show, with their labels: an allow-list (a value a
# record holds that is not named here is not shown).
RECORD_FACTS = (
    ("name", "Victim as named"),
    ("state", "State"),
    ("entity_type", "Entity type"),
    ("individuals_affected", "Individuals affected"),
    ("submitted", "Filed with the regulator"),
    ("breach_type", "Type of breach"),
    ("location", "Location of breached information"),
    ("business_associate", "Business associate involved"),
    ("status", "Case status"),
)


def record_view(record, incident_summary: str) -> RecordView:
    values = record.values if isinstance(record.values, dict) else {}
    facts = []
    for key, label in RECORD_FACTS:
        value = values.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "Yes" if value else "No"
        elif isinstance(value, int):
            value = f"{value:,}"
        elif key == "submitted":
            value = format_incident_date(date.fromisoformat(value), DatePrecision.DAY)
        facts.append((label, str(value)))
    summary = str(values.get("summary") or "")
    d = record.dataset
    return RecordView(
        d.name,
        d.url,
        d.licence,
        d.licence_url,
        d.attribution,
        record.external_id,
        tuple(facts),
        "" if summary == incident_summary else summary,
    )
