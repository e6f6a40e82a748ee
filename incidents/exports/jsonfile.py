"""JSON: one object, written piece by piece::

    {"format": "...", "generated_at": ..., "audience": ..., "query": {...},
     "licence": {...}, "incidents": [ ... ], "count": N}

``count`` comes last: it is the number of incidents actually written."""

from __future__ import annotations

import json

FORMAT = "cyber-incident-portal/incidents-export/1"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def stream(records, *, head: dict, batch: int = 200):
    opening = {"format": FORMAT, **head}
    yield _dumps(opening)[:-1] + ',"incidents":['
    count = 0
    pieces = []
    for record in records:
        pieces.append(("," if count else "") + _dumps(record))
        count += 1
        if len(pieces) >= batch:
            yield "".join(pieces)
            pieces = []
    yield "".join(pieces) + f'],"count":{count}}}'
