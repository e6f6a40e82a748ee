"""The API's rate limit counted in Redis, as in production (SECURITY_REDIS_URL): one atomic
round trip per request (portal.cache.ResilientRedisCache.count), limits exact under
concurrency, open while Redis is down. Needs a Redis (LIVE_TEST_REDIS_URL, as tests/live.py)."""

import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.core.cache import caches
from django.test import Client

REDIS_URL = os.environ.get("LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/6")


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_answers(), reason=f"needs Redis at {REDIS_URL}")


def security_redis(settings, location):
    prefix = f"test-rate-{secrets.token_hex(6)}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        },
    }
    return prefix


@pytest.fixture
def in_redis(settings):
    prefix = security_redis(settings, REDIS_URL)
    yield caches["default"]
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_a_count_is_one_atomic_round_trip_and_expires(in_redis):
    assert [in_redis.count("c", 120) for _ in range(3)] == [1, 2, 3]
    raw = redis.Redis.from_url(REDIS_URL)
    (stored,) = list(raw.scan_iter(match=f"{in_redis.key_prefix}:*"))
    assert 0 < raw.ttl(stored) <= 120


def test_counts_are_exact_under_concurrency(in_redis):
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: in_redis.count("shared", 120), range(200)))
    assert sorted(seen) == list(range(1, 201))


@pytest.mark.django_db
def test_the_api_limit_is_exact_with_redis(in_redis, settings):
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 3
    statuses = [Client().get("/api/v1/organisations").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


@pytest.mark.django_db
def test_the_limit_is_open_while_redis_is_down(settings):
    security_redis(settings, "redis://127.0.0.1:9/0")  # nothing listens on port 9
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 1
    assert caches["default"].count("x", 120) is None
    statuses = [Client().get("/api/v1/organisations").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
