"""Membership emails no payment event triggers, found by a periodic sweep
(``manage.py run_membership_jobs`` enqueues the tasks that call these; docs/deploy.md, "Timers"):

- "renews on ..." seven days before a subscription paid online renews by itself;
- "your membership has ended" when access ends without an event saying so: a trial or a
  period running out, a grace period after a failed payment ending, staff ending it.

Each email is queued once per occasion (the same key as the lifecycle's own email for it, so
a Stripe event and the sweep noticing the same end send one email). Emails name the plan and
dates only: never catalogue data.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.access import is_member
from accounts.models import Subscription
from portal.jobs import run_once

from .emails import queue, reference

RENEWAL_NOTICE = timedelta(days=7)
# An end older than this is not announced (a first run after a deploy would otherwise write to
# everyone whose membership ever ended).
ENDED_LOOKBACK = timedelta(days=3)

Status = Subscription.Status


def send_renewal_reminders(now=None) -> int:
    """Queue "your membership renews on ..." for each subscription paid online that renews by
    itself within RENEWAL_NOTICE; once per subscription and period. Returns how many."""
    now = now or timezone.now()
    due = (
        Subscription.objects.filter(
            source=Subscription.Source.PAYMENT,
            status=Status.ACTIVE,
            cancel_at_period_end=False,
            ends_at__gt=now,
            ends_at__lte=now + RENEWAL_NOTICE,
            user__is_active=True,
        )
        .exclude(stripe_subscription_id="")
        .select_related("user", "plan")
    )
    queued = 0
    for subscription in due:
        key = f"{reference(subscription)}.{subscription.ends_at:%Y%m%d}"
        queued += _once(subscription, "renewal_reminder", key)
    return queued


def send_access_ended(now=None) -> int:
    """Queue "your membership has ended" for each subscription whose access ended within
    ENDED_LOOKBACK and whose user is no member now (another subscription may have taken
    over). Returns how many were queued."""
    now = now or timezone.now()
    since = now - ENDED_LOOKBACK
    period_over = Q(ends_at__gt=since, ends_at__lte=now) & ~Q(status=Status.PAST_DUE)
    grace_over = Q(status=Status.PAST_DUE, grace_ends_at__gt=since, grace_ends_at__lte=now)
    ended_by_staff = Q(cancelled_at__gt=since, cancelled_at__lte=now)
    ended = (
        Subscription.objects.filter(period_over | grace_over | ended_by_staff)
        .filter(user__is_active=True, starts_at__lt=now)
        .select_related("user", "plan")
        .order_by("pk")
    )
    queued = 0
    for subscription in ended:
        if not is_member(subscription.user):
            queued += _once(subscription, "access_ended", reference(subscription))
    return queued


def _once(subscription: Subscription, kind: str, key: str) -> bool:
    """Queue the email unless this sweep queued it before (each run would queue a task
    again; the email itself is sent once per key in any case)."""
    return run_once(f"notice.{kind}.{key}", lambda: queue(subscription, kind, key))
