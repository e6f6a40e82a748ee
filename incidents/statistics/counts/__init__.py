"""What the statistics page counts, over the incidents the finder's filters select.

Each function takes the filtered incidents (already limited to what the viewer may
see) and the canonical filter parameters, runs one aggregate query and returns its
charts. ``PUBLIC`` (``counts.public`` and ``counts.types``) counts public facts only; ``MEMBERS``
(``counts.members`` and ``counts.attack``) counts gated values and is called only for
members (incidents.views.statistics asks accounts.access first).
"""

from __future__ import annotations

from ..charts import Chart
from . import attack, members, public, timeline, types

# Public: facts any viewer may see.
PUBLIC = [
    public.years,
    public.months,
    public.victim_countries,
    public.sectors,
    types.types,
    types.types_by_year,
    types.types_by_sector,
    public.records,
    public.recurring_victims,
    public.datasets,
    timeline.lag_by_year,
    timeline.lag_distribution,
    timeline.lag_by_sector,
    timeline.lag_by_country,
]
PUBLIC_CHARTS = {
    "years": "Incidents per year",
    "months": "Incidents per month",
    "countries": "Incidents by victim country",
    "sectors": "Incidents by sector",
    "types": "Incidents by type",
    "types-by-year": "Incident types over time",
    "type-sector": "Incident types by sector",
    "records-total": "Records affected per year (total)",
    "records-median": "Records affected per year (median incident)",
    "victims": "Recurring victims",
    "datasets": "Data sources and licences",
    "lag-years": "Disclosure lag per year (median)",
    "lag-distribution": "How long until disclosure",
    "lag-sectors": "Disclosure lag by sector (median)",
    "lag-countries": "Disclosure lag by victim country (median)",
}

# Members: counts over gated values. Never called for anyone else.
MEMBERS = [
    members.motives,
    members.motives_by_year,
    attack.techniques,
    attack.tactics,
    members.actor_types,
    members.actor_countries,
    members.cia,
    members.actor_type_by_sector,
    attack.attack_matrix,
]
# In page order: the two wide heatmaps each after a pair of half-width charts.
MEMBER_CHARTS = {
    "motives": "Motives",
    "actor-types": "Threat actor types",
    "motives-by-year": "Motives over time",
    "techniques": "Top ATT&CK techniques",
    "tactics": "ATT&CK tactics",
    "actor-countries": "Threat actor locations",
    "cia": "Impact on confidentiality, integrity and availability",
    "actor-type-sector": "Who attacks which sector",
    "attack-matrix": "ATT&CK matrix",
}


def compute(incidents, params, *, member: bool) -> dict[str, Chart]:
    """Every chart the audience may see, by name, in page order."""
    functions = PUBLIC + (MEMBERS if member else [])
    return {chart.name: chart for function in functions for chart in function(incidents, params)}
