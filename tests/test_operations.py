"""Operations: health and readiness, request logs with request ids, database and cache faults,
and the read-replica router."""

import datetime
import json
import logging
import socket

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from portal import db_router, versions
from portal.cache import ResilientRedisCache
from portal.db_router import ReplicaRouter
from portal.observability import JsonFormatter
from tests.factories import IncidentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_healthz_touches_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200


def test_readyz_reports_database_and_cache():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {"database": "ok", "cache": "ok", "cache:default": "ok"},
    }
    assert response["Cache-Control"] == "no-store"


def test_readyz_gives_details_only_to_local_or_staff_probes():
    """Anyone may learn whether the site is ready; which part fails (say, that rate limits
    fail open because their cache is down) only a probe on this machine or staff."""
    from tests.factories import UserFactory

    remote = Client(REMOTE_ADDR="203.0.113.9").get("/readyz")
    assert remote.status_code == 200
    assert remote.json() == {"ready": True}
    # Through the proxy on this machine (it adds X-Forwarded-For): not local.
    proxied = Client(HTTP_X_FORWARDED_FOR="203.0.113.9").get("/readyz")
    assert proxied.json() == {"ready": True}
    staff = Client(REMOTE_ADDR="203.0.113.9")
    staff.force_login(UserFactory(is_staff=True))
    assert staff.get("/readyz").json()["checks"]["cache"] == "ok"


def test_readyz_says_only_not_ready_to_a_remote_probe(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = Client(REMOTE_ADDR="203.0.113.9").get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False}


def test_readyz_is_503_when_the_database_does_not_answer(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


def test_database_errors_answer_503_without_details(monkeypatch):
    incident = IncidentFactory()

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: secret-host-name")

    monkeypatch.setattr("incidents.views.pages.get_incident_for_viewer", refuse)
    response = Client(raise_request_exception=False).get(incident.get_absolute_url())
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Temporarily unavailable" in body
    assert "secret-host-name" not in body
    assert "Traceback" not in body


def test_other_errors_stay_500(monkeypatch):
    incident = IncidentFactory()

    def fail(*args, **kwargs):
        raise RuntimeError("boom-detail")

    monkeypatch.setattr("incidents.views.pages.get_incident_for_viewer", fail)
    response = Client(raise_request_exception=False).get(incident.get_absolute_url())
    assert response.status_code == 500
    assert "boom-detail" not in response.content.decode()


def request_records(caplog):
    return [r for r in caplog.records if r.name == "portal.request"]


def test_each_request_is_logged_once_with_its_id_user_status_and_duration(caplog):
    caplog.set_level(logging.INFO, logger="portal.request")
    member = SubscriptionFactory().user
    client = Client()
    client.force_login(member)
    response = client.get("/incidents/")
    anonymous = Client().get("/no-such-page/")

    first, second = request_records(caplog)
    assert first.request_id == response["X-Request-ID"]
    assert (first.method, first.path, first.status, first.user) == (
        "GET", "/incidents/", 200, member.pk,
    )  # fmt: skip
    assert isinstance(first.duration_ms, float)
    assert (second.status, second.user) == (404, "anonymous")
    assert second.request_id == anonymous["X-Request-ID"] != first.request_id

    line = json.loads(JsonFormatter().format(first))
    assert {"time", "level", "logger", "request_id", "status", "duration_ms", "user"} <= set(line)
    assert line["request_id"] == response["X-Request-ID"]


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(caplog):
    caplog.set_level(logging.INFO, logger="portal.request")
    kept = Client().get("/healthz", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert kept["X-Request-ID"] == "nginx-0123456789abcdef"
    replaced = Client().get("/healthz", headers={"X-Request-ID": "x\nFAKE LOG LINE"})
    assert replaced["X-Request-ID"] != "x\nFAKE LOG LINE"
    assert len(replaced["X-Request-ID"]) == 32


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_redis_down_means_cache_misses_not_errors():
    cache = ResilientRedisCache(
        f"redis://127.0.0.1:{closed_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}},
    )
    assert cache.get("k") is None
    assert cache.get("k", "default") == "default"
    cache.set("k", 1)
    # add() answers "added": allauth's rate-limit lock waits while add() fails, which
    # would refuse every login during an outage.
    assert cache.add("k", 1) is True
    assert cache.get_many(["a", "b"]) == {}
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    with pytest.raises(ValueError):
        cache.incr("k")
    assert cache.ping() is False


def test_a_redis_that_hangs_costs_one_timeout_then_is_skipped_for_a_while():
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        cache = ResilientRedisCache(
            f"redis://127.0.0.1:{port}/0",
            {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
        )
        attempts = []
        get_client = cache._cache.get_client

        def counting_get_client(*args, **kwargs):
            attempts.append(args)
            return get_client(*args, **kwargs)

        cache._cache.get_client = counting_get_client
        assert cache.get("k") is None
        assert len(attempts) == 1  # one try, which timed out
        for _ in range(20):
            assert cache.get("k") is None
            cache.set("k", 1)
        assert len(attempts) == 1  # skipped, not 40 more timeouts


def test_redis_cache_works_when_redis_is_up():
    cache = ResilientRedisCache(
        "redis://127.0.0.1:6379/15", {"KEY_PREFIX": f"test-{closed_port()}"}
    )
    if not cache.ping():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    cache.set("k", {"a": 1}, 10)
    assert cache.get("k") == {"a": 1}
    assert cache.add("n", 1) is True
    assert cache.incr("n") == 2
    cache.delete_many(["k", "n"])


@pytest.mark.django_db(transaction=True)
def test_replica_router_sends_only_catalogue_reads_to_the_replica():
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    from accounts.models import Subscription
    from portal.models import Version
    from tests.factories import SectorFactory

    versions.current()  # the rows made, if a flush took them
    Version.objects.update(changed_at=timezone.now() - datetime.timedelta(hours=1))
    router = ReplicaRouter()
    assert router.db_for_read(Incident) == "replica"
    for model in (get_user_model(), Subscription, Session):
        assert router.db_for_read(model) == "default"
    assert router.db_for_write(Incident) == "default"
    assert router.allow_migrate("default", "incidents") is True
    assert router.allow_migrate("replica", "incidents") is False

    # Inside a transaction, and for a while after a catalogue write, reads stay on the
    # primary: they must see the write, and no page may be cached from a lagging copy.
    from django.db import transaction

    with transaction.atomic():
        assert router.db_for_read(Incident) == "default"
    assert router.db_for_read(Incident) == "replica"
    # Work stamped with the catalogue's versions (roll-ups, the whole-catalogue files).
    with db_router.primary():
        assert router.db_for_read(Incident) == "default"
    assert router.db_for_read(Incident) == "replica"
    SectorFactory()  # a catalogue write: the database's triggers record when (portal.versions)
    assert router.db_for_read(Incident) == "default"
