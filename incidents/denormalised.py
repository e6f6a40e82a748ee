"""What the catalogue keeps as columns instead of counting it on every read, and the check
that counts it again (``manage.py check_denormalised``, the tests, CI or operations).

The gated counts (``Incident.motive_count``, ``technique_count``, ``actor_count``) are kept
by database triggers (migration 0023), whoever writes the links; this module only reads
them, and ``repair`` asks the triggers to count again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Incident, IncidentTechnique

# Each count column and the links it counts: every link row, whatever the linked row.
GATED_COUNTS = {
    "motive_count": Incident.motives.through,
    "technique_count": IncidentTechnique,
    "actor_count": Incident.threat_actors.through,
}


@dataclass(frozen=True)
class Mismatch:
    incident_id: int
    slug: str
    column: str
    stored: int
    counted: int

    def __str__(self):
        return (
            f"{self.slug} (id {self.incident_id}): {self.column} {self.stored}, "
            f"links {self.counted}"
        )


def _counted(through):
    return Coalesce(
        Subquery(
            through.objects.filter(incident=OuterRef("pk"))
            .order_by()
            .values("incident")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        Value(0),
    )


def gated_count_mismatches(*, using: str = DEFAULT_DB_ALIAS) -> list[Mismatch]:
    """Every incident (drafts too) whose count columns differ from its links, counted
    now; an empty list when they all agree. Reads ``using`` (the primary by default: a
    replica's lag is not a mismatch)."""
    counted = {f"counted_{column}": _counted(through) for column, through in GATED_COUNTS.items()}
    differs = Q()
    for column in GATED_COUNTS:
        differs |= ~Q(**{column: F(f"counted_{column}")})
    rows = (
        Incident.objects.using(using)
        .annotate(**counted)
        .filter(differs)
        .order_by("pk")
        .values("pk", "slug", *GATED_COUNTS, *counted)
    )
    return [
        Mismatch(row["pk"], row["slug"], column, row[column], row[f"counted_{column}"])
        for row in rows
        for column in GATED_COUNTS
        if row[column] != row[f"counted_{column}"]
    ]


def repair(incident_ids, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Count these incidents' links again into their columns (after a write the triggers
    did not see, such as one made before migration 0023 ran on a restored copy)."""
    return (
        Incident.objects.using(using)
        .filter(pk__in=incident_ids)
        .update(**{column: _counted(through) for column, through in GATED_COUNTS.items()})
    )
