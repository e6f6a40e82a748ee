"""One Stripe event delivered twice at the same moment is applied once (PostgreSQL: real
concurrent transactions; SQLite serialises writers, so the race cannot happen there)."""

import threading
import time

import pytest
from django.db import connection, connections

from accounts.billing import lifecycle
from accounts.models import BillingCustomer, StripeEvent, Subscription, SubscriptionChange
from tests.accounts.billing_helpers import event, subscription
from tests.factories import PlanFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_twice_at_once_is_applied_once(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(
        slug="analyst", is_for_sale=True, monthly_price=29, stripe_monthly_price_id="price_a"
    )
    user = UserFactory()
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_race")
    now = int(time.time())
    evt = event(
        "customer.subscription.created",
        subscription("sub_race", "cus_race", "price_a", start=now, period_end=now + 86400),
    )
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def deliver():
        try:
            barrier.wait()
            outcomes.append(lifecycle.receive(evt))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(o.split(":")[0] for o in outcomes) == ["created", "replay"]
    assert StripeEvent.objects.count() == 1
    assert Subscription.objects.count() == 1
    assert SubscriptionChange.objects.count() == 1
