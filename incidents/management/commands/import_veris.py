"""Import VERIS incidents (e.g. the VERIS Community Database) into the catalogue."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from incidents.importers.base import ImportAborted, ImportReport, progress
from incidents.importers.veris import (
    VCDB,
    RecordError,
    VerisImporter,
    load_technique_map,
    parse_record,
    read_records,
)


class DryRun(Exception):
    pass


def count_records(paths) -> int:
    total = 0
    for path in map(Path, paths):
        if path.is_dir():
            total += sum(1 for p in path.rglob("*") if p.suffix.lower() == ".json")
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            with path.open("rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            total += 1
    return total


class Command(BaseCommand):
    help = (
        "Import VERIS JSON incidents: .json files, directories of them, or JSON Lines "
        "(with NAME.source_files.txt beside it for VCDB's keys). Idempotent and atomic."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="VERIS .json file, directory or .jsonl")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish imported incidents (default: new ones arrive as drafts)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Roll the whole batch back on the first invalid record (default: skip it)",
        )
        parser.add_argument(
            "--attack-mapping",
            metavar="CSV",
            help="A published VERIS-to-ATT&CK mapping CSV; without it no techniques are derived",
        )
        parser.add_argument(
            "--dataset",
            default=VCDB["slug"],
            help="Dataset slug for provenance (default: vcdb, CC BY-SA 4.0)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Do everything, then roll back")

    def handle(self, *args, paths, publish, strict, attack_mapping, dataset, dry_run, **opts):
        for path in paths:
            if not Path(path).exists():
                raise CommandError(f"{path}: no such file or directory")
        technique_map = None
        if attack_mapping:
            try:
                technique_map = load_technique_map(attack_mapping)
            except (OSError, KeyError, UnicodeDecodeError) as exc:
                raise CommandError(f"{attack_mapping}: not a VERIS-ATT&CK mapping ({exc})") from exc
        dataset_info = (
            dict(VCDB)
            if dataset == VCDB["slug"]
            else {
                "slug": dataset,
                "name": dataset,
            }
        )
        report = ImportReport()

        today = timezone.localdate()

        def records():
            seen = set()
            bar = progress(
                read_records(paths), total=count_records(paths), desc="VERIS", unit="incident"
            )
            for raw in bar:
                try:
                    parsed = parse_record(raw, technique_map, today=today)
                except RecordError as exc:
                    report.skip(raw.where, exc.field, exc.message, kind="incident")
                    if strict:
                        raise ImportAborted(f"{raw.where}: {exc.field}: {exc.message}") from exc
                    continue
                if parsed.external_id in seen:
                    message = f"duplicate key {parsed.external_id!r} in this batch"
                    report.skip(raw.where, "incident_id", message, kind="incident")
                    if strict:
                        raise ImportAborted(f"{raw.where}: {message}")
                    continue
                seen.add(parsed.external_id)
                yield parsed

        try:
            with transaction.atomic():
                importer = VerisImporter(dataset_info=dataset_info, publish=publish, report=report)
                importer.run(records())
                if dry_run:
                    raise DryRun
        except DryRun:
            self.stdout.write("Dry run: nothing was written.")
        except ImportAborted as exc:
            for line in report.summary_lines():
                self.stderr.write(line)
            raise CommandError(f"Import rolled back, nothing was written: {exc}") from exc
        for line in report.summary_lines():
            self.stdout.write(line)
        n = {o: report.counts[("incident", o)] for o in ("created", "updated", "unchanged")}
        self.stdout.write(
            f"{n['created']} created, {n['updated']} updated, {n['unchanged']} unchanged, "
            f"{report.counts[('incident', 'skipped')]} skipped."
        )
