"""``generate_incidents``: synthetic incidents shaped like VCDB, and their removal.

First the generator on its own (no database: distributions over a few thousand
incidents), then the command end to end on the test database: counts and
constraints, relations, recurring victims, --seed, repeated runs and --delete.
Timings are not tested here; they are in docs/generate_incidents.md.
"""

import datetime
import re
import statistics
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count

from bench import synthetic
from bench.management.commands import generate_incidents
from incidents import rules
from incidents.models import (
    CIAPosture,
    Dataset,
    Incident,
    Motive,
    Organisation,
    Sector,
    Source,
    Technique,
    ThreatActor,
)
from incidents.rules import slug_base
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    SourceFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

TODAY = datetime.date(2026, 6, 15)


def generate(count=300, seed=7, **options):
    out = StringIO()
    call_command("generate_incidents", count=count, seed=seed, stdout=out, **options)
    return out.getvalue()


def synthetic_incidents():
    return Incident.objects.filter(dataset__slug="synthetic")


# The generator alone


@pytest.fixture(scope="module")
def sample():
    techniques = [*synthetic.TECHNIQUE_WEIGHTS, "T1001", "T1002.001"]
    gen = synthetic.SyntheticIncidents(
        5000, seed=1, techniques=techniques, actor_pool=2000, today=TODAY
    )
    incidents = []
    for start in range(0, 5000, 1500):
        stop = min(5000, start + 1500)
        gen.new_victims(start, stop)
        incidents.extend(gen.incidents(start, stop))
    return incidents


def share(items, predicate):
    return sum(1 for i in items if predicate(i)) / len(items)


def test_dates_follow_vcdb(sample):
    # VCDB: day 46%, month 23%, year 31%; peak year 2013.
    assert 0.43 < share(sample, lambda i: i.precision == "day") < 0.50
    assert 0.20 < share(sample, lambda i: i.precision == "month") < 0.26
    assert 0.28 < share(sample, lambda i: i.precision == "year") < 0.34
    years = Counter(i.date.year for i in sample)
    assert years.most_common(1)[0][0] == 2013
    assert min(years) >= 2000 and max(years) <= 2025
    assert all(i.date <= TODAY for i in sample)
    assert all(i.date.day == 1 for i in sample if i.precision != "day")
    assert all(i.date.month == 1 for i in sample if i.precision == "year")


def test_timelines_follow_vcdb(sample):
    """VCDB: 70% disclosed, 76% of those to the day; a median lag of 29 days; 0.8%
    suspected; the timeline always possible (rules.timeline_problems)."""
    columns = [i.timeline_columns() for i in sample]
    disclosed = [c for c in columns if c[2] is not None]
    assert 0.67 < len(disclosed) / len(sample) < 0.73
    assert 0.72 < share(disclosed, lambda c: c[3] == "day") < 0.80
    lags = sorted(c[4] for c in columns if c[4] is not None)
    assert lags and 20 < lags[len(lags) // 2] < 40
    assert 0.004 < share(sample, lambda i: i.confirmation == "suspected") < 0.013
    for i, (occurred, precision, on, on_precision, _lag, _) in zip(sample, columns, strict=True):
        dates = dict.fromkeys(rules.TIMELINE_DATES, (None, "day"))
        dates["occurred"], dates["disclosed"] = (occurred, precision), (on, on_precision)
        assert rules.timeline_problems(dates, TODAY) == {}, i.serial


def test_victims_follow_vcdb(sample):
    # VCDB: 71% of victims in the US, 140 countries, healthcare and government first.
    assert 0.67 < share(sample, lambda i: i.victim.country == "US") < 0.75
    assert len({i.victim.country for i in sample}) > 40
    sectors = Counter(i.victim.sector for i in sample)
    assert [s for s, _ in sectors.most_common(2)] == ["healthcare", "government"]
    assert all(i.victim.name and i.victim.slug == slug_base(i.victim.name) for i in sample)


def test_text_lengths_and_records(sample):
    summaries = [len(i.summary) for i in sample]
    # Raw VCDB summaries average ~500 characters; cut at 1,000 as the importer does,
    # the stored mean is ~320 and about one in six has a description.
    assert 270 < statistics.mean(summaries) < 400
    assert statistics.median(summaries) < statistics.mean(summaries)  # right-skewed
    assert max(summaries) <= synthetic.SUMMARY_LIMIT
    assert 0.10 < share(sample, lambda i: i.description) < 0.25
    long = [i for i in sample if len(i.summary) > 900]
    assert long and all(i.description.startswith(i.summary[:-1]) for i in long if "…" in i.summary)
    assert 0.38 < share(sample, lambda i: i.records_affected is None) < 0.52
    records = [i.records_affected for i in sample if i.records_affected is not None]
    assert min(records) >= 1 and max(records) > 10_000_000  # heavy tail


def test_relations_per_incident(sample):
    for i in sample:
        assert 0 <= len(i.motives) <= 5 and len(set(i.motives)) == len(i.motives)
        assert 0 <= len(i.techniques) <= 5 and len(set(i.techniques)) == len(i.techniques)
        assert 0 <= len(i.actors) <= 5 and len(set(i.actors)) == len(i.actors)
        assert 1 <= len(i.sources) <= 3 and len({s[0] for s in i.sources}) == len(i.sources)
    for attr in ("motives", "techniques", "actors"):
        assert {len(getattr(i, attr)) for i in sample} == {0, 1, 2, 3, 4, 5}, attr
    assert Counter(m for i in sample for m in i.motives).most_common(1)[0][0] == "financial"
    assert 0.85 < share(sample, lambda i: i.posture is not None) < 0.95
    assert 0.95 < share(sample, lambda i: i.published) < 0.99


def test_about_a_fifth_of_victims_recur(sample):
    per_victim = Counter(id(i.victim) for i in sample)
    recurring = sum(1 for n in per_victim.values() if n > 1) / len(per_victim)
    assert 0.15 < recurring < 0.25
    assert len({i.victim.name.lower() for i in sample}) == len(per_victim)


def test_public_text_never_uses_gated_vocabulary(sample):
    # Synthetic actor names are made of these words and motives are gated: a public
    # text search must not match them through summaries, descriptions or victim names.
    gated = {w.lower() for w in synthetic.ACTOR_ADJECTIVES + synthetic.ACTOR_NOUNS}
    gated |= {m for m in synthetic.MOTIVES.items if m not in ("other", "fun", "fear")}
    for i in sample:
        words = set(re.findall(r"[a-z]+", f"{i.summary} {i.description} {i.victim.name}".lower()))
        assert not words & gated, (i.external_id, words & gated)


def test_actor_pool_names_are_unique_and_avoid_taken_names():
    taken = {"obsidian goblin gang"}
    pool = synthetic.make_actor_pool(1, range(1, 2001), taken_names=taken)
    names = [a.name.lower() for a in pool]
    assert len(set(names)) == 2000 and not taken & set(names)
    assert len({a.slug for a in pool}) == 2000
    assert {a.external_id for a in pool[:2]} == {"syn-actor-1", "syn-actor-2"}


def test_same_seed_same_incidents_and_different_seed_different():
    def run(seed):
        gen = synthetic.SyntheticIncidents(200, seed=seed, actor_pool=10, today=TODAY)
        gen.new_victims(0, 200)
        return [(i.victim.name, i.date, i.summary, i.actors) for i in gen.incidents(0, 200)]

    assert run(3) == run(3)
    assert run(3) != run(4)


# The command


@pytest.fixture(autouse=True)
def small_actor_pool(monkeypatch):
    """200 synthetic actors instead of 2,000: the same code, a faster suite."""
    monkeypatch.setattr(generate_incidents, "ACTOR_POOL", 200)


@pytest.fixture
def techniques(db):
    taggable = [TechniqueFactory(attack_id=t) for t in ("T1566", "T1078", "T1486", "T1190")]
    taggable += TechniqueFactory.create_batch(4)
    TechniqueFactory(attack_id="T1999", is_deprecated=True)
    TechniqueFactory(attack_id="T1998", is_revoked=True)
    return taggable


@pytest.fixture
def other_rows(db):
    """Demo rows that synthetic data must leave alone."""
    actor = ThreatActorFactory(name="Real Group")
    motive = MotiveFactory(slug="financial", name="Financial")
    technique = TechniqueFactory(attack_id="T1059")
    incident = IncidentFactory(motives=[motive], techniques=[technique], threat_actors=[actor])
    SourceFactory(incident=incident)
    CIAPostureFactory(incident=incident)
    return incident


MODELS = (Incident, Organisation, ThreatActor, Source, CIAPosture, Dataset, Sector, Motive)


def table_counts():
    counts = {m.__name__: m.objects.count() for m in MODELS}
    for name in ("motives", "techniques", "threat_actors"):
        counts[name] = getattr(Incident, name).through.objects.count()
    return counts


@pytest.mark.django_db
def test_creates_that_many_valid_incidents(techniques, other_rows):
    out = generate(count=300, batch=120)
    incidents = synthetic_incidents()
    assert incidents.count() == 300
    assert "Generated 300 incidents" in out and "seed 7" in out
    assert sorted(int(e[4:]) for e in incidents.values_list("external_id", flat=True)) == list(
        range(1, 301)
    )
    assert Incident.objects.values("slug").distinct().count() == Incident.objects.count()
    dataset = Dataset.objects.get(slug="synthetic")
    assert (dataset.name, dataset.licence) == ("Synthetic test data", "none")
    for status, has_timestamp in (("published", True), ("draft", False)):
        rows = incidents.filter(status=status)
        assert rows.exists()
        assert all((i.published_at is not None) == has_timestamp for i in rows)
    # Model validation agrees with what went straight to the database.
    for incident in incidents.order_by("external_id")[:40]:
        incident.full_clean()
        incident.organisation.full_clean()
        for source in incident.sources.all():
            source.full_clean()
        if hasattr(incident, "cia_posture"):
            incident.cia_posture.full_clean()
    pairs = incidents.values_list(
        "country", "organisation__country", "sector", "organisation__sector"
    )
    assert all(c == oc and s == os for c, oc, s, os in pairs)  # an incident is where its victim is


@pytest.mark.django_db
def test_distributions_roughly_hold(techniques):
    generate(count=300)
    incidents = synthetic_incidents()
    precision = Counter(incidents.values_list("date_precision", flat=True))
    assert 0.33 < precision["day"] / 300 < 0.60
    assert 0.90 < incidents.filter(status="published").count() / 300 < 1
    assert 0.55 < incidents.filter(country="US").count() / 300 < 0.85
    assert incidents.filter(date__year__range=(2010, 2016)).count() / 300 > 0.6
    assert 0.75 < CIAPosture.objects.filter(incident__in=incidents).count() / 300 < 0.98


@pytest.mark.django_db
def test_every_incident_has_0_to_5_of_each_relation(techniques):
    generate(count=300)
    incidents = synthetic_incidents().annotate(
        m=Count("motives", distinct=True),
        t=Count("techniques", distinct=True),
        a=Count("threat_actors", distinct=True),
        s=Count("sources", distinct=True),
    )
    for row in incidents.values("m", "t", "a", "s"):
        assert 0 <= row["m"] <= 5 and 0 <= row["t"] <= 5 and 0 <= row["a"] <= 5
        assert 1 <= row["s"] <= 3
    assert max(r["t"] for r in incidents.values("t")) >= 3
    used = Technique.objects.filter(incidents__in=synthetic_incidents()).distinct()
    assert set(used) <= set(techniques)  # never deprecated or revoked, none created
    assert Technique.objects.count() == len(techniques) + 2
    actors = ThreatActor.objects.filter(incidents__in=synthetic_incidents()).distinct()
    assert actors.exists()
    assert not actors.exclude(dataset__slug="synthetic").exists()
    assert not actors.filter(is_unattributed=True).exists()


@pytest.mark.django_db
def test_victims_recur_and_are_new(techniques, other_rows):
    generate(count=300)
    per_org = Counter(synthetic_incidents().values_list("organisation", flat=True))
    recurring = sum(1 for n in per_org.values() if n > 1)
    assert 0.08 < recurring / len(per_org) < 0.35
    assert other_rows.organisation_id not in per_org
    assert Organisation.objects.count() == len(per_org) + 1


@pytest.mark.django_db
def test_seed_makes_it_deterministic(techniques):
    def snapshot():
        rows = synthetic_incidents().order_by("external_id")
        return [
            (
                i.external_id,
                i.slug,
                i.organisation.name,
                i.date,
                i.date_precision,
                i.summary,
                i.description,
                i.records_affected,
                i.status,
                sorted(m.slug for m in i.motives.all()),
                sorted(t.attack_id for t in i.techniques.all()),
                sorted(a.name for a in i.threat_actors.all()),
                sorted((s.url, s.title, s.published_on) for s in i.sources.all()),
            )
            for i in rows.select_related("organisation")
        ]

    generate(count=120, seed=11)
    first = snapshot()
    call_command("generate_incidents", delete=True, stdout=StringIO())
    generate(count=120, seed=11)
    assert snapshot() == first
    call_command("generate_incidents", delete=True, stdout=StringIO())
    generate(count=120, seed=12)
    assert snapshot() != first


@pytest.mark.django_db
def test_a_second_run_adds_more_without_collisions(techniques):
    generate(count=300, seed=1)
    out = generate(count=200, seed=1)  # even the same seed must not collide
    assert "syn-301..syn-500" in out
    incidents = synthetic_incidents()
    assert incidents.count() == 500
    assert incidents.values("external_id").distinct().count() == 500
    assert Incident.objects.values("slug").distinct().count() == 500
    names = Organisation.objects.values_list("name", flat=True)
    assert len({n.lower() for n in names}) == len(names)
    pool = ThreatActor.objects.filter(dataset__slug="synthetic")
    assert pool.count() == generate_incidents.ACTOR_POOL  # created once, then reused


@pytest.mark.django_db
def test_delete_removes_exactly_the_synthetic_rows(techniques, other_rows):
    before = table_counts()
    generate(count=300)
    synthetic_actor = ThreatActor.objects.filter(dataset__slug="synthetic").first()
    other_rows.threat_actors.add(synthetic_actor)  # a staff member tagged real data with it
    kept_victim = synthetic_incidents().first().organisation
    kept = IncidentFactory(organisation=kept_victim)  # ... and filed a real incident under it

    out = StringIO()
    call_command("generate_incidents", delete=True, stdout=out)

    assert "300 incidents" in out.getvalue()
    assert not synthetic_incidents().exists()
    assert not ThreatActor.objects.filter(dataset__slug="synthetic").exists()
    assert not Dataset.objects.filter(slug="synthetic").exists()
    after = table_counts()
    # Sectors and motives the command added stay: they are shared vocabulary.
    for key in ("Sector", "Motive"):
        assert after.pop(key) >= before.pop(key)
    assert after == {**before, "Incident": before["Incident"] + 1, "Organisation": 2}
    other_rows.refresh_from_db()
    assert list(other_rows.threat_actors.values_list("name", flat=True)) == ["Real Group"]
    assert other_rows.motives.count() == other_rows.techniques.count() == 1
    assert other_rows.sources.count() == 1 and other_rows.cia_posture
    assert Organisation.objects.filter(pk=kept_victim.pk).exists()
    assert Incident.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db
def test_delete_without_synthetic_data():
    out = StringIO()
    call_command("generate_incidents", delete=True, stdout=out)
    assert "No synthetic data" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("ratio, published", [(1.0, 60), (0.0, 0)])
def test_publish_ratio(ratio, published):
    generate(count=60, publish_ratio=ratio)
    assert synthetic_incidents().filter(status="published").count() == published


@pytest.mark.django_db
@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "--count"),
        ({"count": 0}, "--count"),
        ({"count": 5, "publish_ratio": 1.5}, "--publish-ratio"),
        ({"count": 5, "batch": 0}, "--batch"),
        ({"count": 5, "delete": True}, "--delete"),
    ],
)
def test_bad_arguments(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_incidents", stdout=StringIO(), **options)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="search vector is PostgreSQL only")
def test_victim_names_are_searchable_on_postgresql(techniques):
    if not any(f.name == "search_vector" for f in Incident._meta.concrete_fields):
        pytest.skip("no search vector on Incident")
    from django.contrib.postgres.search import SearchQuery

    generate(count=50)
    incident = synthetic_incidents().select_related("organisation").first()
    place = incident.organisation.name.split()[0]
    # The trigger read the victim's name: organisations are written before incidents.
    found = synthetic_incidents().filter(search_vector=SearchQuery(place, config="english"))
    assert incident in found
