"""An incident as each audience gets it: a list row and a page for anyone, and the members'
part of each (built only after ``accounts.access.is_member`` said yes)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django_countries.fields import Country

from ..markup import render_markdown
from ..models import Impact, format_incident_date, incident_date_iso
from ..rules import TIMELINE_DATES
from ..search import LESS_THAN, MARK_END, MARK_START
from .actors import ActorRef, actor_ref
from .gates import IncidentGates, incident_gates
from .matrix import MatrixColumn, derived_text, technique_matrix
from .places import country_or_none
from .records import RecordView, record_view
from .timeline import TimelineView, timeline_view


@dataclass(frozen=True)
class OrganisationRef:
    name: str
    url: str


@dataclass(frozen=True)
class TypeRef:
    """An incident type (public) with its hub page."""

    name: str
    slug: str
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
    # Public (DESIGN.md): whether the source confirms it ("suspected", "near-miss"), the lag.
    confirmation: str = "confirmed"
    confirmation_display: str = "Confirmed"
    disclosure_lag_days: int | None = None
    types: tuple[TypeRef, ...] = ()  # public, like the sector
    snippet: str = ""  # a search match with <mark>s, already escaped (_marked, below)
    gated: RowGated | None = None  # members only (incident_member_row)


@dataclass(frozen=True)
class FinderLink:
    """A gated value with the finder query that lists the incidents sharing it."""

    label: str
    query: str
    title: str = ""


@dataclass(frozen=True)
class RowGated:
    """The members-only part of a list row."""

    motives: tuple[FinderLink, ...]
    techniques: tuple[FinderLink, ...]
    actors: tuple[FinderLink, ...]


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
    timeline: TimelineView
    # Each dataset's record: the incident's own dataset's and any other that reported it.
    records: tuple[RecordView, ...] = ()
    # "Last updated", here and in the citation: never before the incident's own date or
    # its latest source's (an incident filed before it happened was updated since).
    last_updated: date
    gates: IncidentGates | None = None  # incident_detail's selector only (with_value_presence)
    sector_url: str = ""  # the sector's hub


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
    finder_query: str = ""
    # Members only, like the technique: derived by the VERIS importer through the mapping
    # (from these VERIS enumerations; empty when the import predates their recording),
    # not reported by a source.
    derived: bool = False
    derived_from: tuple[str, ...] = ()

    @property
    def provenance_text(self) -> str:
        """What the page says of a derived technique; empty for a reported one."""
        return derived_text(self.derived, self.derived_from)


@dataclass(frozen=True)
class IncidentGated:
    """The members-only part of an incident page."""

    impacts: tuple[ImpactView, ...] | None
    cia_notes: str
    motives: tuple[FinderLink, ...]
    techniques: tuple[TechniqueView, ...]
    actors: tuple[ActorRef, ...]
    matrix: tuple[MatrixColumn, ...] = ()
    layer_url: str = ""

    @property
    def any_derived(self) -> bool:
        return any(t.derived for t in self.techniques)


def incident_row(incident) -> IncidentRow:
    snippet = getattr(incident, "snippet", None)
    return IncidentRow(**_row_fields(incident), snippet=_marked(snippet) if snippet else "")


def incident_member_row(incident) -> IncidentRow:
    """Members only: call after is_member(), on an incident from for_member_list()."""
    row = incident_row(incident)
    gated = RowGated(
        motives=tuple(_finder_link("motive", m.slug, m.name) for m in incident.motives.all()),
        techniques=tuple(
            _finder_link("technique", t.attack_id, t.attack_id, t.name)
            for t in incident.techniques.all()
        ),
        actors=tuple(_finder_link("actor", a.slug, a.name) for a in incident.threat_actors.all()),
    )
    return replace(row, gated=gated)


def _finder_link(name, value, label, title="") -> FinderLink:
    return FinderLink(label, urlencode({name: value}), title)


def _marked(headline: str) -> str:
    """ts_headline output as safe HTML: everything escaped, the match markers as <mark>."""
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
        "country": country_or_none(incident.country),
        "sector": incident.sector.name if incident.sector_id else "",
        "summary": incident.summary,
        "records_affected": incident.records_affected,
        "is_draft": incident.status != incident.Status.PUBLISHED,
        "motive_count": incident.motive_count,
        "technique_count": incident.technique_count,
        "actor_count": incident.actor_count,
        "confirmation": incident.confirmation,
        "confirmation_display": incident.get_confirmation_display(),
        "disclosure_lag_days": incident.disclosure_lag_days,
        "types": tuple(type_ref(t) for t in incident.types.all()),
    }


def type_ref(incident_type) -> TypeRef:
    return TypeRef(incident_type.name, incident_type.slug, incident_type.get_absolute_url())


def incident_public(incident) -> IncidentPublic:
    sources = tuple(
        SourceView(s.url, s.title, s.publisher, s.published_on, s.citation)
        for s in incident.sources.all()
    )
    return IncidentPublic(
        **_row_fields(incident),
        description_html=render_markdown(incident.description),
        sources=sources,
        published_at=incident.published_at,
        updated_at=incident.updated_at,
        provenance=_provenance(incident),
        timeline=timeline_view(incident),
        # Prefetched by IncidentQuerySet.with_records().
        # A record with nothing to show (VCDB's, which only remembers what it wrote: the
        # incident's own fields are its) is left out.
        records=tuple(
            view
            for view in (record_view(r, incident.summary) for r in incident.records.all())
            if view.facts or view.summary
        ),
        last_updated=last_updated(
            incident.updated_at,
            [incident.date, *(getattr(incident, f"{name}_on") for name in TIMELINE_DATES)],
            sources,
        ),
        gates=incident_gates(incident) if hasattr(incident, "cia_assessed") else None,
        sector_url=(
            reverse("incidents:sector_hub", args=[incident.sector.slug])
            if incident.sector_id
            else ""
        ),
    )


def last_updated(updated_at: datetime, own_dates, sources) -> date:
    """The day an incident page was last updated, as it says it: its row's update, but never
    before the incident's own dates (its date, its timeline's) or its latest source (what
    the page reports cannot be older than what it reports on)."""
    days = [timezone.localdate(updated_at), *(d for d in own_dates if d)]
    days += [s.published_on for s in sources if s.published_on]
    return max(days)


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
    links = incident.technique_list()
    derived = {
        link.technique_id: derived_text(True, link.derived_from_list)
        for link in links
        if link.is_derived
    }
    matrix = technique_matrix([link.technique for link in links], derived=derived)
    return IncidentGated(
        impacts=impacts,
        cia_notes=posture.notes if posture else "",
        motives=tuple(_finder_link("motive", m.slug, m.name) for m in incident.motives.all()),
        techniques=tuple(
            TechniqueView(
                attack_id=link.technique.attack_id,
                name=link.technique.name,
                parent_name=link.technique.parent.name if link.technique.parent_id else "",
                tactics=tuple(tac.name for tac in link.technique.tactics.all()),
                url=link.technique.url,
                finder_query=urlencode({"technique": link.technique.attack_id}),
                derived=link.is_derived,
                derived_from=tuple(link.derived_from_list),
            )
            for link in links
        ),
        actors=tuple(actor_ref(a) for a in incident.threat_actors.all()),
        matrix=matrix,
        layer_url=reverse("incidents:incident_layer", args=[incident.slug]) if matrix else "",
    )
