"""Several datasets, one catalogue: each dataset's record of an incident with what it said,
and the pairs of incidents staff are asked to decide on (one event or two)."""

from django.db import models
from django.db.models import Q

from .incident import Incident
from .reference import Dataset


class IncidentRecord(models.Model):
    """One dataset's record of an incident, under the dataset's own key, with the values it
    gave (public fields only: the victim's name and state, dates, counts, the kind of
    breach). An incident reported by two datasets has two records: re-imports of either
    find the incident through its record, and the page shows which source said what.

    Public, like the sources: ``values`` holds only what the dataset publishes."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="records")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="records")
    external_id = models.CharField(max_length=200, help_text="Key in the dataset")
    values = models.JSONField(default=dict, blank=True, help_text="What the dataset says")
    imported_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["dataset__name", "external_id"]
        constraints = [
            # Re-imports find the incident of a dataset's record by its key; one record
            # belongs to one incident, never two.
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="incidentrecord_unique_external_id"
            ),
        ]

    def __str__(self):
        return f"{self.dataset_id}:{self.external_id}"


class MergeCandidate(models.Model):
    """Two incidents that may be one event, found by an importer and left for staff to
    decide (never merged silently), with the evidence: names, dates, counts, similarity.

    A staff work queue, not catalogue data: no public page reads it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        REJECTED = "rejected", "Not the same event"

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="merge_candidates",
        help_text="The incident already in the catalogue (kept when merged)",
    )
    duplicate = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        help_text="The newly imported incident that may report the same event (empty once "
        "merged into the other)",
    )
    score = models.FloatField(help_text="How alike they are, 0 to 100")
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-score", "pk"]
        constraints = [
            # One question per pair: a re-import finds the one it asked before.
            models.UniqueConstraint(fields=["incident", "duplicate"], name="mergecandidate_pair"),
            models.CheckConstraint(
                condition=~Q(incident=models.F("duplicate")), name="mergecandidate_two_incidents"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "merged", "rejected"]),
                name="mergecandidate_status_valid",
            ),
        ]
        indexes = [
            # The admin's queue: open candidates, most alike first.
            models.Index(fields=["status", "-score"], name="mergecandidate_queue_idx"),
        ]

    def __str__(self):
        return f"{self.incident_id} ~ {self.duplicate_id} ({self.score:.0f})"
