"""The statistics a viewer's audience may see for a selection of the finder's filters: the
statistics page, its charts' CSV and Navigator layer, the hubs and the API read them here.

Counted per (audience, canonical query): the statistics page's and the hubs' selections kept
in roll-ups (incidents.statistics.rollups), any other selection cached until the catalogue
changes (incidents.caching). Members' charts are counted only for the member audiences.
"""

from functools import partial
from operator import attrgetter

from .. import caching, filters
from ..statistics import rollups

# Parameters of the finder that do not change what is counted.
NOT_COUNTED = ("sort",)


def counted_params(filterset) -> dict:
    """The canonical parameters of a valid FilterSet that change what is counted."""
    return {k: v for k, v in filters.canonical_params(filterset).items() if k not in NOT_COUNTED}


def chart_data(user, params) -> rollups.Counted:
    """Every chart ``user``'s audience may see for ``params``: the statistics page's and
    hubs' from their roll-ups, any other selection counted once per catalogue version."""
    audience = caching.audience(user)
    query = filters.encode(params)
    if rollups.rolled_up(params):
        return caching.cached(
            "statistics-rollup",
            audience,
            [query],
            partial(rollups.charts, audience, params),
            attrgetter("timeout"),
        )
    data = caching.cached(
        "statistics-data",
        audience,
        [query],
        partial(rollups.count, audience, params),
        single_flight=True,
    )
    return rollups.Counted(data, fresh=True)
