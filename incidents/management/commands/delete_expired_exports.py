"""Delete the emailed exports' files past their expiry; run by a timer (docs/deploy.md)."""

from django.core.management.base import BaseCommand

from incidents.exports.jobs import HISTORY_DAYS, delete_expired


class Command(BaseCommand):
    help = (
        "Delete the files of emailed exports whose link has expired (the jobs stay listed "
        f"as expired on their owners' Exports page), and forget jobs older than {HISTORY_DAYS} "
        "days. Safe to run at any time and as often as wanted."
    )

    def handle(self, *args, **options):
        files, jobs = delete_expired()
        self.stdout.write(
            f"{files} expired export files deleted, {jobs} old export jobs forgotten."
        )
