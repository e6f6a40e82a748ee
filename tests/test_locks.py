"""portal.locks: one holder at a time, in Redis (redis-py's Lock) when the pages are there,
else in the database (PostgreSQL's advisory locks; on SQLite, this process).

Each test runs on both stores: "database" (the test settings' pages are this process's
memory, so the lock is the database's) and "redis" (a live Redis, skipped without one).
Threads play the other processes; each has its own database connection.
"""

import threading
import time

import pytest
from django.core.cache import caches
from django.db import connection
from redis import Redis

from incidents import caching
from portal import locks
from tests.live import REDIS_URL, redis_answers, unique
from tests.locking import UNREACHABLE_REDIS, free_here, held_elsewhere

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    if request.param == "redis":
        if not redis_answers(REDIS_URL):
            pytest.skip(f"needs Redis at {REDIS_URL} (LIVE_TEST_REDIS_URL)")
        prefix = unique("locks")
        settings.CACHES = {
            **settings.CACHES,
            "pages": {
                "BACKEND": "portal.cache.ResilientRedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": prefix,
            },
        }
        assert locks._redis() is not None
        yield request.param
        client = Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    else:
        assert locks._redis() is None
        yield request.param


def in_thread(target):
    """Run ``target`` in a thread that closes its own connection; (thread, results)."""
    results = []

    def run():
        try:
            results.append(target())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def test_two_readers_at_once_one_computes_the_other_waits_for_it(store, monkeypatch):
    """caching.cached(single_flight=True): the second reader finds the first computing,
    waits for its value, and never computes it."""
    computing, other_waits = threading.Event(), threading.Event()
    calls = []

    def compute():
        calls.append(threading.get_ident())
        computing.set()
        assert other_waits.wait(10), "the other reader never waited"
        return "counted"

    def wait_a_little(seconds):
        other_waits.set()
        time.sleep(0.01)

    monkeypatch.setattr(caching, "_sleep", wait_a_little)
    kind = unique("contention")

    def read():
        return caching.cached(kind, "public", ["q"], compute, single_flight=True)

    first, first_results = in_thread(read)
    assert computing.wait(10)
    second, second_results = in_thread(read)
    first.join(30)
    second.join(30)
    assert first_results == second_results == ["counted"]
    assert len(calls) == 1


def test_a_lock_is_one_holders_until_its_block_ends(store):
    name = unique("lock")
    with held_elsewhere(name):
        assert not free_here(name)
        assert caching.once(name, lambda: "mine") is None  # work under way: skipped
    assert free_here(name)
    assert caching.once(name, lambda: "mine") == "mine"


def test_a_claim_stands_until_it_lapses_or_is_ended(store):
    name = unique("claim")
    assert locks.claim(name, 60) is True
    assert locks.claim(name, 60) is False
    locks.unclaim(name)
    assert locks.claim(name, 60) is True


def test_a_holder_whose_lock_lapsed_never_frees_the_next_holders(store):
    """redis-py's Lock releases by its token: a count that outlived its lock and then ends
    leaves the next holder's lock alone (the cache's add and delete freed it)."""
    if store != "redis":
        pytest.skip("database locks do not lapse: they end with their holder's connection")
    name = unique("lapse")
    with locks.held(name, 60) as mine:
        assert mine
        caches["pages"].delete(name)  # the lock lapsed
        with held_elsewhere(name):
            pass  # (held and given back: the key is free again)
        assert locks.claim(name, 60)  # the next holder
    assert not free_here(name)  # still the next holder's


def test_while_redis_is_away_everyone_holds_and_nobody_claims(settings):
    """Work is done twice rather than by nobody; nothing is queued, since nothing could
    tell it was queued already."""
    settings.CACHES = {**settings.CACHES, "pages": UNREACHABLE_REDIS}
    name = unique("outage")
    with locks.held(name, 60) as mine, locks.held(name, 60) as also_mine:
        assert mine and also_mine
    assert locks.claim(name, 60) is False
    assert caches["pages"].is_down()
