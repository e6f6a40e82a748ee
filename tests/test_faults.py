"""Faults: PostgreSQL or Redis goes away under a running gunicorn (production settings) and
comes back. A TCP proxy (tests.live.TcpProxy) stands between gunicorn and the service:
stopping it refuses new connections and cuts open ones; a "blackhole" accepts connections
and never answers (an unreachable host). gunicorn is never restarted.

The database: pages answer 503 "Temporarily unavailable" at once (refused) or within the 2 s
connect timeout (unreachable), /readyz says so, and the site recovers by itself.
Redis: pages are still served (cache misses) and /readyz stays 200 with the cache unavailable.
"""

import pytest

from tests.live import (
    DEMO_PASSWORD,
    INCIDENT,
    MEMBER,
    Browser,
    TcpProxy,
    database_copy,
    production_env,
    serving,
    shows_member_view,
    unique,
    wait_for,
)

pytest_plugins = ["tests.live"]

CONNECT_TIMEOUT = 2.0  # DATABASE_CONNECT_TIMEOUT's default (portal/settings.py)
AT_ONCE = 1.5  # seconds: a refused connection fails immediately; slack for a busy machine
DB_OK = {"database": "ok", "cache": "ok"}
DB_DOWN = {"database": "unavailable", "cache": "ok"}


def assert_unavailable(response, *, within: float):
    assert response.status == 503, response.text[:2000]
    assert response.seconds < within, f"took {response.seconds:.1f} s"
    assert response.headers["Retry-After"] == "30"
    assert "Temporarily unavailable" in response.text
    for leak in ("Traceback", "OperationalError", "psycopg", "could not", "timeout expired"):
        assert leak not in response.text


def readyz(browser, server, *, within: float = AT_ONCE):
    response = browser.get(server, "/readyz")
    assert response.seconds < within, f"/readyz took {response.seconds:.1f} s"
    return response.status, response.json()


@pytest.fixture
def uncached_pages(services, demo_template):
    """Incident pages never requested before, one per call: an anonymous incident page is
    cached (per audience) and a cached one may be served without the database."""
    rows = services.postgres.query(
        demo_template,
        "SELECT slug FROM incidents_incident WHERE status = 'published' ORDER BY slug",
    )
    slugs = iter(f"/incidents/{slug}/" for (slug,) in rows)
    return lambda: next(slugs)


def assert_recovers(browser, server, next_page):
    """The next few requests answer 200 again (each gthread thread reconnects by itself)."""
    statuses = []
    while not statuses or statuses[-1] != 200:
        assert len(statuses) < 5, f"not back after {len(statuses)} requests: {statuses}"
        statuses.append(browser.get(server, next_page()).status)
    for _ in range(3):
        assert browser.get(server, next_page()).status == 200
    assert readyz(browser, server) == (200, {"ready": True, "checks": DB_OK})


def test_database_outages_answer_503_quickly_and_the_site_recovers_by_itself(
    services, make_database, cache_prefix, uncached_pages
):
    postgres = services.postgres
    proxy = TcpProxy(postgres.address)  # not started: a closed port
    env = production_env(
        postgres.url(make_database(), port=proxy.port),
        redis_url=services.redis_url,
        prefix=cache_prefix,
    )
    browser = Browser()
    try:
        with serving(env, names=["app"]) as (app,):
            # Started with nothing listening on the database's port.
            assert browser.get(app, "/healthz").status == 200
            assert_unavailable(browser.get(app, uncached_pages()), within=AT_ONCE)
            assert readyz(browser, app) == (503, {"ready": False, "checks": DB_DOWN})

            proxy.start()
            assert_recovers(browser, app, uncached_pages)

            # Down: new connections refused, open ones (kept for CONN_MAX_AGE) cut.
            proxy.stop()
            for _ in range(3):  # every thread, each with its broken connection
                assert_unavailable(browser.get(app, uncached_pages()), within=AT_ONCE)
            assert_unavailable(browser.get(app, "/incidents/?q=outage"), within=AT_ONCE)
            assert readyz(browser, app) == (503, {"ready": False, "checks": DB_DOWN})

            proxy.start()
            assert_recovers(browser, app, uncached_pages)

            # Unreachable: connections hang, psycopg gives up after connect_timeout.
            proxy.stop()
            proxy.start(blackhole=True)
            response = browser.get(app, uncached_pages())
            assert_unavailable(response, within=CONNECT_TIMEOUT + AT_ONCE)
            assert response.seconds > CONNECT_TIMEOUT / 2, "the blackhole did not hold"

            proxy.stop()
            proxy.start()
            assert_recovers(browser, app, uncached_pages)

            assert app.process.poll() is None
            assert app.worker_boots() == 1, "a worker was restarted"
    finally:
        proxy.stop()


# Redis: one gunicorn for the module, Redis behind a proxy that each test may cut.


@pytest.fixture(scope="module")
def redis_behind_proxy(services, demo_template):
    proxy = TcpProxy(services.redis_address).start()
    prefix = unique("live")
    try:
        with database_copy(services, demo_template) as name:
            env = production_env(
                services.postgres.url(name), redis_url=services.redis_at(proxy.port), prefix=prefix
            )
            with serving(env, names=["app"]) as (app,):
                yield app, proxy
    finally:
        proxy.stop()
        services.flush_prefix(prefix)


@pytest.fixture
def redis_app(redis_behind_proxy):
    """(app, proxy): Redis reachable at the start of the test and after it."""
    app, proxy = redis_behind_proxy
    yield app, proxy
    proxy.stop()
    proxy.start()


def test_a_redis_outage_means_cache_misses_not_errors(redis_app):
    app, proxy = redis_app
    visitor, member = Browser(), Browser()
    assert member.log_in(app, MEMBER, DEMO_PASSWORD).status == 302
    pages = [INCIDENT, "/incidents/", "/incidents/?q=bank", "/", "/browse/"]
    for page in pages:  # now in the cache
        assert visitor.get(app, page).status == 200
    assert readyz(visitor, app) == (200, {"ready": True, "checks": DB_OK})

    proxy.stop()
    for page in [*pages, "/incidents/?q=espionage"]:
        response = visitor.get(app, page)
        assert response.status == 200, f"{page}: {response.status}"
        assert response.seconds < AT_ONCE, f"{page} took {response.seconds:.1f} s"
    assert not shows_member_view(visitor.get(app, INCIDENT))
    assert shows_member_view(member.get(app, INCIDENT)), "the session (in the database) was lost"
    assert readyz(visitor, app) == (
        200,
        {"ready": True, "checks": {"database": "ok", "cache": "unavailable"}},
    )

    proxy.start()
    wait_for(
        lambda: readyz(visitor, app) == (200, {"ready": True, "checks": DB_OK}),
        timeout=5,
        message="/readyz to report the cache ok again",
    )
    assert shows_member_view(member.get(app, INCIDENT))


def test_logging_in_works_while_redis_is_down(redis_app):
    """allauth's rate limits live in the cache: with Redis down they fail open."""
    app, proxy = redis_app
    proxy.stop()
    response = Browser().log_in(app, MEMBER, DEMO_PASSWORD)
    assert response.status == 302, f"{response.status}: {response.text[:300]}"


def test_a_logout_while_redis_is_down_still_holds_when_redis_is_back(redis_app):
    """Sessions live in the database only, so no stale copy can come back with Redis."""
    app, proxy = redis_app
    browser = Browser()
    assert browser.log_in(app, MEMBER, DEMO_PASSWORD).status == 302
    session = dict(browser.cookies)
    assert shows_member_view(browser.get(app, INCIDENT))

    proxy.stop()
    assert browser.log_out(app).status == 302
    proxy.start()

    replay = Browser()
    replay.cookies = session
    assert not shows_member_view(replay.get(app, INCIDENT))
