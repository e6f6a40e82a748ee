"""Statistics answered from roll-ups, recounted by the job queue after the catalogue changes.

Counting the whole catalogue takes seconds at a million incidents (docs/performance.md),
and every catalogue write invalidates the page cache: without roll-ups, the first readers
after each write would all count at once. So the charts of the statistics page and of
each hub are kept in ``StatisticsRollup`` rows, one per (audience, canonical query), with
the catalogue version they were counted at:

- no row yet: counted in the request and stored (the first reader of that page, once);
- a row of the current version: served as it is;
- an older row: served as it is, marked stale (pages built from it are cached for
  ``STALE_TIMEOUT`` seconds only), and a recount is queued, at most one per key at a time
  (the task ``refresh_statistics``);
- unless something was withdrawn since it was counted (an incident unpublished or deleted, a
  victim renamed or deleted: the "withdrawal" version, portal.versions): a stale count
  could then name or count what its readers may no longer see, so it is never served, and
  the key is counted again in the request, by one reader while the others wait for its row;
- or, for a key whose last count took ``settings.STATISTICS_QUEUE_SECONDS`` or more (the
  members' unfiltered page at a million incidents: 20-46 s, beyond the web server's
  timeout), by the job queue: its first reader after the withdrawal queues it, and until
  its row lands readers get no counts at all, only
  ``RECOUNTING`` (``Counted.recounting``: pages answer 503 with ``Retry-After``, kept by no
  cache).

Rows exist for the statistics pages and hubs only: no filter, or one filter of
``ROLLED_UP`` (a bounded vocabulary). Any other selection is counted per request and
cached until the catalogue changes, as before. Audiences never mix: a row is counted with
the FilterSet and incidents of its audience, and read only by viewers of that audience.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import asdict, dataclass
from functools import partial
from urllib.parse import parse_qsl

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from portal import db_router, locks, versions

from .. import caching, filters, search
from ..models import Incident, StatisticsRollup
from . import counts
from .charts import Chart, Row

STALE_TIMEOUT = 15
RECOUNTING = (
    "These statistics are being recounted after a correction to the catalogue; they will be "
    "back within a minute or two."
)
RETRY_AFTER = 60  # seconds; a slow key's count takes 20-46 s at a million incidents
PENDING_TIMEOUT = 300  # a queued recount that never ran (no worker) is queued again after this
ROLLED_UP = {
    "country": re.compile(r"[A-Z]{2}"),
    "sector": re.compile(r"[-a-z0-9]{1,60}"),
    "type": re.compile(r"[-a-z0-9]{1,60}"),
    "year": re.compile(r"[0-9]{4}"),
    "tactic": re.compile(r"[-a-z0-9]{1,60}"),
    "technique": re.compile(r"T[0-9]{4}(\.[0-9]{3})?"),
}


@dataclass(frozen=True)
class Counted:
    charts: dict[str, Chart]
    fresh: bool
    recounting: bool = False  # no charts: the queue is recounting them (``RECOUNTING``)

    @property
    def timeout(self) -> int:
        """How long what is built from these charts may be cached (0: not at all, the next
        reader may find the recount landed)."""
        if self.recounting:
            return 0
        return caching.PAGE_TIMEOUT if self.fresh else STALE_TIMEOUT

    @property
    def retry_after(self) -> int | None:
        """While recounting, the seconds after which to ask again (a page answers 503:
        caching.ViewerPage)."""
        return RETRY_AFTER if self.recounting else None


def rolled_up(params: dict) -> bool:
    if not params:
        return True
    if len(params) != 1:
        return False
    ((name, value),) = params.items()
    pattern = ROLLED_UP.get(name)
    return pattern is not None and pattern.fullmatch(value) is not None


def count(audience: str, params: dict) -> dict[str, Chart]:
    """Every chart ``audience`` may see over the incidents ``params`` select."""
    member = audience != "public"
    filter_class = filters.MemberIncidentFilter if member else filters.PublicIncidentFilter
    incidents = filter_class(params or None, queryset=Incident.objects.for_audience(audience)).qs
    if params.get("q"):
        matching = search.search(incidents, params["q"], member=member)
        incidents = Incident.objects.filter(pk__in=matching.values("pk"))
    return counts.compute(incidents, params, member=member)


def charts(audience: str, params: dict) -> Counted:
    """The charts for ``params`` (canonical, valid for ``audience``), from their roll-up."""
    query = filters.encode(params)
    row = (
        StatisticsRollup.objects.filter(audience=audience, query_digest=_digest(query))
        .only("version", "withdrawal", "seconds", "charts")
        .first()
    )
    if row is not None and row.withdrawal != versions.withdrawal() and _slow(row.seconds):
        return _recounting(audience, query)
    if row is None or row.withdrawal != versions.withdrawal():
        return Counted(_count_once(audience, query), fresh=True)
    if row.version == versions.catalogue():
        return Counted(decode(row.charts), fresh=True)
    queued = _queue_recount(audience, query)
    if queued is not None and queued.is_finished:
        # The immediate backend (tests) has recounted already: read its count.
        row.refresh_from_db(fields=["version", "charts"])
        if row.version == versions.catalogue():
            return Counted(decode(row.charts), fresh=True)
    return Counted(decode(row.charts), fresh=False)


def _slow(seconds: float) -> bool:
    """Too slow to count in a request after a withdrawal: left to the job queue."""
    return seconds >= settings.STATISTICS_QUEUE_SECONDS


def _recounting(audience: str, query: str) -> Counted:
    """A slow key after a withdrawal: its recount queued (once, however many ask), and no
    counts until it lands."""
    queued = _queue_recount(audience, query)
    if queued is not None and queued.is_finished:
        # The immediate backend (tests) has recounted already: read its count.
        charts = _servable_row(audience, query)
        if charts is not None:
            return Counted(charts, fresh=True)
    return Counted({}, fresh=False, recounting=True)


def _servable_row(audience: str, query: str) -> dict[str, Chart] | None:
    row = (
        StatisticsRollup.objects.filter(audience=audience, query_digest=_digest(query))
        .only("withdrawal", "charts")
        .first()
    )
    if row is not None and row.withdrawal == versions.withdrawal():
        return decode(row.charts)
    return None


def _count_once(audience: str, query: str) -> dict[str, Chart]:
    """Count a key that has no servable row, once however many ask at the same time: the
    first counts; the others wait for its row (``caching.once``)."""
    return caching.once(
        _lock(audience, query),
        partial(refresh, audience, query),
        partial(_servable_row, audience, query),
    )


def recount(audience: str, query: str) -> dict[str, Chart] | None:
    """Count this key and store its row, unless someone (a reader or the queue) is counting
    it now: then None, and their row lands."""
    return caching.once(_lock(audience, query), partial(refresh, audience, query))


@task()
def refresh_statistics(audience: str, query: str) -> None:
    """The queue's task: ``recount`` one roll-up for the catalogue as it is now. Counts for
    an audience, not a person: nothing here is sent to anyone."""
    recount(audience, query)


def _lock(audience, query) -> str:
    return f"incidents:statistics-counting:{audience}:{_digest(query)}"


def refresh(audience: str, query: str) -> dict[str, Chart]:
    """Count ``query`` for ``audience`` now and store it as the roll-up of the versions the
    count started at (a write during the count leaves it stale, so it is counted again; a
    withdrawal during the count, unservable)."""
    version = versions.catalogue()
    withdrawal = versions.withdrawal()
    started = time.perf_counter()
    with db_router.primary():
        result = count(audience, dict(parse_qsl(query)))
    StatisticsRollup.objects.bulk_create(
        [
            StatisticsRollup(
                audience=audience,
                query_digest=_digest(query),
                query=query,
                version=version,
                withdrawal=withdrawal,
                charts=encode(result),
                counted_at=timezone.now(),
                seconds=time.perf_counter() - started,
            )
        ],
        update_conflicts=True,
        unique_fields=["audience", "query_digest"],
        update_fields=["version", "withdrawal", "charts", "counted_at", "seconds"],
    )
    locks.unclaim(_pending_key(audience, query))
    return result


def _queue_recount(audience: str, query: str):
    """Queue one recount of this key unless one is queued already; its result, or None."""
    return caching.enqueue_once(
        _pending_key(audience, query), PENDING_TIMEOUT, refresh_statistics, audience, query
    )


def _pending_key(audience, query) -> str:
    return f"incidents:statistics-recount-queued:{audience}:{_digest(query)}"


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def encode(result: dict[str, Chart]) -> list:
    return [asdict(chart) for chart in result.values()]


def decode(stored: list) -> dict[str, Chart]:
    result = {}
    for data in stored:
        rows = tuple(
            Row(**{**r, "values": tuple(r["values"]), "cell_queries": tuple(r["cell_queries"])})
            for r in data["rows"]
        )
        chart = Chart(
            **{
                **data,
                "rows": rows,
                "value_headers": tuple(data["value_headers"]),
                "column_keys": tuple(data["column_keys"]),
            }
        )
        result[chart.name] = chart
    return result
