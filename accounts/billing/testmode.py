"""The test-mode payment backend's pages (development only: refused when DEBUG is off; the
backend itself is accounts.billing.testmode_backend).

Checkout is a page of ours labelled TEST MODE; paying there feeds the events Stripe's
webhooks would send (``checkout.session.completed``, ``customer.subscription.created``,
``invoice.paid``) through ``lifecycle.receive``, the webhook's own code path. The "customer
portal" is a page of ours too: cancel at period end, resume, a failed renewal, the period's end,
and a refund in full as staff would make it in Stripe's dashboard.
"""

import datetime
import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import BillingCustomer, Plan, Subscription, SubscriptionChange
from accounts.periods import period_end

from . import lifecycle, receipts
from .testmode_backend import SALT

CAUSE = SubscriptionChange.Cause.TEST_MODE


# -- Stripe-shaped events ----------------------------------------------------------------


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def event(type_: str, obj: dict, created: int) -> dict:
    return {
        "id": _id("evt"),
        "object": "event",
        "type": type_,
        "created": created,
        "livemode": False,
        "data": {"object": obj},
    }


def subscription_object(
    subscription_id, customer_id, plan, interval, *, status, start, period_end, **extra
) -> dict:
    obj = {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer_id,
        "status": status,
        "start_date": start,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "ended_at": None,
        "metadata": {"plan": plan.slug, "interval": interval},
        "items": {
            "object": "list",
            "data": [
                {
                    "object": "subscription_item",
                    "price": {
                        "id": plan.stripe_price_id(interval)
                        or f"price_test_{plan.slug}_{interval}",
                        "recurring": {"interval": interval},
                    },
                    "current_period_start": start,
                    "current_period_end": period_end,
                }
            ],
        },
    }
    obj.update(extra)
    return obj


def invoice_object(
    subscription_id, customer_id, *, period_start, period_end, reason, **extra
) -> dict:
    obj = {
        "id": _id("in"),
        "object": "invoice",
        "customer": customer_id,
        "billing_reason": reason,
        "parent": {"subscription_details": {"subscription": subscription_id}},
        "lines": {"data": [{"period": {"start": period_start, "end": period_end}}]},
    }
    obj.update(extra)
    return obj


def paid_invoice_object(subscription_id, customer_id, plan, interval, *, start, end) -> dict:
    """A paid invoice as Stripe shows it, with a TEST MODE receipt of ours as its page."""
    invoice = invoice_object(
        subscription_id,
        customer_id,
        period_start=start,
        period_end=end,
        reason="subscription_create",
        status="paid",
        amount_paid=int((plan.sale_price(interval) or 0) * 100),
        currency=plan.currency.lower(),
        status_transitions={"paid_at": start},
        description=f"{plan.name}, {dict(plan.Interval.choices).get(interval, interval).lower()}",
    )
    invoice["number"] = "TEST-" + invoice["id"][-8:].upper()
    invoice["hosted_invoice_url"] = receipts.test_receipt_url(invoice["id"])
    return invoice


def complete_checkout(user, plan, interval: str) -> str:
    """Pay in test mode: the three events of a Stripe subscription checkout. Returns the
    checkout session's id."""
    customer, _ = BillingCustomer.objects.get_or_create(
        user=user, defaults={"stripe_customer_id": _id("cus")}
    )
    now = lifecycle.now_unix()
    start = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    end = int(period_end(start, interval).timestamp())
    session_id, subscription_id = _id("cs"), _id("sub")
    cus = customer.stripe_customer_id
    session = {
        "id": session_id,
        "object": "checkout.session",
        "mode": "subscription",
        "customer": cus,
        "subscription": subscription_id,
        "client_reference_id": str(user.pk),
        "payment_status": "paid",
        "metadata": {"user_id": str(user.pk), "plan": plan.slug, "interval": interval},
    }
    sub = subscription_object(
        subscription_id, cus, plan, interval, status="active", start=now, period_end=end
    )
    invoice = paid_invoice_object(subscription_id, cus, plan, interval, start=now, end=end)
    for evt in [
        event("checkout.session.completed", session, now),
        event("customer.subscription.created", sub, now),
        event("invoice.paid", invoice, now),
    ]:
        lifecycle.receive(evt, cause=CAUSE)
    return session_id


def refund_charge(subscription: Subscription, now: int) -> dict:
    """The charge of the subscription's last payment, refunded in full (as ``charge.refunded``
    carries it: since API version 2025-03-31 it names no invoice)."""
    price = subscription.plan.sale_price(subscription.billing_interval or "month") or 0
    amount = int(price * 100)
    return {
        "id": _id("ch"),
        "object": "charge",
        "customer": subscription.user.billing_customer.stripe_customer_id,
        "amount": amount,
        "amount_refunded": amount,
        "currency": subscription.plan.currency.lower(),
        "payment_intent": _id("pi"),
        "refunded": True,
        "created": now,
    }


def portal_action(subscription: Subscription, action: str) -> None:
    """What Stripe's customer portal (or a renewal, or staff refunding in Stripe's dashboard)
    would send for ``action``."""
    now = lifecycle.now_unix()
    if action == "refund":
        lifecycle.receive(
            event("charge.refunded", refund_charge(subscription, now), now), cause=CAUSE
        )
        return
    start = int(subscription.starts_at.timestamp())
    end = int(subscription.ends_at.timestamp()) if subscription.ends_at else now
    state = {
        "cancel": {"status": "active", "cancel_at_period_end": True},
        "resume": {"status": "active", "cancel_at_period_end": False},
        "fail_renewal": {"status": "past_due"},
        "end_period": {"status": "canceled", "canceled_at": now, "ended_at": now},
    }[action]
    if subscription.status == Subscription.Status.PAST_DUE and action != "end_period":
        state["status"] = "past_due"
    obj = subscription_object(
        subscription.stripe_subscription_id,
        subscription.user.billing_customer.stripe_customer_id,
        subscription.plan,
        subscription.billing_interval or "month",
        start=start,
        period_end=end,
        **state,
    )
    obj["cancel_at_period_end"] = state.get(
        "cancel_at_period_end", subscription.cancel_at_period_end
    )
    customer = obj["customer"]
    events = []
    if action == "fail_renewal":
        invoice = invoice_object(
            obj["id"], customer, period_start=end, period_end=end, reason="subscription_cycle"
        )
        events.append(event("invoice.payment_failed", invoice, now))
    kind = "deleted" if action == "end_period" else "updated"
    events.append(event(f"customer.subscription.{kind}", obj, now))
    for evt in events:
        lifecycle.receive(evt, cause=CAUSE)


# -- pages -------------------------------------------------------------------------------

PORTAL_ACTIONS = ("cancel", "resume", "fail_renewal", "end_period", "refund")


def _refuse_unless_debug():
    """The test-mode pages exist only where the test-mode backend is the one in use: DEBUG on
    and no Stripe key (with a key, they would feed made-up events about real subscriptions)."""
    if not settings.DEBUG or settings.STRIPE_SECRET_KEY:
        raise Http404("Test mode is off.")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request, token):
    _refuse_unless_debug()
    try:
        data = signing.loads(token, salt=SALT, max_age=3600)
    except signing.BadSignature as exc:
        raise Http404("This test checkout link is invalid or has expired.") from exc
    if data.get("user") != request.user.pk:
        raise Http404("This test checkout belongs to another account.")
    plan = Plan.objects.filter(slug=data.get("plan"), is_public=True, is_for_sale=True).first()
    interval = data.get("interval")
    if plan is None or plan.sale_price(interval) is None:
        raise Http404("This plan is not for sale.")
    if request.method == "POST":
        session_id = complete_checkout(request.user, plan, interval)
        return redirect(reverse("billing:checkout_return") + f"?session_id={session_id}")
    context = {"plan": plan, "interval": interval, "price": plan.sale_price(interval)}
    return render(request, "accounts/billing/test_checkout.html", context)


@login_required
@require_safe
def receipt(request, invoice_id):
    """A TEST MODE receipt: the page Stripe's ``hosted_invoice_url`` opens for a paid invoice."""
    _refuse_unless_debug()
    paid = receipts.paid_invoices(request.user)
    event = paid.filter(payload__data__object__id=invoice_id).first()
    if event is None:
        raise Http404("You have no such receipt.")
    invoice = event.payload["data"]["object"]
    context = {"receipt": receipts.receipt(event), "description": invoice.get("description", "")}
    return render(request, "accounts/billing/test_receipt.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def portal(request):
    _refuse_unless_debug()
    subscription = (
        Subscription.objects.filter(user=request.user)
        .exclude(stripe_subscription_id="")
        .select_related("plan", "user__billing_customer")
        .order_by("-created_at")
        .first()
    )
    if request.method == "POST":
        action = request.POST.get("action", "")
        running = subscription is not None and subscription.status in (
            Subscription.Status.ACTIVE,
            Subscription.Status.TRIALING,
            Subscription.Status.PAST_DUE,
        )
        if not running or action not in PORTAL_ACTIONS:
            return render(request, "accounts/billing/test_portal.html", {"error": True}, status=400)
        portal_action(subscription, action)
        return redirect("billing:test_portal")
    if subscription is not None:
        subscription.changes_shown = subscription.changes.all()[:10]
    return render(request, "accounts/billing/test_portal.html", {"subscription": subscription})
