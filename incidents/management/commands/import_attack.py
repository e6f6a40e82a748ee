"""Import MITRE ATT&CK Enterprise (tactics, techniques, groups) from a STIX 2.x bundle."""

from django.core.management.base import BaseCommand, CommandError

from incidents.importers.attack import (
    DATASET,
    import_attack,
    load_bundle,
    load_galaxy,
    read_galaxy,
)
from incidents.importers.base import ImportAborted


class Command(BaseCommand):
    help = (
        "Import MITRE ATT&CK Enterprise from a STIX 2.x bundle (a local file or an http(s) URL): "
        "tactics, techniques and sub-techniques, software, and groups as threat actors with the "
        "techniques and software they use (and, from MISP's galaxy, their type and country). "
        "Safe to re-run: "
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
            "--misp-galaxy",
            metavar="PATH",
            help="MISP galaxy's threat-actor.json: groups' type and country, with provenance",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Import, report, then roll everything back."
        )

    def handle(self, *args, source, release, misp_galaxy, dry_run, **options):
        try:
            galaxy = read_galaxy(load_galaxy(misp_galaxy)) if misp_galaxy else None
            result = import_attack(
                load_bundle(source), release=release, galaxy=galaxy, dry_run=dry_run
            )
        except ImportAborted as exc:
            raise CommandError(f"ATT&CK import aborted, nothing written: {source}: {exc}") from exc

        self.stdout.write(f"{DATASET['name']} {result.version} from {source}")
        if result.previous_version and result.previous_version != result.version:
            self.stdout.write(f"  (previously imported: {result.previous_version})")
        for line in result.report.summary_lines():
            self.stdout.write(line)
        if result.galaxy_matches is not None:
            rules = ", ".join(f"{n} by {rule}" for rule, n in sorted(result.galaxy_matches.items()))
            self.stdout.write(f"Groups matched in the MISP galaxy {galaxy.version}: {rules}")
        if result.ignored:
            kinds = ", ".join(f"{n} {kind}" for kind, n in result.ignored.most_common())
            self.stdout.write(f"Not mapped by this importer: {kinds}")
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: rolled back, nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Recorded release: {result.version}"))
