"""The catalogue's data-quality report, for staff (``manage.py catalogue_report`` and the
admin's *Catalogue report*): likely duplicate incidents, organisations with several
spellings, incidents without sources, future dates and the unknown values importers met.

Read-only. Drafts are included: staff see everything.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from . import rules
from .models import Dataset, Incident, Organisation, OrganisationAlias, Source

DUPLICATE_WINDOW = datetime.timedelta(days=7)
# Summaries at least this similar (difflib's ratio on SQLite, pg_trgm's similarity on
# PostgreSQL) make two incidents of one victim within DUPLICATE_WINDOW likely duplicates.
SIMILARITY = 0.6
# An import's problem line about an actor's name it made no actor of (importers.veris).
NOT_AN_ACTOR = re.compile(r"actor\.\w+\.name: warning: not (?:one actor|a threat actor|a name)")


@dataclass(frozen=True)
class DuplicatePair:
    first: Incident
    second: Incident
    similarity: float


@dataclass(frozen=True)
class SpellingGroup:
    """Organisations that share a normalised name and a country: probably one victim."""

    country: str
    organisations: tuple[Organisation, ...]


@dataclass
class CatalogueReport:
    duplicates: list[DuplicatePair] = field(default_factory=list)
    spelling_groups: list[SpellingGroup] = field(default_factory=list)
    several_spellings: list[Organisation] = field(default_factory=list)  # with .spellings
    without_sources: list[Incident] = field(default_factory=list)
    future: list[Incident] = field(default_factory=list)
    unknown_values: dict[str, list[str]] = field(default_factory=dict)  # dataset -> lines
    # Actor names an import did not make actors of (not one actor, not an attacker).
    actor_names: dict[str, list[str]] = field(default_factory=dict)  # dataset -> lines
    # Timelines rules.timeline_problems refuses (incident, the reasons): kept as drafts.
    impossible_timelines: list[tuple[Incident, list[str]]] = field(default_factory=list)
    # A dataset's relative discovery ("2 Months") that did not become a date, kept raw.
    unconverted_discoveries: list[tuple[Incident, dict]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "likely duplicate pairs": len(self.duplicates),
            "organisation groups sharing a name and country": len(self.spelling_groups),
            "organisations known by several spellings": len(self.several_spellings),
            "incidents without sources": len(self.without_sources),
            "incidents dated in the future": len(self.future),
            "unknown values met by the last imports": sum(map(len, self.unknown_values.values())),
            "actor names not made actors of": sum(map(len, self.actor_names.values())),
            "impossible timelines": len(self.impossible_timelines),
            "relative discoveries kept raw, not as a date": len(self.unconverted_discoveries),
        }


def build_report(today=None) -> CatalogueReport:
    today = today or timezone.localdate()
    datasets = list(Dataset.objects.exclude(import_problems=[]))
    return CatalogueReport(
        duplicates=likely_duplicates(),
        spelling_groups=spelling_groups(),
        several_spellings=several_spellings(),
        without_sources=list(
            _incidents().filter(~Exists(Source.objects.filter(incident=OuterRef("pk"))))
        ),
        future=list(_incidents().filter(date__gt=today)),
        unknown_values={
            d.name: [line for line in d.import_problems if "unknown" in line] for d in datasets
        },
        actor_names={
            d.name: lines
            for d in datasets
            if (lines := [line for line in d.import_problems if NOT_AN_ACTOR.search(line)])
        },
        impossible_timelines=impossible_timelines(today),
        unconverted_discoveries=[
            (incident, incident.timeline_raw["timeline"]["discovery"])
            for incident in _incidents().filter(
                discovered_on=None, timeline_raw__timeline__has_key="discovery"
            )
        ],
    )


def impossible_timelines(today) -> list[tuple[Incident, list[str]]]:
    """Incidents whose timeline the writers' rules refuse (a disclosure before the
    occurrence, a date in the future): importers keep them as drafts, for staff."""
    dated = _incidents().exclude(
        discovered_on=None, disclosed_on=None, occurred_end_on=None, occurred_on=None
    )
    found = []
    for incident in dated.iterator(chunk_size=2000):
        problems = rules.timeline_problems(incident.timeline(), today)
        if problems:
            found.append((incident, list(problems.values())))
    return found


def _incidents():
    return Incident.objects.select_related("organisation").order_by("organisation__name", "date")


def likely_duplicates() -> list[DuplicatePair]:
    """Incidents of one named victim, dated within a week, with similar summaries."""
    rows = (
        Incident.objects.filter(organisation__is_placeholder=False)
        .exclude(summary="")
        .order_by("organisation_id", "date", "pk")
        .values_list("pk", "organisation_id", "date", "summary")
    )
    by_victim = defaultdict(list)
    for pk, org, date, summary in rows.iterator(chunk_size=2000):
        by_victim[org].append((pk, date, summary))
    candidates = []
    for incidents in by_victim.values():
        for i, (pk, date, summary) in enumerate(incidents):
            for other_pk, other_date, other_summary in incidents[i + 1 :]:
                if other_date - date > DUPLICATE_WINDOW:
                    break
                candidates.append((pk, other_pk, summary, other_summary))
    scores = _similarities(candidates)
    pairs = [
        (a, b, s) for (a, b, _, _), s in zip(candidates, scores, strict=True) if s >= SIMILARITY
    ]
    found = _incidents().in_bulk({pk for a, b, _ in pairs for pk in (a, b)})
    return [DuplicatePair(found[a], found[b], round(s, 2)) for a, b, s in pairs]


def _similarities(candidates) -> list[float]:
    if not candidates:
        return []
    if connection.vendor == "postgresql":
        # pg_trgm (migration 0006): trigram similarity of the two summaries.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT similarity(a, b) FROM unnest(%s::text[], %s::text[]) AS t(a, b)",
                [[c[2] for c in candidates], [c[3] for c in candidates]],
            )
            return [row[0] for row in cursor.fetchall()]
    return [_ratio(a.lower(), b.lower()) for _, _, a, b in candidates]


def _ratio(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b)
    # The cheap upper bounds first: most candidate pairs are not alike at all.
    if matcher.real_quick_ratio() < SIMILARITY or matcher.quick_ratio() < SIMILARITY:
        return 0.0
    return matcher.ratio()


def spelling_groups() -> list[SpellingGroup]:
    """Organisations whose names normalise alike in one country (rules.organisation_key):
    candidates for a merge in the admin. Same-named victims each in a state of its own
    ("Methodist Hospital" in TX and KY) are two victims, not a group."""
    groups = defaultdict(list)
    for org in Organisation.objects.filter(is_placeholder=False).order_by("name", "pk"):
        groups[(rules.organisation_key(org.name), str(org.country))].append(org)
    return [
        SpellingGroup(country, tuple(orgs))
        for (_, country), orgs in sorted(groups.items())
        if len(orgs) > 1 and not _apart_by_state(orgs)
    ]


def _apart_by_state(orgs) -> bool:
    states = [org.state for org in orgs]
    return all(states) and len(set(states)) == len(states)


def several_spellings() -> list[Organisation]:
    """Organisations whose incidents' sources spell them in more than one way."""
    orgs = list(
        Organisation.objects.annotate(n=Count("aliases"))
        .filter(n__gt=1, is_placeholder=False)
        .order_by("-n", "name")
    )
    spellings = defaultdict(list)
    for org_id, name in OrganisationAlias.objects.filter(
        organisation__in=[o.pk for o in orgs]
    ).values_list("organisation_id", "name"):
        spellings[org_id].append(name)
    for org in orgs:
        org.spellings = sorted(spellings[org.pk])
    return orgs
