"""Django's Redis cache, but a Redis outage means cache misses rather than errors.

Everything the portal caches can be recomputed from the database, so when Redis is
down or unreachable reads miss, writes are dropped, and pages are served (slower);
/readyz reports the outage. allauth's rate limits (and its record of used two-factor
codes) live in this cache too, so while Redis is down they do not count: they fail open
rather than lock everyone out (docs/deploy.md). Sessions are not kept here.
"""

import contextlib
import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

logger = logging.getLogger("portal.cache")
_WARN_EVERY = 30.0  # seconds between two warnings about one outage


_RETRY_AFTER = 5.0  # seconds without trying Redis after it failed (a host that hangs
# would otherwise cost a socket timeout on every cache call of every request)


def _tolerant(fallback):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            now = time.monotonic()
            if now >= self._down_until:
                try:
                    return method(self, *args, **kwargs)
                except RedisError as exc:
                    self._down_until = now + _RETRY_AFTER
                    if now - self._last_warning > _WARN_EVERY:
                        self._last_warning = now
                        logger.warning("Redis unavailable, serving without cache: %s", exc)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

        return wrapper

    return decorate


def _default_arg(key, default=None, *args, **kwargs):
    return default


def _incr_missing(key, *args, **kwargs):
    raise ValueError(f"Key {key!r} not found (cache unavailable).")


class _Client(RedisCacheClient):
    """One redis-py client per connection pool, made once: Django makes a new one for
    every call, and making one fills a table of about 170 reply parsers (about a tenth of
    a first-visit page's CPU, five cache calls a page). Clients are thread-safe: each
    command takes a connection from the pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        try:
            return self._clients[pool]
        except KeyError:
            return self._clients.setdefault(pool, self._client(connection_pool=pool))


class ResilientRedisCache(RedisCache):
    _last_warning = float("-inf")
    _down_until = float("-inf")

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client

    def is_down(self) -> bool:
        """True while calls are skipped after a failure (their answers are the fallbacks)."""
        return time.monotonic() < self._down_until

    def ping(self):
        """True when Redis answers (for /readyz, which asks even while calls are skipped)."""
        try:
            answered = bool(self._cache.get_client(write=True).ping())
        except RedisError:
            return False
        self._down_until = float("-inf")
        return answered

    get = _tolerant(_default_arg)(RedisCache.get)
    get_many = _tolerant({})(RedisCache.get_many)
    has_key = _tolerant(False)(RedisCache.has_key)
    # True, not False: allauth's rate limits take a lock with add() and wait while it
    # fails, which would refuse every login during an outage (limits fail open instead).
    add = _tolerant(True)(RedisCache.add)
    set = _tolerant(None)(RedisCache.set)
    set_many = _tolerant([])(RedisCache.set_many)
    touch = _tolerant(False)(RedisCache.touch)
    delete = _tolerant(False)(RedisCache.delete)
    delete_many = _tolerant(None)(RedisCache.delete_many)
    incr = _tolerant(_incr_missing)(RedisCache.incr)
    clear = _tolerant(None)(RedisCache.clear)

    @_tolerant(None)
    def count(self, key, timeout, amount=1):
        """Add ``amount`` to the counter ``key`` (made at 0, kept ``timeout`` seconds, if
        missing) and return its new value: one round trip, atomic (``SET NX EX`` and
        ``INCRBY`` in a MULTI), where ``add`` then ``incr`` is three (Django's ``incr`` asks
        ``EXISTS`` first). None while Redis is unavailable. (portal.counters uses it.)"""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, 0, ex=int(timeout), nx=True)
        pipe.incr(key, amount)
        return pipe.execute()[1]

    def lock(self, name: str, seconds: float) -> Lock:
        """redis-py's lock on ``name`` (the key Django would use for it, so ``delete(name)``
        ends it), lapsing after ``seconds``; nothing is sent to Redis yet (portal.locks)."""
        key = self.make_and_validate_key(name)
        return self._cache.get_client(key, write=True).lock(key, timeout=seconds, blocking=False)

    @_tolerant(None)
    def acquire_lock(self, lock: Lock) -> bool:
        """True when taken now, False when someone holds it; None while Redis is unavailable."""
        return lock.acquire(blocking=False)

    @_tolerant(None)
    def release_lock(self, lock: Lock) -> None:
        """Give ``lock`` back if it is still this holder's (it may have lapsed and been taken
        by another: theirs is left alone)."""
        with contextlib.suppress(LockError):  # a RedisError, not an outage
            lock.release()
