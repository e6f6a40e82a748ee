"""Mapping one VERIS record to what the catalogue holds (pure: no database).

The field-by-field mapping, with what is dropped and why, is documented in
docs/importers/veris.md.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django_countries import countries

from ... import services
from ...models import DatePrecision, Impact
from .read import RawRecord

UNKNOWN_VALUES = {"", "unknown", "other", "na", "not applicable"}

# VERIS motive -> portal motive slug (the portal's motives are VERIS's). "Unknown" and "NA"
# say nothing and are dropped.
MOTIVES = {name: slug for slug, name in services.MOTIVES.items()}

# (VERIS actor category, variety) -> portal actor type slug; "*" is the category default.
ACTOR_TYPES = {
    ("external", "Nation-state"): "nation-state",
    ("external", "State-affiliated"): "nation-state",
    ("external", "Organized crime"): "criminal-group",
    ("external", "Activist"): "hacktivist",
    ("external", "Terrorist"): "terrorist",
    ("external", "Competitor"): "competitor",
    ("external", "Unaffiliated"): "lone-actor",
    ("external", "Former employee"): "insider",
    ("external", "*"): "unknown",
    ("internal", "*"): "insider",
    ("partner", "*"): "partner",
    ("unknown", "*"): "unknown",
}
# NAICS code prefix -> portal sector (longest prefix wins); see docs/importers/veris.md.
NAICS_SECTORS = {
    "11": "agriculture",
    "21": "energy",
    "22": "energy",
    "23": "construction",
    "31": "manufacturing",
    "32": "manufacturing",
    "33": "manufacturing",
    "3364": "defence",
    "42": "retail",
    "44": "retail",
    "45": "retail",
    "48": "transportation",
    "49": "transportation",
    "51": "technology",
    "511": "media",
    "512": "media",
    "515": "media",
    "516": "media",
    "517": "telecommunications",
    "519": "media",
    "52": "finance",
    "53": "real-estate",
    "54": "professional-services",
    "5415": "technology",
    "55": "professional-services",
    "56": "professional-services",
    "61": "education",
    "62": "healthcare",
    "71": "hospitality",
    "72": "hospitality",
    "81": "other-services",
    "813": "non-profit",
    "92": "government",
    "928": "defence",
}
# A VERIS variety that maps to more ATT&CK techniques than this is too unspecific to tag.
MAX_TECHNIQUES_PER_VARIETY = 8

URL_RE = re.compile(r"https?://[^\s;,<>\"']+", re.IGNORECASE)
SUMMARY_LIMIT = 1000


class RecordError(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class ParsedIncident:
    external_id: str
    where: str
    victim: str
    org_country: str
    country: str
    sector: str | None
    date: datetime.date
    precision: str
    summary: str
    description: str
    records_affected: int | None
    cia: tuple[str, str, str, str]
    motives: set[str] = field(default_factory=set)
    actors: set[tuple[str, str, str]] = field(default_factory=set)
    techniques: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def parse_record(raw: RawRecord, technique_map: dict[str, set[str]] | None = None):
    """Map one VERIS record to a ParsedIncident, or raise RecordError(field, message)."""
    if raw.data is None:
        raise RecordError("-", raw.error)
    data = raw.data
    if not isinstance(data, dict):
        raise RecordError("-", "a VERIS record must be a JSON object")
    if not raw.external_id:
        raise RecordError("incident_id", "missing: the record has no key")
    warnings: list[tuple[str, str]] = []

    victim = _dict(data, "victim")
    victim_name = victim.get("victim_id")
    if isinstance(victim_name, list):
        victim_name = victim_name[0] if victim_name else ""
    victim_name = " ".join(services.clean_text(str(victim_name or "")).split())[:200]
    victim_countries = [c for c in _list(victim.get("country")) if _country(c)]
    country = _country(victim_countries[0]) if victim_countries else ""
    if not victim_name or victim_name.lower() in UNKNOWN_VALUES:
        where = countries.name(country) if country else "unknown country"
        victim_name = f"Unidentified organisation ({where})"

    date, precision = _date(_dict(_dict(data, "timeline"), "incident"), warnings)
    summary = " ".join(services.clean_text(str(data.get("summary") or "")).split())
    description = services.clean_text(str(data.get("notes") or "")).strip()
    if len(summary) > SUMMARY_LIMIT:
        description = (summary + ("\n\n" + description if description else "")).strip()
        summary = summary[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    if not summary:
        summary = f"Security incident affecting {victim_name}, coded in VERIS."

    attribute = _dict(data, "attribute")
    records = _dict(attribute, "confidentiality").get("data_total")
    if records is not None and (
        not isinstance(records, int) or isinstance(records, bool) or not 0 <= records < 2**63
    ):
        warnings.append(("attribute.confidentiality.data_total", f"ignored: {records!r}"))
        records = None

    parsed = ParsedIncident(
        external_id=raw.external_id,
        where=raw.where,
        victim=victim_name,
        org_country=country,
        country=country,
        sector=_sector(victim.get("industry")),
        date=date,
        precision=precision,
        summary=summary,
        description=description,
        records_affected=records,
        cia=_cia(attribute),
        sources=_urls(data.get("reference")),
        warnings=warnings,
    )
    actor = _dict(data, "actor")
    for category in ("external", "internal", "partner", "unknown"):
        if category not in actor:
            continue
        details = _dict(actor, category)
        for motive in _list(details.get("motive")):
            if motive in MOTIVES:
                parsed.motives.add(MOTIVES[motive])
        varieties = [
            services.clean_text(v) for v in _list(details.get("variety")) if isinstance(v, str)
        ] or ["Unknown"]
        actor_countries = [_country(c) for c in _list(details.get("country"))]
        actor_countries = [c for c in actor_countries if c] or [""]
        for variety in varieties[:5]:
            for actor_country in actor_countries[:5]:
                parsed.actors.add((category, variety, actor_country))
    if technique_map:
        for category, details in _dict(data, "action").items():
            if not isinstance(details, dict):
                continue
            for key in ("variety", "vector"):
                for value in _list(details.get(key)):
                    if isinstance(value, str) and value.lower() not in UNKNOWN_VALUES:
                        capability = f"action.{category}.{key}.{value}".lower()
                        parsed.techniques |= technique_map.get(capability, set())
    return parsed


def _dict(data, key):
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _country(code) -> str:
    if not isinstance(code, str):
        return ""
    code = code.strip().upper()
    return code if len(code) == 2 and code in countries else ""


def _date(timeline: dict, warnings) -> tuple[datetime.date, str]:
    year, month, day = timeline.get("year"), timeline.get("month"), timeline.get("day")
    this_year = timezone.now().year
    if not isinstance(year, int) or not 1900 <= year <= this_year + 1:
        raise RecordError("timeline.incident.year", f"missing or out of range: {year!r}")
    if not isinstance(month, int) or not 1 <= month <= 12:
        if month is not None:
            warnings.append(("timeline.incident.month", f"ignored: {month!r}"))
        if day is not None:
            warnings.append(("timeline.incident.day", "ignored: no month given"))
        return datetime.date(year, 1, 1), DatePrecision.YEAR
    if not isinstance(day, int) or not 1 <= day <= calendar.monthrange(year, month)[1]:
        if day is not None:
            warnings.append(("timeline.incident.day", f"ignored: {day!r} not in {year}-{month}"))
        return datetime.date(year, month, 1), DatePrecision.MONTH
    return datetime.date(year, month, day), DatePrecision.DAY


def _sector(industry) -> str | None:
    code = re.sub(r"\D", "", str(industry or ""))
    for length in range(min(len(code), 6), 1, -1):
        if code[:length] in NAICS_SECTORS:
            return NAICS_SECTORS[code[:length]]
    return None


def _urls(reference) -> list[str]:
    seen, urls = set(), []
    for value in _list(reference):
        for url in URL_RE.findall(services.clean_text(str(value))):
            url = url.rstrip(").]")[:1000]
            if url not in seen:
                seen.add(url)
                urls.append(url)
    return urls


def _cia(attribute: dict) -> tuple[str, str, str, str]:
    notes = []
    conf = _dict(attribute, "confidentiality")
    if "confidentiality" not in attribute:
        c = Impact.NONE
    else:
        disclosure = str(conf.get("data_disclosure") or "")
        c = {"Yes": Impact.HIGH, "Potentially": Impact.MEDIUM, "No": Impact.LOW}.get(
            disclosure, Impact.UNKNOWN
        )
        data = [
            d.get("variety")
            for d in _list(conf.get("data"))
            if isinstance(d, dict) and d.get("variety") not in (None, "Unknown")
        ]
        note = f"Confidentiality: data disclosure {disclosure or 'not stated'}"
        if data:
            note += "; data: " + ", ".join(map(str, data))
        notes.append(note + ".")
    integ = _dict(attribute, "integrity")
    if "integrity" not in attribute:
        i = Impact.NONE
    else:
        varieties = [str(v) for v in _list(integ.get("variety")) if v not in (None, "Unknown")]
        if not varieties:
            i = Impact.UNKNOWN
        elif {"Modify data", "Fraudulent transaction"} & set(varieties):
            i = Impact.HIGH
        else:
            i = Impact.MEDIUM
        if varieties:
            notes.append("Integrity: " + ", ".join(varieties) + ".")
    avail = _dict(attribute, "availability")
    if "availability" not in attribute:
        a = Impact.NONE
    else:
        varieties = {str(v) for v in _list(avail.get("variety"))}
        if varieties & {"Destruction", "Interruption", "Obscuration"}:
            a = Impact.HIGH
        elif "Loss" in varieties:
            a = Impact.MEDIUM
        elif "Degradation" in varieties:
            a = Impact.LOW
        else:
            a = Impact.UNKNOWN
        known = sorted(varieties - {"Unknown", "Other"})
        if known:
            notes.append("Availability: " + ", ".join(known) + ".")
    return c, i, a, " ".join(notes)


def load_technique_map(path: str | Path) -> dict[str, set[str]]:
    """VERIS capability id (lower case) -> ATT&CK technique ids, from a published mapping CSV.

    Sub-techniques are reduced to their technique (VERIS is not that precise), and
    varieties that map to more than MAX_TECHNIQUES_PER_VARIETY techniques are left out.
    """
    mapping: dict[str, set[str]] = defaultdict(set)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("mapping_type") != "related-to" or not row.get("attack_object_id"):
                continue
            capability = row["capability_id"].strip().lower()
            if capability.startswith("action."):
                mapping[capability].add(row["attack_object_id"].split(".")[0])
    return {k: v for k, v in mapping.items() if len(v) <= MAX_TECHNIQUES_PER_VARIETY}


def actor_name(category: str, variety: str, country: str) -> str:
    place = f" ({countries.name(country)})" if country else ""
    if category == "internal":
        role = "" if variety.lower() in UNKNOWN_VALUES else f": {variety.lower()}"
        return f"Unattributed insider{role}{place}"
    if category == "partner":
        return f"Unattributed partner{place}"
    if category == "unknown":
        return f"Unattributed actor of unknown kind{place}"
    if variety.lower() in UNKNOWN_VALUES:
        return f"Unattributed external actor{place}"
    return f"Unattributed {variety.lower()}{place}"
