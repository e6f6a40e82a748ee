"""The staff membership overview in the admin: its numbers, who may see it, its queries."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Plan, Subscription
from accounts.selfserve import overview
from tests.factories import PlanFactory, SubscriptionFactory, UserFactory

DAY = datetime.timedelta(days=1)
URL = reverse("admin:accounts_membershipoverview_changelist")


@pytest.fixture
def data(db):
    now = timezone.now()
    yearly = PlanFactory(slug="yearly-plan", name="Yearly", price=240, interval="year")
    monthly = PlanFactory(slug="monthly-plan", name="Monthly", price=25, interval="month")
    free = PlanFactory(slug="free-plan", name="Granted", price=0, interval="none")
    sub = Subscription.Source
    # Active, paid: 240/12 + 240/12 + 25 = 65 EUR a month.
    SubscriptionFactory(plan=yearly, source=sub.PAYMENT, starts_at=now - 100 * DAY)
    SubscriptionFactory(plan=yearly, source=sub.INVOICE, starts_at=now - 5 * DAY)
    SubscriptionFactory(plan=monthly, source=sub.PAYMENT, starts_at=now - 200 * DAY)
    # Active, bringing nothing: a staff grant and a trial.
    SubscriptionFactory(plan=free, source=sub.MANUAL, starts_at=now - 300 * DAY)
    SubscriptionFactory(
        plan=monthly,
        status=Subscription.Status.TRIALING,
        source=sub.TRIAL,
        starts_at=now - 2 * DAY,
        ends_at=now + 12 * DAY,
    )
    # Not active: past due, ended 10 days ago, cancelled yesterday, ended long ago.
    SubscriptionFactory(
        plan=yearly,
        status=Subscription.Status.PAST_DUE,
        source=sub.PAYMENT,
        starts_at=now - 300 * DAY,
        user__email="late-payer@example.org",
    )
    SubscriptionFactory(plan=monthly, starts_at=now - 40 * DAY, ends_at=now - 10 * DAY)
    SubscriptionFactory(
        plan=yearly,
        status=Subscription.Status.CANCELLED,
        cancelled_at=now - DAY,
        starts_at=now - 50 * DAY,
    )
    SubscriptionFactory(plan=yearly, starts_at=now - 400 * DAY, ends_at=now - 100 * DAY)
    return yearly, monthly, free


def test_the_numbers(data):
    result = overview.build()
    assert result.members == 5
    assert {row["plan__name"]: row["members"] for row in result.by_plan} == {
        "Yearly": 2,
        "Monthly": 2,
        "Granted": 1,
    }
    assert result.trials_running == 1
    assert result.trials_started == 1
    assert result.new == 2  # the invoice one 5 days ago and the trial
    assert result.ended == 2  # ended 10 days ago, cancelled yesterday
    assert [s.user.email for s in result.past_due] == ["late-payer@example.org"]
    assert result.mrr == {"EUR": Decimal("65.00")}


def test_a_deactivated_account_is_not_counted_as_a_member(data):
    """The overview counts members as accounts.access.is_member decides: not a deactivated
    account's subscription, nor its trial."""
    yearly, monthly, _ = data
    now = timezone.now()
    SubscriptionFactory(plan=yearly, starts_at=now - DAY, user__is_active=False)
    SubscriptionFactory(
        plan=monthly,
        status=Subscription.Status.TRIALING,
        source=Subscription.Source.TRIAL,
        starts_at=now - 40 * DAY,
        ends_at=now + 5 * DAY,
        user__is_active=False,
    )
    result = overview.build()
    assert result.members == 5
    assert {row["plan__name"]: row["members"] for row in result.by_plan} == {
        "Yearly": 2,
        "Monthly": 2,
        "Granted": 1,
    }
    assert result.trials_running == 1


@pytest.mark.parametrize(
    ("price", "interval", "monthly"),
    [
        (Decimal("25"), Plan.Interval.MONTH, Decimal("25")),
        (Decimal("290"), Plan.Interval.YEAR, Decimal("24.17")),
        (Decimal("100"), Plan.Interval.NONE, Decimal("0")),
    ],
)
def test_monthly_amount(price, interval, monthly):
    assert overview.monthly_amount(price, interval) == monthly


def test_revenue_uses_the_price_of_the_interval_each_subscription_is_billed_at(db):
    plan = PlanFactory(
        slug="analyst", price=0, interval=Plan.Interval.YEAR, monthly_price=29, yearly_price=300
    )
    for interval in (Plan.Interval.MONTH, Plan.Interval.YEAR):
        SubscriptionFactory(
            plan=plan, source=Subscription.Source.PAYMENT, billing_interval=interval
        )
    assert overview.build().mrr == {"EUR": Decimal("54.00")}  # 29 + 300 / 12


def test_the_page_for_staff(data, django_assert_max_num_queries):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    # 1 session, 2 user, 3 the authenticator (StaffMFAMiddleware); the overview: 4 members
    # per plan, 5 distinct members, 6 the 30-day and trial counts, 7 active paid
    # subscriptions per price, 8 past due with their users and plans, 9 active teams with
    # their owners and seats used.
    with django_assert_max_num_queries(9):
        response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Membership overview" in body
    assert "65.00 EUR" in body
    assert "late-payer@example.org" in body


def test_the_admin_index_links_to_it(db):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert URL in client.get(reverse("admin:index")).content.decode()


def test_editors_without_subscription_permission_cannot_see_it(db):
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(editor)
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("kind", ["anonymous", "registered", "member"])
def test_non_staff_are_sent_to_the_admin_login(db, kind):
    client = Client()
    if kind == "registered":
        client.force_login(UserFactory())
    elif kind == "member":
        client.force_login(SubscriptionFactory().user)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
