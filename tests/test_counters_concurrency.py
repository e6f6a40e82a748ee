"""Rate limits and export quotas hold under parallel requests (issue 21), in the default
configuration: no Redis, the counters in the database (portal.counters). Real threads, each
with its own database connection, all let go at once; on SQLite (a file, as in production)
and on PostgreSQL.

The "default" cache is Django's database cache here, as in production without
SECURITY_REDIS_URL (the test settings keep it in memory, where ``incr`` holds a lock): the
counters used to live there, and its ``incr`` reads, then writes.

Transactional (each thread commits on its own): listed in the Makefile's TRANSACTIONAL_TESTS.
"""

import sqlite3
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client

from accounts import tokens
from accounts.models import TeamInvitation
from accounts.teams import services
from incidents.exports import jobs
from incidents.exports.quota import ExportQuota
from incidents.models import ExportJob
from portal import counters
from tests.factories import IncidentFactory, PlanFactory, SubscriptionFactory, TeamFactory


@pytest.fixture(autouse=True)
def sqlite_file(tmp_path):
    """On SQLite, the test database copied to a file for this test, where a writer waits
    for another (the busy timeout) as in production. The test database lives in memory,
    shared between threads through SQLite's shared cache, which refuses a second writer at
    once ("database table is locked") instead."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    connection.ensure_connection()
    memory = connection.connection  # kept open: an in-memory database ends with its last
    copy = sqlite3.connect(tmp_path / "portal.sqlite3")
    memory.backup(copy)
    copy.close()
    settings_dict = connection.settings_dict  # every thread's connection reads this one
    name, settings_dict["NAME"] = settings_dict["NAME"], str(tmp_path / "portal.sqlite3")
    connection.connection = None  # the next query connects to the file
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = name
        connection.connection = memory


@pytest.fixture(autouse=True)
def database_cache(sqlite_file, settings, monkeypatch):
    """The production default: the "default" cache in the database's cache table. And one
    window for the whole test (a minute may turn while the threads run)."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
        },
    }
    call_command("createcachetable", verbosity=0)
    now = counters.clock()
    monkeypatch.setattr(counters, "clock", lambda: now)


def in_parallel(n, work):
    """``work(i)`` for i in range(n), each in a thread of its own, started together."""
    start = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported below, with the others
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


# The counter itself ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_takes_get_exactly_the_limit():
    window = counters.Window.current(counters.MINUTE)
    taken = in_parallel(40, lambda i: counters.take("race", window, 1, 30))
    assert taken.count(True) == 30
    assert counters.value("race", window) == 30


@pytest.mark.django_db(transaction=True)
def test_parallel_takes_of_many_rows_never_pass_the_limit():
    window = counters.Window.current(counters.DAY)
    taken = in_parallel(12, lambda i: counters.take("rows", window, 36, 100))
    assert taken.count(True) == 2
    assert counters.value("rows", window) == 72


# The API's rate limits ---------------------------------------------------------------


def api_status(token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().get("/api/v1/organisations?limit=1", headers=headers).status_code


@pytest.mark.django_db(transaction=True)
def test_parallel_anonymous_requests_get_exactly_the_limit(settings):
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 30
    IncidentFactory()
    statuses = in_parallel(40, lambda i: api_status())
    assert sorted(statuses) == [200] * 30 + [429] * 10


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_with_one_accounts_tokens_get_the_accounts_limit():
    """Per account, not per token (issue 21, 7): four tokens of one member share its plan's
    30 a minute."""
    IncidentFactory()
    member = SubscriptionFactory(plan=PlanFactory(api_requests_per_minute=30)).user
    raw = [tokens.create(member, f"script {n}")[1] for n in range(4)]
    statuses = in_parallel(40, lambda i: api_status(raw[i % 4]))
    assert sorted(statuses) == [200] * 30 + [429] * 10


# Export quotas -----------------------------------------------------------------------


def member_on_a_plan_of_100_rows():
    return SubscriptionFactory(plan=PlanFactory(export_rows_per_day=100)).user


@pytest.mark.django_db(transaction=True)
def test_parallel_exports_never_pass_the_daily_quota(settings):
    """40 exports of 3 rows at once on 100 rows a day: 33 files, 7 refusals, 1 row left."""
    IncidentFactory.create_batch(3)
    member = member_on_a_plan_of_100_rows()
    clients = []
    for _ in range(40):
        client = Client()
        client.force_login(member)
        clients.append(client)

    def export(i):
        response = clients[i].get("/incidents/export.csv")
        body = b"".join(response.streaming_content) if response.streaming else b""
        return response.status_code, body.count(b"\n") - 1  # the header row

    answers = in_parallel(40, export)
    assert sorted(answers) == [(200, 3)] * 33 + [(429, -1)] * 7
    assert ExportQuota(None, member=True, user=member).remaining() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_emailed_exports_are_charged_within_the_quota(exports_storage, settings):
    """The job queue's runs charge the quota in transactions of their own (jobs._charge),
    with several workers at once (PostgreSQL: on SQLite, the default configuration runs one
    worker, and the runs' transactions, which read before they write, would refuse each
    other "database is locked" before they reach the quota)."""
    if connection.vendor != "postgresql":
        pytest.skip("several job workers at once: PostgreSQL")
    settings.EXPORT_EMAIL_THRESHOLD = 2
    IncidentFactory.create_batch(36)
    member = member_on_a_plan_of_100_rows()
    queued = [ExportJob.objects.create(user=member, format="csv", query="") for _ in range(6)]
    in_parallel(6, lambda i: jobs.make_export(queued[i].pk))
    states = sorted(ExportJob.objects.values_list("state", flat=True))
    assert states == [ExportJob.State.READY] * 2 + [ExportJob.State.REFUSED] * 4
    assert ExportQuota(None, member=True, user=member).used() == 72


# Team invitations ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_invitations_never_pass_the_days_cap(monkeypatch):
    """12 invitations at once from one owner with 5 a day left: 5 sent, 7 refused (429).
    PostgreSQL: an invitation's transaction reads the team before it writes, and SQLite
    refuses a second such writer at once ("database is locked") instead of queuing it."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent invitations' transactions: PostgreSQL")
    monkeypatch.setattr(services, "INVITATIONS_PER_DAY", 5)
    team = TeamFactory(subscription=True, seats=2)  # its owner's address verified

    def invite(i):
        try:
            services.invite(team, f"guest{i}@example.org", team.owner)
        except services.TeamError as refusal:
            return refusal.status
        return 200

    statuses = in_parallel(12, invite)
    assert sorted(statuses) == [200] * 5 + [429] * 7
    assert TeamInvitation.objects.count() == 5
    window = counters.Window.current(counters.DAY)
    assert counters.value(services.invitations_counter(team.owner), window) == 5
