"""PAGES_CACHE_OFF: the catalogue works with nothing kept between requests (the pages'
cache is Django's dummy cache), as bench/load_benchmark.sh measures it."""

import subprocess
import sys

import pytest
from django.core.cache import caches
from django.test import override_settings

from incidents import caching
from portal import locks
from tests.factories import IncidentFactory
from tests.test_settings import ROOT

OFF = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "o1"},
    "pages": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "o2"},
}


def test_the_settings_switch_gives_the_dummy_cache():
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print(s.CACHES['pages']['BACKEND'])"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_DEBUG": "1",
            "PAGES_CACHE_OFF": "1",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "django.core.cache.backends.dummy.DummyCache", result.stderr


@pytest.mark.django_db
@override_settings(CACHES=OFF)
def test_pages_are_served_and_nothing_is_kept(client):
    incident = IncidentFactory(summary="A first summary.")
    for path in ("/incidents/", "/incidents/?q=summary", incident.get_absolute_url(), "/"):
        assert client.get(path).status_code == 200, path
    # Nothing kept: an edit shows at once even without the version (the dummy keeps nothing).
    assert caches["pages"].get("anything") is None
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "A first summary." in page


@override_settings(CACHES=OFF)
def test_a_claim_still_holds_without_a_pages_cache():
    # enqueue_once's claim ("a recount is queued"): one per name, not one per reader.
    assert locks.claim("recount:test", 60) is True
    assert locks.claim("recount:test", 60) is False
    locks.unclaim("recount:test")
    assert locks.claim("recount:test", 60) is True
    locks.unclaim("recount:test")


@pytest.mark.django_db
@override_settings(CACHES=OFF)
def test_single_flight_computes_at_once_when_nothing_can_be_shared(monkeypatch):
    # Another process "holds" every lock: with a store that keeps nothing its value could
    # never arrive, so the caller must not wait for it.
    monkeypatch.setattr(caching, "once", lambda *a, **k: pytest.fail("waited on a lock"))
    assert caching.cached("k", "public", ["x"], lambda: 42, single_flight=True) == 42
