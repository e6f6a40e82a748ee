"""Writing HHS cases: one catalogue write for the whole batch, set-wise.

A case the catalogue already holds (its record, found by the case's key) is updated: on an
incident HHS made, the fields HHS owns, unless staff changed them since; on an incident
another dataset made (merged), only the case's own record. A new case joins the incident
of another dataset that reports the same event (resolve.Resolver), or becomes an incident
of its own, with a merge candidate for staff where the evidence is not enough.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.utils import timezone
from rapidfuzz import fuzz

from ... import rules, services
from ...models import (
    Dataset,
    Incident,
    IncidentRecord,
    MergeCandidate,
    Organisation,
    OrganisationAlias,
    Source,
)
from ...rules import DatePrecision
from ..base import ImportReport, Problem
from .map import DATASET, PORTAL_URL, PUBLISHER, ParsedCase, combine
from .resolve import KnownIncident, KnownOrganisation, Resolver

# The incident fields an HHS case gives, on an incident HHS made (its victim, sector and
# country are kept as they are once made: staff may move it to another organisation). The
# submission date is the timeline's disclosed date (a regulator filing) and, with no
# occurred date, the catalogue date (rules.catalogue_date).
OWNED = ("date", "disclosed_on", "summary", "records_affected")


class HhsImporter:
    """``run(cases)`` writes a batch of parsed cases as one catalogue write."""

    def __init__(self, *, publish=False, report=None, now=None, release=""):
        self.publish = publish
        self.release = release
        self.report = report or ImportReport()
        self.now = now or timezone.now()
        info = dict(DATASET)
        self.dataset, created = Dataset.objects.get_or_create(slug=info.pop("slug"), defaults=info)
        changed = {k: v for k, v in info.items() if getattr(self.dataset, k) != v}
        if changed and not created:
            Dataset.objects.filter(pk=self.dataset.pk).update(**changed)
            self.report.add("dataset", "updated")
        self.sectors = services.ensure_taxonomy().sectors
        self.org_slugs = rules.SlugAllocator.for_model(Organisation)
        self.incident_slugs = rules.SlugAllocator.for_model(
            Incident, max_length=rules.INCIDENT_SLUG_LENGTH
        )
        self.records = {
            r.external_id: r for r in IncidentRecord.objects.filter(dataset=self.dataset)
        }
        self.resolver = self._resolver()
        self._open_cases = None
        self.renamed: set[int] = set()
        self.org_sectors: dict[int, int | None] = {}
        self.aliases = set(
            OrganisationAlias.objects.filter(organisation__country="US").values_list(
                "organisation_id", "name"
            )
        )

    def _resolver(self) -> Resolver:
        orgs = Organisation.objects.filter(country="US")
        organisations = [KnownOrganisation(*row) for row in orgs.values_list("pk", "name", "state")]
        spellings = [(pk, rules.organisation_key(n)) for pk, n in orgs.values_list("pk", "name")]
        spellings += [
            (pk, rules.organisation_key(name))
            for pk, name in OrganisationAlias.objects.filter(
                organisation__country="US"
            ).values_list("organisation_id", "name")
        ]
        incidents = (
            Incident.objects.filter(organisation__country="US")
            .exclude(dataset=self.dataset)
            .values_list("pk", "organisation_id", "date", "date_precision", "records_affected")
        )
        taken = {r.incident_id for r in self.records.values()}
        return Resolver(organisations, spellings, [KnownIncident(*i) for i in incidents], taken)

    def run(self, cases):
        cases = self._one_per_case(cases)
        with services.catalogue_write():
            known = [c for c in cases if self._record_of(c) is not None]
            self._update(known)
            self._create([c for c in cases if self._record_of(c) is None])
            if any(self.report.total(o) for o in ("created", "merged", "updated")):
                Dataset.objects.filter(pk=self.dataset.pk).update(imported_at=self.now)
            version = self.release or release_of(cases)
            if version and version != self.dataset.version:
                Dataset.objects.filter(pk=self.dataset.pk).update(version=version)
            problems = [str(p) for p in self.report.problems]
            if problems != self.dataset.import_problems:
                Dataset.objects.filter(pk=self.dataset.pk).update(import_problems=problems)

    @staticmethod
    def _one_per_case(cases) -> list[ParsedCase]:
        """The rows that share a key are one event's filings (map.combine)."""
        filings: dict[str, list[ParsedCase]] = defaultdict(list)
        for case in cases:
            filings[case.external_id].append(case)
        return [combine(group) for group in filings.values()]

    def _record_of(self, case: ParsedCase) -> IncidentRecord | None:
        record = self.records.get(case.external_id)
        if record is not None or case.under_investigation:
            return record
        # A case that reached the archive under a slightly different name (a trailing
        # "Inc." added, a typo mended): the open case of that state and date, like-named.
        for other in self.open_cases.get((case.state, case.submitted.isoformat()), ()):
            if other.external_id in self.records and _same_entity(other.values["name"], case.name):
                del self.records[other.external_id]
                self.renamed.add(other.pk)
                other.external_id = case.external_id
                self.records[case.external_id] = other
                return other
        return None

    @property
    def open_cases(self) -> dict[tuple[str, str], list[IncidentRecord]]:
        if self._open_cases is None:
            self._open_cases = defaultdict(list)
            for record in self.records.values():
                if record.values.get("status") == "under investigation":
                    key = (record.values.get("state", ""), record.values.get("submitted", ""))
                    self._open_cases[key].append(record)
        return self._open_cases

    # Cases the catalogue holds

    def _update(self, cases: list[ParsedCase]):
        records = {c.external_id: self.records[c.external_id] for c in cases}
        incidents = Incident.objects.in_bulk([r.incident_id for r in records.values()])
        changed_incidents, changed_records, first_published = [], [], []
        for case in cases:
            record = records[case.external_id]
            incident = incidents[record.incident_id]
            values = statement(case)
            old = record.values
            touched = values != old or record.pk in self.renamed
            if touched:
                record.values, record.imported_at = values, self.now
                changed_records.append(record)
            if incident.dataset_id == self.dataset.pk:
                touched |= self._update_owned(incident, case, old, first_published)
            if touched:
                incident.updated_at = incident.imported_at = self.now
                changed_incidents.append(incident)
            self.report.add("incident", "updated" if touched else "unchanged")
            self._warn(case)
        IncidentRecord.objects.bulk_update(
            changed_records, ["external_id", "values", "imported_at"], batch_size=500
        )
        fields = [*OWNED, "status", "published_at", "slug", "updated_at", "imported_at"]
        Incident.objects.bulk_update(changed_incidents, [*fields, "external_id"], batch_size=500)
        services.announce_published([i.pk for i in first_published])
        self._write_aliases(
            cases, {c.external_id: records[c.external_id].incident_id for c in cases}
        )

    def _update_owned(self, incident, case, old_values, first_published) -> bool:
        """The fields HHS owns on an incident it made, each unless staff changed it since
        the last import (the incident no longer holds what HHS wrote then)."""
        wrote = self._columns(old_values, incident)
        wanted = self._columns(statement(case), incident)
        diff = {
            name: value
            for name, value in wanted.items()
            if getattr(incident, name) != value and getattr(incident, name) == wrote[name]
        }
        if incident.external_id != case.external_id:
            diff["external_id"] = case.external_id
        if self.publish and not case.draft_reasons and incident.status == Incident.Status.DRAFT:
            if incident.published_at is None:
                first_published.append(incident)
            diff["status"], diff["published_at"] = rules.publication_values(
                True, self.now, incident.published_at
            )
            diff["slug"] = self._slug(incident.slug, diff["status"], case)
        for name, value in diff.items():
            setattr(incident, name, value)
        return bool(diff)

    def _columns(self, values, incident) -> dict:
        """The columns HHS owns, as a case's statement gives them."""
        submitted = values.get("submitted")
        submitted = datetime.date.fromisoformat(submitted) if submitted else None
        return {
            "date": submitted,
            "disclosed_on": submitted,
            "summary": values.get("summary", ""),
            "records_affected": values.get("individuals_affected"),
        }

    # New cases

    def _create(self, cases: list[ParsedCase]):
        matches = {
            c.external_id: self.resolver.match(
                c.keys, c.state, c.submitted, c.records_affected, c.victim
            )
            for c in cases
        }
        self._ensure_organisations(cases, matches)
        merged = {k: m.merge.pk for k, m in matches.items() if m.merge is not None}
        new = []
        for case in cases:
            if case.external_id in merged:
                continue
            publish = self.publish and not case.draft_reasons
            status, published_at = rules.publication_values(publish, self.now)
            organisation = matches[case.external_id].organisation
            incident = Incident(
                organisation_id=organisation,
                date=case.submitted,
                date_precision=DatePrecision.DAY,
                disclosed_on=case.submitted,
                disclosed_precision=DatePrecision.DAY,
                disclosed_source=PORTAL_URL,
                country="US",
                sector_id=self.sectors.get(case.sector) or self.org_sectors.get(organisation),
                summary=case.summary,
                records_affected=case.records_affected,
                status=status,
                published_at=published_at,
                dataset=self.dataset,
                external_id=case.external_id,
                imported_at=self.now,
                created_at=self.now,
                updated_at=self.now,
            )
            incident.slug = self._slug("", status, case)
            new.append(incident)
        Incident.objects.bulk_create(new, batch_size=500)
        services.announce_published([i.pk for i in new if i.status == Incident.Status.PUBLISHED])
        incident_of = {i.external_id: i.pk for i in new} | merged
        IncidentRecord.objects.bulk_create(
            [
                IncidentRecord(
                    incident_id=incident_of[c.external_id],
                    dataset=self.dataset,
                    external_id=c.external_id,
                    values=statement(c),
                    imported_at=self.now,
                )
                for c in cases
            ],
            batch_size=500,
        )
        self._write_sources(cases, incident_of)
        self._write_candidates(cases, matches, incident_of)
        if merged:
            Incident.objects.filter(pk__in=set(merged.values())).update(
                updated_at=self.now, imported_at=self.now
            )
        for case in cases:
            if case.external_id in merged:
                self.report.add("incident", "merged")
            else:
                self.report.add("incident", "created")
            self._warn(case)
        self._write_aliases(cases, incident_of)

    def _ensure_organisations(self, cases, matches):
        """An organisation for every case the resolver found none for: one per victim key
        and state in this batch (the name shown is the first case's)."""
        new: dict[tuple[str, str], Organisation] = {}
        pending = []
        for case in cases:
            match = matches[case.external_id]
            if match.organisation is not None:
                continue
            key = (rules.organisation_key(case.victim), case.state)
            if key not in new:
                new[key] = Organisation(
                    name=case.victim,
                    slug=self.org_slugs.allocate(case.victim),
                    country="US",
                    state=case.state,
                    sector_id=self.sectors.get(case.sector) if case.sector else None,
                )
            pending.append((match, key))
        Organisation.objects.bulk_create(new.values(), batch_size=500)
        for match, key in pending:
            match.organisation = new[key].pk
        if new:
            self.report.add("organisation", "created", len(new))
        for case in cases:
            if (rules.organisation_key(case.victim), case.state) in new:
                org = new[(rules.organisation_key(case.victim), case.state)]
                known = KnownOrganisation(org.pk, org.name, org.state)
                self.resolver.add_organisation(known, case.keys)
        self.org_sectors = dict(
            Organisation.objects.filter(
                pk__in={m.organisation for m in matches.values()}
            ).values_list("pk", "sector_id")
        )

    def _write_sources(self, cases, incident_of):
        """The portal, as each case's source: its own identifiers in the title (the portal
        has no page per case). An incident that already cites the portal keeps its row."""
        have = set(
            Source.objects.filter(incident_id__in=incident_of.values(), url=PORTAL_URL).values_list(
                "incident_id", flat=True
            )
        )
        rows = []
        for case in cases:
            pk = incident_of[case.external_id]
            if pk in have:
                continue
            have.add(pk)
            rows.append(
                Source(
                    incident_id=pk,
                    url=PORTAL_URL,
                    title=source_title(case),
                    publisher=PUBLISHER,
                    published_on=case.submitted,
                )
            )
        Source.objects.bulk_create(rows, batch_size=500)

    def _write_candidates(self, cases, matches, incident_of):
        rows = []
        for case in cases:
            duplicate = incident_of[case.external_id]
            for incident, score, evidence in matches[case.external_id].candidates:
                if incident.pk != duplicate:
                    rows.append(
                        MergeCandidate(
                            incident_id=incident.pk,
                            duplicate_id=duplicate,
                            score=score,
                            evidence=evidence,
                        )
                    )
        MergeCandidate.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        if rows:
            self.report.add("merge candidate", "created", len(rows))

    def _write_aliases(self, cases, incident_of):
        """Every name a victim goes by in the portal is one of its spellings (searchable)."""
        organisations = dict(
            Incident.objects.filter(pk__in=set(incident_of.values())).values_list(
                "pk", "organisation_id"
            )
        )
        rows = []
        for case in cases:
            org = organisations[incident_of[case.external_id]]
            for name in case.spellings:
                if (org, name) not in self.aliases:
                    self.aliases.add((org, name))
                    rows.append(OrganisationAlias(organisation_id=org, name=name))
        OrganisationAlias.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        if rows:
            self.report.add("organisation alias", "created", len(rows))

    def _slug(self, slug: str, status: str, case: ParsedCase) -> str:
        return rules.incident_slug(
            slug,
            published=status == Incident.Status.PUBLISHED,
            public_slug=lambda: self.incident_slugs.allocate(
                rules.incident_slug_text(case.submitted, DatePrecision.DAY, case.victim)
            ),
        )

    def _warn(self, case: ParsedCase):
        for column, message in case.warnings:
            self.report.problems.append(Problem(case.where, column, "warning: " + message))
        for reason in case.draft_reasons:
            self.report.problems.append(Problem(case.where, "", "kept as a draft: " + reason))


def release_of(cases) -> str:
    """The release of the exports, as /data/ shows it: the newest submission they hold
    (the portal's exports carry no date of their own)."""
    newest = max((c.submitted for c in cases), default=None)
    return f"cases to {newest:%d %b %Y}" if newest else ""


def statement(case: ParsedCase) -> dict:
    """What the portal says of a case, as its record keeps it (with OCR's narrative)."""
    return case.values() | {"summary": case.summary}


def source_title(case: ParsedCase) -> str:
    state = f" ({case.state})" if case.state else ""
    where = "under investigation" if case.under_investigation else "archive"
    return (f"Breach report of {case.name}{state}, submitted {case.submitted:%d %b %Y} ({where})")[
        :300
    ]


def _same_entity(a: str, b: str) -> bool:
    keys_a = {rules.organisation_key(n) for n in rules.victim_names(a)[1]}
    keys_b = {rules.organisation_key(n) for n in rules.victim_names(b)[1]}
    return (
        bool(keys_a & keys_b)
        or fuzz.ratio(" ".join(sorted(keys_a)), " ".join(sorted(keys_b))) >= 90
    )
