"""Emailed exports a dead worker left half made (incidents.exports.jobs.requeue_stalled,
``manage.py requeue_stalled_exports``): enqueued again after EXPORT_STALLED_MINUTES, finished
with one charge and one email; after EXPORT_JOB_ATTEMPTS runs, failed and the owner told."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from incidents.exports import build, jobs
from incidents.exports.quota import ExportQuota
from incidents.models import ExportJob
from tests.factories import SubscriptionFactory
from tests.test_canary import canaries  # noqa: F401 - the canary fixture, reused

PUBLISHED = 5  # the published incidents of tests.test_canary's world


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports"},
        },
    }
    settings.EXPORT_STALLED_MINUTES = 60
    settings.EXPORT_JOB_ATTEMPTS = 3


@pytest.fixture
def killed_job(canaries, monkeypatch):  # noqa: F811
    """A job whose worker died while writing its file: charged, still 'being written'."""
    user = SubscriptionFactory().user
    job = ExportJob.objects.create(user=user, format="csv", query="")
    real = build.pieces

    def dies_halfway(*args, **kwargs):
        pieces = real(*args, **kwargs)
        yield next(pieces)
        raise SystemExit("worker killed")

    monkeypatch.setattr(build, "pieces", dies_halfway)
    with pytest.raises(SystemExit):
        jobs.make_export(job.pk)
    monkeypatch.setattr(build, "pieces", real)
    job.refresh_from_db()
    assert job.state == ExportJob.State.RUNNING and job.attempts == 1
    assert job.started_at is not None and job.charged_rows == PUBLISHED
    assert mail.outbox == []
    return job


def started_ago(job, minutes):
    ExportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )


def test_a_stalled_job_is_enqueued_again_and_finishes_with_one_charge_and_one_email(killed_job):
    started_ago(killed_job, 61)
    call_command("requeue_stalled_exports")
    job = ExportJob.objects.get(pk=killed_job.pk)
    assert job.state == ExportJob.State.READY and job.rows == PUBLISHED
    assert job.attempts == 2
    assert ExportQuota(None, member=True, user=job.user).used() == PUBLISHED  # charged once
    (message,) = mail.outbox
    assert "is ready" in message.subject
    # Nothing stalled any more: another sweep changes nothing.
    call_command("requeue_stalled_exports")
    assert len(mail.outbox) == 1
    assert ExportJob.objects.get(pk=job.pk).attempts == 2


def test_a_job_within_the_window_is_left_alone(killed_job):
    started_ago(killed_job, 59)
    call_command("requeue_stalled_exports")
    job = ExportJob.objects.get(pk=killed_job.pk)
    assert job.state == ExportJob.State.RUNNING and job.attempts == 1
    assert mail.outbox == []


def test_queued_and_finished_jobs_are_not_stalled(canaries):  # noqa: F811
    user = SubscriptionFactory().user
    old = timezone.now() - datetime.timedelta(days=1)
    for state in ("queued", "ready", "refused", "expired"):
        ExportJob.objects.create(user=user, format="csv", state=state, started_at=old)
    assert jobs.requeue_stalled() == (0, 0)
    assert mail.outbox == []


def test_after_the_attempts_a_stalled_job_fails_and_its_owner_is_told(killed_job, settings):
    ExportJob.objects.filter(pk=killed_job.pk).update(attempts=settings.EXPORT_JOB_ATTEMPTS)
    started_ago(killed_job, 61)
    assert jobs.requeue_stalled() == (0, 1)
    job = ExportJob.objects.get(pk=killed_job.pk)
    assert job.state == ExportJob.State.FAILED and job.reason == jobs.STALLED
    assert job.finished_at is not None and job.file_name == ""
    (message,) = mail.outbox
    assert "not made" in message.subject and "could not be made" in message.body
    # The member sees it failed, not "being written".
    client = Client()
    client.force_login(job.user)
    html = client.get("/accounts/exports/").content.decode()
    assert "Failed" in html and "Being written" not in html and "could not be made" in html
    # A failed job is not run by a task that was still queued for it, nor swept again.
    jobs.make_export(job.pk)
    assert jobs.requeue_stalled() == (0, 0)
    assert ExportJob.objects.get(pk=job.pk).state == ExportJob.State.FAILED
    assert len(mail.outbox) == 1


def test_a_job_that_raised_on_every_retry_ends_failed(canaries, monkeypatch, settings):  # noqa: F811
    """The task's own retries (retrying_task, 3 attempts) each count as a run."""
    user = SubscriptionFactory().user

    def smtp_down(*args, **kwargs):
        raise OSError("SMTP unreachable")

    monkeypatch.setattr(jobs, "ready_email", smtp_down)
    jobs.request_export(user, "json", "")  # the immediate backend runs every retry at once
    job = ExportJob.objects.get(user=user)
    assert job.state == ExportJob.State.RUNNING and job.attempts == 3
    started_ago(job, 61)
    assert jobs.requeue_stalled() == (0, 1)
    assert ExportJob.objects.get(pk=job.pk).state == ExportJob.State.FAILED
