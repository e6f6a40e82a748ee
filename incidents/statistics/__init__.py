"""Statistics over the catalogue: what is counted (``counts``), and how it is drawn (``charts``).

The view (incidents.views.statistics) filters with the finder's per-audience FilterSet,
calls ``counts.compute`` with ``member`` as accounts.access decided, and caches the
result per audience and canonical filter query (incidents.caching).
"""
