"""Shared viewers: every page that shows an incident is tested for each of them."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import SubscriptionFactory, UserFactory

NON_MEMBERS = ["anonymous", "registered", "expired_member"]
MEMBERS = ["member", "staff"]
VIEWERS = NON_MEMBERS + MEMBERS


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
def _clear_cache():
    """Each test starts with an empty cache (choices and counts are cached)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


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
