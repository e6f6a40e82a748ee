"""Queue the "your free trial ends soon" emails (run daily: docs/deploy.md, "Timers")."""

from django.core.management.base import BaseCommand

from accounts.selfserve import trials


class Command(BaseCommand):
    help = (
        "Queue one reminder email per free trial ending within three days (once per trial, "
        "however often it runs), and mark ended trials expired."
    )

    def handle(self, *args, **options):
        queued = trials.send_reminders()
        expired = trials.expire_ended()
        self.stdout.write(f"Queued {queued} trial reminder(s); marked {expired} trial(s) expired.")
