"""Refunds, and events delivered in the orders that matter (issue 11, item 4), through the
signed webhook without a Stripe key (tests/accounts/test_billing_stripe.py has the same
with Stripe to ask)."""

# ruff: noqa: F811 (the fixtures plan, buyer and webhook_secret come from the webhook tests)

import datetime

import pytest
from django.core import mail

from accounts.access import is_member
from accounts.models import BillingCustomer, StripeEvent, Subscription, SubscriptionChange
from tests.accounts.billing_helpers import event, invoice, post_event, subscription
from tests.accounts.test_billing_webhook import (  # noqa: F401 (fixtures)
    DAY,
    buy,
    buyer,
    fresh,
    now,
    plan,
    state,
    webhook_secret,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("webhook_secret")


def charge(customer="cus_buyer", *, amount=2900, refunded_amount=2900, charge_id="ch_1"):
    """A charge as ``charge.refunded`` carries it (API 2026-10-28: no ``invoice`` field)."""
    return {
        "id": charge_id,
        "object": "charge",
        "customer": customer,
        "amount": amount,
        "amount_refunded": refunded_amount,
        "currency": "eur",
        "payment_intent": "pi_1",
        "refunded": refunded_amount >= amount,
        "status": "succeeded",
    }


def subjects():
    return [m.subject.split("] ")[1] for m in mail.outbox]


# -- refunds ------------------------------------------------------------------------------


def test_a_full_refund_ends_access_at_once_and_says_so(client, plan, buyer):
    sub = buy(client, plan, buyer, start=now() - DAY)
    mail.outbox.clear()
    response = post_event(client, event("charge.refunded", charge()))
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.ends_at <= datetime.datetime.now(tz=datetime.UTC)
    assert is_member(fresh(buyer)) is False
    change = sub.changes.order_by("-pk").first()
    assert change.event_type == "charge.refunded"
    assert change.cause == SubscriptionChange.Cause.STRIPE
    assert change.summary.startswith("refunded in full (29.00 EUR, ch_1): status: active")
    assert subjects() == ["Your membership has ended"]
    assert mail.outbox[0].alternatives  # a plain-text body and an HTML part


def test_a_partial_refund_keeps_access_and_is_noted(client, plan, buyer):
    sub = buy(client, plan, buyer, start=now() - DAY)
    mail.outbox.clear()
    evt = event("charge.refunded", charge(refunded_amount=900))
    assert post_event(client, evt).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert is_member(fresh(buyer)) is True
    assert sub.changes.order_by("-pk").first().summary == (
        "partial refund (9.00 EUR, ch_1): access unchanged"
    )
    assert not mail.outbox
    # Refunding the rest later is a full refund.
    rest = event("charge.refunded", charge(), created=now() + 1)
    assert post_event(client, rest).status_code == 200
    assert is_member(fresh(buyer)) is False


def test_a_replayed_refund_changes_nothing(client, plan, buyer):
    buy(client, plan, buyer, start=now() - DAY)
    evt = event("charge.refunded", charge())
    post_event(client, evt)
    before, outbox = state(), len(mail.outbox)
    assert b"replay" in post_event(client, evt).content
    assert state() == before
    assert len(mail.outbox) == outbox


def test_a_refund_after_the_deletion_is_noted_and_sends_nothing_more(client, plan, buyer):
    start = now() - DAY
    buy(client, plan, buyer, start=start)
    deleted = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", status="canceled", start=start,
        period_end=start + 30 * DAY, canceled_at=now(), ended_at=now(),
    )  # fmt: skip
    post_event(client, event("customer.subscription.deleted", deleted))
    mail.outbox.clear()
    refund = event("charge.refunded", charge(), created=now() + 1)
    assert post_event(client, refund).status_code == 200
    sub = Subscription.objects.get()
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.changes.order_by("-pk").first().summary.endswith(": ended already")
    assert not mail.outbox


def test_a_refund_for_an_unknown_customer_or_no_clear_subscription_changes_nothing(
    client, plan, buyer
):
    buy(client, plan, buyer, start=now() - DAY)
    before = state()
    response = post_event(client, event("charge.refunded", charge(customer="cus_unknown")))
    assert b"unknown customer" in response.content
    assert state() == before
    # Two running subscriptions and no Stripe to ask which one was paid: neither is ended.
    buy(client, plan, buyer, sub_id="sub_2", start=now() - DAY)
    before = state()
    response = post_event(client, event("charge.refunded", charge(charge_id="ch_2")))
    assert b"no subscription known here" in response.content
    assert state() == before
    assert is_member(fresh(buyer)) is True


def test_another_customers_refund_does_not_touch_this_subscription(client, plan, buyer):
    buy(client, plan, buyer, start=now() - DAY)
    other = UserFactory()
    BillingCustomer.objects.create(user=other, stripe_customer_id="cus_other")
    before = state()
    post_event(client, event("charge.refunded", charge(customer="cus_other")))
    assert state() == before
    assert is_member(fresh(buyer)) is True


def test_a_refunded_subscription_is_not_revived_by_a_later_update(client, plan, buyer):
    """Stripe keeps the subscription active until it is cancelled there: its updates in the
    meantime must not give access back."""
    start = now() - DAY
    buy(client, plan, buyer, start=start)
    post_event(client, event("charge.refunded", charge(), created=now()))
    still_active = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=start, period_end=start + 30 * DAY,
        metadata={"note": "changed"},
    )  # fmt: skip
    evt = event("customer.subscription.updated", still_active, created=now() + 5)
    assert b"cancelled" in post_event(client, evt).content
    assert is_member(fresh(buyer)) is False


# -- the orders that matter ---------------------------------------------------------------


@pytest.mark.parametrize("gap", [5, 0], ids=["older-update", "same-second-update"])
def test_deleted_before_updated_stays_ended(client, plan, buyer, gap):
    start = now() - DAY
    buy(client, plan, buyer, start=start)
    ended_at = now()
    cancelling = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=start, period_end=start + 30 * DAY,
        cancel_at_period_end=True,
    )  # fmt: skip
    deleted = dict(cancelling, status="canceled", canceled_at=ended_at, ended_at=ended_at)
    mail.outbox.clear()
    post_event(client, event("customer.subscription.deleted", deleted, created=ended_at))
    late = event("customer.subscription.updated", cancelling, created=ended_at - gap)
    assert post_event(client, late).status_code == 200
    sub = Subscription.objects.get()
    assert sub.status == Subscription.Status.CANCELLED
    assert is_member(fresh(buyer)) is False
    assert subjects() == ["Your membership has ended"]


def test_updated_before_created_takes_the_newer_state(client, plan, buyer):
    start = now() - 60
    created = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=start, period_end=start + 30 * DAY
    )
    updated = dict(created, cancel_at_period_end=True)
    post_event(client, event("customer.subscription.updated", updated, created=start + 9))
    post_event(client, event("customer.subscription.created", created, created=start))
    sub = Subscription.objects.get()
    assert sub.cancel_at_period_end is True
    assert is_member(fresh(buyer)) is True


@pytest.mark.parametrize("failed_created", [-5, 0], ids=["older-failure", "same-second-failure"])
def test_paid_delivered_before_its_failure_stays_paid(client, plan, buyer, failed_created):
    """A renewal failed, Stripe's retry succeeded; the invoice.paid arrives first."""
    sub = buy(client, plan, buyer, start=now() - 30 * DAY, period_end=now())
    renewed_until = now() + 30 * DAY
    renewal = invoice("cus_buyer", "sub_1", period_start=now(), period_end=renewed_until)
    paid_at = now() + 10
    post_event(client, event("invoice.paid", renewal, created=paid_at))
    mail.outbox.clear()
    failed = event("invoice.payment_failed", renewal, created=paid_at + failed_created)
    assert post_event(client, failed).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.grace_ends_at is None
    assert int(sub.ends_at.timestamp()) == renewed_until
    assert not mail.outbox  # no "payment failed" email for a paid renewal


def test_paid_after_failed_restores_access_with_one_email_each(client, plan, buyer):
    sub = buy(client, plan, buyer, start=now() - 30 * DAY, period_end=now())
    mail.outbox.clear()
    renewal = invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY)
    post_event(client, event("invoice.payment_failed", renewal, created=now()))
    post_event(client, event("invoice.paid", renewal, created=now() + 1))
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert subjects() == ["Your membership payment failed"]
    outcomes = list(StripeEvent.objects.order_by("pk").values_list("type", flat=True))
    assert outcomes[-2:] == ["invoice.payment_failed", "invoice.paid"]
