"""CPU cost of pages in process, through the whole middleware stack, with or without a
profile: what a request costs Django (not PostgreSQL), comparable between two heads even
on a loaded machine (CPU time of this process, not wall time).

    DJANGO_DEBUG=0 ... manage.py profile_pages --kind incident --count 300
    ... manage.py profile_pages --kind incident --as-member --profile 30

Each request of ``--kind incident`` opens an incident nobody opened before in this run
(a first visit: the page cache misses), unless --repeat; run it with the production
settings (bench/serve.sh's environment) and the cache it names.
"""

import cProfile
import pstats
import statistics
import sys
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, reset_queries
from django.test import Client

from incidents.models import Incident

PATHS = {
    "list": lambda n: ["/incidents/"] * n,
    "search": lambda n: ["/incidents/?q=ransomware"] * n,
    "filtered": lambda n: ["/incidents/?country=GB&sector=healthcare"] * n,
    "advanced": lambda n: (
        ["/incidents/?motive=financial&tactic=initial-access&availability=high"] * n
    ),
}


class Command(BaseCommand):
    help = "CPU time per page in process (first visits of incident pages by default)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", default="incident", choices=["incident", *PATHS])
        parser.add_argument("--count", type=int, default=200)
        parser.add_argument("--as-member", action="store_true")
        parser.add_argument("--repeat", action="store_true", help="the same incident each time")
        parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
        parser.add_argument("--queries", action="store_true", help="print one request's SQL")
        parser.add_argument("--dump", default="", help="write the profile to this file")

    def handle(self, *, kind, count, as_member, repeat, profile, queries, dump, **options):
        client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else None)
        if as_member:
            user = get_user_model().objects.get(email="member@example.com")
            store = import_module(settings.SESSION_ENGINE).SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
        if kind == "incident":
            slugs = list(
                Incident.objects.filter(status="published")
                .order_by("?")
                .values_list("slug", flat=True)[: count + 20]
            )
            if repeat:
                slugs = slugs[:1] * (count + 20)
            paths = [f"/incidents/{slug}/" for slug in slugs]
        else:
            paths = PATHS[kind](count + 20)
        for path in paths[:20]:  # warm the process: imports, templates, connections
            self.get(client, path)
        paths = paths[20:]
        if queries:
            connection.force_debug_cursor = True
            reset_queries()
            self.get(client, paths[0])
            for query in connection.queries:
                self.stdout.write(f"{query['time']}s {query['sql'][:400]}\n")
            self.stdout.write(f"{len(connection.queries)} queries\n")
            connection.force_debug_cursor = False
        profiler = cProfile.Profile(time.process_time) if profile else None
        cpu, wall = [], []
        for path in paths:
            c0, w0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            self.get(client, path)
            if profiler:
                profiler.disable()
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        self.stdout.write(
            f"{kind}{' (member)' if as_member else ''}: {len(paths)} requests; "
            f"CPU ms median {statistics.median(cpu):.2f}, mean {statistics.fmean(cpu):.2f}; "
            f"wall ms median {statistics.median(wall):.2f}"
        )
        if profiler:
            total = pstats.Stats(profiler).total_calls
            self.stdout.write(
                f"Python function calls per request (repeatable, whatever the load): "
                f"{total / len(paths):.0f}"
            )
            if dump:
                profiler.dump_stats(dump)
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(profile)
            stats.sort_stats("tottime").print_stats(profile)

    def get(self, client, path):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
