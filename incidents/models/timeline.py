"""An incident's timeline and how sure the source is that it happened (public fields).

The dates an incident's sources give, each optional with its own precision and source:
when it occurred (from, and until when known), when the victim discovered it, when it was
disclosed (first public report or regulator filing). The rules (order, no future date,
the catalogue date, the disclosure lag) are in ``incidents.rules``; every writer applies
them (``rules.prepare_timeline``: ``Incident.save`` and the bulk writers).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..rules import TIMELINE_DATES, DatePrecision, prepare_timeline, timeline_of, timeline_problems


class Confirmation(models.TextChoices):
    """Whether the incident is known to have happened (VERIS ``security_incident``)."""

    CONFIRMED = "confirmed", "Confirmed"
    SUSPECTED = "suspected", "Suspected"
    NEAR_MISS = "near-miss", "Near miss"


def _date(label, help_text=""):
    return models.DateField(label, null=True, blank=True, help_text=help_text)


def _precision():
    return models.CharField(
        "precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )


def _source():
    return models.URLField(
        "source", max_length=1000, blank=True, help_text="A public reference for this date"
    )


class Timeline(models.Model):
    """The timeline fields of ``Incident`` (abstract: they are its columns)."""

    occurred_on = _date("occurred", "When it started; with month or year precision, any day of it")
    occurred_precision = _precision()
    occurred_source = _source()
    occurred_end_on = _date("occurred until", "When it ended, where known")
    occurred_end_precision = _precision()
    discovered_on = _date("discovered", "When the victim found out")
    discovered_precision = _precision()
    discovered_source = _source()
    disclosed_on = _date("disclosed", "First public report or regulator filing")
    disclosed_precision = _precision()
    disclosed_source = _source()
    # The dataset's own timeline values, as it gave them (VERIS: ``timeline`` and
    # ``plus.timeline``), so a relative value converted to a date can be checked and one
    # that could not be converted is not lost (manage.py catalogue_report lists them).
    timeline_raw = models.JSONField(default=dict, blank=True, editable=False)
    # Days from occurred (or discovered) to disclosed, both known to the day
    # (rules.disclosure_lag); kept by every writer (rules.prepare_timeline).
    disclosure_lag_days = models.IntegerField(null=True, blank=True, editable=False)
    confirmation = models.CharField(
        max_length=10,
        choices=Confirmation.choices,
        default=Confirmation.CONFIRMED,
        help_text="Whether the source confirms it happened (VERIS: Confirmed, Suspected, "
        "Near miss)",
    )

    class Meta:
        abstract = True

    def timeline(self) -> dict:
        return timeline_of(self)

    def clean(self):
        super().clean()
        problems = timeline_problems(self.timeline(), timezone.localdate())
        if problems:
            raise ValidationError({f"{name}_on": message for name, message in problems.items()})

    def prepare_timeline(self):
        prepare_timeline(self)


TIMELINE_CONSTRAINTS = [
    *(
        models.CheckConstraint(
            condition=Q(**{f"{name}_precision__in": DatePrecision.values}),
            name=f"incident_{name}_precision_valid",
        )
        for name in TIMELINE_DATES
    ),
    models.CheckConstraint(
        condition=Q(confirmation__in=Confirmation.values), name="incident_confirmation_valid"
    ),
    # rules.disclosure_lag never counts backwards.
    models.CheckConstraint(
        condition=Q(disclosure_lag_days__isnull=True) | Q(disclosure_lag_days__gte=0),
        name="incident_disclosure_lag_not_negative",
    ),
    # An end needs a start.
    models.CheckConstraint(
        condition=Q(occurred_end_on__isnull=True) | Q(occurred_on__isnull=False),
        name="incident_occurred_end_has_start",
    ),
]
TIMELINE_INDEXES = [
    # The finder sorted by disclosure lag (longest or shortest first).
    models.Index(fields=["status", "disclosure_lag_days"], name="incident_lag_idx"),
]
