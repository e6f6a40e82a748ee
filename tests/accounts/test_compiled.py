"""accounts.compiled.CompiledQuery: the ORM's SQL compiled once, or the ORM at every call
whenever the stand-ins cannot tell where the request's values go."""

import datetime

import pytest
from django.utils import timezone

from accounts.compiled import CompiledQuery
from accounts.models import Subscription
from tests.factories import SubscriptionFactory

DAY = datetime.timedelta(days=1)
A = datetime.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=datetime.UTC)
B = datetime.datetime(1902, 3, 4, 5, 6, 7, 890123, tzinfo=datetime.UTC)


def ids(rows):
    return sorted(row[0] for row in rows)


def ending_after(at):
    return Subscription.objects.filter(ends_at__gt=at).values_list("pk", "ends_at")


def test_a_query_of_its_stand_ins_alone_is_compiled_and_answers_as_the_orm(db):
    now = timezone.now()
    live = SubscriptionFactory(ends_at=now + DAY)
    SubscriptionFactory(ends_at=now - DAY)
    query = CompiledQuery(Subscription, ending_after, at=(A, B, 1))
    rows = query.rows(at=now)
    assert query.in_use("default")
    assert ids(rows) == [live.pk]
    assert rows == list(ending_after(now))  # the datetime converted as the ORM does


def test_a_value_the_query_works_out_itself_is_never_frozen(db):
    """``at - leeway`` is not a stand-in: compiled once it would keep its first value."""
    now = timezone.now()
    SubscriptionFactory(ends_at=now - 2 * DAY)

    def with_leeway(at):
        return Subscription.objects.filter(ends_at__gt=at - DAY).values_list("pk")

    query = CompiledQuery(Subscription, with_leeway, at=(A, B, 0))
    assert query.rows(at=now) == []
    assert not query.in_use("default")
    assert len(query.rows(at=now - 2 * DAY)) == 1  # the ORM, with this call's value


def test_the_time_read_inside_the_query_is_never_frozen(db):
    SubscriptionFactory(ends_at=timezone.now() + DAY)

    def ending_later(user_id):
        return Subscription.objects.filter(
            ends_at__gt=timezone.now(), user_id__gt=user_id
        ).values_list("pk")

    query = CompiledQuery(Subscription, ending_later, user_id=(-5, -6, 1))
    assert len(query.rows(user_id=0)) == 1
    assert not query.in_use("default")


def test_a_stand_in_found_a_different_number_of_times_means_the_orm(db):
    query = CompiledQuery(Subscription, ending_after, at=(A, B, 2))
    query.rows(at=timezone.now())
    assert not query.in_use("default")


@pytest.mark.filterwarnings("ignore:DateTimeField")
def test_a_naive_time_is_read_by_the_orm(db):
    now = timezone.now()
    live = SubscriptionFactory(ends_at=now + DAY)
    query = CompiledQuery(Subscription, ending_after, at=(A, B, 1))
    query.rows(at=now)
    naive = timezone.make_naive(now, datetime.UTC)
    assert ids(query.rows(at=naive)) == [live.pk]  # no error, the ORM's answer
