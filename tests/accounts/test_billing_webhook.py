"""Stripe's webhook and the subscription lifecycle it drives (issue 11, item 4).

Events are posted to the real endpoint, signed with Stripe's scheme; membership is asked of
``accounts.access.is_member`` (and of ``Subscription.objects.active(at)``, the same rule, for
moments in the future).
"""

import datetime
import json
import logging
import time

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.access import is_member
from accounts.models import (
    BillingCustomer,
    RejectedStripeEvent,
    StripeEvent,
    Subscription,
    SubscriptionChange,
)
from tests.accounts.billing_helpers import (
    SECRET,
    checkout_session,
    event,
    invoice,
    post_event,
    sign,
    subscription,
)
from tests.factories import PlanFactory, UserFactory

DAY = 24 * 3600
pytestmark = pytest.mark.usefixtures("webhook_secret")


@pytest.fixture
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def plan(db):
    return PlanFactory(
        slug="analyst",
        name="Analyst",
        is_for_sale=True,
        monthly_price=29,
        yearly_price=290,
        stripe_monthly_price_id="price_analyst_month",
        stripe_yearly_price_id="price_analyst_year",
        grace_days=7,
    )


@pytest.fixture
def buyer(db):
    user = UserFactory(email="buyer@example.org")
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_buyer")
    return user


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def state():
    """Everything the lifecycle may change (to assert that nothing did)."""
    return (
        list(Subscription.objects.order_by("pk").values()),
        list(BillingCustomer.objects.order_by("pk").values()),
        SubscriptionChange.objects.count(),
    )


def now():
    return int(time.time())


def buy(client, plan, buyer, *, sub_id="sub_1", start=None, period_end=None):
    """The events of a completed Stripe checkout, in Stripe's usual order."""
    start = now() if start is None else start
    period_end = start + 30 * DAY if period_end is None else period_end
    sub = subscription(
        sub_id, "cus_buyer", "price_analyst_month", start=start, period_end=period_end
    )
    for evt in [
        event("customer.subscription.created", sub, created=start),
        event(
            "checkout.session.completed",
            checkout_session("cus_buyer", sub_id, buyer),
            created=start,
        ),
        event(
            "invoice.paid",
            invoice(
                "cus_buyer",
                sub_id,
                period_start=start,
                period_end=period_end,
                reason="subscription_create",
            ),
            created=start,
        ),
    ]:
        assert post_event(client, evt).status_code == 200
    return Subscription.objects.get(stripe_subscription_id=sub_id)


# -- signatures ---------------------------------------------------------------------------


def test_the_tests_signatures_are_stripes_own_scheme():
    payload = json.dumps(event("invoice.paid", {"id": "in_1"})).encode()
    verified = stripe.Webhook.construct_event(payload, sign(payload), SECRET)
    assert verified.type == "invoice.paid"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda p: sign(p, secret="whsec_forged"), id="forged"),
        pytest.param(lambda p: None, id="missing"),
        pytest.param(lambda p: sign(p, timestamp=now() - 3600), id="stale"),
        pytest.param(lambda p: "t=1,v1=nonsense", id="garbage"),
        pytest.param(lambda p: sign(p + b" "), id="other-payload"),
    ],
)
def test_bad_signature_is_400_and_changes_nothing(client, plan, buyer, header):
    sub = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=now(), period_end=now() + DAY
    )
    payload = json.dumps(event("customer.subscription.created", sub)).encode()
    extra = {} if header(payload) is None else {"HTTP_STRIPE_SIGNATURE": header(payload)}
    before = state()
    response = client.post(
        "/billing/stripe/webhook/", data=payload, content_type="application/json", **extra
    )
    assert response.status_code == 400
    assert state() == before
    assert not StripeEvent.objects.exists()
    assert is_member(fresh(buyer)) is False


def test_signed_but_unparsable_body_is_400(client, db):
    unterminated = b'"' + b'\\"' * 1000 + b"\\"  # a quote, escaped quotes, a backslash
    for payload in [b"not json", b"{", b'{"created": NaN}', b"\xff\xfe", unterminated]:
        response = client.post(
            "/billing/stripe/webhook/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )
        assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not RejectedStripeEvent.objects.exists()


def test_signed_json_that_is_no_event_is_rejected_and_answered_200(client, db):
    """Issue 21, item 5: Stripe signed it, so a 400 would only make Stripe deliver it again
    for days; it is recorded as rejected, never applied (it was a 400 before)."""
    before = state()
    for payload in [b"[]", json.dumps({"id": "evt_1", "type": "x"}).encode()]:
        response = client.post(
            "/billing/stripe/webhook/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )
        assert response.status_code == 200
        assert response.content.startswith(b"rejected: ")
    assert not StripeEvent.objects.exists()
    assert state() == before
    reasons = list(RejectedStripeEvent.objects.order_by("pk").values_list("event_id", "reason"))
    assert reasons == [
        ("", "the event: expected an object, got a list"),
        ("evt_1", "created: missing"),
    ]


def test_webhook_takes_post_only(client, db):
    assert client.get("/billing/stripe/webhook/").status_code == 405


def test_webhook_without_a_configured_secret_is_404(client, settings, db):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = b"{}"
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 404


def test_webhook_is_csrf_exempt_and_checkout_is_not(plan, buyer):
    csrf_client = Client(enforce_csrf_checks=True)
    evt = event("invoice.paid", invoice("cus_nobody", "sub_x", period_start=0, period_end=1))
    assert post_event(csrf_client, evt).status_code == 200
    csrf_client.force_login(buyer)
    response = csrf_client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    assert response.status_code == 403


# -- the purchase --------------------------------------------------------------------------


def test_checkout_events_make_a_member_and_send_a_welcome(client, plan, buyer):
    assert is_member(fresh(buyer)) is False
    sub = buy(client, plan, buyer)
    assert is_member(fresh(buyer)) is True
    assert sub.user == buyer
    assert sub.plan == plan
    assert sub.billing_interval == "month"
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.source == Subscription.Source.PAYMENT
    assert sub.ends_at > timezone.now() + datetime.timedelta(days=29)
    [welcome] = mail.outbox
    assert welcome.to == ["buyer@example.org"]
    assert "Analyst" in welcome.body
    assert welcome.alternatives and welcome.alternatives[0][1] == "text/html"
    history = list(sub.changes.order_by("pk"))
    assert history[0].event_type == "customer.subscription.created"
    assert history[0].cause == SubscriptionChange.Cause.STRIPE
    assert history[0].summary.startswith("created")


def test_billing_email_text_is_not_html_escaped_and_links_to_the_site(client, plan, buyer):
    """Billing emails take the one path of account emails (accounts.emails.enqueue_email):
    plain text unescaped, the HTML part escaped, links to the site, a Message-ID per occasion."""
    plan.name = "R&D <Analyst>"
    plan.save()
    sub = buy(client, plan, buyer)
    [welcome] = mail.outbox
    assert "R&D <Analyst>" in welcome.body
    assert "&amp;" not in welcome.body
    assert "R&amp;D &lt;Analyst&gt;" in welcome.alternatives[0][0]
    assert "://" in welcome.body and "/accounts/membership/" in welcome.body
    assert welcome.extra_headers["Message-ID"].startswith(
        f"<billing.welcome.{sub.stripe_subscription_id}@"
    )


def test_replayed_event_changes_nothing(client, plan, buyer):
    start = now()
    sub = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=start, period_end=start + DAY
    )
    created = event("customer.subscription.created", sub, created=start)
    assert post_event(client, created).status_code == 200
    cancel = dict(sub, cancel_at_period_end=True)
    updated = event("customer.subscription.updated", cancel, created=start + 1)
    assert post_event(client, updated).status_code == 200
    before = state()
    outbox = len(mail.outbox)
    for evt in (created, updated):
        response = post_event(client, evt)
        assert response.status_code == 200
        assert b"replay" in response.content
    assert state() == before
    assert len(mail.outbox) == outbox
    assert StripeEvent.objects.count() == 2


def test_event_for_an_unknown_customer_is_logged_and_changes_nothing(client, plan, buyer, caplog):
    start = now()
    stranger = subscription(
        "sub_9", "cus_unknown", "price_analyst_month", start=start, period_end=start + DAY
    )
    before = state()
    with caplog.at_level(logging.WARNING, logger="accounts.billing.lifecycle"):
        for evt in [
            event("customer.subscription.created", stranger),
            event("checkout.session.completed", checkout_session("cus_unknown", "sub_9", buyer)),
            event(
                "invoice.paid",
                invoice("cus_unknown", "sub_9", period_start=start, period_end=start + DAY),
            ),
        ]:
            response = post_event(client, evt)
            assert response.status_code == 200
            assert b"unknown customer" in response.content
    assert state() == before
    assert "cus_unknown" in caplog.text
    assert not mail.outbox


def test_checkout_completed_by_another_user_than_the_customers_is_ignored(client, plan, buyer):
    other = UserFactory()
    before = state()
    evt = event("checkout.session.completed", checkout_session("cus_buyer", "sub_1", other))
    assert b"unknown customer" in post_event(client, evt).content
    assert state() == before


def test_out_of_order_events_converge(client, plan, buyer):
    """subscription.updated (cancelled at period end) arrives before checkout.session.completed,
    and the older subscription.created (incomplete) arrives last."""
    start = now() - 60
    end = start + 30 * DAY
    incomplete = subscription(
        "sub_1",
        "cus_buyer",
        "price_analyst_month",
        status="incomplete",
        start=start,
        period_end=end,
    )
    active = dict(incomplete, status="active", cancel_at_period_end=True)
    late_created = event("customer.subscription.created", incomplete, created=start)
    updated = event("customer.subscription.updated", active, created=start + 5)
    completed = event(
        "checkout.session.completed",
        checkout_session("cus_buyer", "sub_1", buyer),
        created=start + 3,
    )
    for evt in (updated, completed, late_created):
        assert post_event(client, evt).status_code == 200
    sub = Subscription.objects.get()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.cancel_at_period_end is True
    assert sub.ends_at == datetime.datetime.fromtimestamp(end, tz=datetime.UTC)
    assert is_member(fresh(buyer)) is True
    outcomes = dict(StripeEvent.objects.values_list("type", "outcome"))
    assert outcomes["customer.subscription.created"].startswith("ignored: older")
    assert outcomes["checkout.session.completed"].startswith("no change")


def test_checkout_completed_first_gives_provisional_access_then_the_subscription_state(
    client, plan, buyer
):
    start = now()
    evt = event(
        "checkout.session.completed", checkout_session("cus_buyer", "sub_1", buyer), created=start
    )
    assert post_event(client, evt).status_code == 200
    assert is_member(fresh(buyer)) is True
    # The subscription's own (older) event still applies over the provisional state.
    sub_obj = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=start - 2, period_end=start + 10 * DAY
    )
    assert (
        post_event(
            client, event("customer.subscription.created", sub_obj, created=start - 2)
        ).status_code
        == 200
    )
    sub = Subscription.objects.get()
    assert sub.ends_at == datetime.datetime.fromtimestamp(start + 10 * DAY, tz=datetime.UTC)


@pytest.mark.parametrize(
    ("interval", "ends"),
    [
        ("month", datetime.datetime(2027, 2, 28, 12, tzinfo=datetime.UTC)),
        ("year", datetime.datetime(2028, 1, 31, 12, tzinfo=datetime.UTC)),
    ],
)
def test_provisional_period_is_a_calendar_month_or_year(client, plan, buyer, interval, ends):
    """The provisional period is measured as an invoice payment's is (accounts.periods)."""
    start = int(datetime.datetime(2027, 1, 31, 12, tzinfo=datetime.UTC).timestamp())
    session = checkout_session("cus_buyer", "sub_1", buyer, interval=interval)
    evt = event("checkout.session.completed", session, created=start)
    assert post_event(client, evt).status_code == 200
    assert Subscription.objects.get().ends_at == ends


# -- renewals, grace, cancellation, deletion ---------------------------------------------------


def test_failed_renewal_gives_grace_then_access_lapses(client, plan, buyer):
    start = now() - 30 * DAY
    sub = buy(client, plan, buyer, start=start, period_end=now())
    mail.outbox.clear()
    failed_at = now()
    evt = event(
        "invoice.payment_failed",
        invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY),
        created=failed_at,
    )
    assert post_event(client, evt).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PAST_DUE
    grace_end = datetime.datetime.fromtimestamp(failed_at + 7 * DAY, tz=datetime.UTC)
    assert sub.grace_ends_at == grace_end
    assert is_member(fresh(buyer)) is True  # in grace
    [failed_mail] = mail.outbox
    assert "failed" in failed_mail.subject
    # A second failure (Stripe retries) does not extend the grace period.
    again = event(
        "invoice.payment_failed",
        invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY),
        created=failed_at + 3 * DAY,
    )
    assert post_event(client, again).status_code == 200
    sub.refresh_from_db()
    assert sub.grace_ends_at == grace_end
    assert len(mail.outbox) == 1
    active = Subscription.objects.active
    assert active(at=grace_end - datetime.timedelta(seconds=1)).filter(pk=sub.pk).exists()
    assert not active(at=grace_end + datetime.timedelta(seconds=1)).filter(pk=sub.pk).exists()


def test_grace_ended_in_the_past_is_no_access(client, plan, buyer):
    buy(client, plan, buyer, start=now() - 40 * DAY, period_end=now() - 9 * DAY)
    evt = event(
        "invoice.payment_failed",
        invoice("cus_buyer", "sub_1", period_start=now() - 9 * DAY, period_end=now() + 21 * DAY),
        created=now() - 8 * DAY,
    )
    assert post_event(client, evt).status_code == 200
    assert Subscription.objects.get().status == Subscription.Status.PAST_DUE
    assert is_member(fresh(buyer)) is False


def test_payment_in_grace_restores_the_subscription(client, plan, buyer):
    sub = buy(client, plan, buyer, start=now() - 30 * DAY, period_end=now())
    post_event(
        client,
        event(
            "invoice.payment_failed",
            invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY),
        ),
    )
    new_end = now() + 30 * DAY
    paid = event(
        "invoice.paid",
        invoice("cus_buyer", "sub_1", period_start=now(), period_end=new_end),
        created=now() + 1,
    )
    assert post_event(client, paid).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.grace_ends_at is None
    assert sub.ends_at == datetime.datetime.fromtimestamp(new_end, tz=datetime.UTC)
    assert is_member(fresh(buyer)) is True


def test_cancel_at_period_end_keeps_access_until_the_period_ends(client, plan, buyer):
    start = now()
    end = start + 30 * DAY
    sub = buy(client, plan, buyer, start=start, period_end=end)
    obj = subscription(
        "sub_1",
        "cus_buyer",
        "price_analyst_month",
        start=start,
        period_end=end,
        cancel_at_period_end=True,
    )
    assert (
        post_event(
            client, event("customer.subscription.updated", obj, created=start + 1)
        ).status_code
        == 200
    )
    sub.refresh_from_db()
    assert sub.cancel_at_period_end is True
    assert sub.status == Subscription.Status.ACTIVE
    assert is_member(fresh(buyer)) is True
    period_end = datetime.datetime.fromtimestamp(end, tz=datetime.UTC)
    assert Subscription.objects.active(at=period_end - datetime.timedelta(seconds=1)).exists()
    assert not Subscription.objects.active(at=period_end).exists()
    change = sub.changes.order_by("-pk").first()
    assert change.summary == "cancel_at_period_end: False → True"


def test_deletion_ends_access_at_once(client, plan, buyer):
    start = now() - DAY
    buy(client, plan, buyer, start=start, period_end=start + 30 * DAY)
    mail.outbox.clear()
    deleted = subscription(
        "sub_1",
        "cus_buyer",
        "price_analyst_month",
        status="canceled",
        start=start,
        period_end=start + 30 * DAY,
        canceled_at=now(),
        ended_at=now(),
    )
    assert post_event(client, event("customer.subscription.deleted", deleted)).status_code == 200
    sub = Subscription.objects.get()
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.cancelled_at is not None
    assert is_member(fresh(buyer)) is False
    [ended] = mail.outbox
    assert "ended" in ended.subject
    assert ended.alternatives
    # A late invoice.paid for the deleted subscription does not bring access back.
    late = event(
        "invoice.paid",
        invoice("cus_buyer", "sub_1", period_start=start, period_end=start + 30 * DAY),
    )
    assert post_event(client, late).status_code == 200
    assert is_member(fresh(buyer)) is False


def test_plan_found_by_its_yearly_stripe_price(client, plan, buyer):
    start = now()
    obj = subscription(
        "sub_1",
        "cus_buyer",
        "price_analyst_year",
        start=start,
        period_end=start + 365 * DAY,
        interval="year",
    )
    post_event(client, event("customer.subscription.created", obj))
    sub = Subscription.objects.get()
    assert (sub.plan, sub.billing_interval) == (plan, "year")


def test_subscription_for_an_unknown_price_changes_nothing(client, plan, buyer):
    obj = subscription("sub_1", "cus_buyer", "price_other", start=now(), period_end=now() + DAY)
    before = state()
    assert post_event(client, event("customer.subscription.created", obj)).status_code == 200
    assert state() == before


def test_billing_emails_carry_no_gated_words(client, plan, buyer):
    buy(client, plan, buyer)
    for message in mail.outbox:
        text = message.body + message.alternatives[0][0]
        for word in ("confidentiality:", "espionage", "T1", "threat actor:"):
            assert word not in text


def test_first_payment_pending_then_paid_welcomes_once(client, plan, buyer):
    start = now()
    pending = subscription(
        "sub_1",
        "cus_buyer",
        "price_analyst_month",
        status="incomplete",
        start=start,
        period_end=start + 30 * DAY,
    )
    post_event(client, event("customer.subscription.created", pending, created=start))
    assert is_member(fresh(buyer)) is False
    assert not mail.outbox
    active = dict(pending, status="active")
    post_event(client, event("customer.subscription.updated", active, created=start + 1))
    post_event(
        client,
        event(
            "customer.subscription.updated", dict(active, metadata={"x": "1"}), created=start + 2
        ),
    )
    assert is_member(fresh(buyer)) is True
    assert [m.subject.split("] ")[1] for m in mail.outbox] == ["Welcome: your membership is active"]


def test_recovery_from_a_failed_renewal_is_no_second_welcome(client, plan, buyer):
    buy(client, plan, buyer, start=now() - 30 * DAY, period_end=now())
    failed = invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY)
    post_event(client, event("invoice.payment_failed", failed, created=now()))
    paid = invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY)
    post_event(client, event("invoice.paid", paid, created=now() + 1))
    subjects = [m.subject.split("] ")[1] for m in mail.outbox]
    assert subjects == ["Welcome: your membership is active", "Your membership payment failed"]


def test_history_is_shown_inline_in_the_admin_and_staff_actions_are_recorded(client, plan, buyer):
    sub = buy(client, plan, buyer)
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(staff)
    page = admin_client.get(f"/admin/accounts/subscription/{sub.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "customer.subscription.created" in html
    assert "Stripe event" in html
    response = admin_client.post(
        "/admin/accounts/subscription/",
        {"action": "cancel_now", "_selected_action": [sub.pk]},
    )
    assert response.status_code == 302
    change = sub.changes.order_by("-pk").first()
    assert change.cause == SubscriptionChange.Cause.STAFF
    assert change.staff == staff
    assert "cancelled" in change.summary
    assert is_member(fresh(buyer)) is False
