"""portal.counters: fixed windows, takes within a limit, giving back, and the rows of ended
windows deleted; in the database (the default) and in Redis (SECURITY_REDIS_URL; needs one,
LIVE_TEST_REDIS_URL, skipped without). Under parallel requests:
tests/test_counters_concurrency.py."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import counters
from portal.models import Counter
from tests.incidents.api.test_api_rate_limit_redis import (  # noqa: F401 - in_redis, a fixture
    in_redis,
    redis_answers,
    security_redis,
)

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2026, 3, 4, 12, 0, 30, tzinfo=datetime.UTC).timestamp()


@pytest.fixture
def at(monkeypatch):
    """Set the counters' clock: ``at(seconds since the epoch)``."""

    def set_clock(when):
        monkeypatch.setattr(counters, "clock", lambda: when)

    set_clock(NOON)
    return set_clock


def test_windows_start_on_the_minute_and_at_midnight_utc(at):
    minute = counters.Window.current(counters.MINUTE)
    assert minute.start == datetime.datetime(2026, 3, 4, 12, 0, tzinfo=datetime.UTC)
    assert minute.seconds_left() == 30
    day = counters.Window.current(counters.DAY)
    assert day.start == datetime.datetime(2026, 3, 4, tzinfo=datetime.UTC)
    assert day.end == datetime.datetime(2026, 3, 5, tzinfo=datetime.UTC)
    at(day.end.timestamp() - 0.2)
    assert counters.Window.current(counters.DAY).seconds_left() == 1  # never 0


def test_takes_within_the_limit_then_refuses_and_adds_nothing(at):
    window = counters.Window.current(counters.MINUTE)
    assert [counters.take("k", window, 1, 3) for _ in range(5)] == [True] * 3 + [False] * 2
    assert counters.value("k", window) == 3
    assert Counter.objects.get().n == 3


def test_rows_that_do_not_fit_are_refused_whole(at):
    window = counters.Window.current(counters.DAY)
    assert counters.take("rows", window, 60, 100)
    assert not counters.take("rows", window, 41, 100)
    assert counters.take("rows", window, 40, 100)
    assert counters.value("rows", window) == 100
    assert not counters.take("more", window, 101, 100)  # more than the limit: not even a row
    assert not Counter.objects.filter(key="more").exists()


def test_a_limit_of_0_refuses_and_nothing_taken_is_always_allowed(at):
    window = counters.Window.current(counters.MINUTE)
    assert not counters.take("off", window, 1, 0)
    assert counters.take("off", window, 0, 0)
    assert counters.value("off", window) == 0


def test_keys_and_windows_count_apart(at):
    first = counters.Window.current(counters.MINUTE)
    assert counters.take("a", first, 1, 1)
    assert counters.take("b", first, 1, 1)
    assert not counters.take("a", first, 1, 1)
    at(NOON + 60)
    assert counters.take("a", counters.Window.current(counters.MINUTE), 1, 1)


def test_give_back_never_below_zero(at):
    window = counters.Window.current(counters.DAY)
    counters.take("rows", window, 30, 100)
    counters.give_back("rows", window, 20)
    assert counters.value("rows", window) == 10
    counters.give_back("rows", window, 50)
    assert counters.value("rows", window) == 0
    counters.give_back("nothing taken", window, 5)
    assert counters.value("nothing taken", window) == 0


def test_one_statement_per_take_and_the_first_of_a_window_deletes_ended_ones(at):
    counters.take("old", counters.Window.current(counters.MINUTE), 1, 10)
    counters.take("day", counters.Window.current(counters.DAY), 1, 10)
    at(NOON + 60)
    window = counters.Window.current(counters.MINUTE)
    with CaptureQueriesContext(connection) as first:
        counters.take("new", window, 1, 10)
    with CaptureQueriesContext(connection) as second:
        counters.take("new", window, 1, 10)
    assert len(first) == 2 and "DELETE" in first[1]["sql"]
    assert len(second) == 1
    # The ended minute's row went; today's stays until midnight.
    assert sorted(Counter.objects.values_list("key", "n")) == [("day", 1), ("new", 2)]


def test_a_sweep_deletes_a_batch_at_a_time(at, monkeypatch):
    monkeypatch.setattr(counters, "SWEEP_BATCH", 2)
    for n in range(5):
        counters.take(f"old {n}", counters.Window.current(counters.MINUTE), 1, 10)
    at(NOON + 60)
    counters.take("new", counters.Window.current(counters.MINUTE), 1, 10)
    assert Counter.objects.count() == 4  # three old, one new


# In Redis ----------------------------------------------------------------------------

needs_redis = pytest.mark.skipif(not redis_answers(), reason="needs Redis (LIVE_TEST_REDIS_URL)")


@needs_redis
def test_in_redis_no_row_is_written_and_the_limit_holds(in_redis, at):  # noqa: F811
    window = counters.Window.current(counters.DAY)
    assert counters.take("rows", window, 60, 100)
    assert not counters.take("rows", window, 41, 100)  # over: given back at once
    assert counters.value("rows", window) == 60
    counters.give_back("rows", window, 20)
    assert counters.value("rows", window) == 40
    assert not Counter.objects.exists()


def test_in_redis_a_take_is_allowed_while_redis_is_down(settings, at):
    security_redis(settings, "redis://127.0.0.1:9/0")  # nothing listens on port 9
    window = counters.Window.current(counters.MINUTE)
    assert counters.take("k", window, 1, 1) and counters.take("k", window, 1, 1)
    assert counters.value("k", window) == 0
    counters.give_back("k", window, 1)  # nothing to give back to: no error
