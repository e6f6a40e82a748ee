"""Write the files of the whole public catalogue now (docs/exports.md): after a large import,
or from a timer (docs/deploy.md); the site also asks the job queue for them when they fall
behind the catalogue."""

from django.core.management.base import BaseCommand

from incidents.exports import snapshot


class Command(BaseCommand):
    help = (
        "Write the whole public catalogue as one file per format (/data/incidents.csv, "
        ".json): public fields only. A format being written by another process is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--format",
            choices=snapshot.FORMATS,
            action="append",
            help="Only this format (repeatable; default: all).",
        )

    def handle(self, *args, **options):
        for fmt in options["format"] or snapshot.FORMATS:
            made = snapshot.build_now(fmt)
            if made is None:
                self.stdout.write(f"{fmt}: being written by another process, skipped.")
            else:
                self.stdout.write(
                    f"{fmt}: {made.rows:,} incidents, {made.size:,} bytes in {made.seconds:.1f} s."
                )
