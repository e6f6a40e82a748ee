"""Enqueue the saved searches' digest emails; run by a timer (docs/deploy.md)."""

from django.core.management.base import BaseCommand

from incidents.alerts import deliver_alerts, match_new_incidents_task, searches_due


class Command(BaseCommand):
    help = (
        "Enqueue the daily or weekly alert digests of saved searches with new matches "
        "(and any immediate alert a stopped worker left unsent, and any unmatched new "
        "incident). The emails are sent by the job workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("frequency", choices=["daily", "weekly"])

    def handle(self, *args, frequency, **options):
        # Incidents a dead matcher left queued are matched first (the task finds them).
        match_new_incidents_task.enqueue()
        due = searches_due(frequency)
        for search_id in due:
            deliver_alerts.enqueue(search_id)
        self.stdout.write(f"{len(due)} {frequency} alert deliveries enqueued.")
