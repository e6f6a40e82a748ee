"""Micro-benchmark: the members' advanced search, in process, through the Django test client.

    .venv/bin/python bench/finder_forms.py [--incidents N] [--requests N] [--runs N] 2>/dev/null

Builds an in-memory SQLite catalogue of synthetic incidents, signs in a member and times
``--requests`` GETs of the finder with several members' filters, ``--runs`` times; prints the
median and spread of the per-request time. "warm": the finder's HTML is cached (the usual
case: the form is built and validated, the page header rendered); "cold": the catalogue
version is bumped before every request, so the results are queried and rendered too;
"first-seen": no HTTP, only the finder's filter object for a query string this process has
not checked before (a new ``records_min`` each time): validated, its form built, its
results' queryset built (not run). That is the work a new search costs in
incidents.filters, which the two others mostly hide behind caches.
Compare figures from the same machine and the same minute only. To compare with another
commit, run this same file in a copy of it, with the same interpreter:

    git archive REV | tar -x -C /tmp/base && cp bench/finder_forms.py /tmp/base/bench/
    (cd /tmp/base && /path/to/.venv/bin/python bench/finder_forms.py)
"""

import argparse
import datetime
import itertools
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

QUERY = "/incidents/?motive=financial&tactic=initial-access&availability=high&country=DE"


def populate(n):
    from incidents.models import (
        ActorType,
        CIAPosture,
        Incident,
        Motive,
        Organisation,
        Sector,
        Tactic,
        Technique,
        ThreatActor,
    )

    rng = random.Random(8)  # noqa: S311 (synthetic data)
    sectors = [Sector.objects.create(name=f"Sector {i}", slug=f"sector-{i}") for i in range(12)]
    motives = [Motive.objects.create(name=n, slug=n.lower()) for n in ("Financial", "Espionage")]
    motives += [Motive.objects.create(name=f"Motive {i}", slug=f"motive-{i}") for i in range(6)]
    tactics = [
        Tactic.objects.create(attack_id=f"TA{i:04d}", shortname=s, name=s.title(), order=i)
        for i, s in enumerate(["initial-access", "execution", "impact", "collection"])
    ]
    techniques = []
    for i in range(40):
        technique = Technique.objects.create(attack_id=f"T{1000 + i}", name=f"Technique {i}")
        technique.tactics.set([tactics[i % len(tactics)]])
        techniques.append(technique)
    types = [ActorType.objects.create(name=f"Type {i}", slug=f"type-{i}") for i in range(4)]
    actors = [
        ThreatActor.objects.create(
            name=f"Actor {i}", slug=f"actor-{i}", actor_type=types[i % 4], country="RU"
        )
        for i in range(30)
    ]
    countries = ["DE", "FR", "GB", "US", "JP"]
    orgs = Organisation.objects.bulk_create(
        Organisation(name=f"Victim {i}", slug=f"victim-{i}", country=rng.choice(countries))
        for i in range(n // 2)
    )
    now = timezone.now()
    incidents = Incident.objects.bulk_create(
        Incident(
            slug=f"incident-{i}",
            organisation=rng.choice(orgs),
            date=datetime.date(2010, 1, 1) + datetime.timedelta(days=rng.randrange(5000)),
            country=rng.choice(countries),
            sector=rng.choice(sectors),
            summary=f"Synthetic incident {i}.",
            records_affected=rng.randrange(10**6),
            status=Incident.Status.PUBLISHED,
            published_at=now,
        )
        for i in range(n)
    )
    impacts = ["none", "low", "medium", "high"]
    CIAPosture.objects.bulk_create(
        CIAPosture(
            incident=i,
            confidentiality=rng.choice(impacts),
            integrity=rng.choice(impacts),
            availability=rng.choice(impacts),
        )
        for i in incidents
    )
    for relation, pool, column in (
        (Incident.motives, motives, "motive"),
        (Incident.techniques, techniques, "technique"),
        (Incident.threat_actors, actors, "threatactor"),
    ):
        relation.through.objects.bulk_create(
            relation.through(incident=i, **{column: chosen})
            for i in incidents
            for chosen in rng.sample(pool, 2)
        )


def member_client():
    from tests.factories import SubscriptionFactory

    client = Client()
    client.force_login(SubscriptionFactory().user)
    return client


def timed(client, requests, cold):
    from portal.models import Version

    per_request = []
    for _ in range(requests):
        if cold:  # every cached page and value unreachable, as after a catalogue write
            Version.objects.filter(name="catalogue").update(value=random.getrandbits(62))
        started = time.perf_counter()
        response = client.get(QUERY)
        per_request.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.median(per_request)


def first_seen(requests, counter):
    from django.http import QueryDict

    from incidents import filters
    from incidents.models import Incident

    query = QUERY.split("?", 1)[1]
    per_request = []
    for _ in range(requests):
        data = QueryDict(f"{query}&records_min={next(counter)}")
        started = time.perf_counter()
        finder = filters.MemberIncidentFilter(data, queryset=Incident.objects.all())
        assert finder.is_valid()
        assert finder.form.fields and finder.qs is not None
        per_request.append(time.perf_counter() - started)
    return statistics.median(per_request)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cold-requests", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kinds", default="warm,cold,first-seen")
    parser.add_argument("--warm-only", action="store_true", help="--kinds warm")
    args = parser.parse_args()
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, serialize=False)
    populate(args.incidents)
    client = member_client()
    assert b"Motive" in client.get(QUERY).content  # a member: the members' filters are there
    counter = itertools.count(1)
    for kind in ["warm"] if args.warm_only else args.kinds.split(","):
        requests = args.cold_requests if kind == "cold" else args.requests
        medians = [
            (
                first_seen(requests, counter)
                if kind == "first-seen"
                else timed(client, requests, kind == "cold")
            )
            * 1000
            for _ in range(args.runs)
        ]
        print(
            f"{kind}: median {statistics.median(medians):.3f} ms per request, "
            f"best run {min(medians):.3f} (runs: {', '.join(f'{m:.3f}' for m in medians)}; "
            f"{requests} requests each, {args.incidents} incidents)"
        )


if __name__ == "__main__":
    main()
