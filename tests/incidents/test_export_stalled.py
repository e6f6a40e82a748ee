"""Emailed exports a dead worker left half made (incidents.exports.jobs.requeue_stalled,
``manage.py requeue_stalled_exports``): enqueued again after EXPORT_STALLED_MINUTES, finished
with one charge and one email; after EXPORT_JOB_ATTEMPTS runs, failed and the owner told."""

import datetime
from types import SimpleNamespace

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
def private_storage(exports_storage, settings):
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
    quota = ExportQuota(None, member=True, user=killed_job.user)
    assert quota.used() == PUBLISHED
    assert jobs.requeue_stalled() == (0, 1)
    job = ExportJob.objects.get(pk=killed_job.pk)
    assert job.state == ExportJob.State.FAILED and job.reason.startswith(jobs.STALLED)
    # Nothing was delivered: the rows go back to today's quota, and the owner is told.
    assert quota.used() == 0
    assert f"The {PUBLISHED} rows were given back" in job.reason
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


def test_a_job_charged_on_an_earlier_day_gives_nothing_back(killed_job, settings):
    """Its rows were counted against a day that is over: today's quota is not touched."""
    ExportJob.objects.filter(pk=killed_job.pk).update(
        attempts=settings.EXPORT_JOB_ATTEMPTS,
        charged_on=timezone.now().date() - datetime.timedelta(days=1),
    )
    started_ago(killed_job, 61)
    quota = ExportQuota(None, member=True, user=killed_job.user)
    assert jobs.requeue_stalled() == (0, 1)
    assert quota.used() == PUBLISHED
    assert ExportJob.objects.get(pk=killed_job.pk).reason == jobs.STALLED


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


# A sweep racing a run that is still going -------------------------------------------------


def sweep_midway(monkeypatch, *, hours=2):
    """build.pieces that, in the first run only, runs the sweep as if ``hours`` had passed
    (the immediate backend runs a job enqueued again at once, inside the first run)."""
    real = build.pieces
    calls = []

    def slow_worker(*args, **kwargs):
        calls.append(1)
        pieces = real(*args, **kwargs)
        yield next(pieces)
        if len(calls) == 1:
            jobs.requeue_stalled(now=timezone.now() + datetime.timedelta(hours=hours))
        yield from pieces

    monkeypatch.setattr(build, "pieces", slow_worker)


def test_a_run_racing_its_requeued_run_leaves_the_ready_file(canaries, monkeypatch):  # noqa: F811
    """The requeued run finishes first; the slow run loses and deletes only its own file."""
    user = SubscriptionFactory().user
    job = ExportJob.objects.create(user=user, format="csv", query="")
    sweep_midway(monkeypatch)
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY and job.attempts == 2
    files = jobs.storage()
    assert job.file_name and files.exists(job.file_name)  # the ready row's file is there
    assert job.file_name == job.storage_name(2)
    assert files.listdir("")[1] == [job.file_name]  # the slow run's own file deleted
    with files.open(job.file_name) as f:
        assert len(f.read().decode().splitlines()) == PUBLISHED + 1
    (message,) = mail.outbox
    assert "is ready" in message.subject
    assert ExportQuota(None, member=True, user=user).used() == PUBLISHED


def test_a_run_the_sweep_failed_meanwhile_does_not_finish(canaries, monkeypatch, settings):  # noqa: F811
    """Failing and finishing exclude each other: one email, "not made", and no file."""
    user = SubscriptionFactory().user
    job = ExportJob.objects.create(
        user=user, format="csv", query="", attempts=settings.EXPORT_JOB_ATTEMPTS - 1
    )
    sweep_midway(monkeypatch)
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and job.file_name == ""
    (message,) = mail.outbox
    assert "not made" in message.subject
    assert jobs.storage().listdir("")[1] == []


def test_a_requeued_job_waiting_in_the_queue_is_not_stalled(killed_job, monkeypatch):
    """However long the queue, each hourly sweep does not enqueue it again."""
    enqueued = []
    monkeypatch.setattr(jobs, "make_export_task", SimpleNamespace(enqueue=enqueued.append))
    started_ago(killed_job, 61)
    assert jobs.requeue_stalled() == (1, 0)
    job = ExportJob.objects.get(pk=killed_job.pk)
    assert job.state == ExportJob.State.QUEUED and job.started_at is None
    for hours in (1, 2, 5):
        later = timezone.now() + datetime.timedelta(hours=hours)
        assert jobs.requeue_stalled(now=later) == (0, 0)
        assert not ExportJob.objects.stalled(later).exists()
    assert enqueued == [job.pk]
    # Its run, when it comes, records its own start.
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY and job.attempts == 2
    assert job.started_at is not None and len(mail.outbox) == 1


@pytest.mark.parametrize(
    "state, minutes, stalled",
    [
        ("running", 61, True),
        ("running", 59, False),
        ("queued", 600, False),
        ("failed", 600, False),
        ("ready", 600, False),
    ],
)
def test_one_definition_of_stalled_for_the_sweep_the_admin_and_staff(
    db, monkeypatch, state, minutes, stalled
):
    monkeypatch.setattr(jobs, "make_export_task", SimpleNamespace(enqueue=lambda pk: None))
    user = SubscriptionFactory().user
    job = ExportJob.objects.create(
        user=user,
        format="csv",
        state=state,
        attempts=1,
        started_at=timezone.now() - datetime.timedelta(minutes=minutes),
    )
    assert ExportJob.objects.stalled().filter(pk=job.pk).exists() is stalled
    assert ExportJob.objects.with_stalled().get(pk=job.pk).is_stalled is stalled  # the admin
    assert jobs.requeue_stalled() == ((1, 0) if stalled else (0, 0))


def test_jobs_being_written_at_deploy_count_as_started_then(db):
    """Migration 0019's back-fill: a job made long ago whose worker is still writing it is
    not stalled at once (started at the migration, not when it was made)."""
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("incidents.migrations.0019_export_job_runs")
    user = SubscriptionFactory().user
    job = ExportJob.objects.create(user=user, format="csv", state="running")
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=5)
    )
    backfill.running_jobs_started_when_made(apps, None)
    job.refresh_from_db()
    assert job.attempts == 1 and job.started_at > timezone.now() - datetime.timedelta(minutes=1)
    assert not ExportJob.objects.stalled().exists()


def test_the_hourly_sweep_deletes_every_file_a_finished_or_failed_job_left(db):
    """Each run writes its own file: a run that died after writing leaves one that nobody
    serves; the sweep deletes every run's file once the job failed, was refused or expired."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    files = storages["exports"]
    user = SubscriptionFactory().user
    now = timezone.now()
    failed = ExportJob.objects.create(
        user=user, format="csv", state=ExportJob.State.FAILED, attempts=2, finished_at=now
    )
    expired = ExportJob.objects.create(
        user=user,
        format="json",
        state=ExportJob.State.READY,
        attempts=2,
        file_name="export-placeholder",
        expires_at=now - datetime.timedelta(minutes=1),
    )
    ExportJob.objects.filter(pk=expired.pk).update(file_name=expired.storage_name(2))
    expired.refresh_from_db()
    ready = ExportJob.objects.create(
        user=user,
        format="csv",
        state=ExportJob.State.READY,
        attempts=1,
        expires_at=now + datetime.timedelta(days=1),
    )
    ExportJob.objects.filter(pk=ready.pk).update(file_name=ready.storage_name(1))
    ready.refresh_from_db()
    left = [failed.storage_name(1), failed.storage_name(2), expired.storage_name(1)]
    kept = [expired.file_name, ready.file_name]
    for name in left + kept:
        files.save(name, ContentFile(b"rows"))

    call_command("delete_expired_exports")
    assert [n for n in left + kept if files.exists(n)] == [ready.file_name]
    assert jobs.files_of(failed) == [failed.storage_name(1), failed.storage_name(2)]
