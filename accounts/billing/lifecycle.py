"""Stripe's subscription events applied to ``accounts.Subscription``, one function per type.

``receive(event)`` stores the event once by id and applies it in the same transaction: a
replayed event changes nothing, and an event whose processing fails leaves no trace (the
webhook answers 500 and Stripe delivers it again). Events are Stripe-shaped dicts, from the
webhook or from the test-mode backend. An event the handlers could not use (a field of the
wrong kind or out of range: ``events.problem``) is not applied: it is recorded as a
``RejectedStripeEvent`` with the reason, for staff, and the webhook answers 200 (a redelivery
would be rejected again, for days).

Ordering: each subscription remembers the ``created`` time of the newest event applied to it
(``stripe_state_at``). An older event is not applied over a newer state; with a Stripe key
the subscription is fetched instead (Stripe's current state wins). A cancelled subscription
stays cancelled (Stripe never revives one), and a payment failure for a period already paid
is stale whatever its timestamp.

No call to Stripe happens inside the transaction: a handler that needs Stripe's answer raises
``NeedsStripe``; ``receive`` rolls back, asks Stripe outside any transaction and runs the
handler again with the answer (locks are never held over the network).
"""

import datetime
import json
import logging

from django.db import transaction
from django.utils import timezone

from accounts import periods
from accounts.models import (
    BillingCustomer,
    Plan,
    RejectedStripeEvent,
    StripeEvent,
    Subscription,
    SubscriptionChange,
)
from accounts.teams import services as teams

from . import emails, events, tasks
from .answers import Answers, NeedsStripe

logger = logging.getLogger(__name__)

Status = Subscription.Status
ENDED_STATUSES = Subscription.ENDED_STATUSES

# Stripe's subscription statuses. "incomplete" (first payment pending) gives no access and,
# having no grace period, reads as overdue; "unpaid" (retries exhausted) and "paused" end it.
STRIPE_STATUS = {
    "active": Status.ACTIVE,
    "trialing": Status.TRIALING,
    "past_due": Status.PAST_DUE,
    "incomplete": Status.PAST_DUE,
    "unpaid": Status.EXPIRED,
    "paused": Status.EXPIRED,
    "incomplete_expired": Status.EXPIRED,
    "canceled": Status.CANCELLED,
}
TRACKED = ["plan_id", "status", "ends_at", "cancel_at_period_end", "grace_ends_at"]


def receive(event, *, cause: str = SubscriptionChange.Cause.STRIPE) -> str:
    """Store ``event`` once by its id and apply it; returns what happened (for logs).
    ``event`` is any JSON value: one the handlers cannot use is rejected (module doc)."""
    problem = events.problem(event)
    if problem is not None:
        return _reject(event, problem)
    answers = Answers()
    while True:
        try:
            outcome = _receive_once(event, cause, answers)
        except NeedsStripe as need:
            answers.ask(need)  # rolled back: no transaction is open here
            continue
        break
    logger.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return outcome


def _reject(event, reason: str) -> str:
    """Record ``event`` (any JSON value) as rejected for ``reason``; it is never applied."""
    envelope = event if isinstance(event, dict) else {}
    event_id, type_ = (envelope.get(key) for key in ("id", "type"))
    RejectedStripeEvent.objects.create(
        event_id=_storable(event_id)[:255],
        type=_storable(type_)[:255],
        reason=reason[:300],
        # ASCII with escapes: a NUL or a lone surrogate in a text stays storable.
        payload=json.dumps(event, ensure_ascii=True),
    )
    logger.warning("Stripe event %.80r (%.80r) rejected: %s", event_id, type_, reason)
    return f"rejected: {reason}"


def _storable(text) -> str:
    """``text`` with NUL characters and lone surrogates escaped ("" for no text)."""
    if not isinstance(text, str):
        return ""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _receive_once(event: dict, cause: str, answers: Answers) -> str:
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={
                "type": event["type"],
                "created": event["created"],
                "livemode": bool(event.get("livemode")),
                "payload": event,
            },
        )
        if not created:
            return "replay: already received"
        handler = HANDLERS.get(event["type"])
        outcome = handler(event, cause, answers) if handler else "ignored: event type not handled"
        stored.outcome = outcome[:300]
        stored.save(update_fields=["outcome"])
    return outcome


# -- the handlers ------------------------------------------------------------------------


def checkout_session_completed(event: dict, cause: str, answers: Answers) -> str:
    session = event["data"]["object"]
    customer = _customer(session.get("customer"))
    if customer is None or str(customer.user_id) != str(session.get("client_reference_id")):
        return _unknown_customer(event, session.get("customer"))
    subscription_id = session.get("subscription")
    if session.get("mode") != "subscription" or not subscription_id:
        return "ignored: not a subscription checkout"
    if _locked(subscription_id) is not None:
        return "no change: the subscription's own events came first"
    fetched = answers.subscription(subscription_id)
    if fetched is not None:
        return _apply_subscription(fetched, event, cause, answers, fetched_now=True)
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "ignored: checkout completed without payment"
    metadata = session.get("metadata") or {}
    plan = Plan.objects.filter(slug=metadata.get("plan", "")).first()
    interval = metadata.get("interval", "")
    if plan is None or interval not in periods.MONTHS:
        return "ignored: checkout for an unknown plan"
    # Provisional until the subscription's own events bring its period (state stamp 0: any
    # of them applies, however old).
    start = _time(event["created"])
    subscription = Subscription(
        user_id=customer.user_id,
        plan=plan,
        status=Status.ACTIVE,
        source=Subscription.Source.PAYMENT,
        starts_at=start,
        ends_at=periods.period_end(start, interval),
        stripe_subscription_id=subscription_id,
        billing_interval=interval,
    )
    return _save(subscription, None, event, cause, stamp=False)


def customer_subscription_changed(event: dict, cause: str, answers: Answers) -> str:
    """customer.subscription.created, .updated and .deleted: the object is the whole state."""
    return _apply_subscription(event["data"]["object"], event, cause, answers)


def invoice_paid(event: dict, cause: str, answers: Answers) -> str:
    invoice = event["data"]["object"]
    subscription, outcome = _subscription_for_invoice(invoice, event, cause, answers)
    if subscription is None:
        return outcome
    if subscription.status in ENDED_STATUSES:
        return "no change: the subscription has ended"
    before = _snapshot(subscription)
    subscription.status = Status.ACTIVE
    subscription.grace_ends_at = None
    period_end = _invoice_period_end(invoice)
    if period_end is not None and (
        subscription.ends_at is None or period_end > subscription.ends_at
    ):
        subscription.ends_at = period_end
    return _save(subscription, before, event, cause)


def invoice_payment_failed(event: dict, cause: str, answers: Answers) -> str:
    invoice = event["data"]["object"]
    subscription, outcome = _subscription_for_invoice(invoice, event, cause, answers)
    if subscription is None:
        return outcome
    if subscription.status in ENDED_STATUSES:
        return "no change: the subscription has ended"
    period_end = _invoice_period_end(invoice)
    if (
        period_end is not None
        and subscription.status == Status.ACTIVE
        and subscription.ends_at is not None
        and period_end <= subscription.ends_at
    ):
        # Its invoice.paid came first (a retry that succeeded): that period is paid.
        return "ignored: the period of this invoice is paid already"
    before = _snapshot(subscription)
    subscription.status = Status.PAST_DUE
    _start_grace(subscription, event)
    return _save(subscription, before, event, cause)


def charge_refunded(event: dict, cause: str, answers: Answers) -> str:
    """A refund of a subscription's payment: in full it ends access at once (and the
    subscription at Stripe, from the job queue); a partial one is noted in the history only."""
    charge = event["data"]["object"]
    customer = _customer(charge.get("customer"))
    if customer is None:
        return _unknown_customer(event, charge.get("customer"))
    subscription = _subscription_for_charge(charge, customer, answers)
    if subscription is None:
        logger.warning("Stripe event %s: refund of %s, no subscription", event["id"], charge["id"])
        return "ignored: the refunded payment is for no subscription known here"
    amount, refunded = int(charge.get("amount") or 0), int(charge.get("amount_refunded") or 0)
    what = f"{refunded / 100:.2f} {str(charge.get('currency') or '').upper()}, {charge['id']}"
    if not (charge.get("refunded") or (amount and refunded >= amount)):
        return _note(subscription, event, cause, f"partial refund ({what}): access unchanged")
    if subscription.status in ENDED_STATUSES:
        return _note(subscription, event, cause, f"refunded in full ({what}): ended already")
    before = _snapshot(subscription)
    ended = _time(event["created"])
    subscription.status = Status.CANCELLED
    subscription.ends_at = subscription.cancelled_at = ended
    subscription.cancel_at_period_end = False
    subscription.grace_ends_at = None
    outcome = _save(subscription, before, event, cause, note=f"refunded in full ({what})")
    if answers.can_ask():
        # Stripe keeps a refunded subscription running (and charging) until it is cancelled.
        tasks.cancel_online_subscription.enqueue(subscription.stripe_subscription_id)
    return outcome


HANDLERS = {
    "checkout.session.completed": checkout_session_completed,
    "customer.subscription.created": customer_subscription_changed,
    "customer.subscription.updated": customer_subscription_changed,
    "customer.subscription.deleted": customer_subscription_changed,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "charge.refunded": charge_refunded,
}


# -- applying a subscription object ------------------------------------------------------


def _apply_subscription(
    obj: dict, event: dict, cause: str, answers: Answers, *, fetched_now=False
) -> str:
    customer = _customer(obj.get("customer"))
    if customer is None:
        return _unknown_customer(event, obj.get("customer"))
    plan, interval = _plan_of(obj)
    if plan is None:
        logger.warning("Stripe subscription %s: no plan has its price", obj.get("id"))
        return "ignored: no plan has this price"
    subscription = _locked(obj["id"])
    if subscription is not None and subscription.status == Status.CANCELLED:
        # Ended by Stripe, a refund or staff: Stripe never revives a canceled subscription,
        # so an update delivered after (or stamped the same second as) the end is stale.
        return "no change: the subscription was cancelled"
    if subscription is not None and not fetched_now and _is_stale(subscription, event):
        fetched = answers.subscription(obj["id"])
        if fetched is None:
            return "ignored: older than the state already applied"
        obj, fetched_now = fetched, True
    before = None
    if subscription is None:
        subscription = Subscription(
            user_id=customer.user_id,
            source=Subscription.Source.PAYMENT,
            starts_at=_time(obj.get("start_date") or event["created"]),
            stripe_subscription_id=obj["id"],
        )
    else:
        before = _snapshot(subscription)
    subscription.plan = plan
    subscription.billing_interval = interval
    stripe_status = obj.get("status", "")
    subscription.status = STRIPE_STATUS.get(stripe_status, Status.EXPIRED)
    cancel_at = obj.get("cancel_at")
    subscription.cancel_at_period_end = bool(obj.get("cancel_at_period_end") or cancel_at)
    period_end = _subscription_period_end(obj)
    if subscription.status in ENDED_STATUSES:
        # Deleted, refunded, retries exhausted: access ends now, whatever was paid for.
        ended = obj.get("ended_at") or obj.get("canceled_at") or event["created"]
        subscription.ends_at = _time(ended)
        subscription.cancelled_at = subscription.cancelled_at or _time(
            obj.get("canceled_at") or ended
        )
    elif period_end is not None:
        subscription.ends_at = period_end
        if cancel_at:
            subscription.ends_at = min(period_end, _time(cancel_at))
    elif subscription.ends_at is None:
        subscription.ends_at = periods.period_end(
            subscription.starts_at, interval if interval in periods.MONTHS else "month"
        )
    if stripe_status == "past_due":
        _start_grace(subscription, event)
    else:
        subscription.grace_ends_at = None
    return _save(subscription, before, event, cause)


def _plan_of(obj: dict):
    """The plan and interval a Stripe subscription is for: by its price id, else by the
    metadata our checkout put on it."""
    items = (obj.get("items") or {}).get("data") or []
    price = (items[0].get("price") or {}) if items else {}
    price_id = price.get("id", "")
    interval = (price.get("recurring") or {}).get("interval", "")
    if price_id:
        for plan in Plan.objects.filter(stripe_monthly_price_id=price_id):
            return plan, "month"
        for plan in Plan.objects.filter(stripe_yearly_price_id=price_id):
            return plan, "year"
    metadata = obj.get("metadata") or {}
    plan = Plan.objects.filter(slug=metadata.get("plan", "")).first()
    interval = interval or metadata.get("interval", "")
    # A plan is sold by the month or the year; another interval is not recorded as one.
    return plan, interval if interval in periods.MONTHS else ""


def _subscription_period_end(obj: dict):
    # Since API version 2025-03-31 the period is on the subscription's items.
    items = (obj.get("items") or {}).get("data") or []
    end = (items[0].get("current_period_end") if items else None) or obj.get("current_period_end")
    return _time(end) if end else None


# -- invoices ----------------------------------------------------------------------------


def _subscription_for_invoice(invoice: dict, event: dict, cause: str, answers: Answers):
    """(subscription locked for update, None) or (None, outcome)."""
    # Since API version 2025-03-31 an invoice names its subscription under parent.
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = parent.get("subscription") or invoice.get("subscription")
    if not subscription_id:
        return None, "ignored: not a subscription invoice"
    if _customer(invoice.get("customer")) is None:
        return None, _unknown_customer(event, invoice.get("customer"))
    subscription = _locked(subscription_id)
    if subscription is None:
        fetched = answers.subscription(subscription_id)
        if fetched is None:
            return None, "ignored: subscription not known yet (its own events will bring it)"
        _apply_subscription(fetched, event, cause, answers, fetched_now=True)
        subscription = _locked(subscription_id)
        if subscription is None:
            return None, "ignored: the fetched subscription was not applied"
    if _is_stale(subscription, event):
        return None, "ignored: older than the state already applied"
    return subscription, None


def _subscription_for_charge(charge: dict, customer: BillingCustomer, answers: Answers):
    """The subscription (locked) whose invoice ``charge`` paid: as Stripe says (a charge
    names no invoice since API version 2025-03-31); without Stripe to ask (test mode), the
    customer's one running subscription paid online (none when two run)."""
    subscription_id = answers.subscription_of_payment(charge.get("payment_intent") or "")
    if subscription_id is not None:  # Stripe said ("": no subscription's invoice)
        return _locked(subscription_id, user_id=customer.user_id) if subscription_id else None
    online = (
        Subscription.objects.select_for_update()
        .select_related("plan")
        .filter(user_id=customer.user_id)
        .exclude(stripe_subscription_id="")
        .order_by("-created_at", "-pk")
    )
    running = list(online.exclude(status__in=ENDED_STATUSES)[:2])
    if not running:
        return online.first()  # ended already: the refund is noted on the latest
    return running[0] if len(running) == 1 else None


def _invoice_period_end(invoice: dict):
    lines = (invoice.get("lines") or {}).get("data") or []
    end = ((lines[0].get("period") or {}).get("end")) if lines else None
    return _time(end) if end else None


# -- helpers -----------------------------------------------------------------------------


def _start_grace(subscription: Subscription, event: dict) -> None:
    """A failed renewal: access for the plan's grace days from the first failure."""
    if subscription.grace_ends_at is None:
        days = subscription.plan.grace_days
        subscription.grace_ends_at = _time(event["created"]) + datetime.timedelta(days=days)


def _save(
    subscription: Subscription,
    before: dict | None,
    event: dict,
    cause: str,
    *,
    stamp=True,
    note="",
) -> str:
    after = _snapshot(subscription)
    if stamp:
        subscription.stripe_state_at = max(subscription.stripe_state_at, int(event["created"]))
    # The period must end after it starts (a subscription deleted at once).
    if subscription.ends_at is not None and subscription.ends_at <= subscription.starts_at:
        subscription.ends_at = subscription.starts_at + datetime.timedelta(seconds=1)
    teams.attach(subscription)  # a team plan's subscription is its buyer's team's
    subscription.save()
    if before == after:
        return "no change"
    summary = _describe(before, after)
    _note(subscription, event, cause, f"{note}: {summary}" if note else summary)
    emails.on_change(subscription, before, after)
    return summary


def _note(subscription: Subscription, event: dict, cause: str, summary: str) -> str:
    """One line of the subscription's history, caused by ``event``."""
    SubscriptionChange.objects.create(
        subscription=subscription,
        cause=cause,
        event_id=event["id"],
        event_type=event["type"],
        summary=summary[:500],
    )
    return summary


def _snapshot(subscription: Subscription) -> dict:
    return {field: getattr(subscription, field) for field in TRACKED}


def _describe(before: dict | None, after: dict) -> str:
    if before is None:
        return "created: " + ", ".join(f"{k}={_show(v)}" for k, v in after.items())
    return "; ".join(
        f"{k}: {_show(before[k])} → {_show(after[k])}" for k in TRACKED if before[k] != after[k]
    )


def _show(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "—" if value is None else str(value)


def _is_stale(subscription: Subscription, event: dict) -> bool:
    return int(event["created"]) < subscription.stripe_state_at


def _locked(subscription_id: str, **filters):
    return (
        Subscription.objects.select_for_update()
        .select_related("plan")
        .filter(stripe_subscription_id=subscription_id, **filters)
        .first()
    )


def _customer(customer_id):
    if not customer_id or not isinstance(customer_id, str):
        return None
    return BillingCustomer.objects.filter(stripe_customer_id=customer_id).first()


def _unknown_customer(event: dict, customer_id) -> str:
    logger.warning(
        "Stripe event %s (%s) for unknown customer %r: ignored",
        event["id"],
        event["type"],
        customer_id,
    )
    return "ignored: unknown customer"


def _time(unix) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(unix), tz=datetime.UTC)


def now_unix() -> int:
    return int(timezone.now().timestamp())
