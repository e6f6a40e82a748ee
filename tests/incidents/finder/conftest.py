"""The finder's catalogue (tests.incidents.finder.world) and viewers, built once per test
module inside a transaction that is rolled back at the module's end; each test runs in a
savepoint inside it, so what a test adds or changes is undone after it."""

import pytest
from django.test import Client

from tests.conftest import AUDIENCES, MEMBERS, NON_MEMBERS, VIEWERS, make_viewer
from tests.incidents.finder.world import build_world


@pytest.fixture(scope="module")
def _world(module_transaction, django_db_blocker):
    """The catalogue of world.py, built once for the module (each
    test's own changes to it are rolled back after the test)."""
    with django_db_blocker.unblock():
        return build_world()


@pytest.fixture
def world(_world, db):
    return _world


@pytest.fixture(scope="module")
def _users(module_transaction, django_db_blocker):
    with django_db_blocker.unblock():
        return {kind: make_viewer(kind) for kind in VIEWERS}


def _client(users, kind):
    client = Client()
    if users[kind] is not None:
        client.force_login(users[kind])
    return client


@pytest.fixture
def client_of(_users, db):
    """A signed-in client (anonymous: signed out) for one of the module's viewers."""
    return lambda kind: _client(_users, kind)


# The same fixtures as tests.conftest's, with the module's viewers.
@pytest.fixture(params=AUDIENCES)
def audience_viewer(request, _users, db):
    return request.param, _client(_users, request.param), request.param in MEMBERS


@pytest.fixture(params=NON_MEMBERS)
def non_member_client(request, _users, db):
    return _client(_users, request.param)


@pytest.fixture(params=MEMBERS)
def member_client(request, _users, db):
    return _client(_users, request.param)
