"""The purchase path in a real browser (issue 11, "Done means"): a reader buys membership on
the pricing page through the TEST MODE checkout, sees the members' analysis, cancels, keeps
access until the period ends, and after it ends sees the public view again."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Plan, Subscription
from tests.e2e.conftest import MITSUBISHI, PASSWORD, screenshot
from tests.e2e.test_journeys import GATED_VALUES, log_in
from tests.factories import UserFactory


@pytest.fixture
def test_mode(settings):
    """The offline payment backend: DEBUG on and no Stripe key (in the live server too)."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def reader(demo_data):
    Plan.objects.filter(slug="individual").update(
        is_for_sale=True, monthly_price=29, yearly_price=290
    )
    user = UserFactory(email="buyer@example.net")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def assert_public_view(page):
    page.goto(MITSUBISHI)
    analysis = page.locator("section.analysis")
    expect(analysis).to_contain_text("Available to members")
    main = page.locator("main").inner_text()
    assert not [value for value in GATED_VALUES if value in main]


def assert_member_view(page):
    page.goto(MITSUBISHI)
    analysis = page.locator("section.analysis")
    for value in ["Espionage", "Financial", "T1078", "Valid Accounts"]:
        expect(analysis).to_contain_text(value)
    expect(analysis).not_to_contain_text("Available to members")


def test_buy_cancel_keep_access_until_the_period_ends(test_mode, reader, page, mailoutbox):
    page.goto("/accounts/login/")
    log_in(page, reader.email, PASSWORD)
    assert_public_view(page)

    # Pricing → TEST MODE checkout → paid.
    page.goto("/pricing/")
    screenshot(page, "purchase-pricing")
    page.locator("#plan-individual").get_by_role("button", name="Buy monthly").click()
    expect(page).to_have_url(re.compile(r"/billing/test/checkout/"))
    expect(page.locator("main")).to_contain_text("TEST MODE")
    screenshot(page, "purchase-test-checkout")
    page.get_by_role("button", name=re.compile(r"^Pay 29\.00 EUR \(TEST MODE\)$")).click()
    expect(page).to_have_url(re.compile(r"/billing/return/\?session_id="))
    expect(page.locator("h1")).to_have_text("You are a member")
    assert_member_view(page)
    screenshot(page, "purchase-member-incident")
    assert any("Welcome" in message.subject for message in mailoutbox)

    # Cancel at the period's end (the customer portal): access continues.
    page.goto("/accounts/membership/")
    page.get_by_role("button", name="Manage card, plan, cancellation and invoices").click()
    expect(page).to_have_url(re.compile(r"/billing/test/portal/$"))
    page.get_by_role("button", name="Cancel at period end").click()
    expect(page.locator("main")).to_contain_text("access continues until then")
    screenshot(page, "purchase-cancelled")
    subscription = Subscription.objects.get(user=reader)
    assert subscription.cancel_at_period_end and subscription.ends_at > timezone.now()
    assert_member_view(page)

    # The period ends: the clock moves on (in the database), and the hourly jobs run.
    now = timezone.now()
    Subscription.objects.filter(pk=subscription.pk).update(
        starts_at=now - datetime.timedelta(days=31), ends_at=now - datetime.timedelta(minutes=1)
    )
    call_command("run_membership_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert [m.to for m in mailoutbox if "has ended" in m.subject] == [[reader.email]]
    assert_public_view(page)
    screenshot(page, "purchase-ended-incident")
    page.goto("/accounts/membership/")
    expect(page.locator("main")).to_contain_text("You are not a member")
