"""Account self-service: download my data (mine only), delete my account (password, what
ends, what is kept), and the links from the account pages."""

import json

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from django.urls import reverse

from accounts import tokens
from accounts.access import is_member
from accounts.models import InvoiceRequest, Subscription, Trial
from accounts.selfserve import account_data
from accounts.selfserve.trials import start_trial
from tests.factories import PlanFactory, SubscriptionFactory, UserFactory

PASSWORD = "correct-horse-battery"
User = get_user_model()


def invoice_request(user, company="Example Research GmbH"):
    return InvoiceRequest.objects.create(
        user=user,
        plan=PlanFactory(slug="individual"),
        company_name=company,
        billing_address="Hauptstraße 1, Berlin",
        country="DE",
        vat_id="DE123456789",
        billing_email=f"billing-{user.username}@example.de",
    )


@pytest.fixture
def alice(db):
    user = UserFactory(username="alice", email="alice@example.org", first_name="Alice")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    EmailAddress.objects.create(user=user, email="alice@work.example", verified=False)
    SubscriptionFactory(user=user, plan=PlanFactory(slug="individual"))
    invoice_request(user)
    return user


@pytest.fixture
def bob(db):
    user = UserFactory(username="bob", email="bob@example.org")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    start_trial(user, PlanFactory(slug="bob-trial", name="Bob's trial plan", trial_days=7))
    invoice_request(user, company="Bob Consulting Ltd")
    return user


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


# Download my data


def test_download_is_an_attachment_of_my_data_only(alice, bob):
    token, raw_token = tokens.create(alice, "Alice's script")
    tokens.create(bob, "Bob's script")
    response = client_for(alice).post(reverse("accounts:my_data"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert set(data) == {
        "account",
        "email_addresses",
        "subscriptions",
        "team_seats",
        "trials",
        "invoice_requests",
        "api_tokens",
        "shared_mailboxes",
        # Registered by incidents (accounts.personal_data): tests/incidents/test_export_jobs.py
        "saved_searches",
        "export_jobs",
        "watched_organisations",  # tests/incidents/test_watches.py
    }
    assert data["account"]["email"] == "alice@example.org"
    assert data["account"]["first_name"] == "Alice"
    assert {a["email"] for a in data["email_addresses"]} == {
        "alice@example.org",
        "alice@work.example",
    }
    assert [s["source"] for s in data["subscriptions"]] == ["manual"]
    assert data["trials"] == []
    assert [r["company_name"] for r in data["invoice_requests"]] == ["Example Research GmbH"]
    assert data["invoice_requests"][0]["vat_id"] == "DE123456789"
    assert [(t["name"], t["prefix"]) for t in data["api_tokens"]] == [
        ("Alice's script", token.prefix)
    ]
    raw = response.content.decode()
    assert raw_token not in raw and token.digest not in raw
    assert "bob" not in raw.lower()
    assert "Bob Consulting" not in raw


def test_download_includes_trials(bob):
    data = json.loads(client_for(bob).post(reverse("accounts:my_data")).content)
    assert [t["plan"] for t in data["trials"]] == ["Bob's trial plan"]
    assert [s["status"] for s in data["subscriptions"]] == ["trialing"]


@pytest.mark.parametrize("name", ["my_data", "delete_account"])
def test_anonymous_is_sent_to_sign_in(db, name):
    for response in [
        Client().get(reverse(f"accounts:{name}")),
        Client().post(reverse(f"accounts:{name}")),
    ]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_the_download_needs_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("accounts:my_data")).status_code == 403


def test_account_pages_link_to_data_delete_and_invoices(alice):
    client = client_for(alice)
    for url in [reverse("account_email"), reverse("accounts:membership")]:
        body = client.get(url).content.decode()
        assert reverse("accounts:my_data") in body, url
        assert reverse("accounts:delete_account") in body, url
        assert reverse("accounts:invoice_request") in body, url
    body = client.get(reverse("accounts:my_data")).content.decode()
    assert f'<form method="post" action="{reverse("accounts:my_data")}">' in body


# Delete my account


def delete(client, password=PASSWORD, confirm="on"):
    data = {"password": password}
    if confirm:
        data["confirm"] = confirm
    return client.post(reverse("accounts:delete_account"), data)


def test_the_page_says_what_is_kept_and_for_how_long(alice):
    body = client_for(alice).get(reverse("accounts:delete_account")).content.decode()
    assert "keeps your invoice requests" in body
    assert "for 10 years" in body


def test_deleting_removes_the_account_and_keeps_the_invoice_anonymised(alice, bob):
    client = client_for(alice)
    response = delete(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not User.objects.filter(username="alice").exists()
    assert not EmailAddress.objects.filter(email__startswith="alice@").exists()
    assert SESSION_KEY not in client.session
    kept = InvoiceRequest.objects.get(company_name="Example Research GmbH")
    assert kept.user is None
    assert kept.billing_email == ""
    assert kept.anonymised_at is not None
    assert kept.vat_id == "DE123456789"  # the invoice record itself stays
    # Bob is untouched.
    assert User.objects.filter(username="bob").exists()
    assert InvoiceRequest.objects.get(company_name="Bob Consulting Ltd").user == bob
    assert Trial.objects.filter(user=bob).exists()
    assert is_member(User.objects.get(pk=bob.pk))


def test_deleting_cancels_what_the_account_pays_for_first(alice, monkeypatch):
    seen = []
    original = account_data.on_account_deleted

    def spy(user):
        original(user)
        seen.extend(Subscription.objects.filter(user=user).values_list("status", flat=True))

    monkeypatch.setattr(account_data, "on_account_deleted", spy)
    delete(client_for(alice))
    assert seen == [Subscription.Status.CANCELLED]
    assert not Subscription.objects.filter(user_id=alice.pk).exists()


def test_on_account_deleted_cancels_running_subscriptions(bob):
    account_data.on_account_deleted(bob)
    sub = Subscription.objects.get(user=bob)
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.cancelled_at is not None
    assert not is_member(User.objects.get(pk=bob.pk))


@pytest.mark.parametrize(
    ("password", "confirm"), [("wrong-password", "on"), (PASSWORD, ""), ("", "on")]
)
def test_a_wrong_password_or_no_confirmation_deletes_nothing(alice, password, confirm):
    response = delete(client_for(alice), password=password, confirm=confirm)
    assert response.status_code == 400
    assert User.objects.filter(pk=alice.pk).exists()
    assert Subscription.objects.get(user=alice).status == Subscription.Status.ACTIVE


def test_deleting_needs_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert delete(client).status_code == 403
    assert User.objects.filter(pk=alice.pk).exists()


def test_password_guesses_are_rate_limited(alice):
    client = client_for(alice)
    statuses = [delete(client, password=f"guess-{i}").status_code for i in range(11)]
    assert statuses == [400] * 10 + [429]
    assert delete(client).status_code == 429
    assert User.objects.filter(pk=alice.pk).exists()


def test_an_account_without_a_password_is_asked_to_set_one(db):
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    client = client_for(user)
    body = client.get(reverse("accounts:delete_account")).content.decode()
    assert reverse("account_set_password") in body
    assert delete(client).status_code == 400
    assert User.objects.filter(pk=user.pk).exists()
