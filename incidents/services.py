"""The write side of the catalogue: every writer (model saves, admin actions, importers,
the synthetic generator, seed_demo) goes through these rules.

- ``catalogue_write()``: one transaction that invalidates cached pages when it commits.
- Slugs: ``SlugAllocator`` (a set of taken slugs, one query up front) and ``unique_slug``.
  Drafts get slugs from their own space (``draft-<random>``); an incident's public slug is
  allocated when it is first published and kept from then on, so a draft never shapes a
  public slug (a public "-2" would tell a visitor a hidden incident exists).
- Publication: ``publish``/``unpublish`` for rows, ``prepare_incident`` for a model save
  (``incident_slug`` for bulk writers too),
  ``publication_values`` for bulk writers. ``published_at`` is set once.
  ``announce_published`` queues first publications for the saved searches' alerts.
- ``ensure_taxonomy()``: the sectors, motives and actor types importers and generators use.
- ``clean_text``: control characters never reach the database.
- Victim identity: ``organisation_key`` (what importers match victims by, with the country),
  ``merge_organisations`` and ``split_organisation_by_country`` (staff, in the admin).

Model classes are reached through the objects and querysets passed in, or
imported inside a function: incidents.models imports this module.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from portal import versions

# Transactions


@contextmanager
def catalogue_write():
    """Atomic. The database's triggers change the catalogue's versions in this transaction
    (portal.versions); this process reads them afresh once it commits."""
    with transaction.atomic():
        yield
        transaction.on_commit(versions.forget)


# Text

# C0 and C1 control characters, DEL included; tab, line feed and carriage return are text.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value):
    """``value`` without control characters (U+000B from word processors, NUL, ...)."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, list):
        return [clean_text(item) for item in value]
    return value


def clean_text_fields(instance) -> None:
    """Remove control characters from every text field of a model instance."""
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.CharField | models.TextField | models.JSONField):
            value = getattr(instance, field.attname)
            if isinstance(value, str | list):
                cleaned = clean_text(value)
                if cleaned != value:
                    setattr(instance, field.attname, cleaned)


# Organisation identity

# Legal forms that do not tell two victims apart ("Microsoft Corp" is "Microsoft").
LEGAL_SUFFIXES = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc",
    "llp", "lp", "plc", "gmbh", "ag", "sa", "nv", "bv", "pty", "pte", "srl", "spa", "ab", "oy",
    "kk",
}  # fmt: skip


@functools.lru_cache(maxsize=65536)
def organisation_key(name: str) -> str:
    """The normalised name organisations are matched by, with their country: case, accents,
    punctuation, spacing, a leading "The" and trailing legal forms ignored, so "Microsoft
    Corp.", "microsoft" and "MICROSOFT Corporation" share one key."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    words = re.sub(r"[\W_]+", " ", text.replace("&", " and ")).split()
    if words[:1] == ["the"] and len(words) > 1:
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return "".join(words)[:200] or text.strip()[:200]


class MergeRefused(ValueError):
    """Organisations that must not be merged; the message says why."""


def merge_organisations(target, others) -> int:
    """Merge ``others`` into ``target``: their incidents and spellings move to it, their
    addresses answer with a permanent redirect to it, and they are deleted. Refused across
    countries (two victims of one name in two countries are two victims). Returns the
    number of incidents moved."""
    from .models import Incident, OrganisationAlias, OrganisationRedirect

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
    from .models import Incident, Organisation, OrganisationAlias

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


# Slugs

DRAFT_SLUG = re.compile(r"draft-[0-9a-f]{12}\Z")


def slug_base(text: str, max_length: int = 80) -> str:
    return slugify(text)[:max_length].strip("-") or "item"


class SlugAllocator:
    """Unique slugs ("acme", "acme-2", ...) against a set of taken ones, for writers of many
    rows: the taken slugs are read once, and each slug handed out is taken at once."""

    def __init__(self, taken: Iterable[str] = (), *, max_length: int = 80):
        self.taken = set(taken)
        self.max_length = max_length

    @classmethod
    def for_model(cls, model, *, max_length: int = 80):
        return cls(model._default_manager.values_list("slug", flat=True), max_length=max_length)

    def allocate(self, text: str) -> str:
        base = slug_base(text, self.max_length)
        slug, n = base, 2
        while slug in self.taken:
            slug = f"{base[: self.max_length - len(str(n)) - 1]}-{n}"
            n += 1
        self.taken.add(slug)
        return slug


def unique_slug(model, text: str, *, max_length: int = 80, exclude_pk=None) -> str:
    """A slug for ``text`` not yet used by ``model`` (one query: the slugs it could clash with)."""
    existing = model._default_manager.filter(slug__startswith=slug_base(text, max_length))
    if exclude_pk is not None:
        existing = existing.exclude(pk=exclude_pk)
    allocator = SlugAllocator(existing.values_list("slug", flat=True), max_length=max_length)
    return allocator.allocate(text)


def draft_slug() -> str:
    """A slug from the drafts' own space: it says nothing and no public slug depends on it."""
    return f"draft-{secrets.token_hex(6)}"


def is_draft_slug(slug: str) -> bool:
    return bool(DRAFT_SLUG.match(slug or ""))


INCIDENT_SLUG_LENGTH = 100


def incident_slug_text(date, precision, victim_name: str) -> str:
    """What an incident's public slug is made from: "2020-11 Acme" becomes "2020-11-acme"."""
    from .models import slug_date

    return f"{slug_date(date, precision)} {victim_name}"


# Publication


def publication_values(published: bool, now, published_at=None) -> tuple[str, object]:
    """(status, published_at) for a row written in bulk; ``published_at`` is kept once set."""
    if published:
        return "published", published_at or now
    return "draft", published_at


def incident_slug(slug: str, *, published: bool, public_slug) -> str:
    """The slug an incident is written with, by every writer.

    A draft without a slug gets one from the drafts' space; an incident being published
    with no slug or a draft-space slug gets ``public_slug()``, its public slug, chosen
    among the other public-space slugs only. A slug staff typed is kept, and so is a
    public slug once allocated (also after unpublishing: it was public already).
    """
    if published and (not slug or is_draft_slug(slug)):
        return public_slug()
    return slug or draft_slug()


def prepare_incident(incident) -> None:
    """Before an incident is saved: its slug (``incident_slug``) and publication timestamp."""
    published = incident.status == incident.Status.PUBLISHED
    incident.slug = incident_slug(
        incident.slug,
        published=published,
        public_slug=lambda: unique_slug(
            type(incident),
            incident_slug_text(incident.date, incident.date_precision, incident.organisation_name),
            max_length=INCIDENT_SLUG_LENGTH,
            exclude_pk=incident.pk,
        ),
    )
    if published and incident.published_at is None:
        incident.published_at = timezone.now()


def announce_published(incident_ids: Iterable[int]) -> None:
    """Incidents published for the first time: queued for the saved searches' alerts in the
    current transaction (``NewIncident``), matched by a task enqueued when it commits
    (incidents.alerts). Every writer that publishes calls this: model saves do."""
    from .models import NewIncident
    from .tasks import match_new_incidents

    rows = [NewIncident(incident_id=pk) for pk in incident_ids]
    if not rows:
        return
    NewIncident.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(match_new_incidents.enqueue)


def publish(incidents) -> int:
    """Publish the drafts among ``incidents`` (a queryset); the number published."""
    n = 0
    with catalogue_write():
        for incident in incidents.filter(status="draft").select_related("organisation"):
            incident.status = incident.Status.PUBLISHED
            incident.save()
            n += 1
    return n


def unpublish(incidents) -> int:
    """Back to draft; slugs and first publication timestamps are kept."""
    with catalogue_write():
        return incidents.filter(status="published").update(
            status="draft", updated_at=timezone.now()
        )


# Taxonomy

SECTORS = {
    "agriculture": "Agriculture and food",
    "construction": "Construction",
    "defence": "Defence",
    "education": "Education and research",
    "energy": "Energy and utilities",
    "finance": "Finance and insurance",
    "government": "Government and public administration",
    "healthcare": "Healthcare",
    "hospitality": "Hospitality and leisure",
    "manufacturing": "Manufacturing",
    "media": "Media and entertainment",
    "non-profit": "Non-profit and civil society",
    "other-services": "Other services",
    "professional-services": "Professional services",
    "real-estate": "Real estate",
    "retail": "Retail",
    "technology": "Technology",
    "telecommunications": "Telecommunications",
    "transportation": "Transportation and logistics",
}
# VERIS actor motives.
MOTIVES = {
    slug: slug.capitalize()
    for slug in (
        "financial",
        "espionage",
        "ideology",
        "grudge",
        "fun",
        "convenience",
        "fear",
        "secondary",
        "other",
    )
}
ACTOR_TYPES = {
    "nation-state": ("Nation-state", ""),
    "criminal-group": ("Criminal group", ""),
    "hacktivist": ("Hacktivist", ""),
    "terrorist": ("Terrorist", "Actors using attacks to intimidate or coerce for political ends."),
    "competitor": ("Competitor", ""),
    "lone-actor": ("Lone actor", ""),
    "insider": ("Insider", ""),
    "partner": ("Partner", "A supplier, contractor or other third party with legitimate access."),
    "unknown": ("Unknown", ""),
}


@dataclass(frozen=True)
class Taxonomy:
    """slug -> pk of every sector, motive and actor type."""

    sectors: dict[str, int]
    motives: dict[str, int]
    actor_types: dict[str, int]


def ensure_taxonomy() -> Taxonomy:
    """Create the sectors, motives and actor types writers map to, where missing (terms
    loaded from fixtures/taxonomy.json or edited in the admin are kept as they are)."""
    from .models import ActorType, Motive, Sector

    wanted = (
        (Sector, {slug: {"name": name} for slug, name in SECTORS.items()}),
        (Motive, {slug: {"name": name} for slug, name in MOTIVES.items()}),
        (
            ActorType,
            {slug: {"name": n, "description": d} for slug, (n, d) in ACTOR_TYPES.items()},
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
