"""What each audience gets of an incident, organisation or threat actor.

Allow-lists, never deny-lists: a public presentation carries only public
fields and the counts of gated relations; the members' presentation is built
only after ``accounts.access.is_member`` said yes, from a queryset that loads
the gated data. Templates receive these objects, never model instances, so a
template cannot reach a gated value that the view did not hand over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils.safestring import SafeString
from django_countries.fields import Country

from .markup import render_markdown
from .models import Impact, format_incident_date, incident_date_iso


@dataclass(frozen=True)
class OrganisationRef:
    name: str
    url: str


@dataclass(frozen=True)
class SourceView:
    url: str
    title: str
    publisher: str
    published_on: date | None
    citation: str = ""  # the reference's own text, when it names no URL


@dataclass(frozen=True, kw_only=True)
class IncidentRow:
    """An incident as any viewer may see it in a list."""

    slug: str
    url: str
    organisation: OrganisationRef
    date: date
    date_display: str
    date_iso: str
    country: Country | None
    sector: str
    summary: str
    records_affected: int | None
    is_draft: bool
    motive_count: int
    technique_count: int
    actor_count: int
    snippet: str = ""  # a search match with <mark>s, already escaped (presenters._marked)


@dataclass(frozen=True)
class ProvenanceView:
    """Where an imported incident came from, and the licence its reuse requires."""

    dataset: str
    dataset_url: str
    licence: str
    licence_url: str
    attribution: str


@dataclass(frozen=True, kw_only=True)
class IncidentPublic(IncidentRow):
    """An incident page as any viewer may see it."""

    description_html: SafeString  # Markdown, sanitised (incidents.markup)
    sources: tuple[SourceView, ...]
    published_at: datetime | None
    updated_at: datetime
    provenance: ProvenanceView | None


@dataclass(frozen=True)
class ImpactView:
    label: str
    level: str
    level_display: str


@dataclass(frozen=True)
class TechniqueView:
    attack_id: str
    name: str
    parent_name: str
    tactics: tuple[str, ...]
    url: str


@dataclass(frozen=True)
class ActorRef:
    name: str
    url: str
    actor_type: str
    country: Country | None


@dataclass(frozen=True)
class IncidentGated:
    """The members-only part of an incident page."""

    impacts: tuple[ImpactView, ...] | None
    cia_notes: str
    motives: tuple[str, ...]
    techniques: tuple[TechniqueView, ...]
    actors: tuple[ActorRef, ...]


def _country(value) -> Country | None:
    return value if value else None


def incident_row(incident) -> IncidentRow:
    snippet = getattr(incident, "snippet", None)
    return IncidentRow(**_row_fields(incident), snippet=_marked(snippet) if snippet else "")


def _marked(headline: str) -> str:
    """ts_headline output as safe HTML: everything escaped, the match markers as <mark>."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    from .search import LESS_THAN, MARK_END, MARK_START

    html = escape(headline).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    html = html.replace(LESS_THAN, "&lt;")
    return mark_safe(html)  # noqa: S308 - escaped above; only our markers become tags


def _row_fields(incident) -> dict:
    org = incident.organisation
    return {
        "slug": incident.slug,
        "url": incident.get_absolute_url(),
        "organisation": OrganisationRef(org.name, org.get_absolute_url()),
        "date": incident.date,
        "date_display": format_incident_date(incident.date, incident.date_precision),
        "date_iso": incident_date_iso(incident.date, incident.date_precision),
        "country": _country(incident.country),
        "sector": incident.sector.name if incident.sector_id else "",
        "summary": incident.summary,
        "records_affected": incident.records_affected,
        "is_draft": incident.status != incident.Status.PUBLISHED,
        "motive_count": incident.motive_count,
        "technique_count": incident.technique_count,
        "actor_count": incident.actor_count,
    }


def incident_public(incident) -> IncidentPublic:
    return IncidentPublic(
        **_row_fields(incident),
        description_html=render_markdown(incident.description),
        sources=tuple(
            SourceView(s.url, s.title, s.publisher, s.published_on, s.citation)
            for s in incident.sources.all()
        ),
        published_at=incident.published_at,
        updated_at=incident.updated_at,
        provenance=_provenance(incident),
    )


def _provenance(incident) -> ProvenanceView | None:
    if not incident.dataset_id:
        return None
    d = incident.dataset
    return ProvenanceView(d.name, d.url, d.licence, d.licence_url, d.attribution)


def incident_gated(incident) -> IncidentGated:
    """Members only: call after is_member(), on an incident from for_member_detail()."""
    try:
        posture = incident.cia_posture
    except incident._meta.model.cia_posture.RelatedObjectDoesNotExist:
        posture = None
    impacts = None
    if posture is not None:
        impacts = tuple(
            ImpactView(label, getattr(posture, field), Impact(getattr(posture, field)).label)
            for field, label in (
                ("confidentiality", "Confidentiality"),
                ("integrity", "Integrity"),
                ("availability", "Availability"),
            )
        )
    return IncidentGated(
        impacts=impacts,
        cia_notes=posture.notes if posture else "",
        motives=tuple(m.name for m in incident.motives.all()),
        techniques=tuple(
            TechniqueView(
                attack_id=t.attack_id,
                name=t.name,
                parent_name=t.parent.name if t.parent_id else "",
                tactics=tuple(tac.name for tac in t.tactics.all()),
                url=t.url,
            )
            for t in sorted(incident.techniques.all(), key=lambda t: t.attack_id)
        ),
        actors=tuple(actor_ref(a) for a in incident.threat_actors.all()),
    )


def actor_ref(actor) -> ActorRef:
    """Members only: an actor with its type and location."""
    return ActorRef(
        name=actor.name,
        url=actor.get_absolute_url(),
        actor_type=actor.actor_type.name if actor.actor_type_id else "",
        country=_country(actor.country),
    )


@dataclass(frozen=True)
class ActorPublic:
    name: str
    slug: str
    url: str
    incident_count: int
    is_unattributed: bool


@dataclass(frozen=True)
class ActorGated:
    actor_type: str
    country: Country | None
    aliases: tuple[str, ...]
    description_html: SafeString
    attack_id: str


def actor_public(actor) -> ActorPublic:
    return ActorPublic(
        actor.name,
        actor.slug,
        actor.get_absolute_url(),
        actor.incident_count,
        actor.is_unattributed,
    )


def actor_gated(actor) -> ActorGated:
    """Members only: call after is_member()."""
    return ActorGated(
        actor_type=actor.actor_type.name if actor.actor_type_id else "",
        country=_country(actor.country),
        aliases=tuple(str(a) for a in (actor.aliases or [])),
        description_html=render_markdown(actor.description),
        attack_id=actor.attack_id,
    )


@dataclass(frozen=True)
class OrganisationView:
    name: str
    slug: str
    url: str
    country: Country | None
    sector: str
    website: str
    incident_count: int
    is_placeholder: bool = False
    other_spellings: tuple[str, ...] = ()


def organisation_view(org, aliases=()) -> OrganisationView:
    """``aliases``: the spellings sources use (public, like the name); the name itself is
    left out."""
    return OrganisationView(
        name=org.name,
        slug=org.slug,
        url=org.get_absolute_url(),
        country=_country(org.country),
        sector=org.sector.name if org.sector_id else "",
        website=org.website,
        incident_count=org.incident_count,
        is_placeholder=org.is_placeholder,
        other_spellings=tuple(a for a in aliases if a != org.name),
    )
