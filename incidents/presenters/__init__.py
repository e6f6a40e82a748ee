"""What each audience gets of an incident, organisation or threat actor.

Allow-lists, never deny-lists: a public presentation carries only public
fields and the counts of gated relations; the members' presentation is built
only after ``accounts.access.is_member`` said yes, from a queryset that loads
the gated data. Templates receive these objects, never model instances, so a
template cannot reach a gated value that the view did not hand over.

One module per subject, each imported here so callers say ``presenters.incident_row``:
``incidents`` (list rows, the incident page and its members' part), ``actors``,
``organisations``, ``matrix`` (techniques on the ATT&CK matrix), ``citation``, ``records``
(what each dataset says of an incident), ``gates`` (what a non-member reads in place of a
members' field: the one decision, docs/gating.md).
"""

from .actors import (
    ActorGated,
    ActorPublic,
    ActorRef,
    SoftwareView,
    actor_gated,
    actor_public,
    actor_ref,
    attack_group_url,
    natural_key,
)
from .citation import Citation, citation
from .incidents import (
    FinderLink,
    ImpactView,
    IncidentGated,
    IncidentPublic,
    IncidentRow,
    OrganisationRef,
    ProvenanceView,
    RowGated,
    SourceView,
    TechniqueView,
    TypeRef,
    incident_gated,
    incident_member_row,
    incident_public,
    incident_row,
)
from .matrix import MatrixCell, MatrixColumn, derived_text, technique_matrix
from .organisations import OrganisationView, organisation_view
from .timeline import TimelineEntry, TimelineView, timeline_view

__all__ = [
    "ActorGated",
    "ActorPublic",
    "ActorRef",
    "Citation",
    "FinderLink",
    "ImpactView",
    "IncidentGated",
    "IncidentPublic",
    "IncidentRow",
    "MatrixCell",
    "MatrixColumn",
    "OrganisationRef",
    "OrganisationView",
    "ProvenanceView",
    "RowGated",
    "SoftwareView",
    "SourceView",
    "TechniqueView",
    "TimelineEntry",
    "TimelineView",
    "TypeRef",
    "actor_gated",
    "actor_public",
    "actor_ref",
    "attack_group_url",
    "citation",
    "derived_text",
    "incident_gated",
    "incident_member_row",
    "incident_public",
    "incident_row",
    "natural_key",
    "organisation_view",
    "technique_matrix",
    "timeline_view",
]
