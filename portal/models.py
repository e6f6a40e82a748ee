"""Records of the plumbing both apps share (docs/jobs.md, portal.versions)."""

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
