"""The one place that decides who is a member, and who sees drafts.

Every gate (views, presenters, search, exports, caches) calls ``is_member`` or
``sees_drafts``; nothing else re-implements the rules.
"""

import math

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, Q
from django.utils import timezone

from portal import versions

from .models import Plan, Subscription, TeamSeat

_CACHE_ATTR = "_portal_is_member"
_PLAN_ATTR = "_portal_membership_plan"
# Of several subscriptions that make a member, the one that lasts longest (open-ended first).
_LATEST_ENDING = F("ends_at").desc(nulls_first=True)
# The longest a user's membership is kept in the cache (seconds), whatever its next change.
MEMBERSHIP_SECONDS = 300


def is_member(user) -> bool:
    """True when ``user`` may see members-only data right now.

    Staff are members. Otherwise the user needs a subscription whose status is
    active or trialing and whose period contains the present moment (one cancelled
    at period end stays active until then), or one overdue whose grace period
    (``grace_ends_at``) has not ended; expired, cancelled, future subscriptions and
    overdue ones without grace do not count. That subscription is their own, or the
    one of a team on which they hold a seat (a team's subscription counts for its seat
    holders only, not for its buyer as such). The answer is remembered on the user
    object, which lives for one request.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if sees_drafts(user):
        return True
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = membership_plan(user) is not None  # every subscription has a plan
        setattr(user, _CACHE_ATTR, cached)
    return cached


def _memberships(user, at=None):
    """The subscriptions that make ``user`` (or the user with that id) a member at ``at``
    (default: now): their own (not a team's), or a team's on which they hold a seat. One
    query, whatever the route: the teams are a subquery on the user's seats (an index
    lookup), not a join of every subscription with every seat of its team."""
    seated_teams = TeamSeat.objects.filter(user=user).values("team")
    return Subscription.objects.active(at).filter(
        Q(user=user, team__isnull=True) | Q(team__in=seated_teams)
    )


def sees_drafts(user) -> bool:
    """True for active staff: they see unpublished incidents (and are members)."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def current_subscription(user):
    """The subscription that makes ``user`` a member now, if any (latest ending first)."""
    if user is None or not user.is_authenticated:
        return None
    return _memberships(user).select_related("plan", "team").order_by(_LATEST_ENDING).first()


def membership_plan(user):
    """The plan of the subscription that makes ``user`` a member now (their own, or their
    team's), or None (also for staff, members by role). The same rule and the same answer
    as ``is_member``, which it remembers for the request (so asking both costs one look-up);
    the plan is remembered on the user object too, like ``is_member``'s answer. The answer
    is kept in the cache for the user (``_cached_plan``)."""
    if user is None or not user.is_authenticated or not user.is_active or sees_drafts(user):
        return None  # staff are members by role, not by a plan
    if not hasattr(user, _PLAN_ATTR):
        plan = _cached_plan(user.pk)
        setattr(user, _CACHE_ATTR, plan is not None)
        setattr(user, _PLAN_ATTR, plan)
    return getattr(user, _PLAN_ATTR)


def _plan_now(user_id, at):
    """The plan that makes the user with that id a member at ``at`` (current_subscription's
    plan, without the team it does not need), from the database."""
    subscription = _memberships(user_id, at).select_related("plan").order_by(_LATEST_ENDING).first()
    return subscription.plan if subscription is not None else None


def _next_change(user_id, at):
    """The earliest moment after ``at`` when the passing of time alone may change the user's
    membership: a start, an end or the end of a grace period of any subscription that could
    make them a member (their own or a seated team's, not over for good), or None."""
    seated_teams = TeamSeat.objects.filter(user=user_id).values("team")
    moments = (
        Subscription.objects.filter(Q(user=user_id, team__isnull=True) | Q(team__in=seated_teams))
        .exclude(status__in=Subscription.ENDED_STATUSES)
        .filter(Q(starts_at__gt=at) | Q(ends_at__gt=at) | Q(grace_ends_at__gt=at))
        .values_list("starts_at", "ends_at", "grace_ends_at")
    )
    return min((m for row in moments for m in row if m is not None and m > at), default=None)


def _cached_plan(user_id):
    """``_plan_now`` for the user, kept in the shared cache ("pages": Redis, or this
    process's memory without it) under the membership version (portal.versions), which
    database triggers change with every write to plans, subscriptions and seats: a write
    makes every kept answer unreachable, whoever wrote. Kept with the next moment time alone
    changes it (a start, an end, a grace period's end), and never past it nor longer than
    MEMBERSHIP_SECONDS; the plan itself is kept once per process and version (the "local"
    cache). A cache miss or outage asks the database, as does a reader inside a transaction:
    it may see its own writes, which the version shows only at their commit (and which may
    yet roll back)."""
    now = timezone.now()
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return _plan_now(user_id, now)
    version = versions.membership()
    key = f"accounts:membership:{version}:{user_id}"
    kept = caches["pages"].get(key)
    if kept is not None and (kept[1] is None or now < kept[1]):
        if kept[0] is None:
            return None
        plan = _plan(version, kept[0])
        if plan is not None:
            return plan
    plan, until = _plan_now(user_id, now), _next_change(user_id, now)
    seconds = MEMBERSHIP_SECONDS if until is None else (until - now).total_seconds()
    timeout = min(MEMBERSHIP_SECONDS, math.ceil(seconds))  # ``until`` is checked when read
    caches["pages"].set(key, (plan.pk if plan is not None else None, until), timeout)
    if plan is not None:
        caches["local"].set(f"accounts:plan:{version}:{plan.pk}", plan, MEMBERSHIP_SECONDS)
    return plan


def _plan(version, plan_id):
    """The plan with that id as it was at the membership ``version`` (None if gone)."""
    key = f"accounts:plan:{version}:{plan_id}"
    plan = caches["local"].get(key)
    if plan is None:
        plan = Plan.objects.filter(pk=plan_id).first()
        if plan is not None:
            caches["local"].set(key, plan, MEMBERSHIP_SECONDS)
    return plan


def plan_limit(user, field: str, default: int) -> int:
    """One of the limits a plan sets for its members (a ``Plan`` field such as
    ``api_requests_per_minute`` or ``export_rows_per_day``): the value on the plan that makes
    ``user`` a member now (their own, or their team's), else ``default`` (non-members,
    staff, a plan that leaves it empty). A plan's 0 is 0: that plan turns the thing off."""
    plan = membership_plan(user)
    value = getattr(plan, field) if plan is not None else None
    return default if value is None else value


def export_rows_per_day(user) -> int:
    """Rows ``user`` may export a UTC day as a member (incidents.exports.quota counts them)."""
    return plan_limit(user, "export_rows_per_day", settings.EXPORT_ROWS_PER_DAY)


def must_set_up_mfa(user) -> bool:
    """True for staff who have no authenticator app yet: they may do nothing else until
    they set one up (accounts.middleware). Members may opt in; nobody else is asked."""
    if not sees_drafts(user):
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
