"""Writing parsed VERIS records: a whole batch set-wise (bulk inserts and updates per
chunk), as one catalogue write."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.utils import timezone

from ... import rules, services
from ...models import (
    CIAPosture,
    Dataset,
    Incident,
    IncidentTechnique,
    Organisation,
    OrganisationAlias,
    Source,
    Technique,
    TechniqueProvenance,
    ThreatActor,
)
from ...models.incident import join_derived_from
from .. import owned
from ..base import ImportReport, Problem
from .map import ACTOR_TYPES, ParsedIncident, actor_name
from .named import NamedActors
from .timeline import TIMELINE_COLUMNS
from .victims import resolve_victims

# Written together: a staff edit to one keeps them all (importers.owned).
TIMELINE_GROUP = ("date", "date_precision", *TIMELINE_COLUMNS)

VCDB = {
    "slug": "vcdb",
    "name": "VERIS Community Database (VCDB)",
    "url": "https://github.com/vz-risk/VCDB",
    "licence": "CC BY-SA 4.0",
    "licence_url": "https://creativecommons.org/licenses/by-sa/4.0/",
    "attribution": "Incident data from the VERIS Community Database (VCDB) by the Verizon "
    "RISK Team and VCDB contributors, licensed under CC BY-SA 4.0.",
}


class VerisImporter:
    """Writes parsed records; ``run`` is one catalogue write (atomic, pages invalidated)."""

    CHUNK = 1000

    def __init__(self, *, dataset_info=None, publish=False, report=None, now=None):
        self.publish = publish
        self.report = report or ImportReport()
        self.now = now or timezone.now()
        info = dict(dataset_info or VCDB)
        self.dataset, created = Dataset.objects.get_or_create(slug=info.pop("slug"), defaults=info)
        changed = {k: v for k, v in info.items() if getattr(self.dataset, k) != v}
        if changed and not created:
            Dataset.objects.filter(pk=self.dataset.pk).update(**changed)
            self.report.add("dataset", "updated")
        self._prepare_taxonomies()
        # Victims are matched by (rules.organisation_key, country, state) through their
        # names and every spelling they are known by (victims.resolve_victims settles a
        # record without a state or country); where several organisations share a key
        # (staff split one), the oldest wins.
        self.orgs: dict[tuple[str, str, str], int] = {}
        self.org_keys: dict[int, set[tuple[str, str, str]]] = defaultdict(set)
        names = Organisation.objects.values_list("name", "country", "state", "pk")
        spellings = OrganisationAlias.objects.values_list(
            "name", "organisation__country", "organisation__state", "organisation_id"
        )
        for rows in (names, spellings):
            for name, country, state, pk in rows.iterator():
                key = (rules.organisation_key(name), country, state)
                self.orgs[key] = min(pk, self.orgs.get(key, pk))
                self.org_keys[pk].add(key)
        self.aliases = set(OrganisationAlias.objects.values_list("organisation_id", "name"))
        self.canonical: dict[tuple[str, str, str], tuple[str, str | None]] = {}
        self.org_slugs = rules.SlugAllocator.for_model(Organisation)
        self.actor_slugs = rules.SlugAllocator.for_model(ThreatActor)
        self.incident_slugs = rules.SlugAllocator.for_model(
            Incident, max_length=rules.INCIDENT_SLUG_LENGTH
        )
        self.actors = dict(
            ThreatActor.objects.filter(dataset=self.dataset).values_list("external_id", "pk")
        )
        self.actor_names = {}
        for aliases, pk in ThreatActor.objects.values_list("aliases", "pk"):
            for alias in aliases if isinstance(aliases, list) else []:
                self.actor_names.setdefault(str(alias).lower(), pk)
        for name, pk in ThreatActor.objects.values_list("name", "pk"):
            self.actor_names[name.lower()] = pk
        self.named = NamedActors(self.dataset, self.actor_types, self.actor_slugs, self.report)

    def _prepare_taxonomies(self):
        taxonomy = services.ensure_taxonomy()
        self.sectors = taxonomy.sectors
        self.motives = taxonomy.motives
        self.actor_types = taxonomy.actor_types
        self.incident_types = taxonomy.incident_types
        self.techniques = dict(Technique.objects.taggable().values_list("attack_id", "pk"))

    def run(self, parsed: Iterable[ParsedIncident]):
        records = list(parsed)
        resolve_victims(records, self.orgs)
        self.canonical = _canonical_names(records)
        self.named.prepare(records)
        with services.catalogue_write():
            for start in range(0, len(records), self.CHUNK):
                self._write(records[start : start + self.CHUNK])
            # The dataset's import time says when the catalogue last changed because of it.
            if self.report.total("created") or self.report.total("updated"):
                Dataset.objects.filter(pk=self.dataset.pk).update(imported_at=self.now)
            # Kept for the catalogue report (incidents.quality).
            problems = [str(p) for p in self.report.problems]
            if problems != self.dataset.import_problems:
                Dataset.objects.filter(pk=self.dataset.pk).update(import_problems=problems)

    @staticmethod
    def victim_key(p: ParsedIncident) -> tuple[str, str, str]:
        return rules.organisation_key(p.victim), p.org_country, p.org_state

    def _slug(self, slug: str, status: str, p: ParsedIncident) -> str:
        """rules.incident_slug, with public slugs from this import's allocator."""
        return rules.incident_slug(
            slug,
            published=status == Incident.Status.PUBLISHED,
            public_slug=lambda: self.incident_slugs.allocate(
                rules.incident_slug_text(p.date, p.precision, p.victim)
            ),
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
        new, changed, first_published = [], [], []
        records = owned.Records(self.dataset, [p.external_id for p in chunk], self.now)
        wrote = {}
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
            *TIMELINE_COLUMNS,
        ]
        for p in chunk:
            incident = existing.get(p.external_id)
            key = self.victim_key(p)
            # A victim staff merged or split stays where staff put it, while its spelling
            # is still one of the organisation's.
            if incident is not None and key in self.org_keys.get(incident.organisation_id, ()):
                organisation_id = incident.organisation_id
            else:
                organisation_id = self.orgs[key]
            values = {
                "organisation_id": organisation_id,
                "date": p.date,
                "date_precision": p.precision,
                "country": p.country,
                "sector_id": self.sectors.get(p.sector) if p.sector else None,
                "summary": p.summary,
                "description": p.description,
                "records_affected": p.records_affected,
                **p.timeline.columns(),
            }
            # What VCDB says, remembered on its record; its victim is kept apart (above).
            wrote[p.external_id] = owned.written(
                {k: v for k, v in values.items() if k != "organisation_id"}
            )
            if incident is not None:
                last = records.last(p.external_id)
                values = owned.not_edited(incident, values, last, [TIMELINE_GROUP])
            publish = self.publish and not p.held
            if incident is None:
                status, published_at = rules.publication_values(publish, self.now)
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
                incident.slug = self._slug(incident.slug, status, p)
                new.append(incident)
                existing[p.external_id] = incident
                continue
            if publish and incident.status == Incident.Status.DRAFT:
                if incident.published_at is None:
                    first_published.append(incident)
                values["status"], values["published_at"] = rules.publication_values(
                    True, self.now, incident.published_at
                )
                values["slug"] = self._slug(incident.slug, values["status"], p)
            elif p.held and incident.status == Incident.Status.PUBLISHED:
                # Its timeline became impossible (reported): back to draft, slug kept.
                values["status"] = Incident.Status.DRAFT
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
        for p in chunk:
            records.keep(p.external_id, existing[p.external_id].pk, wrote[p.external_id])
        records.save()
        new_ids = {i.pk for i in new}
        services.announce_published(
            [i.pk for i in new if i.status == Incident.Status.PUBLISHED]
            + [i.pk for i in first_published]
        )
        touched = {i.pk for i in changed}
        touched |= self._write_postures(chunk, existing, new_ids)
        touched |= self._write_sources(chunk, existing)
        self._write_aliases(chunk, existing)
        touched |= self._write_relations(chunk, existing)
        for p in chunk:
            pk = existing[p.external_id].pk
            outcome = "created" if pk in new_ids else "updated" if pk in touched else "unchanged"
            self.report.add("incident", outcome)
            for field_name, message in p.warnings:
                self.report.problems.append(_warning(p.where, field_name, message))
                if field_name.endswith(".name"):
                    self.report.add("named actor", "not created")
        if touched - new_ids:
            Incident.objects.filter(pk__in=touched - new_ids).update(
                updated_at=self.now, imported_at=self.now
            )

    def _ensure_organisations(self, chunk):
        new = {}
        for p in chunk:
            key = self.victim_key(p)
            if key not in self.orgs and key not in new:
                name, sector = self.canonical[key]
                new[key] = Organisation(
                    name=name,
                    slug=self.org_slugs.allocate(name),
                    country=p.org_country,
                    state=p.org_state,
                    sector_id=self.sectors.get(sector) if sector else None,
                    is_placeholder=p.is_placeholder_victim,
                )
        if not new:
            return
        Organisation.objects.bulk_create(new.values(), batch_size=500)
        for key, org in new.items():
            self.orgs[key] = org.pk
            self.org_keys[org.pk].add(key)
        self.report.add("organisation", "created", len(new))

    def _write_aliases(self, chunk, existing):
        """Every spelling of a victim is kept on its organisation (searchable)."""
        rows = []
        for p in chunk:
            org_id = existing[p.external_id].organisation_id
            if (org_id, p.victim) not in self.aliases:
                self.aliases.add((org_id, p.victim))
                rows.append(OrganisationAlias(organisation_id=org_id, name=p.victim))
                self.org_keys[org_id].add(self.victim_key(p))
        OrganisationAlias.objects.bulk_create(rows, batch_size=500)
        if rows:
            self.report.add("organisation alias", "created", len(rows))

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
        self.named.ensure(chunk, self.actor_names)

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
        have = set(
            Source.objects.filter(incident_id__in=ids).values_list("incident_id", "url", "citation")
        )
        create = []
        for p in chunk:
            pk = existing[p.external_id].pk
            for source in p.sources:
                if (pk, source.url, source.citation) not in have:
                    have.add((pk, source.url, source.citation))
                    host = urlsplit(source.url).netloc.lower().removeprefix("www.")
                    create.append(
                        Source(
                            incident_id=pk,
                            url=source.url,
                            citation=source.citation,
                            publisher=host[:200],
                        )
                    )
        Source.objects.bulk_create(create, batch_size=500)
        return {s.incident_id for s in create}

    def _write_relations(self, chunk, existing) -> set[int]:
        """Add the record's incident types, motives, techniques and actors; never remove
        staff tagging."""
        ids = [existing[p.external_id].pk for p in chunk]
        touched = set()
        for through, column, wanted_of in (
            (Incident.types.through, "incidenttype_id", self._type_ids),
            (Incident.motives.through, "motive_id", self._motive_ids),
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
        return touched | self._write_techniques(chunk, existing, ids)

    def _write_techniques(self, chunk, existing, ids) -> set[int]:
        """Techniques the mapping derives from the record's actions, marked derived with the
        VERIS enumerations that mapped to them. A technique staff recorded as reported stays
        reported (a source said so; the mapping only agrees); a derived one whose
        enumerations changed is updated; none is removed."""
        have = {
            (link.incident_id, link.technique_id): link
            for link in IncidentTechnique.objects.filter(incident_id__in=ids).only(
                "incident_id", "technique_id", "provenance", "derived_from"
            )
        }
        create, update, touched = [], [], set()
        for p in chunk:
            pk = existing[p.external_id].pk
            for attack_id, enumerations in sorted(p.derived_from.items()):
                technique_id = self.techniques.get(attack_id)
                if technique_id is None:
                    continue
                derived_from = join_derived_from(enumerations)
                link = have.get((pk, technique_id))
                if link is None:
                    link = IncidentTechnique(
                        incident_id=pk,
                        technique_id=technique_id,
                        provenance=TechniqueProvenance.DERIVED,
                        derived_from=derived_from,
                    )
                    have[(pk, technique_id)] = link
                    create.append(link)
                    touched.add(pk)
                elif link.is_derived and link.derived_from != derived_from and link.pk:
                    link.derived_from = derived_from
                    update.append(link)
                    touched.add(pk)
        IncidentTechnique.objects.bulk_create(create, batch_size=1000)
        IncidentTechnique.objects.bulk_update(update, ["derived_from"], batch_size=1000)
        return touched

    def _type_ids(self, p):
        return {self.incident_types[t] for t in p.types if t in self.incident_types}

    def _motive_ids(self, p):
        return {self.motives[m] for m in p.motives if m in self.motives}

    def _actor_ids(self, p):
        ids = {self.actors[f"veris:{c}:{v}:{k}".lower()] for c, v, k in p.actors}
        return ids | self.named.ids(p)


def _canonical_names(records) -> dict[tuple[str, str, str], tuple[str, str | None]]:
    """(victim key, country) -> the name and sector a new organisation is created with: the
    spelling most records use (one with capitals before an all-lower-case one, then the
    first seen), and the sector most records give."""
    spellings: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    sectors: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for p in records:
        key = VerisImporter.victim_key(p)
        spellings[key][p.victim] += 1
        if p.sector:
            sectors[key][p.sector] += 1
    canonical = {}
    for key, counts in spellings.items():
        order = {name: i for i, name in enumerate(counts)}
        name = max(counts, key=lambda n: (counts[n], not n.islower(), -order[n]))
        sector = sectors[key].most_common(1)[0][0] if sectors[key] else None
        canonical[key] = (name, sector)
    return canonical


def _posture(incident):
    try:
        return incident.cia_posture
    except CIAPosture.DoesNotExist:
        return None


def _warning(where, field_name, message):
    return Problem(where, field_name, "warning: " + message)
