"""The write side of the catalogue: every writer (admin actions, importers, the synthetic
generator, seed_demo) goes through these; the rules they share (text cleaning, slugs,
dates, organisation keys) are in ``incidents.rules``, below the models.

- ``catalogue_write()``: one transaction; the database's triggers change the catalogue's versions
  in it (portal.versions).
- Publication: ``publish``/``unpublish`` for rows, ``save_incident`` for one incident
  saved whole (the admin's form). ``announce_published`` queues first publications for the
  saved searches' alerts: every writer that publishes calls it (bulk writers too), since a
  model save does nothing beyond its own row.
- ``ensure_taxonomy()``: the sectors, motives, actor types and incident types importers and
  generators use.
- Victim identity: ``merge_organisations`` and ``split_organisation_by_country`` (staff,
  in the admin).
- One event from several datasets: ``merge_incidents`` and ``reject_merge`` (staff decide
  the importers' merge candidates in the admin).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portal import versions

from . import rules
from .alerts import match_new_incidents_task
from .models import (
    ActorType,
    Incident,
    IncidentRecord,
    IncidentType,
    MergeCandidate,
    Motive,
    NewIncident,
    Organisation,
    OrganisationAlias,
    OrganisationRedirect,
    Sector,
    Source,
)

# Transactions


@contextmanager
def catalogue_write():
    """Atomic. The database's triggers change the catalogue's versions in this transaction
    (portal.versions); when it commits, the replica's lag window restarts and this process
    reads the versions afresh."""
    with transaction.atomic():
        yield
        transaction.on_commit(versions.committed)


# Organisation identity


class MergeRefused(ValueError):
    """Organisations that must not be merged; the message says why."""


def merge_organisations(target, others) -> int:
    """Merge ``others`` into ``target``: their incidents and spellings move to it, their
    addresses answer with a permanent redirect to it, and they are deleted. Refused across
    countries (two victims of one name in two countries are two victims). Returns the
    number of incidents moved."""
    others = [o for o in others if o.pk != target.pk]
    countries = {o.country for o in [target, *others] if o.country}
    if len(countries) > 1:
        raise MergeRefused(
            "These organisations are in different countries ("
            + ", ".join(sorted(str(c) for c in countries))
            + "): set the same country first if they really are one victim."
        )
    moved = 0
    with catalogue_write():
        spellings = set(target.aliases.values_list("name", flat=True)) | {target.name}
        for other in others:
            moved += Incident.objects.filter(organisation=other).update(organisation=target)
            names = {other.name, *other.aliases.values_list("name", flat=True)} - spellings
            OrganisationAlias.objects.bulk_create(
                OrganisationAlias(organisation=target, name=name) for name in sorted(names)
            )
            spellings |= names
            OrganisationRedirect.objects.filter(organisation=other).update(organisation=target)
            OrganisationRedirect.objects.create(old_slug=other.slug, organisation=target)
            other.delete()
        if target.name not in set(target.aliases.values_list("name", flat=True)):
            OrganisationAlias.objects.create(organisation=target, name=target.name)
    return moved


def split_organisation_by_country(organisation) -> list:
    """Give each country among ``organisation``'s incidents other than its own an
    organisation of that name and country (with its spellings), and move those incidents
    there. Returns the organisations made."""
    made = []
    with catalogue_write():
        incidents = Incident.objects.filter(organisation=organisation)
        spellings = list(organisation.aliases.values_list("name", flat=True))
        for country in sorted(set(incidents.exclude(country="").values_list("country", flat=True))):
            if country == organisation.country:
                continue
            new = Organisation.objects.create(
                name=organisation.name,
                country=country,
                sector=organisation.sector,
                is_placeholder=organisation.is_placeholder,
            )
            OrganisationAlias.objects.bulk_create(
                OrganisationAlias(organisation=new, name=name)
                for name in sorted({organisation.name, *spellings})
            )
            incidents.filter(country=country).update(organisation=new)
            made.append(new)
    return made


def merge_incidents(candidate) -> None:
    """Staff say a merge candidate's two incidents are one event: the duplicate's dataset
    records, sources and incident types move to the incident already in the catalogue (its
    fields are left as they are: each record keeps what its dataset said), and the duplicate is
    deleted. Its victim stays an organisation of its own if it has other incidents."""
    target, duplicate = candidate.incident, candidate.duplicate
    with catalogue_write():
        IncidentRecord.objects.filter(incident=duplicate).update(incident=target)
        cited = set(Source.objects.filter(incident=target).values_list("url", flat=True))
        for source in Source.objects.filter(incident=duplicate):
            if source.url and source.url in cited:
                continue
            Source.objects.filter(pk=source.pk).update(incident=target)
        # The kinds of attack either dataset saw in the event (public: incident types).
        target.types.add(*duplicate.types.all())
        MergeCandidate.objects.filter(pk=candidate.pk).update(
            status=MergeCandidate.Status.MERGED, decided_at=timezone.now()
        )
        # The other open questions about the duplicate go with it; this one stays as the
        # record of the decision (its duplicate then empty).
        MergeCandidate.objects.filter(duplicate=duplicate).exclude(pk=candidate.pk).delete()
        duplicate.delete()
        Incident.objects.filter(pk=target.pk).update(updated_at=timezone.now())


def reject_merge(candidate) -> None:
    """Staff say the two incidents are two events: the candidate stays, rejected, so a
    re-import does not ask again."""
    MergeCandidate.objects.filter(pk=candidate.pk).update(
        status=MergeCandidate.Status.REJECTED, decided_at=timezone.now()
    )


# Publication


def announce_published(incident_ids: Iterable[int]) -> None:
    """Incidents published for the first time: queued for the saved searches' alerts in the
    current transaction (``NewIncident``), matched by a task enqueued when it commits
    (incidents.alerts). Every writer that publishes calls this (``save_incident`` and
    ``publish`` do; bulk writers with the ids they published): a model save does not."""
    rows = [NewIncident(incident_id=pk) for pk in incident_ids]
    if not rows:
        return
    NewIncident.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(match_new_incidents_task.enqueue)


def save_incident(incident, **kwargs) -> None:
    """Save one incident (its slug and first publication time: ``rules.prepare_incident``,
    in ``Incident.save``); announced to the alerts when this save first publishes it."""
    first = incident.published_at is None
    incident.save(**kwargs)
    if first and incident.published_at is not None:
        announce_published([incident.pk])


def publish(incidents) -> int:
    """Publish the drafts among ``incidents`` (a queryset); the number published."""
    n = 0
    with catalogue_write():
        for incident in incidents.filter(status="draft").select_related("organisation"):
            incident.status = incident.Status.PUBLISHED
            save_incident(incident)
            n += 1
    return n


def unpublish(incidents) -> int:
    """Back to draft; slugs and first publication timestamps are kept."""
    with catalogue_write():
        return incidents.filter(status="published").update(
            status="draft", updated_at=timezone.now()
        )


# Taxonomy


@dataclass(frozen=True)
class Taxonomy:
    """slug -> pk of every sector, motive, actor type and incident type."""

    sectors: dict[str, int]
    motives: dict[str, int]
    actor_types: dict[str, int]
    incident_types: dict[str, int]


def ensure_taxonomy() -> Taxonomy:
    """Create the sectors, motives, actor types and incident types writers map to, where
    missing (terms loaded from fixtures/taxonomy.json, made by migration 0028 or edited in
    the admin are kept as they are)."""
    wanted = (
        (Sector, {slug: {"name": name} for slug, name in rules.SECTORS.items()}),
        (Motive, {slug: {"name": name} for slug, name in rules.MOTIVES.items()}),
        (
            ActorType,
            {slug: {"name": n, "description": d} for slug, (n, d) in rules.ACTOR_TYPES.items()},
        ),
        (
            IncidentType,
            {
                slug: {"name": n, "description": d, "position": i}
                for i, (slug, (n, d)) in enumerate(rules.INCIDENT_TYPES.items(), 1)
            },
        ),
    )
    maps = []
    for model, terms in wanted:
        have = set(model.objects.values_list("slug", flat=True))
        missing = [model(slug=slug, **values) for slug, values in terms.items() if slug not in have]
        if missing:
            # A term of the same name under another slug (edited by staff) is left alone.
            model.objects.bulk_create(missing, ignore_conflicts=True)
        maps.append(dict(model.objects.values_list("slug", "pk")))
    return Taxonomy(*maps)
