"""VERIS (VCDB) incidents into the catalogue.

Reading (``read_records``) and mapping (``parse_record``) are pure functions of
the input; ``VerisImporter`` writes a whole batch set-wise (bulk inserts and
updates per chunk) inside the caller's transaction. The field-by-field mapping,
with what is dropped and why, is documented in docs/importers/veris.md.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries import countries

from .. import services
from ..models import (
    CIAPosture,
    Dataset,
    DatePrecision,
    Impact,
    Incident,
    Organisation,
    Source,
    Technique,
    ThreatActor,
)
from .base import ImportReport

VCDB = {
    "slug": "vcdb",
    "name": "VERIS Community Database (VCDB)",
    "url": "https://github.com/vz-risk/VCDB",
    "licence": "CC BY-SA 4.0",
    "licence_url": "https://creativecommons.org/licenses/by-sa/4.0/",
    "attribution": "Incident data from the VERIS Community Database (VCDB) by the Verizon "
    "RISK Team and VCDB contributors, licensed under CC BY-SA 4.0.",
}

UNKNOWN_VALUES = {"", "unknown", "other", "na", "not applicable"}

# VERIS motive -> portal motive slug. "Unknown" and "NA" say nothing and are dropped.
MOTIVES = {
    m: m.lower()
    for m in (
        "Financial",
        "Espionage",
        "Ideology",
        "Grudge",
        "Fun",
        "Convenience",
        "Fear",
        "Secondary",
        "Other",
    )
}

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


# Reading


@dataclass
class RawRecord:
    where: str
    external_id: str
    data: dict | None
    error: str = ""


def read_records(paths: Iterable[str | Path]) -> Iterator[RawRecord]:
    """Every VERIS record in the given .json files, directories and .jsonl files."""
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".json")
            for file in files:
                yield _read_json_file(file)
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _read_jsonl(path)
        elif path.is_file():
            yield _read_json_file(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")


def _read_json_file(path: Path) -> RawRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return RawRecord(str(path), path.stem, None, f"not valid JSON ({exc})")
    return RawRecord(str(path), path.stem, data)


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    # VCDB's JSON Lines files come with NAME.source_files.txt: line N names the
    # original file of line N, the only unique key (incident_id repeats).
    names_file = path.with_name(path.name.rsplit(".", 1)[0] + ".source_files.txt")
    names = names_file.read_text().splitlines() if names_file.exists() else None
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            where = f"{path.name}:{lineno}"
            if not line.strip():
                continue
            key = Path(names[lineno - 1]).stem if names and lineno <= len(names) else ""
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRecord(where, key, None, f"not valid JSON ({exc.msg})")
                continue
            if not key and isinstance(data, dict):
                key = str(data.get("incident_id") or "")
            yield RawRecord(where, key, data)


# Mapping


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


# Writing


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


class VerisImporter:
    """Writes parsed records; ``run`` is one catalogue write (atomic, pages invalidated)."""

    CHUNK = 1000

    def __init__(self, *, dataset_info=None, publish=False, report=None, now=None):
        self.publish = publish
        self.report = report or ImportReport()
        self.now = now or timezone.now()
        info = dict(dataset_info or VCDB)
        self.dataset, _ = Dataset.objects.update_or_create(
            slug=info.pop("slug"), defaults={**info, "imported_at": self.now}
        )
        self._prepare_taxonomies()
        # Keyed by Python's lower(): SQLite's LOWER() only folds ASCII.
        self.orgs = {
            name.lower(): pk for name, pk in Organisation.objects.values_list("name", "pk")
        }
        self.org_slugs = services.SlugAllocator.for_model(Organisation)
        self.actor_slugs = services.SlugAllocator.for_model(ThreatActor)
        self.incident_slugs = services.SlugAllocator.for_model(
            Incident, max_length=services.INCIDENT_SLUG_LENGTH
        )
        self.actors = dict(
            ThreatActor.objects.filter(dataset=self.dataset).values_list("external_id", "pk")
        )
        self.actor_names = {
            name.lower(): pk for name, pk in ThreatActor.objects.values_list("name", "pk")
        }

    def _prepare_taxonomies(self):
        taxonomy = services.ensure_taxonomy()
        self.sectors = taxonomy.sectors
        self.motives = taxonomy.motives
        self.actor_types = taxonomy.actor_types
        self.techniques = dict(Technique.objects.taggable().values_list("attack_id", "pk"))

    def run(self, parsed: Iterable[ParsedIncident]):
        with services.catalogue_write():
            chunk = []
            for record in parsed:
                chunk.append(record)
                if len(chunk) >= self.CHUNK:
                    self._write(chunk)
                    chunk = []
            if chunk:
                self._write(chunk)
            self.dataset.imported_at = self.now
            self.dataset.save(update_fields=["imported_at"])

    def _slug(self, incident, p: ParsedIncident) -> str:
        """As services.prepare_incident: drafts get a slug from the drafts' space, an
        incident its public slug when first published; a slug once public is kept."""
        if incident.status != Incident.Status.PUBLISHED:
            return incident.slug or services.draft_slug()
        if incident.slug and not services.is_draft_slug(incident.slug):
            return incident.slug
        return self.incident_slugs.allocate(
            services.incident_slug_text(incident.date, incident.date_precision, p.victim)
        )

    def _write(self, chunk: list[ParsedIncident]):
        self._ensure_organisations(chunk)
        self._ensure_actors(chunk)
        existing = {
            i.external_id: i
            for i in Incident.objects.filter(
                dataset=self.dataset, external_id__in=[p.external_id for p in chunk]
            ).select_related("cia_posture")
        }
        new, changed = [], []
        fields = [
            "organisation_id",
            "date",
            "date_precision",
            "country",
            "sector_id",
            "summary",
            "description",
            "records_affected",
            "status",
            "published_at",
            "slug",
        ]
        for p in chunk:
            values = {
                "organisation_id": self.orgs[p.victim.lower()],
                "date": p.date,
                "date_precision": p.precision,
                "country": p.country,
                "sector_id": self.sectors.get(p.sector) if p.sector else None,
                "summary": p.summary,
                "description": p.description,
                "records_affected": p.records_affected,
            }
            incident = existing.get(p.external_id)
            if incident is None:
                status, published_at = services.publication_values(self.publish, self.now)
                incident = Incident(
                    **values,
                    status=status,
                    published_at=published_at,
                    dataset=self.dataset,
                    external_id=p.external_id,
                    imported_at=self.now,
                    created_at=self.now,
                    updated_at=self.now,
                )
                incident.slug = self._slug(incident, p)
                new.append(incident)
                existing[p.external_id] = incident
                continue
            if self.publish and incident.status == Incident.Status.DRAFT:
                values["status"], values["published_at"] = services.publication_values(
                    True, self.now, incident.published_at
                )
                values["slug"] = self._slug(Incident(**values, slug=incident.slug), p)
            diff = {k: v for k, v in values.items() if getattr(incident, k) != v}
            if diff:
                for k, v in diff.items():
                    setattr(incident, k, v)
                incident.updated_at = incident.imported_at = self.now
                changed.append(incident)
        Incident.objects.bulk_create(new, batch_size=500)
        if changed:
            Incident.objects.bulk_update(
                changed, [*fields, "updated_at", "imported_at"], batch_size=500
            )
        new_ids = {i.pk for i in new}
        touched = {i.pk for i in changed}
        touched |= self._write_postures(chunk, existing, new_ids)
        touched |= self._write_sources(chunk, existing)
        touched |= self._write_relations(chunk, existing)
        for p in chunk:
            pk = existing[p.external_id].pk
            outcome = "created" if pk in new_ids else "updated" if pk in touched else "unchanged"
            self.report.add("incident", outcome)
            for field_name, message in p.warnings:
                self.report.problems.append(_warning(p.where, field_name, message))
        if touched - new_ids:
            Incident.objects.filter(pk__in=touched - new_ids).update(
                updated_at=self.now, imported_at=self.now
            )

    def _ensure_organisations(self, chunk):
        new = {}
        for p in chunk:
            key = p.victim.lower()
            if key not in self.orgs and key not in new:
                new[key] = Organisation(
                    name=p.victim,
                    slug=self.org_slugs.allocate(p.victim),
                    country=p.org_country,
                    sector_id=self.sectors.get(p.sector) if p.sector else None,
                )
        if not new:
            return
        # The database's LOWER() may fold a name differently from Python's (PostgreSQL:
        # "İ" -> "i"); a row that conflicts is then matched by the database's own rule.
        Organisation.objects.bulk_create(new.values(), batch_size=500, ignore_conflicts=True)
        created = dict(
            Organisation.objects.filter(name__in=[o.name for o in new.values()]).values_list(
                "name", "pk"
            )
        )
        for key, org in new.items():
            pk = created.get(org.name)
            if pk is None:
                pk = (
                    Organisation.objects.annotate(lname=Lower("name"))
                    .filter(lname=Lower(Value(org.name)))
                    .values_list("pk", flat=True)
                    .first()
                )
            self.orgs[key] = pk
        inserted = sum(1 for org in new.values() if org.name in created)
        self.report.add("organisation", "created", inserted)

    def _ensure_actors(self, chunk):
        new, aliases = {}, {}
        for p in chunk:
            for category, variety, country in p.actors:
                key = f"veris:{category}:{variety}:{country}".lower()
                if key in self.actors or key in new or key in aliases:
                    continue
                name = actor_name(category, variety, country)
                if name.lower() in self.actor_names:
                    # Same category already present under another key (e.g. Unknown/Other).
                    self.actors[key] = self.actor_names[name.lower()]
                    continue
                pending = next((k for k, a in new.items() if a.name == name), None)
                if pending:
                    aliases[key] = pending
                    continue
                type_slug = ACTOR_TYPES.get((category, variety)) or ACTOR_TYPES[(category, "*")]
                new[key] = ThreatActor(
                    name=name,
                    slug=self.actor_slugs.allocate(name),
                    actor_type_id=self.actor_types[type_slug],
                    country=country,
                    is_unattributed=True,
                    dataset=self.dataset,
                    external_id=key,
                    description=f"A category of unnamed attacker from VERIS ({category} actor, "
                    f"variety {variety}), not one identified group.",
                )
        if new:
            ThreatActor.objects.bulk_create(new.values(), batch_size=500)
            for key, actor in new.items():
                self.actors[key] = actor.pk
                self.actor_names[actor.name.lower()] = actor.pk
            for key, pending in aliases.items():
                self.actors[key] = self.actors[pending]
            self.report.add("threat actor", "created", len(new))

    def _write_postures(self, chunk, existing, new_ids) -> set[int]:
        create, update, touched = [], [], set()
        for p in chunk:
            incident = existing[p.external_id]
            c, i, a, notes = p.cia
            posture = None if incident.pk in new_ids else _posture(incident)
            if posture is None:
                create.append(
                    CIAPosture(
                        incident_id=incident.pk,
                        confidentiality=c,
                        integrity=i,
                        availability=a,
                        notes=notes,
                    )
                )
            elif (
                posture.confidentiality,
                posture.integrity,
                posture.availability,
                posture.notes,
            ) != p.cia:
                posture.confidentiality, posture.integrity, posture.availability = c, i, a
                posture.notes = notes
                update.append(posture)
                touched.add(incident.pk)
        CIAPosture.objects.bulk_create(create, batch_size=500)
        CIAPosture.objects.bulk_update(
            update, ["confidentiality", "integrity", "availability", "notes"], batch_size=500
        )
        return touched | {c.incident_id for c in create if c.incident_id not in new_ids}

    def _write_sources(self, chunk, existing) -> set[int]:
        ids = [existing[p.external_id].pk for p in chunk]
        have = set(Source.objects.filter(incident_id__in=ids).values_list("incident_id", "url"))
        create = []
        for p in chunk:
            pk = existing[p.external_id].pk
            for url in p.sources:
                if (pk, url) not in have:
                    have.add((pk, url))
                    host = urlsplit(url).netloc.lower().removeprefix("www.")
                    create.append(Source(incident_id=pk, url=url, publisher=host[:200]))
        Source.objects.bulk_create(create, batch_size=500)
        return {s.incident_id for s in create}

    def _write_relations(self, chunk, existing) -> set[int]:
        """Add the record's motives, techniques and actors; never remove staff tagging."""
        ids = [existing[p.external_id].pk for p in chunk]
        touched = set()
        for through, column, wanted_of in (
            (Incident.motives.through, "motive_id", self._motive_ids),
            (Incident.techniques.through, "technique_id", self._technique_ids),
            (Incident.threat_actors.through, "threatactor_id", self._actor_ids),
        ):
            have = set(
                through.objects.filter(incident_id__in=ids).values_list("incident_id", column)
            )
            rows = []
            for p in chunk:
                pk = existing[p.external_id].pk
                for other in wanted_of(p):
                    if (pk, other) not in have:
                        have.add((pk, other))
                        rows.append(through(incident_id=pk, **{column: other}))
                        touched.add(pk)
            through.objects.bulk_create(rows, batch_size=1000)
        return touched

    def _motive_ids(self, p):
        return {self.motives[m] for m in p.motives if m in self.motives}

    def _technique_ids(self, p):
        return {self.techniques[t] for t in p.techniques if t in self.techniques}

    def _actor_ids(self, p):
        return {self.actors[f"veris:{c}:{v}:{k}".lower()] for c, v, k in p.actors}


def _posture(incident):
    try:
        return incident.cia_posture
    except CIAPosture.DoesNotExist:
        return None


def _warning(where, field_name, message):
    from .base import Problem

    return Problem(where, field_name, "warning: " + message)
