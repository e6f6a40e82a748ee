"""The one place that decides who is a member, and who sees drafts.

Every gate (views, presenters, search, exports, caches) calls ``is_member`` or
``sees_drafts``; nothing else re-implements the rules.
"""

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import F, Q

from .models import Subscription, TeamSeat

_CACHE_ATTR = "_portal_is_member"
_PLAN_ATTR = "_portal_membership_plan"
# Of several subscriptions that make a member, the one that lasts longest (open-ended first).
_LATEST_ENDING = F("ends_at").desc(nulls_first=True)


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
    team's), or None (also for staff, members by role). The same rule and the same one
    query as ``is_member``, whose answer it remembers for the request (so asking both costs
    one query); the plan is remembered on the user object too, like ``is_member``'s answer."""
    if user is None or not user.is_authenticated or not user.is_active or sees_drafts(user):
        return None  # staff are members by role, not by a plan
    if not hasattr(user, _PLAN_ATTR):
        # current_subscription's plan, without the team it does not need.
        subscription = _memberships(user.pk).select_related("plan").order_by(_LATEST_ENDING).first()
        plan = subscription.plan if subscription is not None else None
        setattr(user, _CACHE_ATTR, plan is not None)
        setattr(user, _PLAN_ATTR, plan)
    return getattr(user, _PLAN_ATTR)


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
