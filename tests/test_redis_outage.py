"""A withdrawal while Redis is away is never forgotten when it comes back (issue 20).

Pages, counts and roll-up markers live in Redis; the versions they are keyed by live in the
database (portal.versions). Redis is cut (a TCP proxy that refuses connections, its data
kept), an incident is unpublished by the most forgetful writer there is (a raw SQL UPDATE,
no signal, no writer path), Redis comes back with every page cached before: the incident
is in no page, search, count, API answer or file.
"""

import pytest
from django.db import connection
from django.test import override_settings

from tests.conftest import client_for
from tests.factories import IncidentFactory, OrganisationFactory
from tests.incidents.api.helpers import api_get, token_for
from tests.live import REDIS_URL, TcpProxy, redis_answers, unique

pytestmark = pytest.mark.skipif(
    not redis_answers(REDIS_URL), reason=f"needs Redis at {REDIS_URL} (LIVE_TEST_REDIS_URL)"
)

VICTIM = "Outage Withdrawn Victim"


@pytest.fixture
def redis_pages():
    """The pages' cache in Redis, reached through a proxy the test may cut."""
    from django.core.cache import caches
    from redis import Redis

    host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    proxy = TcpProxy((host, int(port))).start()
    prefix = unique("outage")
    database = REDIS_URL.rsplit("/", 1)[1]
    location = f"redis://127.0.0.1:{proxy.port}/{database}"
    settings = {
        "BACKEND": "portal.cache.ResilientRedisCache",
        "LOCATION": location,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
    with override_settings(
        CACHES={
            "default": settings | {"KEY_PREFIX": f"{prefix}-default"},
            "pages": settings,
            "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
    ):
        yield caches["pages"], proxy
    proxy.stop()
    client = Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


def pages_of(incident):
    return [
        incident.get_absolute_url(),
        "/incidents/",
        "/incidents/?q=Outage",
        incident.organisation.get_absolute_url(),
        "/statistics/",
        "/countries/FR/",
    ]


def test_a_withdrawal_while_redis_is_away_is_never_forgotten(db, redis_pages):
    pages, proxy = redis_pages
    IncidentFactory(country="FR")
    withdrawn = IncidentFactory(organisation=OrganisationFactory(name=VICTIM), country="FR")
    viewers = {kind: client_for(kind) for kind in ("anonymous", "member")}
    token = token_for("member")
    for client in viewers.values():
        for url in pages_of(withdrawn):
            if url == withdrawn.organisation.get_absolute_url() or url.startswith("/incidents/"):
                assert VICTIM in client.get(url).content.decode(), url
    assert api_get("/api/v1/statistics", token).json()["total"] == 2
    assert VICTIM in api_get("/api/v1/incidents", token).content.decode()
    assert pages.get_many([]) == {} and not pages.is_down()

    proxy.stop()  # Redis away, its data kept
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_incident SET status = 'draft' WHERE id = %s", [withdrawn.pk]
        )
    for client in viewers.values():  # served while Redis is away: cache misses
        assert client.get("/incidents/").status_code == 200
    assert pages.is_down()

    proxy.start()
    assert pages.ping()  # Redis answers again, with every key it had
    for kind, client in viewers.items():
        assert client.get(withdrawn.get_absolute_url()).status_code == 404, kind
        for url in pages_of(withdrawn)[1:]:
            response = client.get(url)
            assert response.status_code in (200, 404, 503), (kind, url)
            assert VICTIM not in response.content.decode(), (kind, url)
    assert VICTIM not in api_get("/api/v1/incidents", token).content.decode()
    statistics = api_get("/api/v1/statistics", token)
    assert statistics.status_code == 503 or statistics.json()["total"] == 1
    snapshot = viewers["anonymous"].get("/data/incidents.csv")
    assert (
        snapshot.status_code in (503, 404)
        or VICTIM not in b"".join(snapshot.streaming_content).decode()
    )
