"""Benchmark of the saved searches' alert matcher (incidents.alerts, docs/performance.md).

Creates N saved searches with varied finder queries (search words, public and members'
filters, one to three at a time, canonicalised as the finder saves them), queues the newest
M published incidents as new, and times ``match_new_incidents``: the whole matcher run,
batches, distinct queries and recording of the matches. Digest alerts only, so no email
task is enqueued. Everything it creates is removed afterwards.
"""

import random
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.http import QueryDict

from incidents import alerts, filter_fields, filters
from incidents.models import (
    AlertMatch,
    Incident,
    NewIncident,
    SavedSearch,
    Technique,
)

BENCH_EMAIL = "bench-alerts@example.invalid"
WORDS = [
    "ransomware",
    "phishing",
    "breach",
    "hospital",
    "bank",
    "skimmer",
    "laptop",
    "stolen",
    "email",
    "insider",
    "database",
    "school",
    "records",
    "credentials",
    "malware",
    '"credit card"',
    "attack -phishing",
    "ddos",
    "lost",
    "employee",
]


def _values(choices):
    return [str(value) for value, _ in choices() if value not in ("", None)]


class Command(BaseCommand):
    help = "Time the alert matcher: N saved searches against M new incidents."

    def add_arguments(self, parser):
        parser.add_argument("--searches", type=int, default=10_000)
        parser.add_argument("--incidents", type=int, default=500)
        parser.add_argument("--seed", type=int, default=13)

    def handle(self, *args, searches, incidents, seed, **options):
        rng = random.Random(seed)  # noqa: S311 - benchmark data, not secrets
        user, _ = get_user_model().objects.get_or_create(
            username=BENCH_EMAIL, defaults={"email": BENCH_EMAIL}
        )
        SavedSearch.objects.filter(user=user).delete()
        queries = self.queries(rng, searches)
        SavedSearch.objects.bulk_create(
            (
                SavedSearch(user=user, name=f"bench {n}", query=q, alerts="daily")
                for n, q in enumerate(queries)
            ),
            batch_size=1000,
        )
        new_ids = list(
            Incident.objects.published().order_by("-pk").values_list("pk", flat=True)[:incidents]
        )
        NewIncident.objects.all().delete()
        NewIncident.objects.bulk_create(NewIncident(incident_id=pk) for pk in new_ids)
        catalogue = Incident.objects.count()
        self.stdout.write(
            f"{connection.vendor}, {catalogue:,} incidents; {searches:,} saved searches "
            f"({len(set(queries)):,} distinct queries); {len(new_ids)} new incidents"
        )
        pairs = {(k, v) for q in queries for k, v in QueryDict(q).items() if k != "sort"}
        self.stdout.write(f"{len(pairs):,} distinct (parameter, value) pairs")
        started = time.perf_counter()
        found = alerts.match_new_incidents()
        seconds = time.perf_counter() - started
        recorded = AlertMatch.objects.filter(saved_search__user=user).count()
        searches_hit = (
            AlertMatch.objects.filter(saved_search__user=user)
            .values("saved_search")
            .distinct()
            .count()
        )
        self.stdout.write(
            f"matched in {seconds:.1f} s: {recorded:,} matches ({found:,} found) "
            f"for {searches_hit:,} saved searches"
        )
        SavedSearch.objects.filter(user=user).delete()
        user.delete()

    def queries(self, rng, n):
        """``n`` canonical finder queries, one to three parameters each."""
        pick = {
            "q": lambda: rng.choice(WORDS),
            "country": lambda: rng.choice(countries),
            "sector": lambda: rng.choice(sectors),
            "year": lambda: str(rng.randint(2005, 2025)),
            "records_min": lambda: str(rng.choice([100, 1000, 10_000, 1_000_000])),
            "motive": lambda: rng.choice(motives),
            "tactic": lambda: rng.choice(tactics),
            "technique": lambda: rng.choice(techniques),
            "actor_type": lambda: rng.choice(actor_types),
        }
        countries = _values(filter_fields.incident_country_choices)
        sectors = _values(filter_fields.sector_choices)
        motives = _values(filter_fields.motive_choices)
        tactics = _values(filter_fields.tactic_choices)
        actor_types = _values(filter_fields.actor_type_choices)
        techniques = list(
            Technique.objects.filter(parent=None).values_list("attack_id", flat=True)[:200]
        )
        # Popular filters come up more often, as they would among real members.
        weights = [6, 5, 4, 2, 1, 3, 2, 2, 1]
        out = []
        while len(out) < n:
            names = set(rng.choices(list(pick), weights=weights, k=rng.randint(1, 3)))
            query = filters.canonical_query(filters.encode({name: pick[name]() for name in names}))
            if query is not None:
                out.append(query)
        return out
