"""The users' admin applies the one reading of addresses (accounts.addresses) that sign-up
and email changes go through: one mailbox, one account, addresses stored clean."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

User = get_user_model()
ADD = reverse("admin:auth_user_add")


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def add(client, username, email):
    return client.post(
        ADD,
        {
            "username": username,
            "email": email,
            "usable_password": "true",
            "password1": "a long and unusual passphrase 9",
            "password2": "a long and unusual passphrase 9",
            "subscriptions-TOTAL_FORMS": "0",
            "subscriptions-INITIAL_FORMS": "0",
        },
    )


def change(client, user, **fields):
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "subscriptions-TOTAL_FORMS": "0",
        "subscriptions-INITIAL_FORMS": "0",
        **fields,
    }
    return client.post(reverse("admin:auth_user_change", args=[user.pk]), data)


@pytest.mark.parametrize(
    "spelling",
    ["ada+admin@example.org", "ADA@example.org", '"ada"@example.org', "ada@ｅxample.org"],
)
def test_a_new_user_cannot_take_a_mailbox_another_account_holds(admin_client, spelling):
    ada = UserFactory(email="ada@example.org")
    EmailAddress.objects.create(user=ada, email=ada.email, verified=True, primary=True)
    response = add(admin_client, "ada-again", spelling)
    assert response.status_code == 200
    assert "Another account already holds this mailbox" in response.content.decode()
    assert not User.objects.filter(username="ada-again").exists()


def test_a_new_user_needs_an_address_and_gets_it_stored_clean(admin_client):
    assert "This field is required" in add(admin_client, "nobody", "").content.decode()
    assert add(admin_client, "grace", "Grace.Hopper@Ｅxample.ORG").status_code == 302
    assert User.objects.get(username="grace").email == "grace.hopper@example.org"


def test_an_address_changed_to_another_accounts_mailbox_is_refused(admin_client):
    UserFactory(email="ada@example.org")
    bob = UserFactory(email="bob@example.org")
    response = change(admin_client, bob, email="ada+bob@example.org")
    assert "Another account already holds this mailbox" in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == "bob@example.org"
    assert change(admin_client, bob, email="Bob+Work@example.org").status_code == 302
    bob.refresh_from_db()
    assert bob.email == "bob+work@example.org"  # its own mailbox, written clean


def test_an_account_sharing_a_mailbox_from_before_can_still_be_edited(admin_client):
    """Accounts that shared a mailbox before the rule are left to staff (migration 0015):
    saving one with its address unchanged is not refused."""
    UserFactory(email="ada@example.org")
    twin = UserFactory(email="ada+old@example.org")
    assert change(admin_client, twin, first_name="Ada").status_code == 302
    twin.refresh_from_db()
    assert twin.first_name == "Ada"
