"""Pricing, checkout and the offline test-mode backend (issue 11, items 1 and "running it here").

The end-to-end test walks a registered reader through the pricing page and the test-mode
checkout with Django's test client; the payment reaches membership through the same
``lifecycle.receive`` as Stripe's webhook.
"""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from accounts.access import is_member
from accounts.billing import get_backend, testmode_backend
from accounts.models import BillingCustomer, Plan, StripeEvent, Subscription, SubscriptionChange
from tests.conftest import VIEWERS, client_for
from tests.factories import CIAPostureFactory, IncidentFactory, PlanFactory, UserFactory


@pytest.fixture
def test_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def plan(db):
    return PlanFactory(
        slug="analyst", name="Analyst", is_for_sale=True, monthly_price=29, yearly_price=290
    )


@pytest.fixture
def reader(db):
    return UserFactory(email="reader@example.org")


@pytest.fixture
def reader_client(reader):
    client = Client()
    client.force_login(reader)
    return client


def fresh(user):
    return type(user).objects.get(pk=user.pk)


# -- backends --------------------------------------------------------------------------------


def test_backend_choice(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.DEBUG = False
    assert get_backend() is None
    settings.DEBUG = True
    assert get_backend().test_mode is True
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    assert get_backend().test_mode is False


def test_test_mode_is_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured):
        testmode_backend.TestModeBackend()


def test_test_mode_pages_are_404_when_stripe_is_configured(settings, plan, reader, reader_client):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    token_url = testmode_backend.TestModeBackend().start_checkout(None, reader, plan, "month")
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    assert reader_client.get(token_url).status_code == 404
    assert reader_client.post(token_url).status_code == 404
    assert reader_client.get("/billing/test/portal/").status_code == 404
    assert reader_client.post("/billing/test/portal/", {"action": "cancel"}).status_code == 404
    assert not Subscription.objects.exists()


def test_test_mode_pages_are_404_without_debug(settings, plan, reader, reader_client):
    settings.DEBUG = True
    token_url = testmode_backend.TestModeBackend().start_checkout(None, reader, plan, "month")
    settings.DEBUG = False
    assert reader_client.get(token_url).status_code == 404
    assert reader_client.post(token_url).status_code == 404
    assert reader_client.get("/billing/test/portal/").status_code == 404
    assert not Subscription.objects.exists()


# -- the pricing page --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", VIEWERS)
def test_pricing_page_for_every_viewer(kind, plan):
    response = client_for(kind).get("/pricing/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Analyst" in html
    assert "29.00 EUR / month" in html and "290.00 EUR / year" in html
    assert "VAT" in html
    assert "TEST MODE" not in html  # no backend: DEBUG off, no key


def test_pricing_lists_the_public_plans_from_the_database(client, plan):
    PlanFactory(slug="hidden", name="Hidden Plan", is_public=False)
    html = client.get("/pricing/").content.decode()
    assert "Hidden Plan" not in html
    assert "Analyst" in html


def test_pricing_without_a_backend_offers_no_checkout(reader_client, plan, settings):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    html = reader_client.get("/pricing/").content.decode()
    assert "/billing/checkout/" not in html


def test_pricing_in_test_mode_offers_checkout_and_says_test_mode(reader_client, plan, test_mode):
    html = reader_client.get("/pricing/").content.decode()
    assert "TEST MODE" in html
    assert 'action="/billing/checkout/"' in html
    assert 'value="month"' in html and 'value="year"' in html


def test_members_cta_and_membership_page_link_to_pricing(client, reader_client, plan):
    incident = IncidentFactory()
    CIAPostureFactory(incident=incident)
    html = client.get(incident.get_absolute_url()).content.decode()
    cta = html[html.index('class="members-cta"') :]
    assert 'href="/pricing/"' in cta[: cta.index("</aside>")]
    membership = reader_client.get("/accounts/membership/").content.decode()
    assert 'href="/pricing/"' in membership
    assert "not available yet" not in membership
    assert "to become a member" not in client.get("/accounts/membership/").content.decode()


# -- checkout -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"plan": "team-not-for-sale", "interval": "month"},
        {"plan": "private", "interval": "month"},
        {"plan": "analyst", "interval": "week"},
        {"plan": "analyst", "interval": "year"},  # no yearly price below
        {"plan": "nope", "interval": "month"},
        {},
    ],
)
def test_checkout_for_a_plan_not_for_sale_is_404(reader_client, test_mode, db, data):
    PlanFactory(slug="analyst", is_for_sale=True, monthly_price=29, yearly_price=None)
    PlanFactory(slug="team-not-for-sale", is_for_sale=False, monthly_price=149)
    PlanFactory(slug="private", is_public=False, is_for_sale=True, monthly_price=10)
    assert reader_client.post("/billing/checkout/", data).status_code == 404
    assert not BillingCustomer.objects.exists()


def test_checkout_needs_a_signed_in_user_and_post(client, reader_client, plan, test_mode):
    response = client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert reader_client.get("/billing/checkout/").status_code == 405


def test_checkout_creation_is_rate_limited_per_user(reader_client, plan, test_mode):
    data = {"plan": "analyst", "interval": "month"}
    for _ in range(10):
        assert reader_client.post("/billing/checkout/", data).status_code == 302
    response = reader_client.post("/billing/checkout/", data)
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    other = Client()
    other.force_login(UserFactory())
    assert other.post("/billing/checkout/", data).status_code == 302


def test_test_checkout_link_of_another_user_is_404(plan, reader, test_mode):
    url = testmode_backend.TestModeBackend().start_checkout(None, reader, plan, "month")
    intruder = Client()
    intruder.force_login(UserFactory())
    assert intruder.get(url).status_code == 404
    assert intruder.post(url).status_code == 404
    assert not Subscription.objects.exists()


def test_tampered_test_checkout_link_is_404(reader_client, test_mode, plan):
    assert reader_client.get("/billing/test/checkout/abc:def/").status_code == 404


# -- end to end ---------------------------------------------------------------------------------


def test_reader_buys_membership_in_test_mode_end_to_end(reader, reader_client, plan, test_mode):
    incident = IncidentFactory()
    CIAPostureFactory(incident=incident, confidentiality="high", notes="Payroll data copied.")
    assert (
        "Payroll data copied."
        not in reader_client.get(incident.get_absolute_url()).content.decode()
    )

    pricing = reader_client.get("/pricing/")
    assert "TEST MODE" in pricing.content.decode()
    start = reader_client.post("/billing/checkout/", {"plan": "analyst", "interval": "year"})
    assert start.status_code == 302
    checkout_url = start["Location"]
    assert checkout_url.startswith("/billing/test/checkout/")

    page = reader_client.get(checkout_url)
    assert page.status_code == 200
    assert "TEST MODE" in page.content.decode()
    assert "290.00 EUR" in page.content.decode()

    paid = reader_client.post(checkout_url)
    assert paid.status_code == 302
    assert paid["Location"].startswith("/billing/return/?session_id=cs_test_")
    done = reader_client.get(paid["Location"])
    assert "You are a member" in done.content.decode()
    assert "TEST MODE" in done.content.decode()

    assert is_member(fresh(reader)) is True
    sub = Subscription.objects.get(user=reader)
    assert (sub.plan, sub.billing_interval, sub.status) == (plan, "year", "active")
    assert sub.stripe_subscription_id.startswith("sub_test_")
    assert list(StripeEvent.objects.order_by("pk").values_list("type", flat=True)) == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    assert set(sub.changes.values_list("cause", flat=True)) == {SubscriptionChange.Cause.TEST_MODE}
    [welcome] = mail.outbox
    assert welcome.to == ["reader@example.org"]
    member_page = Client()
    member_page.force_login(reader)
    assert "Payroll data copied." in member_page.get(incident.get_absolute_url()).content.decode()

    # The test-mode "customer portal": cancel at period end keeps access; the end removes it.
    membership = reader_client.get("/accounts/membership/").content.decode()
    assert 'action="/billing/manage/"' in membership
    manage = reader_client.post("/billing/manage/")
    assert manage["Location"] == "/billing/test/portal/"
    portal = reader_client.get("/billing/test/portal/").content.decode()
    assert "TEST MODE" in portal and "Cancel at period end" in portal
    reader_client.post("/billing/test/portal/", {"action": "cancel"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end is True
    assert is_member(fresh(reader)) is True
    reader_client.post("/billing/test/portal/", {"action": "resume"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end is False
    reader_client.post("/billing/test/portal/", {"action": "fail_renewal"})
    sub.refresh_from_db()
    assert sub.status == "past_due" and sub.grace_ends_at is not None
    assert is_member(fresh(reader)) is True
    reader_client.post("/billing/test/portal/", {"action": "end_period"})
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    assert is_member(fresh(reader)) is False
    assert "Payroll data copied." not in Client().get(incident.get_absolute_url()).content.decode()
    # An ended subscription cannot be brought back from the test portal.
    assert reader_client.post("/billing/test/portal/", {"action": "resume"}).status_code == 400
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    after = Client()
    after.force_login(reader)
    assert "Payroll data copied." not in after.get(incident.get_absolute_url()).content.decode()
    assert [m.subject.split("] ")[1] for m in mail.outbox] == [
        "Welcome: your membership is active",
        "Your membership payment failed",
        "Your membership has ended",
    ]


def test_a_refund_from_the_test_portal_ends_access_at_once(reader, reader_client, plan, test_mode):
    start = reader_client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    reader_client.post(start["Location"])
    assert is_member(fresh(reader)) is True
    portal = reader_client.get("/billing/test/portal/").content.decode()
    assert "Refund the last payment in full" in portal
    assert reader_client.post("/billing/test/portal/", {"action": "refund"}).status_code == 302
    assert is_member(fresh(reader)) is False
    sub = Subscription.objects.get(user=reader)
    assert sub.status == Subscription.Status.CANCELLED
    change = sub.changes.order_by("-pk").first()
    assert change.event_type == "charge.refunded"
    assert change.summary.startswith("refunded in full (29.00 EUR, ch_test_")
    assert mail.outbox[-1].subject.endswith("Your membership has ended")


def test_cancelled_checkout_says_nothing_was_charged(reader_client, test_mode):
    html = reader_client.get("/billing/return/?cancelled=1").content.decode()
    assert "nothing was charged" in html


def test_return_page_waits_for_confirmation(reader_client, db):
    html = reader_client.get("/billing/return/?session_id=cs_test_x").content.decode()
    assert "Confirming your payment" in html
    assert 'http-equiv="refresh"' in html


def test_test_portal_refuses_unknown_actions(reader_client, test_mode):
    assert reader_client.post("/billing/test/portal/", {"action": "cancel"}).status_code == 400


def test_manage_without_a_billing_record_is_404(reader_client, test_mode):
    assert reader_client.post("/billing/manage/").status_code == 404


def test_demo_plans_have_prices(db):
    individual = Plan.objects.get(slug="individual")
    assert individual.is_for_sale
    assert individual.monthly_price and individual.yearly_price
    assert Plan.objects.get(slug="team").yearly_price
    assert not Plan.objects.get(slug="complimentary").is_for_sale


def test_a_member_cannot_start_a_second_checkout(plan, test_mode):
    from tests.factories import SubscriptionFactory

    member = SubscriptionFactory().user
    client = Client()
    client.force_login(member)
    response = client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    assert response["Location"] == "/accounts/membership/"
    assert not BillingCustomer.objects.exists()


def test_pricing_page_queries(client, plan, django_assert_max_num_queries):
    PlanFactory(slug="another", is_for_sale=True, monthly_price=5)
    # Anonymous: the public plans (one query); no membership query for anonymous.
    with django_assert_max_num_queries(1):
        assert client.get("/pricing/").status_code == 200


def test_a_member_by_trial_may_buy_one_paying_online_may_not(
    reader, reader_client, plan, test_mode
):
    """Checkout is refused only to a member whose subscription is paid online (changed in the
    customer portal); a trial member buys before the trial ends."""
    trial = Subscription.objects.create(
        user=reader,
        plan=plan,
        status=Subscription.Status.TRIALING,
        source=Subscription.Source.TRIAL,
        ends_at=timezone.now() + datetime.timedelta(days=14),
    )
    assert is_member(fresh(reader)) is True
    assert 'name="plan" value="analyst"' in reader_client.get("/pricing/").content.decode()
    data = {"plan": "analyst", "interval": "month"}
    response = reader_client.post("/billing/checkout/", data)
    assert response["Location"].startswith("/billing/test/checkout/")
    # Waiting for the payment's confirmation, the trial is no confirmation.
    assert "waiting for its confirmation" in reader_client.get("/billing/return/").content.decode()
    reader_client.post(response["Location"])
    trial.refresh_from_db()
    paid = Subscription.objects.exclude(pk=trial.pk).get()
    assert paid.stripe_subscription_id
    # The team plan stays on offer (a team of their own); this plan is not.
    assert 'name="plan" value="analyst"' not in reader_client.get("/pricing/").content.decode()
    again = reader_client.post("/billing/checkout/", data)
    assert again["Location"] == "/accounts/membership/"
    assert Subscription.objects.count() == 2
