"""Roll-ups: the statistics of one audience and filter query, as last counted."""

from django.db import models


class StatisticsRollup(models.Model):
    """The charts of the statistics page and the hubs for one (audience, canonical query),
    counted at catalogue version ``version``. Read by every statistics page and hub;
    recounted by a task (``refresh_statistics``) once the catalogue changed, so no request
    waits for a count it has had before (incidents.statistics.rollups)."""

    audience = models.CharField(max_length=10)  # incidents.caching.audience: never mixed
    query_digest = models.CharField(max_length=64)
    query = models.TextField()
    version = models.BigIntegerField(help_text="The catalogue version these counts are of")
    withdrawal = models.BigIntegerField(
        default=0,
        help_text="The withdrawal version when they were counted: never served once it changed",
    )
    charts = models.JSONField()
    counted_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long the count took")

    class Meta:
        constraints = [
            # One row per key; serves the lookup of every statistics page and hub.
            models.UniqueConstraint(
                fields=["audience", "query_digest"], name="statistics_rollup_one_per_key"
            ),
        ]

    def __str__(self):
        return f"{self.audience}: {self.query or 'all incidents'}"
