"""Count the statistics roll-ups now: after a deploy or a large import, so that no reader
waits for the first count of a page (incidents.statistics.rollups)."""

import time
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand
from django.db import connections

from incidents import browse
from incidents.models import StatisticsRollup
from incidents.statistics import rollups
from portal import versions


class Command(BaseCommand):
    help = (
        "Recount every statistics roll-up kept (stale or not), and count the statistics "
        "page's (public and members') and every country, sector, type and year hub's if missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-only", action="store_true", help="Skip roll-ups of the current version."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Roll-ups counted at once, each on its own database connection (the "
            "database does the counting: one per database CPU; default 1).",
        )

    def handle(self, *args, stale_only=False, workers=1, **options):
        keys = set(StatisticsRollup.objects.values_list("audience", "query"))
        keys |= {("public", query) for query in public_pages()} | {("member", "")}
        if stale_only:
            current = StatisticsRollup.objects.filter(
                version=versions.catalogue(), withdrawal=versions.withdrawal()
            )
            keys -= set(current.values_list("audience", "query"))
        if workers > 1 and connections[StatisticsRollup.objects.db].vendor == "sqlite":
            # One writer at a time: workers would wait for each other (or, on a shared
            # in-memory database, fail with "table is locked").
            self.stderr.write("SQLite: counting on one connection (--workers needs PostgreSQL).")
            workers = 1
        started = time.perf_counter()
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                # Longest first (the last count's time, where known): the long counts do
                # not all land at the end on one worker.
                took = {
                    (a, q): s
                    for a, q, s in StatisticsRollup.objects.values_list(
                        "audience", "query", "seconds"
                    )
                }
                order = sorted(keys, key=lambda k: (-took.get(k, float("inf")), k))
                list(pool.map(lambda key: _refresh_in_thread(*key), order))
        else:
            for audience, query in sorted(keys):
                rollups.refresh(audience, query)
        self.stdout.write(
            f"Counted {len(keys)} statistics roll-ups in {time.perf_counter() - started:.1f} s."
        )


def public_pages():
    """The filter queries of the statistics page and of every country, sector, incident type
    and year hub."""
    yield ""
    for code, _name, _n in browse.by_country():
        yield f"country={code}"
    for slug, _name, _n in browse.by_sector():
        yield f"sector={slug}"
    for slug, _name, _n in browse.by_type():
        yield f"type={slug}"
    for year, _n in browse.by_year():
        yield f"year={year}"


def _refresh_in_thread(audience, query):
    try:
        rollups.refresh(audience, query)
    finally:
        connections.close_all()  # this thread's own connection
