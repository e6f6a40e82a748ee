"""The purchase path in a real browser (issue 11, "Done means"): a reader buys membership on
the pricing page through the TEST MODE checkout, sees the members' analysis, cancels, keeps
access until the period ends, and after it ends sees the public view again."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Plan, Subscription
from tests.e2e.conftest import MITSUBISHI, PASSWORD, screenshot
from tests.e2e.test_journeys import GATED_VALUES, log_in, text_outside_types
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
    main = text_outside_types(page)
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
    page.get_by_role("button", name="Change card or plan, or cancel").click()
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


def test_a_visitor_chooses_a_plan_signs_up_and_comes_back_to_pay(
    test_mode, demo_data, new_page, mailoutbox
):
    """Issue 25: pricing → sign up → confirm the address → signed in on the plan they chose
    → pay → the members' view, at a phone's width."""
    Plan.objects.filter(slug="individual").update(
        is_for_sale=True, monthly_price=29, yearly_price=290, trial_days=14
    )
    email, password = "new.buyer@example.net", "a long and unusual passphrase 7"
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto("/pricing/")
    plan = page.locator("#plan-individual")
    expect(plan).to_contain_text("14 days, no card")
    plan.get_by_role("link", name="Sign up to buy Individual").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/\?next=/pricing/individual/$"))
    page.locator('main [name="email"]').fill(email)
    page.locator('main [name="password1"]').fill(password)
    page.locator('main [name="password2"]').fill(password)
    page.locator('main [name="password2"]').press("Enter")
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    [message] = [m for m in mailoutbox if m.to == [email]]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", message.body).group()
    parts = urlsplit(link)
    assert parts.query == "next=%2Fpricing%2Findividual%2F"
    page.goto(f"{parts.path}?{parts.query}")  # in the browser that signed up
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/pricing/individual/$"))
    expect(page.locator("main")).to_contain_text(f"Signed in as {email}")
    screenshot(page, "purchase-plan-signed-in-390")
    page.get_by_role("button", name="Buy monthly Individual").click()
    page.get_by_role("button", name=re.compile(r"^Pay 29\.00 EUR \(TEST MODE\)$")).click()
    expect(page.locator("h1")).to_have_text("You are a member")
    assert_member_view(page)
    page.goto("/accounts/membership/")
    expect(page.locator("#receipts")).to_have_text("Card payments and receipts")
    page.locator("main").get_by_role("link", name=re.compile(r"^Receipt TEST-")).click()
    expect(page.locator("main")).to_contain_text("29.00 EUR")


def test_a_team_buyer_names_the_team_and_invites_a_colleague(test_mode, reader, page, mailoutbox):
    Plan.objects.update_or_create(
        slug="team",
        defaults={
            "name": "Team",
            "price": 1490,
            "monthly_price": 149,
            "yearly_price": 1490,
            "seats": 10,
            "is_for_sale": True,
        },
    )
    page.goto("/accounts/login/")
    log_in(page, reader.email, PASSWORD)
    page.goto("/pricing/")
    page.locator("#plan-team").get_by_role("button", name="Buy monthly").click()
    page.get_by_role("button", name=re.compile(r"^Pay 149\.00 EUR \(TEST MODE\)$")).click()
    expect(page.locator("h1")).to_have_text("Your team is a member")
    back_to_steps = page.url
    screenshot(page, "team-bought-next-steps")

    page.get_by_label("Team name").fill("Threat Intel Desk")
    page.get_by_role("button", name="Save the name").click()
    expect(page.locator("main")).to_contain_text("Team renamed.")
    expect(page.locator("main")).to_contain_text("Threat Intel Desk")

    page.goto(back_to_steps)
    page.locator('main [name="email"]').fill("colleague@example.net")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator("main")).to_contain_text("Invitation sent to colleague@example.net")
    assert [m.to for m in mailoutbox if "colleague@example.net" in m.to] == [
        ["colleague@example.net"]
    ]
