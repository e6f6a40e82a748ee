"""Free trials: once per person and once per team, no card, ``Plan.trial_days`` long; they
end by themselves (``accounts.access.is_member`` stops counting them at ``ends_at``). A team
plan's trial is its owner's team's (created for it), not the owner's own.

Once per person, also after the account is deleted and signed up again: each trial records
a ``TrialClaim`` per email address of the user who started it, a keyed hash (HMAC-SHA256
with the site's secret key) of the address's mailbox (``accounts.addresses.mailbox``: one
mailbox, one string, whatever its spelling). A personal trial claims the person's addresses
for personal trials, a team's trial its owner's addresses for team trials: one of each per
person, and one per team (``Trial.team``). Someone who is a member through a seat on
another team is offered no team trial: their team's membership covers them.
"""

from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import addresses
from accounts.access import is_member
from accounts.emails import enqueue_email
from accounts.models import Plan, Subscription, Trial, TrialClaim
from accounts.teams import services as teams
from portal.jobs import run_once

REMIND_BEFORE = timedelta(days=3)
PERSONAL, TEAM = TrialClaim.Kind.PERSONAL, TrialClaim.Kind.TEAM


class TrialRefused(Exception):
    """Why a trial cannot start, in words for the reader."""


@dataclass(frozen=True)
class TrialOffer:
    """What the membership page offers a viewer: trial plans, and whether they may start one."""

    plans: list
    refusal: str = ""


def email_fingerprint(address: str) -> str:
    return salted_hmac(
        "accounts.trial-claim", addresses.mailbox(address), algorithm="sha256"
    ).hexdigest()


def _fingerprints(user) -> set[str]:
    emails = set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    emails.add(user.email)
    return {email_fingerprint(a) for a in emails if a and "@" in a}


def has_had_trial(user) -> bool:
    return (
        Trial.objects.filter(user=user).exists()
        or Subscription.objects.filter(
            user=user, team__isnull=True, source=Subscription.Source.TRIAL
        ).exists()
        or TrialClaim.objects.filter(fingerprint__in=_fingerprints(user), kind=PERSONAL).exists()
    )


def team_refusal(user) -> str:
    """Why ``user`` may not start a trial for their team now ("" when they may)."""
    team = teams.team_of_owner(user)
    if team is not None and (
        Trial.objects.filter(team=team).exists()
        or Subscription.objects.filter(team=team, source=Subscription.Source.TRIAL).exists()
    ):
        return "Your team has already had its free trial: there is one per team."
    if team is not None and teams.team_subscription(team) is not None:
        return "Your team's membership is active already."
    seat = teams.active_seat_elsewhere(user)
    if seat is not None:
        return (
            f"You hold a seat on {seat.team.name}, whose membership covers you: a team's free "
            "trial is for a team that has had none. Leave that team first to start your own."
        )
    if TrialClaim.objects.filter(fingerprint__in=_fingerprints(user), kind=TEAM).exists():
        return (
            "Your email address has already started a team's free trial: there is one per "
            "person, also for a new account or a new team. Buy the team plan to go on."
        )
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return "Verify your email address first, then start your team's free trial."
    return ""


def refusal(user) -> str:
    """Why ``user`` may not start a trial now ("" when they may)."""
    if not user.is_authenticated:
        return "Sign in to start a free trial."
    if has_had_trial(user):
        return "You have already had your free trial: there is one per person."
    if is_member(user):
        return "You are a member already."
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return "Verify your email address first, then start your free trial."
    return ""


def offer_for(user) -> TrialOffer:
    """The personal trials (a team's trial is offered on the team page)."""
    plans = list(Plan.objects.filter(is_public=True, trial_days__gt=0, seats=1))
    if not plans:
        return TrialOffer(plans=[])
    return TrialOffer(plans=plans, refusal=refusal(user))


def start_trial(user, plan: Plan) -> Subscription:
    """Start ``user``'s one free trial of ``plan``; raises TrialRefused with the reason."""
    if plan.trial_days <= 0:
        raise TrialRefused("This plan has no free trial.")
    reason = team_refusal(user) if plan.is_team_plan else refusal(user)
    if reason:
        raise TrialRefused(reason)
    now = timezone.now()
    ends_at = now + timedelta(days=plan.trial_days)
    try:
        with transaction.atomic():
            subscription = Subscription(
                user=user,
                plan=plan,
                status=Subscription.Status.TRIALING,
                source=Subscription.Source.TRIAL,
                starts_at=now,
                ends_at=ends_at,
            )
            teams.attach(subscription)
            subscription.save()
            Trial.objects.create(
                user=None if subscription.team else user,
                team=subscription.team,
                plan=plan,
                subscription=subscription,
                started_at=now,
                ends_at=ends_at,
            )
            # A team's trial is the team's, not the person's: claimed apart from theirs.
            kind = PERSONAL if subscription.team is None else TEAM
            TrialClaim.objects.bulk_create(
                TrialClaim(fingerprint=f, kind=kind, claimed_at=now)
                for f in sorted(_fingerprints(user))
            )
    except IntegrityError:
        # Another request of the same person (or team) started a trial since the check.
        raise TrialRefused(
            "Your team has already had its free trial: there is one per team and per person."
            if plan.is_team_plan
            else "You have already had your free trial: there is one per person."
        ) from None
    return subscription


def send_reminders(now=None) -> int:
    """Queue one "your trial ends soon" email per trial ending within REMIND_BEFORE; a trial
    already reminded is skipped, however often this runs. Returns how many were queued."""
    now = now or timezone.now()
    due = (
        Subscription.objects.filter(
            source=Subscription.Source.TRIAL,
            status=Subscription.Status.TRIALING,
            ends_at__gt=now,
            ends_at__lte=now + REMIND_BEFORE,
            user__is_active=True,
        )
        .select_related("user", "plan")
        .order_by("ends_at")
    )
    queued = 0
    for subscription in due:

        def remind(subscription=subscription):
            enqueue_email(subscription.user.email, "trial_ending", {"subscription": subscription})

        queued += run_once(f"trial-reminder:{subscription.pk}", remind)
    return queued


def expire_ended(now=None) -> int:
    """Mark trials whose period is over as expired (access had already ended at ends_at)."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        source=Subscription.Source.TRIAL,
        status=Subscription.Status.TRIALING,
        ends_at__lte=now,
    ).update(status=Subscription.Status.EXPIRED, updated_at=now)
