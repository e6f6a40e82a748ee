"""The staff membership overview: members by plan, trials, the last 30 days, failed
payments and monthly recurring revenue, in a handful of queries."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Plan, Subscription, Team

WINDOW = timedelta(days=30)
PAID_SOURCES = (Subscription.Source.PAYMENT, Subscription.Source.INVOICE)


def monthly_amount(price: Decimal, interval: str) -> Decimal:
    """What one subscription of a plan brings in per month. The one place that knows how a
    plan's price maps to a month (plans with several prices change only this)."""
    if interval == Plan.Interval.MONTH:
        return price
    if interval == Plan.Interval.YEAR:
        return (price / 12).quantize(Decimal("0.01"))
    return Decimal(0)


def subscription_monthly_amount(row: dict) -> Decimal:
    """A subscription's monthly amount: the plan's price for the interval it is billed at
    (online payments and invoices record it), else the plan's single price."""
    if row["billing_interval"] == Plan.Interval.MONTH and row["plan__monthly_price"]:
        return row["plan__monthly_price"]
    if row["billing_interval"] == Plan.Interval.YEAR and row["plan__yearly_price"]:
        return monthly_amount(row["plan__yearly_price"], Plan.Interval.YEAR)
    return monthly_amount(row["plan__price"], row["plan__interval"])


@dataclass(frozen=True)
class Overview:
    members: int
    by_plan: list
    trials_running: int
    trials_started: int
    new: int
    ended: int
    past_due: list
    mrr: dict
    teams: list


def build(now=None) -> Overview:
    """Queries: (1) active personal subscriptions per plan, (2) distinct members (their own
    subscription or a seat on an active team), (3) counts of the last 30 days and trials,
    (4) active paid subscriptions per price, (5) past-due list, (6) active teams' seats."""
    now = now or timezone.now()
    since = now - WINDOW
    active = Subscription.objects.active(now)
    # Members as accounts.access.is_member counts them: a deactivated account is none, whatever
    # its subscription says (its revenue below still counts: it is still billed).
    of_members = active.filter(user__is_active=True)
    active_teams = active.filter(team__isnull=False).values("team")
    by_plan = list(
        of_members.filter(team__isnull=True)
        .values("plan__name")
        .annotate(members=Count("user", distinct=True))
        .order_by("-members", "plan__name")
    )
    members = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(pk__in=of_members.filter(team__isnull=True).values("user"))
            | Q(team_seats__team__in=active_teams)
        )
        .distinct()
        .count()
    )
    counts = Subscription.objects.aggregate(
        trials_running=Count(
            "pk", filter=Q(pk__in=of_members.values("pk"), status=Subscription.Status.TRIALING)
        ),
        trials_started=Count(
            "pk", filter=Q(source=Subscription.Source.TRIAL, starts_at__gte=since)
        ),
        new=Count("pk", filter=Q(starts_at__gte=since, starts_at__lte=now)),
        ended=Count(
            "pk",
            filter=Q(ends_at__gte=since, ends_at__lte=now)
            | Q(cancelled_at__gte=since, cancelled_at__lte=now),
        ),
    )
    revenue = defaultdict(Decimal)
    paid = (
        active.filter(status=Subscription.Status.ACTIVE, source__in=PAID_SOURCES)
        .values(
            "billing_interval",
            "plan__price",
            "plan__interval",
            "plan__monthly_price",
            "plan__yearly_price",
            "plan__currency",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in paid:
        revenue[row["plan__currency"]] += row["n"] * subscription_monthly_amount(row)
    past_due = list(
        Subscription.objects.filter(status=Subscription.Status.PAST_DUE)
        .select_related("user", "plan")
        .order_by("-updated_at")[:50]
    )
    teams = list(
        Team.objects.filter(pk__in=active_teams)
        .select_related("owner")
        .annotate(used=Count("seat_rows"))
        .order_by("name", "pk")[:100]
    )
    return Overview(
        teams=teams,
        members=members,
        by_plan=by_plan,
        past_due=past_due,
        mrr=dict(sorted(revenue.items())),
        **counts,
    )
