"""Read-side queries, one module per object kind: what the pages, the API, the feeds and the
sitemaps select, so each asks the same question the same way. A selector takes the viewer
(or their audience) and plain values, starts from the ``visible_to`` queryset verbs, and
returns rows or counts; presenting them is the caller's job (incidents.presenters).

- ``incidents``: one incident for a viewer (404 otherwise), the finder's limits and its
  applied-filter chips;
- ``organisations``: the victims a viewer may see, one of them (404 otherwise), where a
  merged victim's address now lives;
- ``actors``: the threat actors a viewer may see, one of them (404 otherwise);
- ``statistics``: the charts a viewer's audience may see for a selection;
- ``attack``: the ATT&CK tactics and techniques a viewer gets a hub for.

Nothing here imports ``incidents.views`` (tests/test_layering.py).
"""
