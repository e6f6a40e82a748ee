"""Buying without losing the thread (issue 25): the pricing page's terms side by side, and a
visitor's way from a plan through sign-up and email confirmation back to that plan, signed in
and ready to pay."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client

from accounts.billing import receipts
from accounts.models import BillingCustomer, StripeEvent
from tests.factories import PlanFactory, UserFactory

EMAIL = "buyer@example.net"
PASSWORD = "Blue-Kestrel-4812"
PLAN_PATH = "/pricing/analyst/"


@pytest.fixture(autouse=True)
def _clean(db):
    cache.clear()  # allauth's rate limits


@pytest.fixture
def test_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def plan(db):
    return PlanFactory(
        slug="analyst",
        name="Analyst",
        is_for_sale=True,
        monthly_price=29,
        yearly_price=290,
        trial_days=14,
        api_requests_per_minute=120,
        export_rows_per_day=100_000,
    )


def terms_of(html, slug):
    """The plan card's terms as {label: value}."""
    card = html[html.index(f'id="plan-{slug}"') :]
    card = card[: card.index("</section>")]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", card))


def test_pricing_shows_each_plans_trial_and_limits_side_by_side(client, plan, settings):
    settings.EXPORT_ROWS_PER_DAY = 5_000
    PlanFactory(
        slug="crew",
        name="Crew",
        seats=5,
        trial_days=0,
        api_requests_per_minute=0,
        export_rows_per_day=None,  # the site's default
        is_for_sale=True,
        monthly_price=99,
    )
    html = client.get("/pricing/").content.decode()
    assert terms_of(html, "analyst") == {
        "Free trial": "14 days, no card",
        "Who it covers": "1 person",
        "API requests a minute": "120",
        "Export rows a day": "100,000",
    }
    assert terms_of(html, "crew") == {
        "Free trial": "None",
        "Who it covers": "5 people, one seat each",
        "API requests a minute": "None",
        "Export rows a day": "5,000",
    }


def test_a_plans_terms_follow_the_plan(client, plan):
    plan.trial_days = 7
    plan.export_rows_per_day = 2_500
    plan.save()
    terms = terms_of(client.get(PLAN_PATH).content.decode(), "analyst")
    assert terms["Free trial"] == "7 days, no card"
    assert terms["Export rows a day"] == "2,500"


def test_a_plan_not_public_has_no_page(client, plan):
    PlanFactory(slug="secret", is_public=False)
    assert client.get("/pricing/secret/").status_code == 404
    assert client.get("/pricing/nothing/").status_code == 404


def test_a_visitor_is_sent_to_sign_up_with_the_plan_to_come_back_to(client, plan, test_mode):
    html = client.get("/pricing/").content.decode()
    assert 'href="/accounts/signup/?next=/pricing/analyst/"' in html
    assert 'href="/accounts/login/?next=/pricing/analyst/"' in html
    assert 'action="/billing/checkout/"' not in html


def sign_up(client, next_path=PLAN_PATH):
    return client.post(
        "/accounts/signup/",
        {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD, "next": next_path},
    )


def confirmation_link(mailoutbox):
    (message,) = [m for m in mailoutbox if EMAIL in m.to]
    (url,) = [u for u in re.findall(r"https?://\S+", message.body) if "/confirm-email/" in u]
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_sign_up_then_confirming_signs_in_and_returns_to_the_plan(
    client, plan, test_mode, mailoutbox
):
    response = sign_up(client)
    assert response.status_code == 302
    assert client.session.get(SESSION_KEY) is None  # not before the address is confirmed

    response = client.post(confirmation_link(mailoutbox))
    assert response.status_code == 302
    assert response["Location"] == PLAN_PATH
    user = EmailAddress.objects.get(email=EMAIL).user
    assert client.session.get(SESSION_KEY) == str(user.pk)

    html = client.get(PLAN_PATH).content.decode()
    assert f"Signed in as {EMAIL}" in html
    assert 'action="/billing/checkout/"' in html and 'value="analyst"' in html
    assert user.username not in html.replace(EMAIL, "")  # never the made-up username


def test_the_link_opened_in_another_browser_confirms_and_leads_to_the_plan(
    client, plan, test_mode, mailoutbox
):
    sign_up(client)
    link = confirmation_link(mailoutbox)
    assert parse_qs(urlsplit(link).query) == {"next": [PLAN_PATH]}
    other = Client()
    page = other.get(link).content.decode()
    assert f'name="next" value="{PLAN_PATH}"' in page
    response = other.post(link, {"next": PLAN_PATH})
    assert response["Location"] == PLAN_PATH
    assert EmailAddress.objects.get(email=EMAIL).verified
    # Not signed in there: the plan page offers to log in, back to the plan.
    assert other.session.get(SESSION_KEY) is None
    html = other.get(PLAN_PATH).content.decode()
    assert 'href="/accounts/login/?next=/pricing/analyst/"' in html


def test_a_foreign_next_is_not_carried_into_the_email(client, plan, mailoutbox):
    sign_up(client, next_path="https://evil.example/pricing/")
    assert "next=" not in confirmation_link(mailoutbox)


def test_sign_up_without_a_plan_keeps_the_plain_link(client, plan, mailoutbox):
    client.post("/accounts/signup/", {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD})
    assert "?" not in confirmation_link(mailoutbox)


def test_log_in_greets_by_email_not_by_the_username(client, plan):
    user = UserFactory(email=EMAIL, username="buyer1")
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)
    response = client.post(
        "/accounts/login/",
        {"login": EMAIL, "password": "correct-horse-battery", "next": PLAN_PATH},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == PLAN_PATH
    html = response.content.decode()
    assert f"Successfully signed in as {EMAIL}" in html
    assert "buyer1" not in html


def test_a_name_is_used_when_the_account_has_one(client, plan):
    user = UserFactory(email=EMAIL, username="buyer1", first_name="Ada", last_name="Lovelace")
    client.force_login(user)
    assert "Signed in as Ada Lovelace" in client.get(PLAN_PATH).content.decode()


def test_a_signed_in_buyer_on_the_plan_page_pays_from_there(client, plan, test_mode):
    client.force_login(UserFactory(email=EMAIL))
    response = client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    assert response.status_code == 302
    assert response["Location"].startswith("/billing/test/checkout/")


# -- after buying a team plan ------------------------------------------------------------------


def buy_team(test_mode_client):
    response = test_mode_client.post("/billing/checkout/", {"plan": "team", "interval": "month"})
    return test_mode_client.post(response["Location"], follow=True)


def test_the_return_page_after_a_team_purchase_leads_to_naming_and_inviting(
    client, test_mode, db, mailoutbox
):
    buyer = UserFactory(email=EMAIL)
    EmailAddress.objects.create(user=buyer, email=EMAIL, primary=True, verified=True)
    client.force_login(buyer)
    done = buy_team(client)
    html = done.content.decode()
    assert done.redirect_chain[-1][0].startswith("/billing/return/")
    assert "Your team is a member" in html
    assert 'name="action" value="rename"' in html and 'name="action" value="invite"' in html
    assert "9 of 10 seats are free" in html
    assert EMAIL not in html.split("<main", 1)[1]  # the team is not named after the buyer

    renamed = client.post(
        "/accounts/team/", {"action": "rename", "name": "Blue Team"}, follow=True
    ).content.decode()
    assert "Blue Team" in renamed
    client.post("/accounts/team/", {"action": "invite", "email": "colleague@example.net"})
    assert any("colleague@example.net" in m.to for m in mailoutbox)


def test_the_return_page_after_a_personal_purchase_has_no_team_steps(client, plan, test_mode):
    client.force_login(UserFactory(email=EMAIL))
    response = client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    html = client.post(response["Location"], follow=True).content.decode()
    assert "You are a member" in html
    assert "Invite your colleagues" not in html


# -- receipts --------------------------------------------------------------------------------


def test_a_card_payer_finds_a_receipt_on_the_membership_page(client, plan, test_mode):
    client.force_login(UserFactory(email=EMAIL))
    response = client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    client.post(response["Location"])
    html = client.get("/accounts/membership/").content.decode()
    assert "Card payments and receipts" in html
    (link,) = re.findall(r'href="(/billing/test/receipt/[^"]+)"', html)
    assert "29.00 EUR" in html
    receipt = client.get(link)
    assert receipt.status_code == 200
    page = receipt.content.decode()
    assert "TEST MODE" in page and "29.00 EUR" in page and "Analyst, monthly" in page
    # Another account cannot open it.
    other = Client()
    other.force_login(UserFactory(email="someone@example.net"))
    assert other.get(link).status_code == 404


def test_a_receipt_links_to_stripes_hosted_invoice_page_and_nothing_else(client, plan):
    user = UserFactory(email=EMAIL)
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_1")

    def paid(event_id, url, customer="cus_1"):
        invoice = {
            "id": f"in_{event_id}",
            "customer": customer,
            "number": f"N-{event_id}",
            "amount_paid": 2900,
            "currency": "eur",
            "hosted_invoice_url": url,
        }
        StripeEvent.objects.create(
            event_id=f"evt_{event_id}",
            type="invoice.paid",
            created=1_700_000_000 + len(event_id),
            payload={"data": {"object": invoice}},
        )

    paid("a", "https://invoice.stripe.com/i/acct_1/abc")
    paid("bb", "javascript:alert(1)")
    paid("ccc", "https://invoice.stripe.com/i/other", customer="cus_2")
    found = {r.number: r.url for r in receipts.receipts_of(user)}
    assert found == {"N-a": "https://invoice.stripe.com/i/acct_1/abc", "N-bb": ""}
    client.force_login(user)
    html = client.get("/accounts/membership/").content.decode()
    assert 'href="https://invoice.stripe.com/i/acct_1/abc"' in html
    assert "javascript:" not in html and "i/other" not in html
