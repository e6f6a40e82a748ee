"""Enqueue again the emailed exports a dead worker left half made; run by a timer
(docs/deploy.md)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from incidents.exports.jobs import requeue_stalled


class Command(BaseCommand):
    help = (
        "Enqueue again each emailed export still being written "
        f"{settings.EXPORT_STALLED_MINUTES} minutes (EXPORT_STALLED_MINUTES) after its run "
        "started (its worker died); one run EXPORT_JOB_ATTEMPTS times already is marked "
        "failed and its owner emailed. A re-run charges no quota again. Safe to run at any "
        "time and as often as wanted."
    )

    def handle(self, *args, **options):
        requeued, failed = requeue_stalled()
        self.stdout.write(f"{requeued} stalled exports enqueued again, {failed} marked failed.")
