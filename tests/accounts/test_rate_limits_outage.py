"""allauth's rate limits and its memory of used two-factor codes live in the "default" cache.
With SECURITY_REDIS_URL that is a Redis of its own; while it is away they fail open
(docs/deploy.md, "Caches"): logins keep working, uncounted, rather than everyone being
refused. These tests pin that trade-off with a Redis nobody answers at (no live Redis
needed); with the database cache (the default) the limits are as available as the site.
tests/test_faults.py logs in through a live server with Redis cut."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from tests.accounts.test_mfa_and_rate_limits import log_in, verified
from tests.factories import UserFactory, totp_code
from tests.locking import UNREACHABLE_REDIS


@pytest.fixture
def security_redis_away(db, settings):
    settings.CACHES = {**settings.CACHES, "default": UNREACHABLE_REDIS}
    yield
    assert caches["default"].is_down()


def test_failed_logins_are_not_counted_while_the_security_redis_is_away(security_redis_away):
    """With the cache up, five failed logins refuse the right password
    (test_mfa_and_rate_limits); with it away nothing is counted and the owner gets in."""
    user = verified(UserFactory())
    client = Client()
    for _ in range(6):
        assert log_in(client, user, password="wrong-password").status_code == 200
    assert log_in(client, user).status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_used_two_factor_code_is_not_remembered_while_the_security_redis_is_away(
    security_redis_away,
):
    """allauth remembers a used code (``cache.add``) so it cannot be replayed within its
    window; with the cache away it cannot remember, so a code works twice in its window
    (the documented cost of staff still being able to sign in)."""
    staff = verified(UserFactory(is_staff=True, is_superuser=True))
    code = totp_code(staff.totp_secret)
    for _ in range(2):
        client = Client()
        assert log_in(client, staff)["Location"] == reverse("mfa_authenticate")
        assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
        assert client.session[SESSION_KEY] == str(staff.pk)
