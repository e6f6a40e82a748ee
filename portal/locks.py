"""One lock, for work that one process at a time should do (a slow count, a file, a queued
recount), from an implementation someone maintains rather than one written here.

- ``held(name, seconds)``: a block that one caller at a time runs; it never waits (the
  caller decides what to do when another holds it: wait for its result, or skip).
- ``claim(name, seconds)``: a lock taken and kept for ``seconds`` ("a recount of this key
  is queued"); ``unclaim(name)`` ends it early (the recount landed, or queuing failed).

Where the lock lives is decided in one place, ``_redis()``:

- Redis, when the "pages" cache is one (``REDIS_URL``): redis-py's ``Lock`` (``SET NX PX``
  with its holder's token; released by a script that deletes it only for that token, so a
  holder whose lock lapsed never frees a later holder's). It lapses after ``seconds``,
  in case its holder died. While Redis is unavailable (``ResilientRedisCache``) ``held``
  is everyone's (work is done twice rather than by nobody, as pages are recomputed) and
  ``claim`` is nobody's (nothing can tell a recount was queued already: every reader
  would queue one).
- Otherwise PostgreSQL's advisory locks (``pg_try_advisory_lock``, on the primary's
  connection, session-level so no transaction is needed: one that dies with its process
  or its connection is released by PostgreSQL). Claims live in this process's memory
  (the "local" cache), like the pages they stand beside without Redis (and with the pages
  cache switched off, PAGES_CACHE_OFF, where the pages cache keeps nothing).
- SQLite (``make run``, tests): a lock in this process (a set of held names). SQLite has
  no lock to lend; its database is on one machine, for development.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import caches
from django.db import DatabaseError, connections, router

from .cache import ResilientRedisCache
from .models import Version

logger = logging.getLogger(__name__)


@contextmanager
def held(name: str, seconds: float) -> Iterator[bool]:
    """True in the block when this caller holds ``name``; False when another does. Given
    back when the block ends (it lapses after ``seconds`` in Redis, if never given back)."""
    redis = _redis()
    if redis is not None:
        lock = redis.lock(name, seconds)
        mine = redis.acquire_lock(lock)
        try:
            yield mine is not False  # None: Redis unavailable, everyone's
        finally:
            if mine:
                redis.release_lock(lock)
        return
    connection = connections[router.db_for_write(Version)]
    if connection.vendor == "postgresql":
        with _advisory(connection, name) as mine:
            yield mine
        return
    with _in_process(name) as mine:
        yield mine


def claim(name: str, seconds: float) -> bool:
    """Take ``name`` for ``seconds`` unless someone holds it: True when taken now."""
    redis = _redis()
    if redis is not None:
        return bool(redis.acquire_lock(redis.lock(name, seconds)))  # None: unavailable
    return caches["local"].add(f"claim:{name}", 1, seconds)


def unclaim(name: str) -> None:
    """End ``name``'s claim, whoever took it."""
    redis = _redis()
    if redis is not None:
        redis.delete(name)
    else:
        caches["local"].delete(f"claim:{name}")


def _redis() -> ResilientRedisCache | None:
    """Where locks live, decided here only: the "pages" cache when it is Redis."""
    cache = caches["pages"]
    return cache if isinstance(cache, ResilientRedisCache) else None


def advisory_key(name: str) -> int:
    """A name as PostgreSQL's advisory locks know it: a signed 64-bit number."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


@contextmanager
def _advisory(connection, name: str) -> Iterator[bool]:
    key = advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (mine,) = cursor.fetchone()
    try:
        yield mine
    finally:
        if mine:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                # The block failed inside a transaction, which refuses statements until it
                # is rolled back: the lock goes with the connection (CONN_MAX_AGE), and
                # waiters stop waiting before that (caching.ONCE_WAIT).
                logger.warning("Advisory lock %r kept until its connection closes", name)


_held_here: set[str] = set()
_guard = threading.Lock()


@contextmanager
def _in_process(name: str) -> Iterator[bool]:
    with _guard:
        mine = name not in _held_here
        _held_here.add(name)
    try:
        yield mine
    finally:
        if mine:
            with _guard:
                _held_here.discard(name)
