"""Benchmark: what the statistics roll-ups cost and save, on a catalogue at scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_100000 DJANGO_DEBUG=1 \\
        .venv/bin/python bench/statistics_rollups.py [--requests N]

Against an existing database (bench/load_benchmark.sh makes one; it is not changed beyond
its roll-up rows), in process through the Django test client, one request at a time:

- "count": the public statistics page with no roll-up yet (the charts counted in the
  request: what every first reader after a catalogue write paid before roll-ups);
- "fresh": its roll-up is of the current catalogue version (the page cache emptied before
  each request, so the page is rendered from the roll-up row);
- "stale": the catalogue changed since (a new version): the previous count is served and
  one recount queued (a dummy queue here: nothing runs it);
- "rebuild": ``manage.py refresh_statistics``: every roll-up of the public statistics page
  and the country, sector and year hubs, counted one after the other (a worker's total).

Prints the median and the maximum of each; the rebuild's total and its slowest keys.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from incidents.models import Incident, StatisticsRollup  # noqa: E402

DUMMY_QUEUE = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def timed(client, path, before, requests):
    times = []
    for _ in range(requests):
        before()
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def report(label, times):
    print(f"{label:<60} median {statistics.median(times):8.1f} ms   max {max(times):8.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    client = Client(HTTP_HOST="127.0.0.1")
    pages = caches["pages"]
    print(f"{Incident.objects.published().count():,} published incidents")

    with override_settings(TASKS=DUMMY_QUEUE):
        for path, query in (("/statistics/", ""), ("/countries/US/", "country=US")):
            rollup = StatisticsRollup.objects.filter(audience="public", query=query)

            def drop(rollup=rollup):
                rollup.delete()
                pages.clear()

            report(f"{path} count (no roll-up)", timed(client, path, drop, min(args.requests, 3)))
            report(f"{path} fresh roll-up", timed(client, path, pages.clear, args.requests))
            report(
                f"{path} stale roll-up (catalogue changed; recount queued)",
                timed(client, path, pages.clear, args.requests),
            )
    started = time.perf_counter()
    call_command("refresh_statistics")
    print(f"rebuild (refresh_statistics): {time.perf_counter() - started:.1f} s")
    for audience, query, seconds in StatisticsRollup.objects.order_by("-seconds").values_list(
        "audience", "query", "seconds"
    )[:5]:
        print(f"  slowest: {audience} {query or '(all incidents)'}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
