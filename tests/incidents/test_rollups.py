"""Statistics roll-ups: counted once per catalogue change, recounted by the job queue.

After a write a reader gets the previous counts at once (never a count in their request),
one recount is queued however many read, and the worker's recount is what they read next.
"""

import json

import pytest
from django.core.cache import caches
from django.test import override_settings

from incidents import caching
from incidents.models import Incident, StatisticsRollup
from incidents.statistics import counts, rollups
from incidents.statistics.rollups import refresh_statistics
from portal import versions
from tests.accounts.test_jobs import DATABASE_QUEUE, results, run_queue
from tests.conftest import client_for
from tests.factories import IncidentFactory, MotiveFactory, OrganisationFactory
from tests.locking import held_elsewhere


@pytest.fixture
def world(db):
    IncidentFactory(country="GB", motives=[MotiveFactory(name="RollupMotive")])
    IncidentFactory(country="US")


def years_csv(client, query=""):
    return client.get(f"/statistics/years.csv?{query}").content.decode()


def incidents_counted(client, query=""):
    rows = years_csv(client, query).splitlines()[1:]
    return sum(int(row.rsplit(",", 1)[1]) for row in rows)


@override_settings(TASKS=DATABASE_QUEUE)
def test_after_a_write_readers_get_the_last_count_and_one_recount_is_queued(world):
    client = client_for("anonymous")
    assert incidents_counted(client) == 2  # the first reader counts (no roll-up yet)
    assert incidents_counted(client, "country=GB") == 1
    assert results(refresh_statistics) == []
    IncidentFactory(country="GB")  # the catalogue changes
    for _ in range(3):
        assert incidents_counted(client) == 2  # the previous count, at once
        assert incidents_counted(client, "country=GB") == 1
    queued = results(refresh_statistics)
    assert sorted(r.args_kwargs["args"][1] for r in queued) == ["", "country=GB"]
    run_queue()
    caches["pages"].clear()  # what was built from the stale count is kept 15 s: they pass
    assert incidents_counted(client) == 3
    assert incidents_counted(client, "country=GB") == 2
    assert len(results(refresh_statistics)) == 2  # fresh again: nothing more queued


@override_settings(TASKS=DATABASE_QUEUE)
def test_pages_built_from_a_stale_count_are_kept_briefly(world, monkeypatch):
    client = client_for("anonymous")
    client.get("/countries/GB/")
    kept = []
    real_set = caches["pages"].set
    monkeypatch.setattr(
        caches["pages"],
        "set",
        lambda key, value, timeout: kept.append(timeout) or real_set(key, value, timeout),
    )
    IncidentFactory(country="GB")
    assert client.get("/countries/GB/").status_code == 200
    assert rollups.STALE_TIMEOUT in kept and caching.PAGE_TIMEOUT not in kept
    run_queue()
    caches["pages"].clear()  # as if those 15 seconds had passed
    kept.clear()
    assert client.get("/countries/GB/").status_code == 200
    assert caching.PAGE_TIMEOUT in kept and rollups.STALE_TIMEOUT not in kept


def test_the_immediate_backend_recounts_in_the_request(world):
    """Tests (and any deployment with the immediate backend) read their own writes."""
    client = client_for("anonymous")
    assert incidents_counted(client) == 2
    IncidentFactory(country="GB")
    assert incidents_counted(client) == 3


def test_audiences_are_counted_and_stored_apart(world):
    client_for("anonymous").get("/statistics/")
    client_for("member").get("/statistics/")
    client_for("staff").get("/statistics/")
    stored = {r.audience: r for r in StatisticsRollup.objects.filter(query="")}
    assert set(stored) == {"public", "member", "staff"}
    public = json.dumps(stored["public"].charts)
    assert "RollupMotive" not in public
    assert {c["name"] for c in stored["public"].charts} == set(counts.PUBLIC_CHARTS)
    assert "RollupMotive" in json.dumps(stored["member"].charts)


def test_only_the_statistics_page_and_hubs_are_rolled_up():
    for params in ({}, {"country": "GB"}, {"sector": "water"}, {"year": "2020"}):
        assert rollups.rolled_up(params)
    for params in ({"technique": "T1566.001"}, {"tactic": "initial-access"}):
        assert rollups.rolled_up(params)
    for params in (
        {"country": "GB", "sector": "water"},  # any combination: counted per catalogue version
        {"q": "ransomware"},
        {"technique": "T1"},
        {"date_from": "2020-01-01"},
        {"organisation": "acme"},
    ):
        assert not rollups.rolled_up(params)


def test_a_roll_up_round_trips_its_charts(world):
    counted = rollups.count("member", {"country": "GB"})
    assert rollups.decode(json.loads(json.dumps(rollups.encode(counted)))) == counted


def test_refresh_statistics_command_counts_the_public_pages_and_every_roll_up(world):
    from django.core.management import call_command

    client_for("member").get("/statistics/?country=US")
    call_command("refresh_statistics", verbosity=0)
    keys = set(StatisticsRollup.objects.values_list("audience", "query"))
    assert {("public", ""), ("public", "country=GB"), ("public", "country=US")} <= keys
    assert {("member", ""), ("member", "country=US")} <= keys
    version = versions.catalogue()
    assert set(StatisticsRollup.objects.values_list("version", flat=True)) == {version}


def _unpublish(victim):
    from incidents import services

    services.unpublish(Incident.objects.filter(organisation=victim))


def _save_as_draft(victim):  # the admin's change form
    for incident in Incident.objects.filter(organisation=victim):
        incident.status = Incident.Status.DRAFT
        incident.save()


def _delete(victim):
    Incident.objects.filter(organisation=victim).delete()


def _move_to_another_victim(victim):
    other = OrganisationFactory(name="Someone Else", country="FR")
    for incident in Incident.objects.filter(organisation=victim):
        incident.organisation = other
        incident.save()


def _rename(victim):
    victim.name = "Renamed Victim"
    victim.save()


@override_settings(TASKS=DATABASE_QUEUE)
@pytest.mark.parametrize(
    "withdraw", [_unpublish, _save_as_draft, _delete, _move_to_another_victim, _rename]
)
def test_after_a_withdrawal_no_stale_count_is_served(world, withdraw):
    victim = OrganisationFactory(name="Withdrawn Victim", country="FR")
    IncidentFactory.create_batch(2, organisation=victim, country="FR")
    client = client_for("anonymous")
    for url in ("/statistics/", "/countries/FR/"):
        assert "Withdrawn Victim" in client.get(url).content.decode()
    withdraw(victim)
    for url in ("/statistics/", "/countries/FR/"):
        assert "Withdrawn Victim" not in client.get(url).content.decode()
    assert results(refresh_statistics) == []  # counted in the request, not queued


@override_settings(TASKS=DATABASE_QUEUE)
def test_edits_that_withdraw_nothing_still_get_the_stale_count(world):
    victim = OrganisationFactory(name="Kept Victim", country="FR")
    first, _ = IncidentFactory.create_batch(2, organisation=victim, country="FR")
    client = client_for("anonymous")
    assert incidents_counted(client) == 4
    first.summary = "Edited summary"
    first.save()
    victim.sector = None
    victim.save()
    IncidentFactory(country="GB")
    assert incidents_counted(client) == 4  # stale, served at once
    assert [r.args_kwargs["args"][1] for r in results(refresh_statistics)] == [""]


def test_one_reader_counts_a_missing_key_while_the_others_wait_for_its_row(world, monkeypatch):
    """Readers arriving while another counts the same key wait for its row (here the other
    reader's count lands during the first wait) instead of counting it again."""
    counted = []
    real_count = rollups.count
    monkeypatch.setattr(rollups, "count", lambda *a: counted.append(a) or real_count(*a))
    lock = f"incidents:statistics-counting:public:{rollups._digest('')}"
    monkeypatch.setattr(caching, "_sleep", lambda s: rollups.refresh("public", ""))
    with held_elsewhere(lock):  # the other reader holds the lock
        result = rollups.charts("public", {})
    assert len(counted) == 1  # the other reader's count only
    assert result.charts == rollups.decode(StatisticsRollup.objects.get(query="").charts)


def test_a_reader_counts_itself_when_the_other_count_never_lands(world, monkeypatch):
    monkeypatch.setattr(caching, "ONCE_WAIT", 0.05)
    monkeypatch.setattr(caching, "ONCE_STEP", 0.01)
    lock = f"incidents:statistics-counting:public:{rollups._digest('')}"
    with held_elsewhere(lock):
        result = rollups.charts("public", {})
    assert sum(row.values[0] for row in result.charts["years"].rows) == 2
    assert StatisticsRollup.objects.filter(query="").exists()


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_reimport_that_moves_incidents_to_another_victim_withdraws(db):
    from incidents.importers.veris import RawRecord, VerisImporter, parse_record

    def run(victim):
        records = [
            {
                "timeline": {"incident": {"year": 2021, "month": 4}},
                "victim": {"victim_id": victim, "country": ["GB"]},
                "summary": f"Incident {n}.",
            }
            for n in range(2)
        ]
        VerisImporter(publish=True).run(
            [parse_record(RawRecord("test", f"KEY-{n}", r)) for n, r in enumerate(records)]
        )

    run("Old Victim Ltd")
    client = client_for("anonymous")
    assert "Old Victim Ltd" in client.get("/statistics/").content.decode()
    run("New Victim Ltd")
    page = client.get("/statistics/").content.decode()
    assert "Old Victim Ltd" not in page and "New Victim Ltd" in page


def test_the_queue_leaves_a_key_to_the_reader_counting_it(world, monkeypatch):
    counted = []
    monkeypatch.setattr(rollups, "count", lambda *a: counted.append(a) or {})
    with held_elsewhere(f"incidents:statistics-counting:public:{rollups._digest('')}"):
        refresh_statistics.call("public", "")
    assert counted == [] and not StatisticsRollup.objects.exists()
    refresh_statistics.call("public", "country=GB")
    assert counted == [("public", {"country": "GB"})]
