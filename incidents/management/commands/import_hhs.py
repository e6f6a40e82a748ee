"""Import the US HHS OCR breach portal's cases (the archive and the open cases)."""

from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from incidents.importers.base import ImportAborted, ImportReport, progress
from incidents.importers.hhs import (
    HeaderError,
    HhsImporter,
    RowError,
    count_rows,
    parse_row,
    read_rows,
)


class DryRun(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Import the HHS OCR breach portal's CSV exports (the archive, and the cases under "
        "investigation): the cyber incidents among them, joined to the incidents other "
        "datasets hold for the same event. Idempotent and atomic."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="the portal's CSV exports")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish imported incidents (default: new ones arrive as drafts)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Roll the whole batch back on the first malformed row (default: skip it)",
        )
        parser.add_argument(
            "--release",
            default="",
            help='The exports\' release, shown on /data/ (default: "cases to <newest submission>")',
        )
        parser.add_argument("--dry-run", action="store_true", help="Do everything, then roll back")

    def handle(self, *args, paths, publish, strict, release, dry_run, **opts):
        for path in paths:
            if not Path(path).is_file():
                raise CommandError(f"{path}: no such file")
        report = ImportReport()
        not_cyber = Counter()
        today = timezone.localdate()

        def cases():
            bar = progress(read_rows(paths), total=count_rows(paths), desc="HHS", unit="case")
            for raw in bar:
                try:
                    parsed = parse_row(raw, today=today)
                except RowError as exc:
                    report.skip(raw.where, exc.column, exc.message, kind="incident")
                    if strict:
                        raise ImportAborted(f"{raw.where}: {exc.column}: {exc.message}") from exc
                    continue
                if isinstance(parsed, str):
                    not_cyber[parsed] += 1
                    report.add("case not a cyber incident", "skipped")
                    continue
                yield parsed

        try:
            with transaction.atomic():
                HhsImporter(publish=publish, report=report, release=release).run(cases())
                if dry_run:
                    raise DryRun
        except DryRun:
            self.stdout.write("Dry run: nothing was written.")
        except HeaderError as exc:
            raise CommandError(f"{exc}. Nothing was written.") from exc
        except ImportAborted as exc:
            for line in report.summary_lines():
                self.stderr.write(line)
            raise CommandError(f"Import rolled back, nothing was written: {exc}") from exc
        for line in report.summary_lines():
            self.stdout.write(line)
        for reason, n in sorted(not_cyber.items(), key=lambda kv: (-kv[1], kv[0])):
            self.stdout.write(f"  not a cyber incident: {reason}: {n}")
        counts = {o: report.counts[("incident", o)] for o in ("created", "merged", "updated")}
        self.stdout.write(
            f"{counts['created']} created, {counts['merged']} merged into other datasets' "
            f"incidents, {counts['updated']} updated, "
            f"{report.counts[('incident', 'unchanged')]} unchanged, "
            f"{report.counts[('incident', 'skipped')]} skipped, "
            f"{sum(not_cyber.values())} not cyber incidents."
        )
