"""Billing emails (welcome, payment failed, access ended, renewal reminder), sent by the job
queue; the ones no payment event triggers are found by accounts.billing.notices.

Rendered when the subscription changes, inside the transaction that changes it (the task is
committed or rolled back with it), through ``accounts.emails.enqueue_email``; the key names
the subscription and the occasion, so each is sent once however often it is enqueued. The
emails name the plan and dates only: never catalogue data.
"""

from accounts.emails import enqueue_email
from accounts.models import Subscription

Status = Subscription.Status
ACCESS = Subscription.MEMBER_STATUSES
ENDED = Subscription.ENDED_STATUSES


def on_change(subscription: Subscription, before: dict | None, after: dict) -> None:
    """Queue the email a change calls for, if any."""
    was = before["status"] if before else None
    now = after["status"]
    ref = reference(subscription)
    # Overdue with a grace period is a failed renewal (its recovery is no welcome); overdue
    # without one is a first payment still pending.
    renewal_failed = was == Status.PAST_DUE and before["grace_ends_at"] is not None
    if now in ACCESS and was not in ACCESS and not renewal_failed:
        queue(subscription, "welcome", ref)
    elif now == Status.PAST_DUE and was != Status.PAST_DUE and after["grace_ends_at"]:
        queue(subscription, "payment_failed", f"{ref}.{after['grace_ends_at']:%Y%m%d%H%M}")
    elif now in ENDED and was not in ENDED and was is not None:
        queue(subscription, "access_ended", ref)


def reference(subscription: Subscription) -> str:
    """The subscription in email keys: Stripe's id, or ours for one not paid online."""
    return subscription.stripe_subscription_id or f"local-{subscription.pk}"


def queue(subscription: Subscription, kind: str, key: str) -> None:
    user = subscription.user
    if not user.email:
        return
    enqueue_email(
        user.email,
        f"billing_{kind}",
        {"plan_name": subscription.plan.name, "subscription": subscription},
        key=f"billing.{kind}.{key}",
    )
