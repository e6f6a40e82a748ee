"""Import MITRE ATT&CK Enterprise (tactics, techniques, groups) from a STIX 2.x bundle."""

from django.core.management.base import BaseCommand, CommandError

from incidents.importers.attack import DATASET, import_attack, load_bundle
from incidents.importers.base import ImportAborted


class Command(BaseCommand):
    help = (
        "Import MITRE ATT&CK Enterprise from a STIX 2.x bundle (a local file or an http(s) URL): "
        "tactics, techniques and sub-techniques, and groups as threat actors. Safe to re-run: "
        "records are updated in place, in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "source",
            metavar="PATH_OR_URL",
            help="enterprise-attack.json, e.g. https://raw.githubusercontent.com/mitre/cti/"
            "master/enterprise-attack/enterprise-attack.json",
        )
        parser.add_argument(
            "--release",
            help="The ATT&CK release, e.g. 18.1, recorded when the bundle does not say "
            "(it has no x-mitre-collection object)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Import, report, then roll everything back."
        )

    def handle(self, *args, source, release, dry_run, **options):
        try:
            result = import_attack(load_bundle(source), release=release, dry_run=dry_run)
        except ImportAborted as exc:
            raise CommandError(f"ATT&CK import aborted, nothing written: {source}: {exc}") from exc

        self.stdout.write(f"{DATASET['name']} {result.version} from {source}")
        if result.previous_version and result.previous_version != result.version:
            self.stdout.write(f"  (previously imported: {result.previous_version})")
        for line in result.report.summary_lines():
            self.stdout.write(line)
        if result.ignored:
            kinds = ", ".join(f"{n} {kind}" for kind, n in result.ignored.most_common())
            self.stdout.write(f"Not mapped by this importer: {kinds}")
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: rolled back, nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Recorded release: {result.version}"))
