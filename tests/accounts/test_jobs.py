"""Background jobs (portal.jobs, accounts.emails.send_email, accounts.adapter) on any database.

The queue here is the database backend with django-tasks-db's worker loop run in this process
(``run_queue``); tests/test_jobs_worker.py runs real worker processes on PostgreSQL.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from accounts.emails import send_email
from portal.jobs import retrying_task, run_once
from portal.models import CompletedEvent

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
BACKOFF = timedelta(seconds=30)

# What the tasks below did, by name (the immediate backend runs them in this process).
calls: list[str] = []


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@retrying_task(attempts=3, backoff=BACKOFF)
def fails_twice(name: str) -> str:
    calls.append(name)
    if len(calls) < 3:
        raise ConnectionError("the mail server hung up")
    return "sent"


@retrying_task(attempts=3, backoff=BACKOFF)
def always_fails(name: str) -> None:
    calls.append(name)
    raise ConnectionError("the mail server hung up")


@retrying_task(attempts=3, backoff=BACKOFF)
def records_then_fails(key: str) -> None:
    """A side effect that completes, then a failure after it (a partial run)."""
    run_once(key, lambda: calls.append(key))
    if calls.count(f"failed:{key}") == 0:
        calls.append(f"failed:{key}")
        raise ConnectionError("lost the connection after the side effect")


class HungUpBackend:
    """An email backend whose server never accepts a message."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("the mail server hung up")


def run_queue():
    """Run what the database queue has ready, then stop (``manage.py db_worker --batch``).

    Without closing connections between tasks, as a real worker does: on PostgreSQL that would
    end the test's transaction."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        worker.run()


def results(task):
    return list(DBTaskResult.objects.filter(task_path=task.module_path).order_by("enqueued_at"))


# retrying_task, run at once (the tests' immediate backend)


def test_a_failing_task_is_retried_until_it_succeeds(db):
    result = fails_twice.enqueue("welcome")
    assert calls == ["welcome"] * 3
    # The first attempt's own result failed; the retries are results of their own.
    assert result.status == TaskResultStatus.FAILED


def test_retries_stop_after_the_last_attempt(db):
    always_fails.enqueue("welcome")
    assert calls == ["welcome"] * 3


def test_the_last_attempt_raises_and_enqueues_nothing(db):
    # The attempt number is the wrapper's: the function gets only its own arguments.
    with pytest.raises(ConnectionError):
        fails_twice.call("welcome", _attempt=3)
    assert calls == ["welcome"]


def test_retrying_task_needs_one_attempt_at_least():
    with pytest.raises(ValueError, match="at least 1"):
        retrying_task(attempts=0)


# retrying_task on the database queue: the next attempt is deferred, with backoff


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_failed_attempt_enqueues_the_next_one_later_with_backoff(db):
    fails_twice.enqueue("welcome")
    before = timezone.now()
    run_queue()
    after = timezone.now()

    first, second = results(fails_twice)
    assert first.status == TaskResultStatus.FAILED
    assert "ConnectionError" in first.exception_class_path
    assert second.status == TaskResultStatus.READY
    assert second.args_kwargs == {"args": ["welcome"], "kwargs": {"_attempt": 2}}
    assert before + BACKOFF <= second.run_after <= after + BACKOFF
    assert calls == ["welcome"]

    # Not before its time; when it is due, it runs (and fails again: twice the delay).
    run_queue()
    assert calls == ["welcome"]
    DBTaskResult.objects.filter(pk=second.pk).update(run_after=timezone.now())
    before = timezone.now()
    run_queue()
    after = timezone.now()
    _, second, third = results(fails_twice)
    assert second.status == TaskResultStatus.FAILED
    assert third.args_kwargs["kwargs"] == {"_attempt": 3}
    assert before + 2 * BACKOFF <= third.run_after <= after + 2 * BACKOFF

    DBTaskResult.objects.filter(pk=third.pk).update(run_after=timezone.now())
    run_queue()
    assert [r.status for r in results(fails_twice)] == [
        TaskResultStatus.FAILED,
        TaskResultStatus.FAILED,
        TaskResultStatus.SUCCESSFUL,
    ]
    assert results(fails_twice)[-1].return_value == "sent"
    assert calls == ["welcome"] * 3


@override_settings(TASKS=DATABASE_QUEUE)
def test_the_last_failed_attempt_enqueues_nothing(db):
    always_fails.enqueue("welcome")
    for _ in range(3):
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())
        run_queue()
    assert [r.status for r in results(always_fails)] == [TaskResultStatus.FAILED] * 3
    assert calls == ["welcome"] * 3


# run_once


def test_run_once_runs_a_side_effect_once_per_key(db):
    assert run_once("event:1", lambda: calls.append("one")) is True
    assert run_once("event:1", lambda: calls.append("one again")) is False
    assert run_once("event:2", lambda: calls.append("two")) is True
    assert calls == ["one", "two"]
    assert set(CompletedEvent.objects.values_list("key", flat=True)) == {"event:1", "event:2"}


def test_a_side_effect_that_raises_is_not_recorded_and_runs_again(db):
    def fails():
        CompletedEvent.objects.create(key="written by the side effect")
        raise ConnectionError("the mail server hung up")

    with pytest.raises(ConnectionError):
        run_once("event:1", fails)
    # Its own database writes were rolled back with the key.
    assert not CompletedEvent.objects.exists()

    assert run_once("event:1", lambda: calls.append("one")) is True
    assert calls == ["one"]


def test_a_retry_after_a_partial_run_does_not_repeat_the_side_effect(db):
    records_then_fails.enqueue("event:1")
    assert calls == ["event:1", "failed:event:1"]


@override_settings(TASKS=DATABASE_QUEUE)
def test_one_event_enqueued_twice_runs_its_side_effect_once(db):
    records_then_fails.enqueue("event:1")
    records_then_fails.enqueue("event:1")
    run_queue()
    assert calls.count("event:1") == 1


# Account emails: rendered in the request, sent by the queue


def sign_up(client, email="analyst@example.org"):
    password = "Blue-Kestrel-4812"
    return client.post(
        reverse("account_signup"), {"email": email, "password1": password, "password2": password}
    )


@override_settings(TASKS=DATABASE_QUEUE)
def test_the_confirmation_email_is_queued_in_the_request_and_sent_by_the_worker(client, db):
    response = sign_up(client)
    assert response.status_code == 302
    assert mail.outbox == []

    (queued,) = results(send_email)
    kwargs = queued.args_kwargs["kwargs"]
    # Plain strings only: never the request or a user.
    assert set(kwargs) == {
        "message_id",
        "subject",
        "body",
        "from_email",
        "to",
        "content_subtype",
        "alternatives",
    }
    assert kwargs["to"] == ["analyst@example.org"]
    assert "/accounts/confirm-email/" in kwargs["body"]

    run_queue()
    (message,) = mail.outbox
    assert message.to == ["analyst@example.org"]
    assert message.subject == kwargs["subject"]
    assert message.subject.startswith("[Incident Portal] ")
    assert message.body == kwargs["body"]
    assert message.extra_headers["Message-ID"] == kwargs["message_id"]
    assert message.extra_headers["Message-ID"].endswith("@127.0.0.1>")


@override_settings(TASKS=DATABASE_QUEUE)
def test_an_email_enqueued_twice_is_sent_once(client, db):
    sign_up(client)
    (queued,) = results(send_email)
    send_email.enqueue(**queued.args_kwargs["kwargs"])
    run_queue()
    assert [r.status for r in results(send_email)] == [TaskResultStatus.SUCCESSFUL] * 2
    assert len(mail.outbox) == 1


@override_settings(TASKS=DATABASE_QUEUE, EMAIL_BACKEND="tests.accounts.test_jobs.HungUpBackend")
def test_an_email_that_cannot_be_sent_is_retried_later(client, db):
    sign_up(client)
    run_queue()
    first, second = results(send_email)
    assert first.status == TaskResultStatus.FAILED
    assert second.status == TaskResultStatus.READY
    assert second.run_after > timezone.now()
    # Not recorded as sent: the retry will send it.
    assert not CompletedEvent.objects.exists()


# Tasks moved beside the code they run (issue 20): a row queued before the deploy names the
# task's previous address, and the worker imports that address when it runs the row.
PREVIOUS_ADDRESSES = {
    "accounts.tasks.send_email": "accounts.emails.send_email",
    "accounts.tasks.cancel_online_subscription": (
        "accounts.billing.tasks.cancel_online_subscription"
    ),
    "accounts.tasks.send_trial_reminders": "accounts.selfserve.tasks.send_trial_reminders",
    "accounts.tasks.send_renewal_reminders": "accounts.billing.tasks.send_renewal_reminders",
    "accounts.tasks.end_lapsed_access": "accounts.billing.tasks.end_lapsed_access",
}


@pytest.mark.parametrize(("previous", "current"), PREVIOUS_ADDRESSES.items())
def test_a_task_s_previous_address_names_the_moved_task(previous, current):
    assert import_string(previous) is import_string(current)
    assert import_string(current).module_path == current


@override_settings(TASKS=DATABASE_QUEUE)
def test_an_email_queued_under_its_previous_address_is_sent_after_the_deploy(client, db):
    sign_up(client)
    (queued,) = results(send_email)
    DBTaskResult.objects.filter(pk=queued.pk).update(task_path="accounts.tasks.send_email")
    run_queue()
    queued.refresh_from_db()
    assert queued.status == TaskResultStatus.SUCCESSFUL
    assert len(mail.outbox) == 1
