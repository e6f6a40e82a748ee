"""The incident catalogue, one module per aggregate.

What is public and what is for members is decided in ``incidents.presenters``;
who is a member in ``accounts.access``. Models hold data and database invariants;
writes go through ``incidents.services``.
"""

from ..rules import DatePrecision, format_incident_date, incident_date_iso, slug_date
from .actors import ATTACK_DATASET, ThreatActor, ThreatActorQuerySet
from .base import MARKDOWN_HELP, CleanText, SlugManager
from .exportjobs import ExportJob
from .incident import (
    PUBLIC_INCIDENT_FIELDS,
    PUBLIC_PROVENANCE_FIELDS,
    PUBLIC_RELATED_FIELDS,
    PUBLIC_ROW_FIELDS,
    PUBLIC_TIMELINE_FIELDS,
    CIAPosture,
    Impact,
    Incident,
    IncidentQuerySet,
    IncidentTechnique,
    Source,
    TechniqueProvenance,
)
from .organisations import (
    Organisation,
    OrganisationAlias,
    OrganisationQuerySet,
    OrganisationRedirect,
)
from .records import IncidentRecord, MergeCandidate
from .reference import (
    ActorType,
    Dataset,
    IncidentType,
    Motive,
    Sector,
    Software,
    Tactic,
    TaxonomyTerm,
    Technique,
    TechniqueQuerySet,
    public_types,
)
from .rollups import StatisticsRollup
from .searches import MAX_SAVED_SEARCHES, MAX_WATCHES, AlertMatch, NewIncident, SavedSearch, Watch
from .snapshots import PublicSnapshot
from .timeline import Confirmation

__all__ = [
    "ATTACK_DATASET",
    "MARKDOWN_HELP",
    "MAX_SAVED_SEARCHES",
    "MAX_WATCHES",
    "Watch",
    "AlertMatch",
    "NewIncident",
    "SavedSearch",
    "PUBLIC_INCIDENT_FIELDS",
    "PUBLIC_PROVENANCE_FIELDS",
    "PUBLIC_RELATED_FIELDS",
    "PUBLIC_ROW_FIELDS",
    "PUBLIC_TIMELINE_FIELDS",
    "Confirmation",
    "ActorType",
    "CIAPosture",
    "CleanText",
    "Dataset",
    "ExportJob",
    "PublicSnapshot",
    "DatePrecision",
    "Impact",
    "Incident",
    "IncidentQuerySet",
    "IncidentRecord",
    "MergeCandidate",
    "IncidentType",
    "IncidentTechnique",
    "TechniqueProvenance",
    "Motive",
    "Organisation",
    "OrganisationAlias",
    "OrganisationQuerySet",
    "OrganisationRedirect",
    "Sector",
    "Software",
    "SlugManager",
    "Source",
    "StatisticsRollup",
    "Tactic",
    "TaxonomyTerm",
    "Technique",
    "TechniqueQuerySet",
    "ThreatActor",
    "ThreatActorQuerySet",
    "format_incident_date",
    "incident_date_iso",
    "public_types",
    "slug_date",
]
