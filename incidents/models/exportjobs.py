"""Exports made by the job queue and emailed as a link that expires (docs/exports.md,
"Emailed exports").

A member asks (an export above ``EXPORT_EMAIL_THRESHOLD`` rows, or "Email me the file"); a
task (``incidents.exports.jobs.make_export_task``) writes the file to private storage
(``STORAGES["exports"]``, never served as static or media files), charges the quota once
(``charged_rows``) and emails a signed link; the download view checks the link, the user
and their membership at download time.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Case, Q, Value, When
from django.utils import timezone


class ExportJobQuerySet(models.QuerySet):
    @staticmethod
    def stalled_condition(now: datetime.datetime | None = None) -> Q:
        """The one definition of a stalled job: still being written
        ``EXPORT_STALLED_MINUTES`` after its latest run started (the worker running it died,
        or its last retry raised). A job waiting in the queue is not stalled."""
        now = now or timezone.now()
        cutoff = now - datetime.timedelta(minutes=settings.EXPORT_STALLED_MINUTES)
        return Q(state="running", started_at__lt=cutoff)

    def stalled(self, now: datetime.datetime | None = None):
        return self.filter(self.stalled_condition(now))

    def with_stalled(self, now: datetime.datetime | None = None):
        """Each job with ``is_stalled`` (the admin's column: one query for the page)."""
        return self.annotate(
            is_stalled=Case(
                When(self.stalled_condition(now), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )


class ExportJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being written"
        READY = "ready", "Ready"
        REFUSED = "refused", "Not made"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"
        STIX = "stix.json", "STIX 2.1"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    format = models.CharField(max_length=10, choices=Format.choices)
    # The finder's canonical query string, members' filters kept (the owner asked as a member).
    query = models.CharField(max_length=2000, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Why a job was not made (quota used up, not a member when it ran), for its owner.
    reason = models.CharField(max_length=300, blank=True)
    # Rows counted against the owner's daily quota: set once, in its own transaction, before
    # the file is written; a re-run (a worker died) finds it set and charges nothing.
    charged_rows = models.PositiveIntegerField(null=True, blank=True)
    # The UTC day whose quota was charged: a job that fails gives the rows back that day.
    charged_on = models.DateField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its latest run started, and how many runs have started (a worker that dies leaves
    # it running: incidents.exports.jobs.requeue_stalled).
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    state__in=["queued", "running", "ready", "refused", "failed", "expired"]
                ),
                name="exportjob_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(format__in=["csv", "json", "stix.json"]),
                name="exportjob_format_valid",
            ),
        ]
        indexes = [
            # The account's Exports page and the per-day limit: a user's jobs, newest first.
            models.Index(fields=["user", "-created_at"], name="exportjob_user_recent_idx"),
            # requeue_stalled_exports: jobs still being written, oldest run first.
            models.Index(
                fields=["started_at"],
                condition=Q(state="running"),
                name="exportjob_running_start_idx",
            ),
            # delete_expired_exports: ready files past their expiry.
            models.Index(
                fields=["expires_at"],
                condition=Q(state="ready"),
                name="exportjob_ready_expiry_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_format_display()} export {self.pk} ({self.get_state_display()})"

    def storage_name(self, attempt: int) -> str:
        """One per run (``attempt``: the run's number, ``attempts`` when it started), so that
        a run never writes or deletes the file of another run of the same job."""
        return f"export-{self.pk}-{attempt}.{self.format}"  # the format is the file's suffix
