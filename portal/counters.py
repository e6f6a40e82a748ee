"""Counters that hold under parallel requests: the API's rate limits and the export quotas.

A counter is an amount per key and fixed window (a minute, a UTC day). Taking from it is one
atomic step, so parallel requests (threads, workers, app servers) never take more than the
limit between them, and never lose each other's counts:

- in Redis when the "default" cache is one (``SECURITY_REDIS_URL``):
  ``portal.cache.ResilientRedisCache.count``, one round trip (``SET NX EX`` and ``INCRBY`` in
  a ``MULTI``); what went over the limit is given back at once. While Redis is down nothing
  is counted and every take is allowed: a limit is not worth an outage (as allauth's);
- otherwise in the database (the default): one ``portal.models.Counter`` row per key and
  window, added to by one statement, ``INSERT ... ON CONFLICT DO UPDATE SET n = n + amount
  WHERE it fits RETURNING n`` (SQLite 3.35+ and PostgreSQL; the ORM cannot say it), in the
  caller's transaction if it has one. Django's database cache is not used: its ``incr``
  reads, then writes, and parallel requests overwrote each other's counts (issue 21).

The store is chosen in one place, ``_redis()``. In the database, the first take of a key in
a window also deletes rows of windows that ended (``_sweep``: a batch at a time, skipping
rows another sweep holds), so the table keeps about one row per key in use.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connections, router
from django.db.models import F
from django.db.models.functions import Greatest

from .cache import ResilientRedisCache
from .models import Counter

MINUTE = 60
DAY = 24 * 3600
SWEEP_BATCH = 100  # ended rows deleted at most by one take (each take makes at most one row)


def clock() -> float:
    """Seconds since the epoch, now (tests replace it to hold a window still)."""
    return time.time()


@dataclass(frozen=True)
class Window:
    """``seconds`` long from ``start``; windows start at whole multiples of their length
    since the epoch, so a day's starts at midnight UTC."""

    seconds: int
    start: datetime.datetime

    @classmethod
    def current(cls, seconds: int) -> Window:
        now = int(clock())
        return cls(seconds, datetime.datetime.fromtimestamp(now - now % seconds, datetime.UTC))

    @property
    def end(self) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=self.seconds)

    def seconds_left(self) -> int:
        """Whole seconds until the next window starts (at least 1: for ``Retry-After``)."""
        return max(1, int(self.end.timestamp() - clock()))


def take(key: str, window: Window, amount: int, limit: int) -> bool:
    """Add ``amount`` to ``key``'s count in ``window`` if the count stays within ``limit``
    (True); otherwise add nothing (False). Atomic: of parallel takes, those that fit win."""
    if amount > limit:
        return False
    if amount <= 0:
        return True
    redis = _redis()
    if redis is None:
        return _upsert(key, window, amount, limit) is not None
    name = _redis_key(key, window)
    total = redis.count(name, 2 * window.seconds, amount=amount)
    if total is None:  # Redis is down: not counted
        return True
    if total > limit:
        _decr(redis, name, amount)
        return False
    return True


def value(key: str, window: Window) -> int:
    """``key``'s count in ``window`` so far (0 while Redis is down)."""
    redis = _redis()
    if redis is not None:
        return redis.get(_redis_key(key, window), 0) or 0
    rows = Counter.objects.using(router.db_for_write(Counter))
    return rows.filter(key=key, window_start=window.start).values_list("n", flat=True).first() or 0


def give_back(key: str, window: Window, amount: int) -> None:
    """Subtract ``amount`` taken in ``window`` (an export that failed), never below 0."""
    if amount <= 0:
        return
    redis = _redis()
    if redis is not None:
        _decr(redis, _redis_key(key, window), amount)
        return
    Counter.objects.using(router.db_for_write(Counter)).filter(
        key=key, window_start=window.start
    ).update(n=Greatest(F("n") - amount, 0))


def _redis() -> ResilientRedisCache | None:
    """Where counters live, decided here only: the "default" cache when it is Redis
    (``SECURITY_REDIS_URL``), otherwise the database."""
    cache = caches["default"]
    return cache if isinstance(cache, ResilientRedisCache) else None


def _redis_key(key: str, window: Window) -> str:
    return f"counter:{key}:{int(window.start.timestamp())}"


def _decr(redis: ResilientRedisCache, name: str, amount: int) -> None:
    with contextlib.suppress(ValueError):  # the key expired, or Redis is down
        redis.decr(name, amount)


def _columns(connection) -> dict[str, str]:
    quote = connection.ops.quote_name
    names = {f.name: quote(f.column) for f in Counter._meta.concrete_fields}
    return {"table": quote(Counter._meta.db_table), **names}


# One statement: a new row with ``amount``, or the row of this key and window with
# ``amount`` more if that stays within the limit; the new count, or no row if it did not fit.
_UPSERT = (
    "INSERT INTO {table} ({key}, {window_start}, {expires_at}, {n}) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT ({key}, {window_start}) DO UPDATE SET {n} = {table}.{n} + excluded.{n} "
    "WHERE {table}.{n} + excluded.{n} <= %s RETURNING {n}"
)
_SWEEP = (
    "DELETE FROM {table} WHERE {id} IN "
    "(SELECT {id} FROM {table} WHERE {expires_at} <= %s LIMIT {batch}{skip_locked})"
)


def _upsert(key: str, window: Window, amount: int, limit: int) -> int | None:
    connection = connections[router.db_for_write(Counter)]
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(**_columns(connection)),
            [key, adapt(window.start), adapt(window.end), amount, limit],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    (total,) = rows[0]
    if total == amount:  # (most likely) the key's first take in this window
        _sweep(connection)
    return total


def _sweep(connection) -> None:
    """Delete up to SWEEP_BATCH rows of windows that have ended; on PostgreSQL skip rows a
    parallel sweep holds, so sweeps at the turn of a minute never wait for each other."""
    skip = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    now = datetime.datetime.fromtimestamp(clock(), datetime.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            _SWEEP.format(**_columns(connection), batch=SWEEP_BATCH, skip_locked=skip),
            [connection.ops.adapt_datetimefield_value(now)],
        )
