"""Queue the periodic membership jobs (run hourly by a timer: docs/deploy.md, "Timers")."""

from django.core.management.base import BaseCommand

from accounts.billing.tasks import end_lapsed_access, send_renewal_reminders
from accounts.selfserve.tasks import send_trial_reminders

PERIODIC = [send_trial_reminders, send_renewal_reminders, end_lapsed_access]


class Command(BaseCommand):
    help = (
        "Queue the membership sweeps for the job worker: trial reminders (three days before), "
        "renewal reminders (seven days before), 'access ended' emails, and ended trials marked "
        "expired. Each email goes once per occasion, however often this runs."
    )

    def handle(self, *args, **options):
        for periodic in PERIODIC:
            result = periodic.enqueue()
            self.stdout.write(f"Queued {periodic.name} ({result.id}).")
