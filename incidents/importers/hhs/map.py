"""Mapping one row of the HHS OCR breach portal to what the catalogue holds (pure: no
database). Which cases are cyber incidents, and every field's mapping, is written down in
docs/importers/hhs.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from ... import rules
from .read import RawRow

DATASET = {
    "slug": "hhs-ocr",
    "name": "HHS OCR breach portal",
    "url": "https://ocrportal.hhs.gov/ocr/breach/breach_report.jsf",
    "licence": "Public domain (US government work, 17 U.S.C. §105)",
    "licence_url": "https://www.usa.gov/government-copyright",
    "attribution": "Breach reports filed with the U.S. Department of Health and Human "
    "Services, Office for Civil Rights, as published on its breach portal under HITECH Act "
    "§13402(e)(4); a work of the US federal government.",
}
PORTAL_URL = DATASET["url"]
PUBLISHER = "U.S. Department of Health and Human Services, Office for Civil Rights"

HACKING = "Hacking/IT Incident"
UNAUTHORIZED = "Unauthorized Access/Disclosure"
BREACH_TYPES = {HACKING, UNAUTHORIZED, "Theft", "Loss", "Improper Disposal", "Other", "Unknown"}
# Where an unauthorised access or disclosure is a cyber incident: the data was reached on
# a networked system. On paper, a laptop or a portable device it is not (misdirected
# mail, a lost device), and neither is "Other" or a desktop computer alone.
ELECTRONIC = {"Network Server", "Email", "Electronic Medical Record"}
LOCATIONS = {
    *ELECTRONIC,
    "Paper/Films",
    "Laptop",
    "Desktop Computer",
    "Other Portable Electronic Device",
    "Other",
}
# The covered entity's type -> the portal's sector: health plans are insurers (NAICS 5241,
# as VCDB codes them: finance); a business associate (a vendor: billing, IT, law) says
# nothing of its own sector.
ENTITY_SECTORS = {
    "Healthcare Provider": "healthcare",
    "Health Plan": "finance",
    "Healthcare Clearing House": "healthcare",
    "Business Associate": None,
}
MAX_RECORDS = 1_000_000_000
US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "VI",
}  # fmt: skip


class RowError(Exception):
    """A row that cannot become an incident: the column and why."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass
class ParsedCase:
    external_id: str
    where: str
    name: str  # the covered entity's name as the portal gives it (whitespace tidied)
    victim: str  # the name shown (the trade name of a "d/b/a")
    spellings: tuple[str, ...]
    state: str
    entity_type: str
    sector: str | None
    records_affected: int | None
    submitted: datetime.date
    breach_types: tuple[str, ...]
    locations: tuple[str, ...]
    business_associate: bool | None
    summary: str
    under_investigation: bool
    draft_reasons: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    # Every filing of the event when there are several (a business associate files one per
    # covered entity it serves, on one day): what each said.
    filings: tuple[dict, ...] = ()

    @property
    def keys(self) -> set[str]:
        """The victim's organisation keys, one per name it goes by."""
        return {rules.organisation_key(n) for n in self.spellings}

    def values(self) -> dict:
        """What the portal says of the case (public), kept on its record in the catalogue."""
        return {
            "name": self.name,
            "state": self.state,
            "entity_type": self.entity_type,
            "individuals_affected": self.records_affected,
            "submitted": self.submitted.isoformat(),
            "breach_type": ", ".join(self.breach_types),
            "location": ", ".join(self.locations),
            "business_associate": self.business_associate,
            "status": "under investigation" if self.under_investigation else "archive",
        } | ({"filings": list(self.filings)} if self.filings else {})

    def filing(self) -> dict:
        return {
            "individuals_affected": self.records_affected,
            "entity_type": self.entity_type,
            "breach_type": ", ".join(self.breach_types),
            "location": ", ".join(self.locations),
            "status": "under investigation" if self.under_investigation else "archive",
        }


def combine(cases: list[ParsedCase]) -> ParsedCase:
    """One event from the filings that share a key (the covered entity, its state and the
    submission date): a business associate's breach filed once per client on one day, or
    one entity's report in parts. Individuals affected are the filings' sum; the summary is
    the first narrative OCR wrote (archive rows before open ones); each filing is kept."""
    if len(cases) == 1:
        return cases[0]
    cases = sorted(cases, key=lambda c: c.under_investigation)
    first = cases[0]
    counts = [c.records_affected for c in cases if c.records_affected is not None]
    return ParsedCase(
        external_id=first.external_id,
        where=first.where,
        name=first.name,
        victim=first.victim,
        spellings=tuple(dict.fromkeys(s for c in cases for s in c.spellings)),
        state=first.state,
        entity_type=first.entity_type,
        sector=first.sector,
        records_affected=sum(counts) if counts else None,
        submitted=first.submitted,
        breach_types=tuple(dict.fromkeys(t for c in cases for t in c.breach_types)),
        locations=tuple(dict.fromkeys(loc for c in cases for loc in c.locations)),
        business_associate=any(c.business_associate for c in cases)
        if any(c.business_associate is not None for c in cases)
        else None,
        summary=next((c.summary for c in cases if c.summary), ""),
        under_investigation=all(c.under_investigation for c in cases),
        draft_reasons=[r for c in cases for r in c.draft_reasons],
        warnings=[w for c in cases for w in c.warnings],
        filings=tuple(c.filing() for c in cases),
    )


def case_key(name: str, state: str, submitted: datetime.date) -> str:
    """A case's key: the portal has no case number, so the covered entity's normalised
    name, its state and the submission date (the same in both exports, so a case that
    moves from "under investigation" to the archive keeps its key)."""
    return f"{state or '-'}:{submitted.isoformat()}:{rules.organisation_key(name)}"[:200]


def not_cyber(breach_types, locations) -> str:
    """Why a case is not a cyber incident ("" if it is): see docs/importers/hhs.md."""
    types = set(breach_types)
    if HACKING in types:
        return ""
    if UNAUTHORIZED in types:
        if ELECTRONIC & set(locations):
            return ""
        return f"{UNAUTHORIZED} not on a network server, email or EHR"
    return ", ".join(sorted(types)) or "no type of breach"


def split_values(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))


def parse_row(raw: RawRow, *, today=None) -> ParsedCase | str:
    """The case of one row; a str (why) for a case that is not a cyber incident; or
    RowError(column, message) for a row that cannot be read."""
    if raw.values is None:
        raise RowError(raw.column, raw.error)
    row = {k: rules.clean_text(v or "") for k, v in raw.values.items()}
    warnings: list[tuple[str, str]] = []
    breach_types = split_values(row["Type of Breach"])
    locations = split_values(row["Location of Breached Information"])
    for value in breach_types:
        if value not in BREACH_TYPES:
            warnings.append(("Type of Breach", f"unknown value {value!r}"))
    for value in locations:
        if value not in LOCATIONS:
            warnings.append(("Location of Breached Information", f"unknown value {value!r}"))
    reason = not_cyber(breach_types, locations)
    if reason:
        return reason

    name = " ".join(row["Name of Covered Entity"].split())[:200]
    if not name:
        raise RowError("Name of Covered Entity", "empty: no victim to file the case under")
    victim, spellings = rules.victim_names(name)
    state = row["State"].strip().upper()
    if state and state not in US_STATES:
        warnings.append(("State", f"unknown value {state!r}: ignored"))
        state = ""
    submitted = _date(row["Breach Submission Date"])
    draft_reasons = []
    today = today or timezone.localdate()
    if submitted > today:
        draft_reasons.append(f"Breach Submission Date: {submitted.isoformat()} is in the future")
    records, problem = _count(row["Individuals Affected"])
    if problem:
        draft_reasons.append(f"Individuals Affected: {problem}")
    entity_type = " ".join(row["Covered Entity Type"].split())
    if entity_type and entity_type not in ENTITY_SECTORS:
        warnings.append(("Covered Entity Type", f"unknown value {entity_type!r}: no sector"))
    present = row["Business Associate Present"].strip().lower()
    business_associate = {"yes": True, "no": False}.get(present)
    if present and business_associate is None:
        warnings.append(("Business Associate Present", f"unknown value {present!r}"))
    return ParsedCase(
        external_id=case_key(name, state, submitted),
        where=raw.where,
        name=name,
        victim=victim[:200],
        spellings=tuple(s[:200] for s in spellings),
        state=state,
        entity_type=entity_type,
        sector=ENTITY_SECTORS.get(entity_type),
        records_affected=records,
        submitted=submitted,
        breach_types=breach_types,
        locations=locations,
        business_associate=business_associate,
        # OCR's narrative as it wrote it: only control characters and the whitespace
        # around it are taken out.
        summary=row.get("Web Description", "").strip(),
        under_investigation=raw.under_investigation,
        draft_reasons=draft_reasons,
        warnings=warnings,
    )


def _date(text: str) -> datetime.date:
    text = text.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            value = datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if value.year < 1990:
            raise RowError("Breach Submission Date", f"{text!r} is before the portal existed")
        return value
    raise RowError("Breach Submission Date", f"not a date (MM/DD/YYYY): {text!r}")


def _count(text: str) -> tuple[int | None, str]:
    """(individuals affected, a problem that keeps the incident a draft)."""
    text = text.strip().replace(",", "")
    if not text:
        return None, ""
    try:
        value = int(text)
    except ValueError:
        raise RowError("Individuals Affected", f"not a number: {text!r}") from None
    if value < 0:
        return None, f"{value} is negative: not kept"
    if value > MAX_RECORDS:
        return None, f"{value} is over {MAX_RECORDS:,}: not kept"
    return value, ""
