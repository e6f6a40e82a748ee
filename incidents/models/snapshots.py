"""The whole public catalogue as one file (docs/exports.md, "The whole public catalogue").

Written by the job queue (``exports.snapshot.build_public_snapshot``) with the public export's
own writer to private storage (``STORAGES["exports"]``); served by
``incidents.views.snapshots`` only while no withdrawal happened since it was written
(``withdrawal_version``): an older file may miss what was published since, never show what
stopped being public.
"""

from django.db import models


class PublicSnapshot(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    format = models.CharField(max_length=10, choices=Format.choices)
    # incidents.caching's versions when the rows were read.
    catalogue_version = models.BigIntegerField()
    withdrawal_version = models.BigIntegerField()
    file_name = models.CharField(max_length=200)
    rows = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    built_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long writing it took")

    class Meta:
        get_latest_by = "built_at"
        indexes = [models.Index(fields=["format", "-built_at"], name="snapshot_format_recent_idx")]

    def __str__(self):
        built = f"{self.built_at:%Y-%m-%d %H:%M}"
        return f"{self.get_format_display()} of {self.rows} incidents, {built}"
