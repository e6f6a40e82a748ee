"""Shared viewers: every page that shows an incident is tested for each of them."""

import datetime
import secrets
import time

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from portal import counters
from tests.factories import SubscriptionFactory, UserFactory

NON_MEMBERS = ["anonymous", "registered", "expired_member"]
MEMBERS = ["member", "staff"]
VIEWERS = NON_MEMBERS + MEMBERS
# One viewer per audience that incidents.caching.audience() tells apart (public, member,
# staff). Shared catalogue HTML (finder, article bodies) is rendered and cached per audience,
# so where a test checks that HTML, anonymous stands for every non-member; the gating,
# canary and access tests keep all five viewers.
AUDIENCES = ["anonymous", "member", "staff"]
# The catalogue's versions (portal.versions), read from the database once per request. The
# tests read them at every request (VERSION_SECONDS = 0); a server re-uses them a second.
VERSIONS_READ = 1


def new_catalogue_version():
    """Every cached catalogue page and value unreachable, as after a catalogue write."""
    from portal.models import Version

    Version.objects.filter(name="catalogue").update(value=secrets.randbits(62))


def make_viewer(kind):
    """A user of the given kind (None for anonymous)."""
    if kind == "anonymous":
        return None
    if kind == "registered":
        return UserFactory()
    if kind == "expired_member":
        sub = SubscriptionFactory(
            starts_at=timezone.now() - datetime.timedelta(days=400),
            ends_at=timezone.now() - datetime.timedelta(days=35),
        )
        return sub.user
    if kind == "member":
        return SubscriptionFactory().user
    if kind == "staff":
        return UserFactory(is_staff=True)
    raise ValueError(kind)


def client_for(kind):
    client = Client()
    user = make_viewer(kind)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch):
    """The counters' clock (rate limits, quotas) held at the test's start: on a loaded
    machine a test's requests could otherwise fall either side of a minute's boundary and
    find their count reset. Tests that move it replace it themselves."""
    now = time.time()
    monkeypatch.setattr(counters, "clock", lambda: now)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with empty caches (choices and counts are cached; a roll-up's recount
    is marked as queued in the pages' cache, and a test's mark must not stop another's)."""
    from django.core.cache import caches

    for alias in ("default", "pages", "local"):
        caches[alias].clear()
    yield
    for alias in ("default", "pages", "local"):
        caches[alias].clear()


@pytest.fixture(params=VIEWERS)
def viewer(request, db):
    """(kind, client, is_member) for each of the five viewers."""
    return request.param, client_for(request.param), request.param in MEMBERS


@pytest.fixture(params=NON_MEMBERS)
def non_member_client(request, db):
    return client_for(request.param)


@pytest.fixture(params=MEMBERS)
def member_client(request, db):
    return client_for(request.param)


@pytest.fixture(params=AUDIENCES)
def audience_viewer(request, db):
    """(kind, client, is_member) for one viewer of each audience."""
    return request.param, client_for(request.param), request.param in MEMBERS


@pytest.fixture
def anonymous_client():
    return Client()


@pytest.fixture(scope="module")
def module_transaction(django_db_setup, django_db_blocker):
    """A transaction around a whole test module, rolled back at its end: data built in it
    (by module-scoped fixtures that request this one) is built once. Each test still runs
    in its own savepoint inside it (pytest-django's ``db``), so what a test writes is undone
    after it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture
def exports_storage(settings, tmp_path):
    """The exports' private storage (emailed exports, the whole catalogue's files) in this
    test's own directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports"},
        },
    }
    return tmp_path / "exports"
