"""Catalogue pages. Each view asks accounts.access.is_member once and builds the
members' part of the context only when the answer is yes."""

from ..filters import LOCKED_FILTER_LABELS
from .actors import actor_detail, actor_layer, actor_list
from .exports import incident_export
from .finder import incident_list
from .home import data_sources, home
from .hubs import (
    attack_index,
    browse_countries,
    browse_index,
    country_hub,
    sector_hub,
    tactic_hub,
    technique_hub,
    type_hub,
    year_hub,
)
from .pages import (
    incident_detail,
    incident_layer,
    organisation_detail,
    organisation_list,
    paginate,
)
from .statistics import statistics, statistics_csv, statistics_layer

__all__ = [
    "LOCKED_FILTER_LABELS",
    "actor_detail",
    "actor_layer",
    "actor_list",
    "attack_index",
    "browse_countries",
    "browse_index",
    "country_hub",
    "data_sources",
    "home",
    "incident_detail",
    "incident_export",
    "incident_layer",
    "incident_list",
    "organisation_detail",
    "organisation_list",
    "paginate",
    "sector_hub",
    "statistics",
    "statistics_csv",
    "statistics_layer",
    "tactic_hub",
    "technique_hub",
    "type_hub",
    "year_hub",
]
