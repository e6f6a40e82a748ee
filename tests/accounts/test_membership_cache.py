"""Each user's membership is cached (accounts.access._cached_plan) under the membership
version, which database triggers change at every write to plans, subscriptions and seats
(accounts/migrations/0017): a write, by anyone, changes the answer at the next request;
time changes it at the next start, end or grace period's end, without any write.

Transactional (the writes commit, as in production: on PostgreSQL the version changes at
the commit): listed in the Makefile's TRANSACTIONAL_TESTS. On SQLite and PostgreSQL.
"""

import datetime
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone
from redis import Redis

from accounts import access
from accounts.models import Subscription, TeamSeat
from portal import versions
from tests.factories import PlanFactory, SubscriptionFactory, TeamFactory, UserFactory, seat_for
from tests.live import REDIS_URL as LIVE_REDIS_URL
from tests.live import TcpProxy, redis_answers, unique

pytestmark = pytest.mark.django_db(transaction=True)
DAY = datetime.timedelta(days=1)


def at_next_request(user_id):
    """``membership_plan`` as the next request asks it: the user loaded again, the versions
    read once."""
    with versions.one_read():
        return access.membership_plan(get_user_model().objects.get(pk=user_id))


def is_member_at_next_request(user_id):
    with versions.one_read():
        return access.is_member(get_user_model().objects.get(pk=user_id))


def test_the_second_request_asks_the_cache_not_the_database(django_assert_num_queries):
    subscription = SubscriptionFactory()
    at_next_request(subscription.user_id)  # the first request asks the database
    user = get_user_model().objects.get(pk=subscription.user_id)
    # 1. the versions (portal.versions: once per request here, once a second in production)
    with django_assert_num_queries(1) as captured, versions.one_read():
        assert access.membership_plan(user) == subscription.plan
        assert access.is_member(user)
    assert "portal_version" in captured.captured_queries[0]["sql"]


def test_a_non_members_answer_is_cached_too(django_assert_num_queries):
    user = UserFactory()
    assert at_next_request(user.pk) is None
    fresh = get_user_model().objects.get(pk=user.pk)
    with django_assert_num_queries(1), versions.one_read():
        assert not access.is_member(fresh)


def test_a_new_subscription_makes_a_member_at_the_next_request():
    user = UserFactory()
    assert not is_member_at_next_request(user.pk)
    subscription = SubscriptionFactory(user=user)
    assert at_next_request(user.pk) == subscription.plan


def test_a_cancelled_subscription_ends_membership_at_the_next_request():
    subscription = SubscriptionFactory()
    assert is_member_at_next_request(subscription.user_id)
    subscription.status = Subscription.Status.CANCELLED
    subscription.save()
    assert not is_member_at_next_request(subscription.user_id)


def test_a_bulk_update_and_raw_sql_change_the_answer_too():
    subscription = SubscriptionFactory()
    assert is_member_at_next_request(subscription.user_id)
    Subscription.objects.filter(pk=subscription.pk).update(status="expired")
    assert not is_member_at_next_request(subscription.user_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_subscription SET status = 'active' WHERE id = %s", [subscription.pk]
        )
    assert is_member_at_next_request(subscription.user_id)


def later(monkeypatch, delta):
    """The clock moved on by ``delta`` (the cache's own expiry does not move with it)."""
    moved = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moved)


def test_an_end_ends_membership_on_time_without_any_write(monkeypatch):
    subscription = SubscriptionFactory(ends_at=timezone.now() + datetime.timedelta(hours=1))
    assert is_member_at_next_request(subscription.user_id)
    later(monkeypatch, datetime.timedelta(hours=1, seconds=1))
    assert not is_member_at_next_request(subscription.user_id)


def test_a_future_start_and_a_grace_periods_end_take_effect_on_time(monkeypatch):
    now = timezone.now()
    future = SubscriptionFactory(starts_at=now + datetime.timedelta(minutes=2), ends_at=now + DAY)
    overdue = SubscriptionFactory(
        status=Subscription.Status.PAST_DUE,
        ends_at=now - DAY,
        starts_at=now - 30 * DAY,
        grace_ends_at=now + datetime.timedelta(minutes=2),
    )
    assert not is_member_at_next_request(future.user_id)
    assert is_member_at_next_request(overdue.user_id)
    later(monkeypatch, datetime.timedelta(minutes=2, seconds=1))
    assert at_next_request(future.user_id) == future.plan
    assert not is_member_at_next_request(overdue.user_id)


def test_an_answer_is_kept_until_its_next_change_and_never_longer_than_the_bound():
    now = timezone.now()
    soon = SubscriptionFactory(ends_at=now + datetime.timedelta(minutes=2))
    at_next_request(soon.user_id)
    key = f"accounts:membership:{versions.membership()}:{soon.user_id}"
    assert caches["pages"].get(key) == (soon.plan_id, soon.ends_at)
    open_ended = SubscriptionFactory(ends_at=None)
    at_next_request(open_ended.user_id)
    key = f"accounts:membership:{versions.membership()}:{open_ended.user_id}"
    assert caches["pages"].get(key) == (open_ended.plan_id, None)  # kept MEMBERSHIP_SECONDS


def test_a_seat_given_and_taken_away_changes_the_answer_at_the_next_request():
    team = TeamFactory(subscription=True)
    user = UserFactory()
    assert not is_member_at_next_request(user.pk)
    seat_for(team, user)
    assert at_next_request(user.pk).slug == "team-plan"
    TeamSeat.objects.filter(team=team, user=user).delete()
    assert not is_member_at_next_request(user.pk)


def test_a_teams_subscription_ending_ends_its_seats_membership():
    team = TeamFactory(subscription=True)
    user = seat_for(team)
    assert is_member_at_next_request(user.pk)
    team.subscriptions.update(status="cancelled")
    assert not is_member_at_next_request(user.pk)


def test_a_changed_plan_is_seen_at_the_next_request():
    subscription = SubscriptionFactory(plan=PlanFactory(export_rows_per_day=500))
    user_id = subscription.user_id
    assert at_next_request(user_id).export_rows_per_day == 500
    plan = subscription.plan
    plan.export_rows_per_day = 20
    plan.save()
    assert at_next_request(user_id).export_rows_per_day == 20
    other = PlanFactory(name="Other", slug="other")
    Subscription.objects.filter(pk=subscription.pk).update(plan=other)
    assert at_next_request(user_id) == other


def test_a_transaction_sees_its_own_writes_and_a_rollback_grants_nothing():
    """Inside a transaction the cache is not used: the version changes at the commit
    (PostgreSQL) or is read before the write (a request reads it once), so an answer cached
    there would be kept under the version of before, and outlive a rollback."""
    user = UserFactory()
    with versions.one_read():  # one request, which writes in a transaction
        fresh = get_user_model().objects.get(pk=user.pk)
        assert access.membership_plan(fresh) is None
        with transaction.atomic():
            subscription = SubscriptionFactory(user=user)
            fresh = get_user_model().objects.get(pk=user.pk)
            assert access.membership_plan(fresh) == subscription.plan
            transaction.set_rollback(True)
    assert not is_member_at_next_request(user.pk)


def test_only_membership_tables_change_the_membership_version():
    before = versions.current()
    PlanFactory()
    assert versions.current().membership != before.membership
    assert versions.current().catalogue == before.catalogue
    before = versions.current()
    UserFactory()
    assert versions.current().membership == before.membership


def test_staff_and_inactive_users_are_decided_by_their_own_row():
    subscription = SubscriptionFactory()
    assert is_member_at_next_request(subscription.user_id)
    get_user_model().objects.filter(pk=subscription.user_id).update(is_active=False)
    assert not is_member_at_next_request(subscription.user_id)
    staff = UserFactory(is_staff=True)
    assert is_member_at_next_request(staff.pk)
    assert at_next_request(staff.pk) is None  # members by role, not by a plan


# Redis away ------------------------------------------------------------------------------


@pytest.fixture
def redis_pages():
    """The pages' cache in Redis, through a proxy the test may cut (tests/test_redis_outage)."""
    if not redis_answers(LIVE_REDIS_URL):
        pytest.skip(f"needs Redis at {LIVE_REDIS_URL} (LIVE_TEST_REDIS_URL)")
    host, port = LIVE_REDIS_URL.split("//")[1].split("/")[0].split(":")
    proxy = TcpProxy((host, int(port))).start()
    prefix = unique("membership")
    database = LIVE_REDIS_URL.rsplit("/", 1)[1]
    pages = {
        "BACKEND": "portal.cache.ResilientRedisCache",
        "LOCATION": f"redis://127.0.0.1:{proxy.port}/{database}",
        "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
    with override_settings(
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "pages": pages,
            "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
    ):
        yield caches["pages"], proxy
    proxy.stop()
    client = Redis.from_url(LIVE_REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


def test_a_redis_outage_neither_grants_nor_keeps_membership(redis_pages):
    pages, proxy = redis_pages
    member = SubscriptionFactory()
    outsider = UserFactory()
    assert is_member_at_next_request(member.user_id)
    assert not is_member_at_next_request(outsider.pk)
    assert not pages.is_down()

    proxy.stop()  # Redis away, its data kept
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_subscription SET status = 'cancelled' WHERE id = %s", [member.pk]
        )
    assert not is_member_at_next_request(member.user_id)  # asked the database
    assert not is_member_at_next_request(outsider.pk)
    assert pages.is_down()

    proxy.start()
    assert pages.ping()  # back, with every answer it kept
    assert not is_member_at_next_request(member.user_id)
    assert not is_member_at_next_request(outsider.pk)


# Two billing transactions at once (PostgreSQL) -------------------------------------------


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_two_billing_transactions_that_lock_each_others_subscriptions_do_not_deadlock():
    """T1 locks X; T2 locks Y, writes Y, then waits for X; T1 writes X and commits. A
    trigger that changed the shared version row at T2's write would make T1 wait for T2
    while T2 waits for T1 (PostgreSQL would abort one: a deadlock); the version is changed
    at each commit instead (accounts/migrations/0017)."""
    x, y = SubscriptionFactory(), SubscriptionFactory()
    before = versions.current().membership
    t1_locked, t2_wrote = threading.Event(), threading.Event()
    errors = []

    def run(work):
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            t1_locked.set()
            t2_wrote.set()
        finally:
            connections.close_all()

    def t1():
        with transaction.atomic():
            mine = Subscription.objects.select_for_update().get(pk=x.pk)
            t1_locked.set()
            assert t2_wrote.wait(30)
            mine.status = Subscription.Status.PAST_DUE
            mine.grace_ends_at = timezone.now() + DAY
            mine.save()

    def t2():
        assert t1_locked.wait(30)
        with transaction.atomic():
            mine = Subscription.objects.select_for_update().get(pk=y.pk)
            mine.status = Subscription.Status.CANCELLED
            mine.save()
            t2_wrote.set()
            theirs = Subscription.objects.select_for_update().get(pk=x.pk)  # waits for T1
            theirs.note = "seen by T2"
            theirs.save()

    threads = [threading.Thread(target=run, args=(work,)) for work in (t1, t2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    x.refresh_from_db()
    assert (x.status, x.note) == ("past_due", "seen by T2")
    assert versions.current().membership != before
    assert is_member_at_next_request(x.user_id)  # in its grace period
    assert not is_member_at_next_request(y.user_id)
