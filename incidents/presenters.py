"""What each audience gets of an incident, organisation or threat actor.

Allow-lists, never deny-lists: a public presentation carries only public
fields and the counts of gated relations; the members' presentation is built
only after ``accounts.access.is_member`` said yes, from a queryset that loads
the gated data. Templates receive these objects, never model instances, so a
template cannot reach a gated value that the view did not hand over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django_countries.fields import Country

from .markup import render_markdown
from .models import Impact, format_incident_date, incident_date_iso
from .search import LESS_THAN, MARK_END, MARK_START


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


def derived_text(derived: bool, derived_from) -> str:
    """ "derived from VERIS: action.malware.variety.Ransomware" for a derived technique."""
    if not derived:
        return ""
    return "derived from VERIS" + (": " + ", ".join(derived_from) if derived_from else "")


@dataclass(frozen=True)
class ActorRef:
    name: str
    url: str
    actor_type: str
    country: Country | None
    finder_query: str = ""


@dataclass(frozen=True)
class MatrixCell:
    """A technique in a tactic's column, with the sub-techniques used under it. A parent
    that is not itself used (only a sub-technique is) has ``used`` False."""

    attack_id: str
    name: str
    url: str
    used: bool
    subtechniques: tuple[MatrixCell, ...] = ()
    # An incident's matrix only: what the technique was derived from VERIS from, as the
    # technique list says it ("derived from VERIS: ..."); empty when reported (or unused).
    derived_text: str = ""


@dataclass(frozen=True)
class MatrixColumn:
    tactic: str
    shortname: str
    cells: tuple[MatrixCell, ...]


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


def _country(value) -> Country | None:
    return value if value else None


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


def technique_matrix(techniques, *, derived=None) -> tuple[MatrixColumn, ...]:
    """``techniques`` laid out on the Enterprise matrix: a column per tactic that has any (in
    the matrix's order), sub-techniques under their parent. Rows need ``parent`` selected
    and ``tactics`` prefetched; a technique with no tactic has no place on the matrix.
    ``derived``: technique pk -> what a derived technique's cell says (an incident's)."""
    derived = derived or {}
    columns: dict[int, tuple] = {}  # tactic pk -> (tactic, {parent attack id: [cell, subs]})
    for t in techniques:
        for tactic in t.tactics.all():
            _, cells = columns.setdefault(tactic.pk, (tactic, {}))
            parent = t.parent if t.parent_id else t
            cell = cells.setdefault(parent.attack_id, [parent, set(), False])
            if t.parent_id:
                cell[1].add(t)
            else:
                cell[2] = True
    return tuple(
        MatrixColumn(
            tactic.name,
            tactic.shortname,
            tuple(
                MatrixCell(
                    parent.attack_id,
                    parent.name,
                    parent.url,
                    used,
                    tuple(
                        MatrixCell(
                            sub.attack_id,
                            sub.name,
                            sub.url,
                            True,
                            derived_text=derived.get(sub.pk, ""),
                        )
                        for sub in sorted(subs, key=lambda sub: sub.attack_id)
                    ),
                    derived_text=derived.get(parent.pk, "") if used else "",
                )
                for _, (parent, subs, used) in sorted(cells.items())
            ),
        )
        for tactic, cells in sorted(columns.values(), key=lambda c: (c[0].order, c[0].name))
    )


def actor_ref(actor) -> ActorRef:
    """Members only: an actor with its type and location."""
    return ActorRef(
        name=actor.name,
        url=actor.get_absolute_url(),
        actor_type=actor.actor_type.name if actor.actor_type_id else "",
        country=_country(actor.country),
        finder_query=urlencode({"actor": actor.slug}),
    )


@dataclass(frozen=True)
class ActorPublic:
    """A threat actor as anyone sees it: its name, its number of known incidents and, for an
    ATT&CK group, its ATT&CK ID and MITRE's page (ATT&CK's own public knowledge)."""

    name: str
    slug: str
    url: str
    incident_count: int
    is_unattributed: bool
    attack_id: str = ""
    attack_url: str = ""


@dataclass(frozen=True)
class SoftwareView:
    attack_id: str
    name: str
    kind: str
    url: str


@dataclass(frozen=True)
class ActorGated:
    actor_type: str
    actor_type_source: str
    country: Country | None
    country_source: str
    aliases: tuple[str, ...]
    description_html: SafeString
    attack_id: str
    attack_url: str
    matrix: tuple[MatrixColumn, ...]
    technique_count: int
    software: tuple[SoftwareView, ...]
    layer_url: str


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key reading digits as numbers: APT3 before APT29, "Group 9" before "Group 10"."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(name))


def attack_group_url(attack_id: str) -> str:
    return f"https://attack.mitre.org/groups/{attack_id}/" if attack_id else ""


def actor_public(actor) -> ActorPublic:
    """``actor`` from ThreatActor.objects.with_public_attack_id()."""
    return ActorPublic(
        actor.name,
        actor.slug,
        actor.get_absolute_url(),
        actor.incident_count,
        actor.is_unattributed,
        actor.public_attack_id,
        attack_group_url(actor.public_attack_id),
    )


def actor_gated(actor) -> ActorGated:
    """Members only: call after is_member(), on an actor from for_member_profile()."""
    techniques = list(actor.techniques.all())
    return ActorGated(
        actor_type=actor.actor_type.name if actor.actor_type_id else "",
        actor_type_source=actor.actor_type_source if actor.actor_type_id else "",
        country=_country(actor.country),
        country_source=actor.country_source if actor.country else "",
        aliases=tuple(str(a) for a in (actor.aliases or [])),
        description_html=render_markdown(actor.description),
        attack_id=actor.attack_id,
        attack_url=attack_group_url(actor.attack_id),
        matrix=technique_matrix(techniques),
        technique_count=len(techniques),
        software=tuple(
            SoftwareView(s.attack_id, s.name, s.get_kind_display(), s.url)
            for s in sorted(actor.software.all(), key=lambda s: natural_key(s.name))
        ),
        layer_url=reverse("incidents:actor_layer", args=[actor.slug]) if techniques else "",
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


@dataclass(frozen=True)
class Citation:
    url: str
    text: str
    bibtex: str


BIBTEX_SPECIAL = str.maketrans({c: "\\" + c for c in "{}&%$#_"} | {"\\": "", "^": "", "~": ""})


def citation(incident: IncidentPublic, title: str, site_url: str) -> Citation:
    """How to cite an incident page: public fields only, with its stable address (an
    incident's slug does not change once it is published)."""
    url = f"{site_url}{incident.url}"
    updated = incident.updated_at
    text = f"Cyber Incident Portal. “{title}.” Last updated {updated.day} {updated:%B %Y}. {url}"
    bibtex = "\n".join(
        [
            f"@misc{{cip-{incident.slug},",
            f"  title = {{{{{title.translate(BIBTEX_SPECIAL)}}}}},",
            "  author = {{Cyber Incident Portal}},",
            f"  year = {{{updated:%Y}}},",
            f"  howpublished = {{\\url{{{url}}}}},",
            f"  note = {{Last updated {updated:%Y-%m-%d}}}",
            "}",
        ]
    )
    return Citation(url=url, text=text, bibtex=bibtex)
