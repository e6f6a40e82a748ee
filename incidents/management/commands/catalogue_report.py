"""Print the catalogue's data-quality report (incidents.quality) for staff."""

from django.core.management.base import BaseCommand

from incidents.quality import build_report


class Command(BaseCommand):
    help = (
        "Data quality: likely duplicate incidents, organisations with several spellings, "
        "incidents without sources, future dates, unknown values and actor names not made "
        "actors of by the last imports, impossible timelines, relative discoveries kept raw."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=20, help="Items listed per section (default 20)"
        )

    def handle(self, *args, limit, **options):
        report = build_report()
        write = self.stdout.write
        for label, n in report.counts().items():
            write(f"{n:>6}  {label}")

        self.section("Likely duplicate incidents (same victim, within 7 days, similar summaries)")
        for pair in report.duplicates[:limit]:
            a, b = pair.first, pair.second
            write(
                f"  {a.organisation.name}: {a.slug} ({a.date}) ~ {b.slug} ({b.date}), "
                f"similarity {pair.similarity}"
            )
        self.section("Organisations sharing a normalised name and country (merge candidates)")
        for group in report.spelling_groups[:limit]:
            names = " | ".join(f"{o.name} [{o.slug}]" for o in group.organisations)
            write(f"  {group.country or '--'}: {names}")
        self.section("Organisations known by several spellings")
        for org in report.several_spellings[:limit]:
            write(f"  {org.name} [{org.slug}]: " + " | ".join(org.spellings))
        self.section("Incidents without sources")
        for incident in report.without_sources[:limit]:
            write(f"  {incident.slug}: {incident.organisation.name}")
        self.section("Incidents dated in the future")
        for incident in report.future[:limit]:
            write(f"  {incident.slug}: {incident.date} ({incident.status})")
        self.section("Unknown values met by the last imports")
        for dataset, lines in report.unknown_values.items():
            for line in lines[:limit]:
                write(f"  {dataset}: {line}")

        self.section("Impossible timelines (kept as drafts)")
        for incident, problems in report.impossible_timelines[:limit]:
            write(f"  {incident.slug} ({incident.status}): " + " ".join(problems))
        self.section("Relative discoveries kept raw, not as a date (VERIS timeline.discovery)")
        for incident, raw in report.unconverted_discoveries[:limit]:
            write(f"  {incident.slug}: {raw} after an incident dated {incident.date_display}")

        self.section("Actor names the last imports did not make actors of")
        for dataset, lines in report.actor_names.items():
            for line in lines[:limit]:
                write(f"  {dataset}: {line}")

    def section(self, title):
        self.stdout.write(f"\n{title}")
