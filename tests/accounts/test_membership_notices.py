"""The periodic membership jobs (accounts.billing.notices, the sweeps in accounts.billing.tasks
and accounts.selfserve.tasks, command ``run_membership_jobs``): "renews in 7 days", "your
membership has ended", once each."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.billing import notices
from accounts.models import Subscription
from tests.accounts.billing_helpers import SECRET, event, post_event, subscription
from tests.accounts.test_jobs import DATABASE_QUEUE, run_queue
from tests.factories import PlanFactory, SubscriptionFactory, UserFactory

DAY = timedelta(days=1)
Source, Status = Subscription.Source, Subscription.Status


def run_jobs():
    call_command("run_membership_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115


def subjects():
    return [m.subject.split("] ", 1)[1] for m in mail.outbox]


def paid_online(ends_in, **fields):
    now = timezone.now()
    defaults = {
        "source": Source.PAYMENT,
        "stripe_subscription_id": f"sub_{UserFactory._meta.model.objects.count()}",
        "billing_interval": "month",
        "starts_at": now - 30 * DAY + ends_in,
        "ends_at": now + ends_in,
    }
    return SubscriptionFactory(**{**defaults, **fields})


# -- renewal reminders ---------------------------------------------------------------------


def test_a_subscription_renewing_within_seven_days_is_reminded_once(db):
    due = paid_online(5 * DAY, plan=PlanFactory(name="Analyst"))
    for _ in range(3):
        run_jobs()
    assert [m.to for m in mail.outbox] == [[due.user.email]]
    [reminder] = mail.outbox
    assert reminder.subject.endswith(f"Your membership renews on {due.ends_at:%-d %B %Y}")
    assert "Analyst" in reminder.body and "monthly price" in reminder.body
    assert "/accounts/membership/" in reminder.body
    assert reminder.alternatives[0][1] == "text/html"  # and the body is the plain-text part


def test_the_next_period_is_reminded_again(db):
    due = paid_online(5 * DAY)
    notices.send_renewal_reminders()
    due.ends_at += 30 * DAY
    due.save()
    assert notices.send_renewal_reminders(now=due.ends_at - 6 * DAY) == 1
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"ends_in": 10 * DAY}, id="renews-later"),
        pytest.param({"ends_in": 5 * DAY, "cancel_at_period_end": True}, id="cancelled"),
        pytest.param({"ends_in": 5 * DAY, "source": Source.INVOICE}, id="invoice-no-renewal"),
        pytest.param({"ends_in": 5 * DAY, "status": Status.PAST_DUE}, id="overdue"),
        pytest.param({"ends_in": -DAY}, id="ended"),
    ],
)
def test_no_reminder_for_what_does_not_renew_by_itself_soon(db, fields):
    paid_online(fields.pop("ends_in"), **fields)
    run_jobs()
    assert not [s for s in subjects() if s.startswith("Your membership renews")]


# -- access ended --------------------------------------------------------------------------


def test_a_period_that_ran_out_is_announced_once(db):
    ended = SubscriptionFactory(
        source=Source.INVOICE, starts_at=timezone.now() - 30 * DAY, ends_at=timezone.now() - DAY
    )
    for _ in range(3):
        run_jobs()
    assert [m.to for m in mail.outbox] == [[ended.user.email]]
    assert subjects() == ["Your membership has ended"]
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_a_grace_period_that_ended_is_announced(db):
    now = timezone.now()
    lapsed = paid_online(-10 * DAY, status=Status.PAST_DUE, grace_ends_at=now - DAY)
    paid_online(-10 * DAY, status=Status.PAST_DUE, grace_ends_at=now + DAY)  # still in grace
    run_jobs()
    assert [m.to for m in mail.outbox] == [[lapsed.user.email]]


def test_staff_cancel_now_is_announced(db):
    sub = SubscriptionFactory(ends_at=timezone.now() + 100 * DAY)
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    admin.post(
        "/admin/accounts/subscription/", {"action": "cancel_now", "_selected_action": [sub.pk]}
    )
    run_jobs()
    assert [m.to for m in mail.outbox] == [[sub.user.email]]


def test_no_announcement_for_a_member_still_or_an_old_end(db):
    now = timezone.now()
    renewed = SubscriptionFactory(starts_at=now - 60 * DAY, ends_at=now - DAY)
    SubscriptionFactory(user=renewed.user, starts_at=now - DAY, ends_at=now + 30 * DAY)
    SubscriptionFactory(starts_at=now - 60 * DAY, ends_at=now - 10 * DAY)  # long ago
    SubscriptionFactory(ends_at=now + DAY)  # running
    run_jobs()
    assert not mail.outbox


def test_an_end_stripe_announced_is_not_announced_twice(db, client, settings):
    """customer.subscription.deleted at the period's end sends the lifecycle's email; the
    sweep noticing the same end sends none."""
    from accounts.models import BillingCustomer

    settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_SECRET_KEY = SECRET, ""
    plan = PlanFactory(stripe_monthly_price_id="price_m", is_for_sale=True, monthly_price=9)
    user = UserFactory()
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_1")
    start, end = int((timezone.now() - 30 * DAY).timestamp()), int(timezone.now().timestamp())
    obj = subscription("sub_1", "cus_1", "price_m", start=start, period_end=end)
    post_event(client, event("customer.subscription.created", obj, created=start))
    gone = dict(obj, status="canceled", canceled_at=end, ended_at=end)
    post_event(client, event("customer.subscription.deleted", gone, created=end))
    run_jobs()
    assert subjects().count("Your membership has ended") == 1
    assert plan.subscriptions.get().status == Status.CANCELLED


def test_the_command_only_queues_the_work_for_the_worker(db):
    SubscriptionFactory(starts_at=timezone.now() - 30 * DAY, ends_at=timezone.now() - DAY)
    paid_online(5 * DAY)
    with override_settings(TASKS=DATABASE_QUEUE):
        run_jobs()
        assert not mail.outbox
        queued = set(DBTaskResult.objects.values_list("task_path", flat=True))
        assert queued == {
            "accounts.selfserve.tasks.send_trial_reminders",
            "accounts.billing.tasks.send_renewal_reminders",
            "accounts.billing.tasks.end_lapsed_access",
        }
        run_queue()  # the sweeps, then the emails they queued
        run_queue()
    assert sorted(subjects())[0] == "Your membership has ended"
    assert sorted(subjects())[1].startswith("Your membership renews on")
