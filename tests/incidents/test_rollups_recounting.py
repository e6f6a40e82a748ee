"""After a withdrawal, a roll-up too slow to count in a request is recounted by the job queue,
queued by its first reader (once, however many read it; the withdrawal itself is seen in the
database's versions, whatever wrote it: portal.versions).

Its readers get no counts until the recount lands: a notice, a 503 with Retry-After that no
cache keeps, never the previous numbers (they may count or name what was withdrawn). Keys
that count fast are still counted by their first reader.
"""

import pytest
from django.test import override_settings
from django_tasks_db.backend import DatabaseBackend

from incidents import services
from incidents.models import Incident, StatisticsRollup
from incidents.statistics import rollups
from incidents.statistics.rollups import refresh_statistics
from tests.accounts.test_jobs import DATABASE_QUEUE, results, run_queue
from tests.conftest import client_for
from tests.factories import IncidentFactory, OrganisationFactory, TechniqueFactory
from tests.incidents.api.helpers import api_get, token_for

NOTICE = "These statistics are being recounted after a correction to the catalogue"
SLOW = 60.0  # seconds a count took: above settings.STATISTICS_QUEUE_SECONDS (5)
PAGES = ("/statistics/", "/countries/FR/")


@pytest.fixture
def victim(db):
    IncidentFactory(country="GB")
    IncidentFactory(country="FR")  # the French hub stays after the victim's incidents go
    victim = OrganisationFactory(name="Withdrawn Victim", country="FR")
    IncidentFactory.create_batch(3, organisation=victim, country="FR")
    return victim


def counted_all(client, *urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Withdrawn Victim" in response.content.decode(), url


def withdraw(victim, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.unpublish(Incident.objects.filter(organisation=victim))


def assert_recounting(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(rollups.RETRY_AFTER)
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert NOTICE in body
    assert "Withdrawn Victim" not in body
    return body


def queued_keys():
    return sorted(tuple(r.args_kwargs["args"]) for r in results(refresh_statistics))


@override_settings(TASKS=DATABASE_QUEUE)
@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_after_a_withdrawal_a_slow_roll_up_is_recounted_by_the_queue(
    kind, victim, django_capture_on_commit_callbacks
):
    audience = "member" if kind == "member" else "public"
    client = client_for(kind)
    counted_all(client, *PAGES)
    assert "5 incidents in the catalogue" in client.get("/statistics/").content.decode()
    StatisticsRollup.objects.update(seconds=SLOW)

    withdraw(victim, django_capture_on_commit_callbacks)
    assert queued_keys() == []  # nothing is recounted that nobody reads
    for reader in (client, client_for(kind), client_for(kind)):
        for url in PAGES:
            body = assert_recounting(reader.get(url))
            assert "5 incidents" not in body and "4 published incidents" not in body
    assert "Latest incidents" in client.get("/countries/FR/").content.decode()
    # Several readers: each key queued once.
    assert queued_keys() == [(audience, ""), (audience, "country=FR")]

    run_queue()  # no page cache to clear: nothing built while recounting was kept
    statistics = client.get("/statistics/")
    assert statistics.status_code == 200
    assert "2 incidents in the catalogue" in statistics.content.decode()
    hub = client.get("/countries/FR/")
    assert hub.status_code == 200
    assert "Withdrawn Victim" not in hub.content.decode()
    assert NOTICE not in statistics.content.decode() + hub.content.decode()


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_withdrawal_by_a_bulk_update_is_recounted_too(victim):
    """No writer path, no signal: the database's triggers changed the withdrawal version."""
    client = client_for("anonymous")
    counted_all(client, "/statistics/")
    StatisticsRollup.objects.update(seconds=SLOW)
    Incident.objects.filter(organisation=victim).update(status="draft")
    assert queued_keys() == []
    for _ in range(3):
        assert_recounting(client.get("/statistics/"))
    assert queued_keys() == [("public", "")]
    run_queue()
    assert "2 incidents in the catalogue" in client.get("/statistics/").content.decode()


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_queue_that_cannot_be_reached_is_no_500_and_is_asked_again(victim, monkeypatch, caplog):
    client = client_for("anonymous")
    counted_all(client, "/statistics/")
    StatisticsRollup.objects.update(seconds=SLOW)
    services.unpublish(Incident.objects.filter(organisation=victim))

    def unreachable(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(DatabaseBackend, "enqueue", unreachable)
    assert_recounting(client.get("/statistics/"))
    assert "Could not enqueue" in caplog.text
    monkeypatch.undo()
    assert_recounting(client.get("/statistics/"))  # the next reader asks again
    assert queued_keys() == [("public", "")]


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_fast_roll_up_is_still_counted_in_the_request(victim, django_capture_on_commit_callbacks):
    client = client_for("member")
    counted_all(client, *PAGES)
    StatisticsRollup.objects.filter(query="").update(seconds=SLOW)
    StatisticsRollup.objects.filter(query="country=FR").update(seconds=0.5)
    withdraw(victim, django_capture_on_commit_callbacks)
    assert_recounting(client.get("/statistics/"))
    assert queued_keys() == [("member", "")]
    hub = client.get("/countries/FR/")  # fast: counted now, by its reader
    assert hub.status_code == 200
    assert NOTICE not in hub.content.decode()
    assert "Withdrawn Victim" not in hub.content.decode()
    assert queued_keys() == [("member", "")]


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_withdrawal_queues_nothing_when_every_roll_up_is_fast(
    victim, django_capture_on_commit_callbacks
):
    client = client_for("anonymous")
    counted_all(client, *PAGES)
    withdraw(victim, django_capture_on_commit_callbacks)
    for url in PAGES:
        assert client.get(url).status_code == 200
    assert queued_keys() == []


@override_settings(TASKS=DATABASE_QUEUE)
def test_downloads_and_the_api_answer_503_while_recounting(
    victim, django_capture_on_commit_callbacks
):
    technique = TechniqueFactory(attack_id="T1486")
    for incident in Incident.objects.all():
        incident.techniques.add(technique)
    token = token_for("member")
    member = client_for("member")
    assert api_get("/api/v1/statistics", token).status_code == 200
    assert member.get("/statistics/years.csv").status_code == 200
    assert member.get("/statistics/attack-layer.json").status_code == 200
    assert member.get("/attack/techniques/T1486/").status_code == 200
    StatisticsRollup.objects.update(seconds=SLOW)
    withdraw(victim, django_capture_on_commit_callbacks)

    for url in ("/statistics/years.csv", "/statistics/attack-layer.json"):
        response = member.get(url)
        assert_recounting(response)
        assert response["Content-Type"].startswith("text/plain")
        assert "FR" not in response.content.decode()
    assert_recounting(member.get("/attack/techniques/T1486/"))
    response = api_get("/api/v1/statistics", token)
    assert response.status_code == 503
    assert response["Retry-After"] == str(rollups.RETRY_AFTER)
    assert "no-store" in response["Cache-Control"]
    assert NOTICE in response.json()["detail"]
    assert "charts" not in response.json()

    run_queue()
    response = api_get("/api/v1/statistics", token)
    assert response.status_code == 200
    assert response.json()["total"] == 2
    assert member.get("/statistics/years.csv").status_code == 200


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_recounting_503_is_not_logged_as_a_server_error(victim, caplog):
    """Expected and temporary: alerting that reads django.request's ERROR lines is not woken
    by every reader during a recount."""
    client = client_for("anonymous")
    counted_all(client, "/statistics/")
    StatisticsRollup.objects.update(seconds=SLOW)
    services.unpublish(Incident.objects.filter(organisation=victim))
    with caplog.at_level("WARNING", logger="django.request"):
        assert_recounting(client.get("/statistics/"))
    assert not [r for r in caplog.records if r.name == "django.request"]
