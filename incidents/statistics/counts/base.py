"""What every counting module shares: the finder query of a row, ranking, the join to a
gated relation, and how many rows a ranked chart shows."""

from django.db.models import QuerySet

from ...filters import encode
from ...models import Incident

TOP = 15  # rows of a ranked chart before the long tail is grouped


def link(params, **changes) -> str:
    """The finder's query string for ``params`` with ``changes`` applied."""
    return encode(params, **changes)


def by_count(counts):
    """(key, label, n) sorted by count, then label."""
    return sorted(counts, key=lambda c: (-c[2], c[1]))


def links(incidents, relation) -> QuerySet:
    """The rows of ``Incident.<relation>``'s join table for ``incidents`` (gated relations:
    call it for members only)."""
    through = getattr(Incident, relation).through
    return through.objects.filter(incident__in=incidents.order_by().values("pk")).order_by()
