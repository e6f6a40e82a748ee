"""Personal API tokens: made, listed, shown once, stored hashed, revoked (accounts.tokens and
the account page's API tokens section)."""

import datetime
import hashlib
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken
from tests.conftest import client_for
from tests.factories import UserFactory

PAGE = "/accounts/tokens/"


@pytest.fixture
def signed_in(db):
    user = UserFactory()
    client = client_for("anonymous")
    client.force_login(user)
    return user, client


def test_a_token_is_stored_as_its_sha256_only():
    raw_token = "cip_0123abcd_" + "x" * 43
    assert tokens.digest_of(raw_token) == hashlib.sha256(raw_token.encode()).hexdigest()


@pytest.mark.django_db
def test_made_tokens_resolve_to_their_owner_and_are_never_stored_in_clear():
    user = UserFactory()
    token, raw = tokens.create(user, "script")
    assert tokens.TOKEN_RE.match(raw)
    assert raw.startswith(f"cip_{token.prefix}_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert tokens.resolve(raw).user == user
    assert tokens.resolve(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert tokens.resolve("") is None
    assert tokens.resolve("cip_nothing") is None


@pytest.mark.django_db
def test_a_resolved_token_and_its_owner_are_what_the_orm_reads():
    """resolve() loads the token with its owner in one query: every field of both as the ORM
    reads them."""
    owner = UserFactory(first_name="Ada", last_login=timezone.now())
    made, raw = tokens.create(owner, "laptop")
    resolved = tokens.resolve(raw)
    expected = ApiToken.objects.select_related("user").get(pk=made.pk)
    for field in ApiToken._meta.concrete_fields:
        if field.name != "last_used_at":  # noted by this very call
            assert getattr(resolved, field.attname) == getattr(expected, field.attname)
    for field in type(owner)._meta.concrete_fields:
        assert getattr(resolved.user, field.attname) == getattr(expected.user, field.attname)
    assert not resolved._state.adding and resolved.user.pk == owner.pk
    assert tokens.resolve(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None


@pytest.mark.django_db
def test_revoked_tokens_and_deactivated_owners_resolve_to_nothing():
    user = UserFactory()
    token, raw = tokens.create(user, "script")
    assert tokens.revoke(user, token.pk)
    assert tokens.resolve(raw) is None
    assert not tokens.revoke(user, token.pk)  # once

    other, raw_other = tokens.create(user, "other")
    user.is_active = False
    user.save()
    assert tokens.resolve(raw_other) is None


@pytest.mark.django_db
def test_last_use_is_noted_at_most_once_a_minute():
    token, raw = tokens.create(UserFactory(), "script")
    assert token.last_used_at is None
    tokens.resolve(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    tokens.resolve(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    earlier = timezone.now() - datetime.timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    tokens.resolve(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > earlier


@pytest.mark.django_db
def test_the_page_needs_a_sign_in():
    response = client_for("anonymous").get(PAGE)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_making_a_token_shows_it_once(signed_in):
    user, client = signed_in
    response = client.post(PAGE, {"name": "laptop script"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=user)
    shown = re.findall(r'id="new-token"[^>]* value="([^"]+)"', response.content.decode())
    assert len(shown) == 1
    raw = shown[0]
    assert raw.startswith(f"cip_{token.prefix}_")
    assert tokens.resolve(raw).pk == token.pk
    again = client.get(PAGE).content.decode()
    assert "laptop script" in again and f"cip_{token.prefix}_" in again
    assert raw not in again


def test_a_name_is_required(signed_in):
    user, client = signed_in
    response = client.post(PAGE, {"name": ""})
    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=user).exists()


def test_active_tokens_are_limited(signed_in, settings):
    user, client = signed_in
    for n in range(tokens.MAX_ACTIVE_TOKENS):
        tokens.create(user, f"t{n}")
    response = client.post(PAGE, {"name": "one more"})
    assert response.status_code == 400
    assert b"Revoke one" in response.content
    assert tokens.active_for(user).count() == tokens.MAX_ACTIVE_TOKENS


def test_making_tokens_is_rate_limited(signed_in):
    user, client = signed_in
    statuses = [client.post(PAGE, {"name": f"t{n}"}).status_code for n in range(21)]
    assert statuses == [200] * 20 + [429]


def test_revoking_from_the_page(signed_in):
    user, client = signed_in
    token, raw = tokens.create(user, "script")
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", {"confirm": "yes"}, follow=True)
    assert b"is revoked" in response.content
    assert tokens.resolve(raw) is None
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405


def test_nobody_revokes_another_users_token(signed_in):
    user, client = signed_in
    token, raw = tokens.create(UserFactory(), "theirs")
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert b"no such active token" in response.content
    assert tokens.resolve(raw) is not None


@pytest.mark.django_db
def test_staff_revoke_tokens_in_the_admin_and_never_see_their_digest():
    from django.test import Client

    owner = UserFactory()
    token, raw = tokens.create(owner, "leaked")
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert page.status_code == 200
    assert token.digest.encode() not in page.content and raw.encode() not in page.content
    response = admin.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert b"1 token(s) revoked" in response.content
    assert tokens.resolve(raw) is None
