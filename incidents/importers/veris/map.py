"""Mapping one VERIS record to what the catalogue holds (pure: no database).

The field-by-field mapping, with what is dropped and why, is documented in
docs/importers/veris.md.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django_countries import countries

from ... import rules
from ...models import DatePrecision, Impact
from .actor_names import NamedActor, read_names
from .read import RawRecord
from .references import SourceRef, reference_sources
from .timeline import ParsedTimeline, parse_timeline
from .types import incident_types

UNKNOWN_VALUES = {"", "unknown", "other", "na", "not applicable"}

# VERIS motive -> portal motive slug (the portal's motives are VERIS's). "Unknown" and "NA"
# say nothing and are dropped.
MOTIVES = {name: slug for slug, name in rules.MOTIVES.items()}

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
# NAICS code prefix -> portal sector (longest prefix wins). Reviewed for every prefix VCDB
# uses: the table, with the reasons, is in docs/importers/veris.md ("Sectors").
NAICS_SECTORS = {
    "11": "agriculture",
    "21": "energy",
    "22": "energy",
    "23": "construction",
    "31": "manufacturing",
    "32": "manufacturing",
    "33": "manufacturing",
    "42": "retail",
    "44": "retail",
    "45": "retail",
    "48": "transportation",
    "49": "transportation",
    "51": "technology",
    "511": "media",
    "5112": "technology",  # software publishers (Epic Systems, Panda Security, Viber)
    "512": "media",
    "515": "media",
    "516": "media",
    "517": "telecommunications",
    "519": "media",  # news syndicates
    "51912": "education",  # libraries and archives
    "51913": "technology",  # internet publishing and web search portals (Facebook, Google)
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
    "92811": "defence",  # national security (armed forces, defence ministries)
}
# NAICS's own sectors (two-digit codes); any other code is reported as unknown.
NAICS_TWO_DIGIT = {
    "11", "21", "22", "23", "31", "32", "33", "42", "44", "45", "48", "49", "51", "52",
    "53", "54", "55", "56", "61", "62", "71", "72", "81", "92",
}  # fmt: skip

# VERIS 1.3.7 enumerations of the fields this importer maps (verisc-enum.json); a value
# outside them is reported and read as Unknown, never turned into a new term or actor.
ACTOR_VARIETIES = {
    "external": {
        "Acquaintance", "Activist", "Auditor", "Competitor", "Customer", "Force majeure",
        "Former employee", "Nation-state", "Organized crime", "State-affiliated",
        "Terrorist", "Unaffiliated", "Other", "Unknown",
    },
    "internal": {
        "Auditor", "Call center", "Cashier", "Developer", "End-user", "Executive", "Finance",
        "Guard", "Helpdesk", "Human resources", "Maintenance", "Manager", "System admin",
        "Doctor or nurse", "Other", "Unknown",
    },
}  # fmt: skip
VERIS_MOTIVES = {*MOTIVES, "NA", "Unknown"}
DATA_DISCLOSURE = {"No", "Potentially", "Yes", "Unknown"}
INTEGRITY_VARIETIES = {
    "Alter behavior", "Created account", "Defacement", "Fraudulent transaction",
    "Hardware tampering", "Log tampering", "Misrepresentation", "Modify configuration",
    "Modify data", "Modify privileges", "Repurpose", "Software installation", "Other", "Unknown",
}  # fmt: skip
AVAILABILITY_VARIETIES = {
    "Acceleration", "Degradation", "Destruction", "Interruption", "Loss", "Obscuration",
    "Other", "Unknown",
}  # fmt: skip
COUNTRY_PLACEHOLDERS = {"Unknown", "Other"}
# A VERIS variety that maps to more ATT&CK techniques than this is too unspecific to tag.
MAX_TECHNIQUES_PER_VARIETY = 8


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
    # The victim's state or province (``victim.state``); organisations are told apart by
    # it. Resolved with the rest of the batch (write.resolve_victims), as org_country is.
    org_state: str
    country: str
    sector: str | None
    date: datetime.date
    precision: str
    summary: str
    description: str
    records_affected: int | None
    cia: tuple[str, str, str, str]
    is_placeholder_victim: bool = False
    is_future: bool = False
    motives: set[str] = field(default_factory=set)
    actors: set[tuple[str, str, str]] = field(default_factory=set)
    # Each actor the record names (``actor.*.name``) that is one threat actor (actor_names).
    named_actors: set[NamedActor] = field(default_factory=set)
    # Incident type slugs the record implies (importers/veris/types.py).
    types: set[str] = field(default_factory=set)
    techniques: set[str] = field(default_factory=set)
    # ATT&CK id -> the VERIS enumerations that mapped to it ("action.malware.variety.Ransomware").
    derived_from: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    sources: list[SourceRef] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    # Occurred (the date above), discovered, disclosed, the raw values, confirmation.
    timeline: ParsedTimeline | None = None

    @property
    def held(self) -> bool:
        """Kept as a draft: dated in the future, or its timeline is impossible."""
        return self.is_future or bool(self.timeline and self.timeline.problems)


def parse_record(
    raw: RawRecord, technique_map: dict[str, set[str]] | None = None, *, today=None
) -> ParsedIncident:
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
    victim_name = " ".join(rules.clean_text(str(victim_name or "")).split())[:200]
    victim_countries = _countries(victim.get("country"), "victim.country", warnings)
    country = victim_countries[0] if victim_countries else ""
    placeholder = not victim_name or victim_name.lower() in UNKNOWN_VALUES
    if placeholder:
        where = countries.name(country) if country else "unknown country"
        victim_name = f"Unidentified organisation ({where})"

    date, precision = _date(_dict(_dict(data, "timeline"), "incident"), warnings)
    today = today or timezone.localdate()
    is_future = date > today
    if is_future:
        warnings.append(
            ("timeline.incident", f"{date.isoformat()} is in the future: kept as a draft")
        )
    summary = " ".join(rules.clean_text(str(data.get("summary") or "")).split())
    description = rules.clean_text(str(data.get("notes") or "")).strip()
    if " ".join(description.split()) == summary:
        description = ""

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
        org_state="" if placeholder else rules.region_code(victim.get("state"), country),
        country=country,
        sector=_sector(victim.get("industry"), warnings),
        date=date,
        precision=precision,
        summary=summary,
        description=description,
        records_affected=records,
        cia=_cia(attribute, warnings),
        is_placeholder_victim=placeholder,
        is_future=is_future,
        sources=reference_sources(data.get("reference")),
        warnings=warnings,
        timeline=parse_timeline(data, (date, precision), warnings, today),
        types=incident_types(data),
    )
    actor = _dict(data, "actor")
    for category in ("external", "internal", "partner", "unknown"):
        if category not in actor:
            continue
        details = _dict(actor, category)
        for motive in _list(details.get("motive")):
            if motive in MOTIVES:
                parsed.motives.add(MOTIVES[motive])
            elif motive not in VERIS_MOTIVES:
                warnings.append((f"actor.{category}.motive", f"unknown value {motive!r}: ignored"))
        varieties = _varieties(category, details.get("variety"), warnings) or ["Unknown"]
        actor_countries = _countries(details.get("country"), f"actor.{category}.country", warnings)
        for variety in varieties[:5]:
            for actor_country in (actor_countries or [""])[:5]:
                parsed.actors.add((category, variety, actor_country))
        parsed.named_actors |= read_names(
            details, category, varieties, actor_countries, ACTOR_TYPES, warnings
        )
    if technique_map:
        for category, details in _dict(data, "action").items():
            if not isinstance(details, dict):
                continue
            for key in ("variety", "vector"):
                for value in _list(details.get(key)):
                    if isinstance(value, str) and value.lower() not in UNKNOWN_VALUES:
                        enumeration = rules.clean_text(f"action.{category}.{key}.{value}")
                        for technique in technique_map.get(enumeration.lower(), ()):
                            parsed.techniques.add(technique)
                            parsed.derived_from[technique].add(enumeration)
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
    return code if code in _country_codes() else ""


@functools.cache
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries)


def _countries(values, field_name, warnings) -> list[str]:
    """The ISO codes among ``values``; anything but a code or Unknown/Other is reported."""
    codes = []
    for value in _list(values):
        code = _country(value)
        if code:
            codes.append(code)
        elif value not in COUNTRY_PLACEHOLDERS:
            warnings.append((field_name, f"unknown value {value!r}: ignored"))
    return codes


def _varieties(category, values, warnings) -> list[str]:
    known = ACTOR_VARIETIES.get(category)
    varieties = []
    for value in _list(values):
        value = rules.clean_text(value) if isinstance(value, str) else value
        if known is None or value in known:
            if isinstance(value, str):
                varieties.append(value)
            continue
        warnings.append((f"actor.{category}.variety", f"unknown value {value!r}: read as Unknown"))
        varieties.append("Unknown")
    return list(dict.fromkeys(varieties))


def _date(timeline: dict, warnings) -> tuple[datetime.date, str]:
    year, month, day = timeline.get("year"), timeline.get("month"), timeline.get("day")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9999:
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


def _sector(industry, warnings=None) -> str | None:
    if industry is None or industry == "":
        return None
    rule = naics_rule(industry)
    if rule is None:
        if warnings is not None and str(industry).strip("0 "):
            warnings.append(("victim.industry", f"unknown NAICS code {industry!r}: no sector"))
        return None
    return rule[1]


def naics_rule(industry) -> tuple[str, str] | None:
    """(the NAICS_SECTORS prefix that decides, sector) for a NAICS code; None for a code
    that is not NAICS ("000", "Unknown", "432")."""
    text = str(industry).strip()
    # "48-49" is NAICS's own name for the transportation sector.
    code = "48" if text == "48-49" else text
    if not code.isdigit() or code[:2] not in NAICS_TWO_DIGIT:
        return None
    for length in range(min(len(code), 6), 1, -1):
        if code[:length] in NAICS_SECTORS:
            return code[:length], NAICS_SECTORS[code[:length]]
    return None


def _cia(attribute: dict, warnings=None) -> tuple[str, str, str, str]:
    warnings = [] if warnings is None else warnings
    notes = []
    conf = _dict(attribute, "confidentiality")
    if "confidentiality" not in attribute:
        c = Impact.NONE
    else:
        disclosure = str(conf.get("data_disclosure") or "")
        if disclosure and disclosure not in DATA_DISCLOSURE:
            warnings.append(
                ("attribute.confidentiality.data_disclosure", f"unknown value {disclosure!r}")
            )
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
        for value in varieties:
            if value not in INTEGRITY_VARIETIES:
                warnings.append(("attribute.integrity.variety", f"unknown value {value!r}"))
        varieties = [v for v in varieties if v in INTEGRITY_VARIETIES]
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
        for value in sorted(varieties - AVAILABILITY_VARIETIES):
            warnings.append(("attribute.availability.variety", f"unknown value {value!r}"))
        varieties &= AVAILABILITY_VARIETIES
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
