"""Emailed exports (docs/exports.md, "Emailed exports"): a member's export made by the job
queue, written to private storage and emailed as a signed link that expires.

- ``request_export`` (in the request): records an ``ExportJob`` and enqueues
  ``make_export_task`` in the same transaction. The same export asked again the
  same day while its job is queued, running or ready is that job (a reload, a link prefetcher
  or a double click make one file).
- ``make_export`` (the task): decides membership **when it runs** (``is_member``); counts
  and charges the rows against the owner's daily quota once (``charged_rows``, committed
  before the file is written); writes the file with the streamed exports' own writers
  (``incidents.exports.build``) under a name of its own run; then, if it is still the job's
  latest run, marks the job ready and sends the email, once (``run_once``), and deletes
  the files earlier runs left. A run that lost the job deletes its own file only.
- ``download_token`` / ``read_download_token``: the link's signed token names the job, its
  owner and its expiry; the download view checks all three and membership again.
- ``delete_expired``: removes the files past their expiry (``manage.py
  delete_expired_exports``, on a timer) and forgets jobs after ``HISTORY_DAYS``.
- ``requeue_stalled``: each run records when it started and counts itself (``started_at``,
  ``attempts``); a job still being written ``EXPORT_STALLED_MINUTES`` later
  (``ExportJob.objects.stalled``) was left by a worker that died, and is queued again
  (``manage.py requeue_stalled_exports``, on the same timer; a queued job is never
  stalled), until it has been run ``EXPORT_JOB_ATTEMPTS`` times: then it is marked
  failed and its owner emailed. Staff may enqueue a failed or stalled job again (the admin).

Gated values (DESIGN: "alert emails ... what the recipient may see when it is sent"): the
file holds members' values, so it is made only for a member and handed only to its owner
while a member; the emails hold no catalogue data at all (the ready email says how many
incidents, which only a member receives); a job refused because its owner is no longer a
member says nothing about what it would have held.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib.sites.models import Site
from django.core import signing
from django.core.files.storage import storages
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.access import is_member
from portal.jobs import retrying_task, run_once

from .. import filters
from ..models import ExportJob
from . import build
from .quota import ExportQuota

logger = logging.getLogger(__name__)

DOWNLOAD_SALT = "incidents.exports.download"
HISTORY_DAYS = 30  # a job is listed on the account page this long, then forgotten
State = ExportJob.State
NOT_A_MEMBER = (
    "Your membership was not active when the file was to be made, so it was not made: "
    "these files hold what members see."
)


STALLED = (
    "The file could not be made: the export was started several times and never finished. "
    "Ask for it again from the finder; if it fails again, please contact us."
)


class TooManyJobs(Exception):
    """The member asked for more emailed exports today than ``EXPORT_JOBS_PER_DAY``."""


def storage():
    return storages["exports"]


# In the request


def request_export(user, fmt: str, query: str) -> tuple[ExportJob, bool]:
    """The job making ``fmt`` of the finder's canonical ``query`` for ``user`` (a member,
    checked by the caller): today's unfinished or ready one, else a new one, enqueued.
    (job, created). Raises TooManyJobs past the daily number."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        jobs = ExportJob.objects.filter(user=user, created_at__gte=today)
        same = (
            jobs.filter(format=fmt, query=query, state__in=[State.QUEUED, State.RUNNING])
            | jobs.filter(format=fmt, query=query, state=State.READY, expires_at__gt=timezone.now())
        ).first()
        if same is not None:
            return same, False
        if jobs.count() >= settings.EXPORT_JOBS_PER_DAY:
            raise TooManyJobs
        job = ExportJob.objects.create(user=user, format=fmt, query=query)
        make_export_task.enqueue(job.pk)
    return job, True


# In the task


@retrying_task(attempts=3, backoff=datetime.timedelta(minutes=2))
def make_export_task(job_id: int) -> None:
    """Write one emailed export's file to private storage and email its link: membership
    decided now, the quota charged once per job (``make_export``)."""
    make_export(job_id)


def make_export(job_id: int) -> None:
    """Make one job's file and email its link (see the module docstring). Safe to run
    again: a finished job is left alone; an interrupted one is redone without a new charge.
    Each start takes the job over (``started_at``, ``attempts``): only the latest run may
    finish, refuse or fail it, and a run that lost it deletes its own file and nothing else."""
    run = _start(job_id)
    if run is None:
        return
    job = run.job
    user = job.user
    if not is_member(user):
        _refuse(run, NOT_A_MEMBER)
        return
    filterset = filters.for_viewer(QueryDict(job.query), user, member=True)
    if filterset.is_bound and not filterset.is_valid():
        _refuse(
            run, "The search's filters are not valid any more: export it again from the finder."
        )
        return
    incidents, params, sort = filters.matching(filterset, member=True)

    rows = _charge(run, user, incidents)
    if rows is None:
        return
    base = settings.SITE_URL
    name = job.storage_name(run.attempt)
    tally: dict = {}
    files = storage()
    saved_name, size = build.save(
        build.pieces(
            job.format,
            incidents,
            rows=rows,
            sort=sort,
            params=params,
            member=True,
            base_url=base,
            tally=tally,
        ),
        files,
        name,
    )

    def finish():
        now = timezone.now()
        if not run.owned().update(
            state=State.READY,
            rows=tally["rows"],
            file_name=saved_name,
            size=size,
            finished_at=now,
            expires_at=now + datetime.timedelta(days=settings.EXPORT_LINK_DAYS),
            reason="",
        ):
            raise _Lost  # rolls back run_once's key: the owning run emails
        job.refresh_from_db()
        ready_email(job, base).send()

    try:
        won = run_once(f"export-ready:{job.pk}", finish)
    except _Lost:
        won = False
    except BaseException:
        _delete_unless_current(job, saved_name)  # a retry writes a file of its own
        raise
    if not won:
        _delete_unless_current(job, saved_name)
        logger.info("Export %s: run %s lost the job to another run", job.pk, run.attempt)
        return
    for earlier in range(1, run.attempt):  # runs that died or lost, each with its own file
        files.delete(job.storage_name(earlier))
    logger.info("Export %s: %s rows, %s bytes", job.pk, tally["rows"], size)


class _Lost(Exception):
    """This run no longer owns its job (another run started, or the sweep failed it)."""


class _Run:
    """One run of a job: the job as it started, with the run's number and start time."""

    def __init__(self, job: ExportJob):
        self.job = job
        self.attempt = job.attempts
        self.started_at = job.started_at

    def owned(self):
        """The job, while this run is its latest and it is still being written."""
        return ExportJob.objects.filter(
            pk=self.job.pk,
            state=State.RUNNING,
            attempts=self.attempt,
            started_at=self.started_at,
        )


def _start(job_id: int) -> _Run | None:
    """Start a run of a queued or running job (a retry, a duplicate task): it is now the
    job's latest run. None for a finished job."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update()
            .filter(pk=job_id, state__in=[State.QUEUED, State.RUNNING])
            .first()
        )
        if job is None:
            return None
        job.state = State.RUNNING
        job.started_at = timezone.now()
        job.attempts += 1
        job.save(update_fields=["state", "started_at", "attempts"])
    return _Run(job)


def _delete_unless_current(job: ExportJob, name: str) -> None:
    """Delete this run's file unless the job, as the database has it now, points to it."""
    current = ExportJob.objects.filter(pk=job.pk).values_list("file_name", flat=True).first()
    if current != name:
        storage().delete(name)


def _charge(run: _Run, user, incidents) -> int | None:
    """The rows this job writes, counted against ``user``'s quota once per job (in a
    transaction of its own, before the file is written); None if they do not fit, or if
    this run no longer owns the job."""
    with transaction.atomic():
        locked = run.owned().select_for_update().first()
        if locked is None:
            return None  # another run started, or the sweep failed it: that one decides
        if locked.charged_rows is not None:
            return locked.charged_rows  # a re-run: charged already
        quota = ExportQuota(None, member=True, user=user)
        remaining = quota.remaining()
        rows = incidents.order_by()[: remaining + 1].count()
        refused = quota.limit == 0 or rows > remaining or not quota.reserve(rows)
        if not refused:
            locked.charged_rows = rows
            locked.charged_on = quota.day
            locked.save(update_fields=["charged_rows", "charged_on"])
    if refused:
        _refuse(run, quota_refusal(quota, remaining))
        return None
    return rows


def quota_refusal(quota: ExportQuota, remaining: int) -> str:
    if quota.limit == 0:
        return f"{quota.no_exports()} Nothing was counted against it."
    return (
        f"This export has more incidents than the {remaining:,} rows your daily export "
        "quota had left. Narrow the filters, or ask again after midnight UTC."
    )


def _refuse(run: _Run, reason: str) -> None:
    """Mark the job refused and tell its owner, if this run still owns it."""
    job = run.job

    def record():
        if not run.owned().update(state=State.REFUSED, reason=reason, finished_at=timezone.now()):
            raise _Lost
        job.refresh_from_db()
        refused_email(job, settings.SITE_URL).send()

    try:
        run_once(f"export-refused:{job.pk}", record)
    except _Lost:
        logger.info("Export %s: run %s lost the job to another run", job.pk, run.attempt)


# Runs a dead worker left


def requeue_stalled(now: datetime.datetime | None = None) -> tuple[int, int]:
    """Enqueue again each stalled job (``ExportJob.objects.stalled``; the re-run charges
    nothing more and emails once); one run ``EXPORT_JOB_ATTEMPTS`` times already is marked
    failed instead, and its owner told. (enqueued again, failed)."""
    now = now or timezone.now()
    requeued = failed = 0
    for job in ExportJob.objects.stalled(now).select_related("user").order_by("started_at"):
        if job.attempts >= settings.EXPORT_JOB_ATTEMPTS:
            failed += _fail(job, STALLED, now)
        elif _enqueue_again(ExportJob.objects.stalled(now), job):
            requeued += 1
    return requeued, failed


def enqueue_again(job: ExportJob, now: datetime.datetime | None = None) -> bool:
    """Staff's "Enqueue again" (the admin): a failed or stalled job is run once more (a job
    charged already is not charged again). False for any other job."""
    if job.state == State.FAILED:
        return _enqueue_again(ExportJob.objects.filter(state=State.FAILED), job)
    return _enqueue_again(ExportJob.objects.stalled(now), job)


def _enqueue_again(candidates, job: ExportJob) -> bool:
    """Claim ``job`` as it was read, if still among ``candidates`` (two sweeps, or a sweep
    and staff, enqueue it once), put it back in the queue and enqueue its task. Queued, it
    is not stalled however long the queue is; its run records when it starts. A run still
    going loses the job (it finishes nothing)."""
    claimed = candidates.filter(pk=job.pk, started_at=job.started_at).update(
        state=State.QUEUED, started_at=None, reason="", finished_at=None
    )
    if claimed:
        logger.warning("Export %s enqueued again after %s runs", job.pk, job.attempts)
        make_export_task.enqueue(job.pk)
    return bool(claimed)


def _fail(job: ExportJob, reason: str, now: datetime.datetime | None = None) -> int:
    """Mark a stalled job failed (1) and tell its owner, in one transaction; 0 if it
    finished (or started again) meanwhile: failing and finishing exclude each other."""

    def record():
        marked = (
            ExportJob.objects.stalled(now)
            .filter(pk=job.pk, started_at=job.started_at, attempts=job.attempts)
            .update(state=State.FAILED, reason=reason, finished_at=timezone.now())
        )
        if not marked:
            raise _Lost
        job.refresh_from_db()
        refused_email(job, settings.SITE_URL).send()

    quota = ExportQuota(None, member=True, user=job.user)
    refund = job.charged_rows if job.charged_rows and job.charged_on == quota.day else 0
    if refund:
        reason = f"{reason} The {refund:,} rows were given back to today's export quota."
    try:
        if not run_once(f"export-failed:{job.pk}:{job.attempts}", record):
            return 0
    except _Lost:
        return 0
    # After the failure is recorded (never twice; a crash just before keeps the charge).
    quota.release(refund)
    logger.error("Export %s failed after %s runs", job.pk, job.attempts)
    return 1


# Links


def download_token(job: ExportJob) -> str:
    return signing.dumps(
        [job.pk, job.user_id, int(job.expires_at.timestamp())], salt=DOWNLOAD_SALT, compress=True
    )


def read_download_token(token: str) -> tuple[int, int, datetime.datetime] | None:
    """(job id, owner id, expiry) of a token we signed; None otherwise."""
    try:
        job_id, user_id, expires = signing.loads(token, salt=DOWNLOAD_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (job_id, user_id, expires)):
        return None
    try:
        expiry = datetime.datetime.fromtimestamp(expires, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return job_id, user_id, expiry


def download_url(job: ExportJob) -> str:
    return reverse("incidents:export_download", args=[download_token(job)])


# Emails: no catalogue data in either


def _email(job, subject, template, context, base) -> EmailMultiAlternatives:
    site = Site.objects.get_current()
    context = {
        **context,
        "job": job,
        "site_name": site.name,
        "site_url": base,
        "exports_url": base + reverse("incidents:export_jobs"),
    }
    message = EmailMultiAlternatives(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        render_to_string(f"incidents/email/{template}.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [job.user.email],
        headers={"Message-ID": f"<{template}-{job.pk}@{site.domain.split(':')[0]}>"},
    )
    message.attach_alternative(
        render_to_string(f"incidents/email/{template}.html", context), "text/html"
    )
    return message


def ready_email(job, base) -> EmailMultiAlternatives:
    return _email(
        job,
        f"Your {job.get_format_display()} export is ready",
        "export_ready",
        {"download_url": base + download_url(job)},
        base,
    )


def refused_email(job, base) -> EmailMultiAlternatives:
    return _email(
        job, f"Your {job.get_format_display()} export was not made", "export_refused", {}, base
    )


# Clean-up


def delete_expired(now: datetime.datetime | None = None) -> tuple[int, int]:
    """Delete the files of jobs past their expiry (the jobs stay listed as expired), those
    that failed or were refused (left by a run that died), and forget jobs older than
    HISTORY_DAYS. (jobs whose files were deleted, jobs forgotten)."""
    now = now or timezone.now()
    deleted = 0
    for job in ExportJob.objects.filter(state=State.READY, expires_at__lte=now):
        _delete_files(job)
        ExportJob.objects.filter(pk=job.pk).update(state=State.EXPIRED, file_name="")
        deleted += 1
    # Ended within the day: the hourly sweep meets each such job a day's worth of times, not
    # every hour until it is forgotten (older ones lose their files when forgotten, below).
    ended = ExportJob.objects.filter(
        state__in=[State.FAILED, State.REFUSED],
        attempts__gt=0,
        finished_at__gte=now - datetime.timedelta(days=1),
    )
    for job in ended:
        _delete_files(job)
    old = ExportJob.objects.filter(created_at__lt=now - datetime.timedelta(days=HISTORY_DAYS))
    for job in old:
        _delete_files(job)
    forgotten, _ = old.delete()
    return deleted, forgotten


def files_of(job: ExportJob) -> list[str]:
    """Every file a run of ``job`` may have written (each run writes its own: a run that
    died leaves one nobody serves)."""
    names = {job.storage_name(n) for n in range(1, (job.attempts or 0) + 1)}
    if job.file_name:
        names.add(job.file_name)
    return sorted(names)


def _delete_files(job: ExportJob) -> None:
    files = storage()
    for name in files_of(job):
        files.delete(name)  # a name that is not there is no error


def delete_file_of(sender, instance, **kwargs):
    """post_delete of an ExportJob (its owner's account deleted, say): its files go too,
    once the deletion commits."""
    transaction.on_commit(lambda: _delete_files(instance))
