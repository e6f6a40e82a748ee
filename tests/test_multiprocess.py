"""Two app servers behind one load balancer: two gunicorn processes (production settings) on
one PostgreSQL database and one Redis. A session started on one holds on the other, a logout
on one ends it on both, and failed logins count across both (tests.live has the machinery).

Then several processes without Redis (pages in each process's memory, security state and the
catalogue version in the database), on a SQLite file and on PostgreSQL: a write from
manage.py reaches every server at its next request, and failed logins count across them."""

import contextlib
import tempfile
import time
from pathlib import Path

import pytest

from tests.live import (
    DEMO_PASSWORD,
    INCIDENT,
    MEMBER,
    Browser,
    database_copy,
    development_env,
    ensure_collected_static,
    manage,
    production_env,
    serving,
    shows_member_view,
    unique,
)

pytest_plugins = ["tests.live"]

WRONG_PASSWORD = "not-the-password-2026"
MISMATCH = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts"


@pytest.fixture(scope="module")
def two_servers(services, demo_template):
    """Servers A and B: separate processes sharing the database and Redis (with a key prefix
    of this module's own, flushed at the end)."""
    prefix = unique("live")
    try:
        with database_copy(services, demo_template) as name:
            env = production_env(
                services.postgres.url(name), redis_url=services.redis_url, prefix=prefix
            )
            with serving(env, env, names=["server-a", "server-b"]) as servers:
                yield servers
    finally:
        services.flush_prefix(prefix)


def test_a_session_holds_on_every_server_and_a_logout_ends_it_on_every_server(two_servers):
    a, b = two_servers
    browser = Browser()
    assert not shows_member_view(browser.get(b, INCIDENT))

    response = browser.log_in(a, MEMBER, DEMO_PASSWORD)
    assert response.status == 302, response.text[:2000]
    assert response.headers["Location"] == "/accounts/membership/"
    session = dict(browser.cookies)
    assert "sessionid" in session

    assert shows_member_view(browser.get(b, INCIDENT)), "B does not know A's session"
    assert shows_member_view(browser.get(a, INCIDENT))

    response = browser.log_out(b)
    assert response.status == 302, response.text[:2000]
    assert "sessionid" not in browser.cookies

    # The old session cookie, replayed: ended on the server that did not log out too.
    for server in (a, b):
        replay = Browser()
        replay.cookies = dict(session)
        assert not shows_member_view(replay.get(server, INCIDENT)), f"{server.name} kept it"


def test_failed_logins_for_one_email_count_across_servers(two_servers):
    """ACCOUNT_RATE_LIMITS["login_failed"] allows 5 failures per email in 5 minutes. Three
    failures on A and two on B reach it only when both count in the shared cache."""
    a, b = two_servers
    email = "reader@example.com"  # its own counter: the other test logs in as MEMBER
    for server in (a, b, a, b, a):
        response = Browser().log_in(server, email, WRONG_PASSWORD)
        assert response.status == 200
        assert MISMATCH in response.text, response.text[:2000]
        assert TOO_MANY not in response.text

    for server in (b, a):
        browser = Browser()
        response = browser.log_in(server, email, DEMO_PASSWORD)
        assert response.status == 200, f"{server.name} let the right password in after 5 failures"
        assert TOO_MANY in response.text, response.text[:2000]
        assert "sessionid" not in browser.cookies

    # Per email: another account still logs in from the same address.
    response = Browser().log_in(b, MEMBER, DEMO_PASSWORD)
    assert response.status == 302, response.text[:2000]


# Without Redis: every process keeps pages in its own memory.

# Another incident than INCIDENT, which the session tests read.
UNPUBLISHED = "/incidents/2013-12-target-corporation/"
VERSION_SECONDS = 1.0  # portal/settings.py's default: servers re-read the versions this often
UNPUBLISH = (
    "from incidents.models import Incident; "
    "Incident.objects.filter(slug={slug!r}).update(status='draft')"
)


@contextlib.contextmanager
def sqlite_database():
    """A SQLite file migrated and seeded with the demo data, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="portal-shared-caches-") as directory:
        url = f"sqlite:///{Path(directory) / 'portal.sqlite3'}"
        manage(
            development_env(url),
            "shell",
            "-c",
            "from django.core.management import call_command; "
            "call_command('migrate', interactive=False, verbosity=0); "
            "call_command('seed_demo', quiet_accounts=True)",
        )
        ensure_collected_static()
        yield url


@contextlib.contextmanager
def postgres_database(request):
    services = request.getfixturevalue("services")
    template = request.getfixturevalue("demo_template")
    with database_copy(services, template) as name:
        yield services.postgres.url(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def local_cache_servers(request):
    """(database URL, [A, B]): two servers on one database, no REDIS_URL."""
    database = sqlite_database() if request.param == "sqlite" else postgres_database(request)
    with database as url:
        env = production_env(url)
        with serving(env, env, names=["server-a", "server-b"]) as servers:
            yield url, servers


def unpublish_reaches_every_server(servers, env):
    for server in servers:  # each has the page cached now
        for _ in range(2):
            assert Browser().get(server, UNPUBLISHED).status == 200

    manage(env, "shell", "-c", UNPUBLISH.format(slug=UNPUBLISHED.split("/")[2]))
    time.sleep(VERSION_SECONDS + 0.2)  # how long a server may re-use the versions it read

    for server in servers:
        response = Browser().get(server, UNPUBLISHED)
        assert response.status == 404, f"{server.name} still serves the unpublished incident"


def test_a_write_from_manage_py_reaches_every_server_within_a_second(local_cache_servers):
    url, servers = local_cache_servers
    unpublish_reaches_every_server(servers, development_env(url))


def test_a_write_from_manage_py_reaches_servers_sharing_redis(two_servers):
    a, _ = two_servers
    env = {k: v for k, v in a.env.items() if k != "GUNICORN_BIND"}  # same database and Redis
    unpublish_reaches_every_server(two_servers, env)


def test_failed_logins_count_across_servers_without_redis(local_cache_servers):
    _, (a, b) = local_cache_servers
    email = "reader@example.com"
    for server in (a, b, a, b, a):
        response = Browser().log_in(server, email, WRONG_PASSWORD)
        assert MISMATCH in response.text, response.text[:2000]
    for server in (b, a):
        browser = Browser()
        response = browser.log_in(server, email, DEMO_PASSWORD)
        assert TOO_MANY in response.text, f"{server.name} let the right password in"
        assert "sessionid" not in browser.cookies
