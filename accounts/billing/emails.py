"""Billing emails (welcome, payment failed, access ended), sent by the job queue.

Rendered when the subscription changes, inside the transaction that changes it (the task is
committed or rolled back with it); the Message-ID names the subscription and the occasion,
so ``accounts.tasks.send_email`` sends each once however often it is enqueued. The emails
name the plan and dates only: never catalogue data.
"""

from django.conf import settings
from django.contrib.sites.models import Site
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Subscription
from accounts.tasks import send_email

Status = Subscription.Status
ACCESS = (Status.ACTIVE, Status.TRIALING)
ENDED = (Status.CANCELLED, Status.EXPIRED)

SUBJECTS = {
    "welcome": "Welcome: your membership is active",
    "payment_failed": "Your membership payment failed",
    "access_ended": "Your membership has ended",
}


def on_change(subscription: Subscription, before: dict | None, after: dict) -> None:
    """Queue the email a change calls for, if any."""
    was = before["status"] if before else None
    now = after["status"]
    ref = subscription.stripe_subscription_id or f"local-{subscription.pk}"
    # Overdue with a grace period is a failed renewal (its recovery is no welcome); overdue
    # without one is a first payment still pending.
    renewal_failed = was == Status.PAST_DUE and before["grace_ends_at"] is not None
    if now in ACCESS and was not in ACCESS and not renewal_failed:
        queue(subscription, "welcome", ref)
    elif now == Status.PAST_DUE and was != Status.PAST_DUE and after["grace_ends_at"]:
        queue(subscription, "payment_failed", f"{ref}.{after['grace_ends_at']:%Y%m%d%H%M}")
    elif now in ENDED and was not in ENDED and was is not None:
        queue(subscription, "access_ended", ref)


def queue(subscription: Subscription, kind: str, key: str) -> None:
    user = subscription.user
    if not user.email:
        return
    site = Site.objects.get_current()
    base = f"{settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{site.domain}"
    context = {
        "plan_name": subscription.plan.name,
        "subscription": subscription,
        "site_name": site.name,
        "membership_url": base + reverse("accounts:membership"),
        "pricing_url": base + reverse("billing:pricing"),
    }
    send_email.enqueue(
        message_id=f"<billing.{kind}.{key}@{site.domain.split(':')[0]}>",
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + SUBJECTS[kind],
        body=render_to_string(f"accounts/email/billing_{kind}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        alternatives=[
            [render_to_string(f"accounts/email/billing_{kind}.html", context), "text/html"]
        ],
    )
