"""accounts.access: the one function that decides who is a member, and the subscription rules."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.access import current_subscription, is_member, membership_plan
from accounts.models import Subscription, Team, TeamSeat
from tests.factories import PlanFactory, SubscriptionFactory, TeamFactory, UserFactory, seat_for

DAY = datetime.timedelta(days=1)


def fresh(user):
    """The user as a new request would load it (nothing remembered from earlier calls)."""
    return get_user_model().objects.get(pk=user.pk)


def test_anonymous_is_not_a_member():
    assert is_member(AnonymousUser()) is False
    assert is_member(None) is False


def test_registered_without_subscription_is_not_a_member(db):
    assert is_member(UserFactory()) is False


@pytest.mark.parametrize(
    ("status", "member"),
    [
        (Subscription.Status.ACTIVE, True),
        (Subscription.Status.TRIALING, True),
        (Subscription.Status.PAST_DUE, False),
        (Subscription.Status.CANCELLED, False),
        (Subscription.Status.EXPIRED, False),
    ],
)
def test_status_within_period(db, status, member):
    sub = SubscriptionFactory(status=status)
    assert sub.starts_at < timezone.now() < sub.ends_at  # the period itself is current
    assert is_member(fresh(sub.user)) is member


def test_active_but_ended_is_not_a_member(db):
    now = timezone.now()
    sub = SubscriptionFactory(starts_at=now - 40 * DAY, ends_at=now - DAY)
    assert sub.status == Subscription.Status.ACTIVE
    assert is_member(fresh(sub.user)) is False


def test_active_ending_a_moment_ago_is_not_a_member(db):
    now = timezone.now()
    sub = SubscriptionFactory(starts_at=now - 40 * DAY, ends_at=now - datetime.timedelta(seconds=1))
    assert is_member(fresh(sub.user)) is False


def test_not_yet_started_is_not_a_member(db):
    now = timezone.now()
    sub = SubscriptionFactory(starts_at=now + DAY, ends_at=now + 30 * DAY)
    assert is_member(fresh(sub.user)) is False
    assert current_subscription(sub.user) is None


def test_no_end_date_is_a_member(db):
    sub = SubscriptionFactory(ends_at=None)
    assert is_member(fresh(sub.user)) is True


def test_staff_without_subscription_is_a_member(db):
    staff = UserFactory(is_staff=True)
    assert not staff.subscriptions.exists()
    assert is_member(staff) is True


def test_inactive_user_with_active_subscription_is_not_a_member(db):
    sub = SubscriptionFactory(user__is_active=False)
    assert Subscription.objects.active().filter(pk=sub.pk).exists()
    assert is_member(fresh(sub.user)) is False


def test_inactive_staff_is_not_a_member(db):
    assert is_member(UserFactory(is_staff=True, is_active=False)) is False


def test_expired_and_active_subscription_is_a_member(db):
    now = timezone.now()
    user = UserFactory()
    SubscriptionFactory(
        user=user,
        status=Subscription.Status.EXPIRED,
        starts_at=now - 400 * DAY,
        ends_at=now - 35 * DAY,
    )
    active = SubscriptionFactory(user=user, starts_at=now - 35 * DAY, ends_at=now + 330 * DAY)
    assert is_member(fresh(user)) is True
    assert current_subscription(user) == active


def test_only_another_users_subscription_does_not_count(db):
    SubscriptionFactory()
    assert is_member(UserFactory()) is False


def test_current_subscription_is_the_active_one(db):
    now = timezone.now()
    user = UserFactory()
    SubscriptionFactory(user=user, status=Subscription.Status.CANCELLED)
    SubscriptionFactory(user=user, starts_at=now + 10 * DAY, ends_at=now + 40 * DAY)
    SubscriptionFactory(user=user, starts_at=now - 60 * DAY, ends_at=now - 30 * DAY)
    active = SubscriptionFactory(user=user, plan=PlanFactory(name="Analyst Pro"))
    found = current_subscription(user)
    assert found == active
    assert found.plan.name == "Analyst Pro"


def test_current_subscription_prefers_the_open_ended_then_latest_ending(db):
    now = timezone.now()
    user = UserFactory()
    SubscriptionFactory(user=user, ends_at=now + 10 * DAY)
    later = SubscriptionFactory(user=user, ends_at=now + 100 * DAY)
    assert current_subscription(user) == later
    open_ended = SubscriptionFactory(user=user, ends_at=None)
    assert current_subscription(user) == open_ended


def test_current_subscription_none_for_anonymous_and_non_members(db):
    assert current_subscription(AnonymousUser()) is None
    assert current_subscription(None) is None
    assert current_subscription(UserFactory()) is None


def test_cancelling_by_status_takes_effect_for_the_next_request(db):
    sub = SubscriptionFactory()
    assert is_member(fresh(sub.user)) is True
    sub.status = Subscription.Status.CANCELLED
    sub.cancelled_at = timezone.now()
    sub.save()
    assert is_member(fresh(sub.user)) is False
    assert current_subscription(sub.user) is None


def test_cancelling_with_the_admin_action_takes_effect_for_the_next_request(db, rf):
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    sub = SubscriptionFactory()
    assert is_member(fresh(sub.user)) is True
    request = rf.post("/admin/accounts/subscription/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = admin.site._registry[Subscription]
    model_admin.cancel_now(request, Subscription.objects.filter(pk=sub.pk))
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.cancelled_at is not None
    assert is_member(fresh(sub.user)) is False


def test_answer_is_remembered_for_one_user_object_only(db):
    """Within one request the answer is cached on the user; a new request reloads it."""
    sub = SubscriptionFactory()
    same_request_user = fresh(sub.user)
    assert is_member(same_request_user) is True
    Subscription.objects.filter(pk=sub.pk).update(status=Subscription.Status.CANCELLED)
    assert is_member(same_request_user) is True  # the request that began as a member
    assert is_member(fresh(sub.user)) is False  # the next request


@pytest.mark.parametrize("offset", [datetime.timedelta(0), -DAY])
def test_subscription_must_end_after_it_starts(db, offset):
    start = timezone.now()
    sub = SubscriptionFactory.build(user=UserFactory(), plan=PlanFactory())
    sub.starts_at = start
    sub.ends_at = start + offset
    with pytest.raises(IntegrityError), transaction.atomic():
        sub.save()
    assert not Subscription.objects.exists()


def test_subscription_without_end_or_ending_later_is_valid(db):
    start = timezone.now()
    SubscriptionFactory(starts_at=start, ends_at=None)
    SubscriptionFactory(starts_at=start, ends_at=start + datetime.timedelta(seconds=1))
    assert Subscription.objects.count() == 2


# Grace after a failed renewal, and cancellation at the end of the paid period (issue 11).


@pytest.mark.parametrize(
    ("grace_from_now", "member"),
    [
        (DAY, True),  # payment overdue, grace running: still a member
        (-datetime.timedelta(seconds=1), False),  # grace over
        (None, False),  # overdue without grace (first payment incomplete)
    ],
)
def test_past_due_is_a_member_only_during_grace(db, grace_from_now, member):
    now = timezone.now()
    sub = SubscriptionFactory(
        status=Subscription.Status.PAST_DUE,
        grace_ends_at=None if grace_from_now is None else now + grace_from_now,
    )
    assert is_member(fresh(sub.user)) is member


def test_grace_outlasts_the_period_that_was_not_paid(db):
    now = timezone.now()
    sub = SubscriptionFactory(
        status=Subscription.Status.PAST_DUE,
        starts_at=now - 40 * DAY,
        ends_at=now - DAY,
        grace_ends_at=now + 6 * DAY,
    )
    assert is_member(fresh(sub.user)) is True
    assert current_subscription(sub.user) == sub


@pytest.mark.parametrize("status", [Subscription.Status.CANCELLED, Subscription.Status.EXPIRED])
def test_grace_counts_only_while_payment_is_overdue(db, status):
    sub = SubscriptionFactory(status=status, grace_ends_at=timezone.now() + DAY)
    assert is_member(fresh(sub.user)) is False


@pytest.mark.parametrize(("ends_in", "member"), [(DAY, True), (-DAY, False)])
def test_cancelled_at_period_end_keeps_access_until_the_period_ends(db, ends_in, member):
    now = timezone.now()
    sub = SubscriptionFactory(
        starts_at=now - 20 * DAY, ends_at=now + ends_in, cancel_at_period_end=True
    )
    assert is_member(fresh(sub.user)) is member


# Free trials (accounts.selfserve.trials)


@pytest.mark.parametrize(
    ("status", "ends_in", "member"),
    [
        (Subscription.Status.TRIALING, 5 * DAY, True),  # running
        (Subscription.Status.TRIALING, -datetime.timedelta(seconds=1), False),  # ended by itself
        (Subscription.Status.EXPIRED, 5 * DAY, False),  # marked expired
        (Subscription.Status.CANCELLED, 5 * DAY, False),  # account deleted during the trial
    ],
)
def test_trial(db, status, ends_in, member):
    now = timezone.now()
    sub = SubscriptionFactory(
        status=status,
        source=Subscription.Source.TRIAL,
        starts_at=now + ends_in - 14 * DAY,
        ends_at=now + ends_in,
    )
    assert is_member(fresh(sub.user)) is member
    assert (current_subscription(sub.user) == sub) is member


def test_started_trial_is_a_member_until_its_end(db):
    from allauth.account.models import EmailAddress

    from accounts.selfserve.trials import start_trial

    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    sub = start_trial(user, PlanFactory(slug="trial-plan", trial_days=7))
    assert is_member(fresh(user)) is True
    Subscription.objects.filter(pk=sub.pk).update(
        starts_at=sub.starts_at - 7 * DAY, ends_at=sub.ends_at - 7 * DAY
    )
    assert is_member(fresh(user)) is False


# Seats on a team (accounts.teams): a team's subscription counts for its seat holders.


def test_seat_holder_on_an_active_team_is_a_member(db):
    team = TeamFactory(subscription=True)
    colleague = seat_for(team)
    assert is_member(fresh(colleague)) is True
    assert current_subscription(colleague).team == team
    assert is_member(fresh(team.owner)) is True  # the owner holds a seat too


def test_seat_on_a_team_without_subscription_is_not_membership(db):
    team = TeamFactory()  # never bought
    assert is_member(fresh(seat_for(team))) is False
    assert is_member(fresh(team.owner)) is False


def test_a_seat_on_another_team_does_not_count(db):
    TeamFactory(subscription=True)
    lapsed = TeamFactory()
    assert is_member(fresh(seat_for(lapsed))) is False


def test_seat_removed_ends_access_on_the_next_request(db):
    from accounts.teams import services

    team = TeamFactory(subscription=True)
    colleague = seat_for(team)
    same_request_user = fresh(colleague)
    assert is_member(same_request_user) is True
    services.remove(team, TeamSeat.objects.get(user=colleague).pk)
    assert is_member(same_request_user) is True  # the request that began as a member
    assert is_member(fresh(colleague)) is False  # the next request: nothing remembered
    assert current_subscription(colleague) is None


@pytest.mark.parametrize(
    ("status", "ends_in", "grace_in", "member"),
    [
        (Subscription.Status.ACTIVE, -DAY, None, False),  # the period ended
        (Subscription.Status.EXPIRED, 5 * DAY, None, False),
        (Subscription.Status.CANCELLED, 5 * DAY, None, False),
        (Subscription.Status.PAST_DUE, -DAY, DAY, True),  # renewal failed, grace running
        (Subscription.Status.PAST_DUE, -DAY, -DAY, False),  # grace over
        (Subscription.Status.TRIALING, 5 * DAY, None, True),  # the team's trial
    ],
)
def test_team_lapsed_or_in_grace(db, status, ends_in, grace_in, member):
    now = timezone.now()
    team = TeamFactory(
        subscription=True,
        subscription__status=status,
        subscription__starts_at=now - 40 * DAY,
        subscription__ends_at=now + ends_in,
        subscription__grace_ends_at=None if grace_in is None else now + grace_in,
    )
    colleague = seat_for(team)
    assert is_member(fresh(colleague)) is member
    assert is_member(fresh(team.owner)) is member


def test_team_subscription_makes_its_buyer_a_member_only_through_a_seat(db):
    """The buyer of a team plan who gave the team away and left it is no member by it."""
    from accounts.teams import services

    team = TeamFactory(subscription=True)
    buyer = team.owner
    colleague = seat_for(team)
    services.transfer(team, TeamSeat.objects.get(user=colleague).pk)
    assert is_member(fresh(buyer)) is True  # still holds a seat
    services.leave(buyer, Team.objects.get(pk=team.pk))
    assert Subscription.objects.active().filter(user=buyer).exists()  # they paid for it
    assert is_member(fresh(buyer)) is False
    assert is_member(fresh(colleague)) is True


def test_owner_deleted_ends_the_seats(db):
    from accounts.selfserve.account_data import delete_account

    team = TeamFactory(subscription=True)
    colleague = seat_for(team)
    assert is_member(fresh(colleague)) is True
    delete_account(team.owner)
    assert not Team.objects.filter(pk=team.pk).exists()
    assert is_member(fresh(colleague)) is False


def test_transferred_team_outlives_its_first_owner_until_the_buyer_leaves(db):
    """The subscription stays with its buyer: deleting the buyer's account cancels it, and
    with it the seats of the team they gave away."""
    from accounts.selfserve.account_data import delete_account
    from accounts.teams import services

    team = TeamFactory(subscription=True)
    buyer = team.owner
    colleague = seat_for(team)
    services.transfer(team, TeamSeat.objects.get(user=colleague).pk)
    delete_account(buyer)
    assert Team.objects.filter(pk=team.pk, owner=colleague).exists()
    assert is_member(fresh(colleague)) is False
    assert not Subscription.objects.active().exists()


def test_is_member_for_a_seat_holder_is_one_query(db, django_assert_num_queries):
    team = TeamFactory(subscription=True)
    colleague = fresh(seat_for(team))
    with django_assert_num_queries(1):
        assert is_member(colleague) is True
        assert is_member(colleague) is True  # remembered for the request


def test_a_deleted_owner_takes_the_team_and_its_subscription_along(db):
    """The owner is not the buyer (ownership was transferred): their deletion ends the team
    and cancels its subscription, which never becomes its buyer's own."""
    from accounts.selfserve.account_data import delete_account
    from accounts.teams import services

    team = TeamFactory(subscription=True)
    buyer = team.owner
    new_owner = seat_for(team)
    services.transfer(team, TeamSeat.objects.get(user=new_owner).pk)
    delete_account(new_owner)
    assert not Team.objects.filter(pk=team.pk).exists()
    assert Subscription.objects.get(user=buyer).status == Subscription.Status.CANCELLED
    assert is_member(fresh(buyer)) is False


def test_membership_plan_is_the_plan_that_makes_a_member(db, django_assert_num_queries):
    """The API's rate limit per plan asks this (accounts.tokens.requests_per_minute): the
    plan of the subscription is_member counts, own or team's; None for anyone else."""
    own = SubscriptionFactory(plan=PlanFactory(slug="own-plan"))
    team = TeamFactory(subscription=True)
    colleague = fresh(seat_for(team))
    with django_assert_num_queries(1):
        assert membership_plan(colleague).slug == "team-plan"
        assert is_member(colleague) is True  # remembered: no second query
    assert membership_plan(fresh(own.user)).slug == "own-plan"
    Subscription.objects.filter(pk=own.pk).update(ends_at=timezone.now())
    lapsed = fresh(own.user)
    assert membership_plan(lapsed) is None and is_member(lapsed) is False
    assert membership_plan(UserFactory()) is None
    assert membership_plan(AnonymousUser()) is None
    with django_assert_num_queries(0):
        assert membership_plan(UserFactory.build(is_staff=True)) is None


def test_a_plans_limit_of_0_is_0_and_only_an_empty_one_is_the_default(db):
    from accounts.access import plan_limit

    for value, expected in ((0, 0), (None, 77), (5, 5)):
        user = SubscriptionFactory(plan=PlanFactory(export_rows_per_day=value)).user
        assert plan_limit(user, "export_rows_per_day", 77) == expected


def test_membership_plan_is_current_subscriptions_plan_for_every_kind_of_user(db):
    """membership_plan's own query (a plan, no team) gives, for every kind of user, the plan
    current_subscription names, with every field as the ORM reads it."""
    now = timezone.now()
    priced = PlanFactory(price="12.34", api_requests_per_minute=77)
    users = [
        SubscriptionFactory(plan=priced).user,
        SubscriptionFactory(status=Subscription.Status.TRIALING).user,
        SubscriptionFactory(ends_at=now - DAY).user,
        SubscriptionFactory(starts_at=now + DAY).user,
        SubscriptionFactory(status=Subscription.Status.PAST_DUE, grace_ends_at=now + DAY).user,
        SubscriptionFactory(status=Subscription.Status.PAST_DUE, grace_ends_at=now - DAY).user,
        SubscriptionFactory(status=Subscription.Status.CANCELLED).user,
        seat_for(TeamFactory(subscription=True)),
        seat_for(TeamFactory()),
        UserFactory(),
    ]
    both = SubscriptionFactory(ends_at=now + 30 * DAY).user
    SubscriptionFactory(user=both, ends_at=None, plan=priced)
    users.append(both)
    for user in users:
        subscription = current_subscription(user)
        expected = subscription.plan if subscription is not None else None
        plan = membership_plan(fresh(user))
        assert plan == expected, user
        if plan is not None:
            for field in type(plan)._meta.concrete_fields:
                assert getattr(plan, field.attname) == getattr(expected, field.attname)
    assert [membership_plan(fresh(u)) is not None for u in users] == [
        True,
        True,
        False,
        False,
        True,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    assert membership_plan(fresh(users[0])).price == Decimal("12.34")
    assert membership_plan(fresh(both)) == priced  # open-ended first
