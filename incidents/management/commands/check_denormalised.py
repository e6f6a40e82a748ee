"""Count the gated counts again from the links and compare them with the incident's columns
(incidents.denormalised): exit status 1 and the differences if any disagree."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from incidents import denormalised


class Command(BaseCommand):
    help = (
        "Check the columns kept instead of counting (an incident's motive, technique and "
        "actor counts) against the links, counted now. Exits 1 if any differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--repair", action="store_true", help="Count the differing incidents again"
        )
        parser.add_argument("--limit", type=int, default=20, help="Differences listed (default 20)")

    def handle(self, *args, database, repair, limit, **options):
        wrong = denormalised.gated_count_mismatches(using=database)
        if not wrong:
            self.stdout.write("The gated counts agree with the links.")
            return
        for mismatch in wrong[:limit]:
            self.stdout.write(f"  {mismatch}")
        incidents = sorted({m.incident_id for m in wrong})
        if repair:
            denormalised.repair(incidents, using=database)
            self.stdout.write(f"Counted {len(incidents)} incidents again.")
            return
        raise CommandError(
            f"{len(incidents)} incidents have gated counts that differ from their links "
            "(run with --repair to count them again)."
        )
