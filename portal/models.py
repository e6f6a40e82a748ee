"""Records of the plumbing both apps share (docs/jobs.md, portal.versions, portal.counters)."""

from django.db import models
from django.utils import timezone


class CompletedEvent(models.Model):
    """An event whose side effect has run (portal.jobs.run_once): one row per key, ever."""

    key = models.CharField(max_length=255)
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Made by accounts' migration 0003 when the job plumbing lived there; moved here
        # without moving its rows (portal migration 0002).
        db_table = "accounts_completedevent"
        constraints = [
            # portal.jobs.run_once: the insert that claims a key; a second run for the same
            # key waits for the first one's transaction, then fails here and skips.
            models.UniqueConstraint(fields=["key"], name="completed_event_key_unique"),
        ]

    def __str__(self):
        return self.key


class Version(models.Model):
    """A version of what caches are computed from (portal.versions), changed by database
    triggers in the writer's own transaction: "catalogue" on any change to catalogue data,
    "withdrawal" when something visible may have stopped being visible."""

    name = models.CharField(primary_key=True, max_length=40)
    value = models.BigIntegerField()
    changed_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} {self.value}"


class Counter(models.Model):
    """How much ``key`` used in the window that started at ``window_start`` (a minute, a UTC
    day), when the counters live in the database (``portal.counters``: no Redis)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    # When the window ends: rows past it are deleted as new windows start (counters._sweep).
    expires_at = models.DateTimeField()
    n = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # One row per key and window: the upsert of counters.take() conflicts on it.
            models.UniqueConstraint(fields=["key", "window_start"], name="counter_key_window"),
        ]
        indexes = [
            # counters._sweep(): the rows of windows that ended.
            models.Index(fields=["expires_at"], name="counter_expires_at"),
        ]

    def __str__(self):
        return f"{self.key} from {self.window_start:%Y-%m-%d %H:%M} UTC: {self.n}"
