"""The whole public catalogue as one file (/data/incidents.csv, .json; incidents.exports.snapshot):
the public export of every published incident, written by the job queue, served while no
withdrawal happened since it was written; never a gated value, a draft or a withdrawn incident."""

import csv
import datetime
import io
import json

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.db.models import F
from django.test import override_settings
from django_tasks_db.backend import DatabaseBackend

from incidents import services
from incidents.exports import build, snapshot
from incidents.exports.snapshot import build_public_snapshot
from incidents.models import Incident, PublicSnapshot
from incidents.views import snapshots as snapshot_views
from portal import db_router
from tests.accounts.test_jobs import DATABASE_QUEUE, results, run_queue
from tests.conftest import client_for
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    TechniqueFactory,
    ThreatActorFactory,
)
from tests.locking import UNREACHABLE_REDIS, held_elsewhere

GATED = ("Snapshot Motive Word", "Snapshot Actor Name", "T1999")


@pytest.fixture
def world(db, settings, exports_storage):
    # The file's addresses are the site's; the live export's are the request's.
    settings.SITE_URL = "http://testserver"
    settings.EXPORT_PUBLIC_ROWS_PER_DAY = 10**6
    gated = IncidentFactory(
        summary="Gated incident",
        motives=[MotiveFactory(name=GATED[0])],
        threat_actors=[ThreatActorFactory(name=GATED[1])],
        techniques=[TechniqueFactory(attack_id=GATED[2])],
    )
    plain = IncidentFactory(organisation=OrganisationFactory(name="Kept Victim"))
    leaving = IncidentFactory(organisation=OrganisationFactory(name="Leaving Victim"))
    IncidentFactory(summary="Draft summary", status=Incident.Status.DRAFT)
    return {"gated": gated, "plain": plain, "leaving": leaving}


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("kind", ["anonymous", "registered", "expired_member", "member"])
def test_the_file_is_the_public_export_of_every_published_incident(kind, world, client):
    """The same bytes as the finder's public CSV of everything, for every viewer, members too
    (it is the public file): public fields and the gated counts, nothing gated, no draft."""
    response = client_for(kind).get("/data/incidents.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="incidents-public-' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-cache"
    assert response["X-Snapshot-Rows"] == "3"
    data = body_of(response)
    assert data == b"".join(client.get("/incidents/export.csv").streaming_content)
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    gated_row = next(r for r in rows if r["summary"] == "Gated incident")
    assert (gated_row["motive_count"], gated_row["technique_count"]) == ("1", "1")
    assert gated_row["threat_actor_count"] == "1"
    for value in (*GATED, "Draft summary"):
        assert value not in text


def test_the_json_file_is_the_public_json_export(world, client):
    response = client.get("/data/incidents.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = json.loads(body_of(response))
    assert document["audience"] == "public"
    assert document["count"] == 3
    assert {r["victim"]["name"] for r in document["incidents"]} >= {"Kept Victim"}
    for value in (*GATED, "Draft summary"):
        assert value not in json.dumps(document)


def test_an_unknown_format_or_a_write_is_refused(world, client):
    assert client.get("/data/incidents.stix.json").status_code == 404
    assert client.get("/data/incidents.xml").status_code == 404
    assert client.post("/data/incidents.csv").status_code == 405
    head = client.head("/data/incidents.csv")
    assert head.status_code == 200 and head["X-Snapshot-Rows"] == "3"


def test_an_unchanged_file_answers_304(world, client):
    first = client.get("/data/incidents.csv")
    again = client.get("/data/incidents.csv", headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]


@override_settings(TASKS=DATABASE_QUEUE)
def test_after_a_withdrawal_the_old_file_is_never_served(
    world, client, django_capture_on_commit_callbacks
):
    snapshot.build_now("csv")
    assert b"Leaving Victim" in body_of(client.get("/data/incidents.csv"))

    with django_capture_on_commit_callbacks(execute=True):
        services.unpublish(Incident.objects.filter(pk=world["leaving"].pk))
    for _ in range(3):
        response = client.get("/data/incidents.csv")
        assert response.status_code == 503
        assert response["Retry-After"] == "120" and "no-store" in response["Cache-Control"]
        assert b"being written" in response.content
    assert len(results(build_public_snapshot)) == 1  # asked once, however many readers

    run_queue()
    response = client.get("/data/incidents.csv")
    assert response.status_code == 200
    data = body_of(response)
    assert b"Kept Victim" in data and b"Leaving Victim" not in data


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_file_behind_the_catalogue_is_served_and_written_again_after_the_interval(
    world, client, settings
):
    snapshot.build_now("csv")
    IncidentFactory(organisation=OrganisationFactory(name="Newly Published"))

    settings.PUBLIC_SNAPSHOT_INTERVAL = 3600  # written just now: not asked again yet
    response = client.get("/data/incidents.csv")
    assert response.status_code == 200 and b"Newly Published" not in body_of(response)
    assert results(build_public_snapshot) == []

    PublicSnapshot.objects.update(built_at=F("built_at") - datetime.timedelta(hours=2))
    for _ in range(2):
        assert client.get("/data/incidents.csv").status_code == 200
    assert len(results(build_public_snapshot)) == 1
    run_queue()
    assert b"Newly Published" in body_of(client.get("/data/incidents.csv"))
    assert PublicSnapshot.objects.filter(format="csv").count() == 1  # the older one deleted


def test_a_newer_file_deletes_the_older_ones(world):
    first = snapshot.build_now("csv")
    IncidentFactory()
    second = snapshot.build_now("csv")
    files = storages["exports"]
    assert not files.exists(first.file_name) and files.exists(second.file_name)
    assert list(PublicSnapshot.objects.values_list("pk", flat=True)) == [second.pk]
    assert second.rows == 4


def test_a_file_being_written_is_not_written_twice(world):
    with held_elsewhere("snapshot:building:csv"):
        assert snapshot.build_now("csv") is None
    assert not PublicSnapshot.objects.exists()


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_file_gone_from_storage_is_a_clear_503_and_written_again(world, client):
    made = snapshot.build_now("csv")
    storages["exports"].delete(made.file_name)
    response = client.get("/data/incidents.csv")
    assert response.status_code == 503
    assert len(results(build_public_snapshot)) == 1


def test_the_command_writes_both_formats(world):
    out = io.StringIO()
    call_command("build_public_snapshots", stdout=out)
    assert "csv: 3 incidents" in out.getvalue() and "json: 3 incidents" in out.getvalue()
    assert sorted(PublicSnapshot.objects.values_list("format", flat=True)) == ["csv", "json"]


def test_the_data_page_links_the_files(world, client):
    snapshot.build_now("csv")
    page = client.get("/data/").content.decode()
    assert 'href="/data/incidents.csv"' in page and 'href="/data/incidents.json"' in page
    assert "3 incidents" in page


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_current_file_is_not_written_again_however_old(world, client):
    snapshot.build_now("csv")
    PublicSnapshot.objects.update(built_at=F("built_at") - datetime.timedelta(days=30))
    assert client.get("/data/incidents.csv").status_code == 200
    assert results(build_public_snapshot) == []


def test_a_withdrawal_while_the_file_is_written_makes_it_write_again(world, client, monkeypatch):
    """The versions are read before the rows: a file that may hold what was withdrawn while
    it was written is never served (nor kept in place of the older servable one)."""
    written = []
    pieces = build.pieces

    def withdrawing_once(*args, **kwargs):
        assert db_router._on_primary.get()  # read from the primary, never a replica
        if not written:
            services.unpublish(Incident.objects.filter(pk=world["leaving"].pk))
        written.append(1)
        return pieces(*args, **kwargs)

    monkeypatch.setattr(build, "pieces", withdrawing_once)
    made = snapshot.build_now("csv")
    assert len(written) == 2
    assert list(PublicSnapshot.objects.values_list("pk", flat=True)) == [made.pk]
    data = body_of(client.get("/data/incidents.csv"))
    assert b"Kept Victim" in data and b"Leaving Victim" not in data


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_queue_that_cannot_be_reached_leaves_the_file_served(world, client, monkeypatch, caplog):
    snapshot.build_now("csv")
    IncidentFactory()
    PublicSnapshot.objects.update(built_at=F("built_at") - datetime.timedelta(hours=2))

    def unreachable(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(DatabaseBackend, "enqueue", unreachable)
    assert client.get("/data/incidents.csv").status_code == 200
    assert "Could not enqueue" in caplog.text
    PublicSnapshot.objects.all().delete()
    assert client.get("/data/incidents.csv").status_code == 503
    monkeypatch.undo()
    # The failed attempt did not stop the next reader from asking.
    assert client.get("/data/incidents.csv").status_code == 503
    assert len(results(build_public_snapshot)) == 1


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_shared_cache_that_is_down_queues_nothing(world, client, settings):
    """Without the shared cache nobody can tell a file was asked for: every request would
    queue a whole-catalogue build."""
    settings.CACHES = {**settings.CACHES, "pages": UNREACHABLE_REDIS}
    for _ in range(3):
        assert client.get("/data/incidents.csv").status_code == 503
    assert results(build_public_snapshot) == []


def test_a_file_replaced_while_looked_up_serves_the_newer_one(world, client, monkeypatch):
    older = snapshot.build_now("csv")
    newer = snapshot.build_now("csv")
    answers = iter([older, newer])
    servable = snapshot.servable
    monkeypatch.setattr(snapshot, "servable", lambda fmt: next(answers, None) or servable(fmt))
    response = client.get("/data/incidents.csv")
    assert response.status_code == 200
    assert response["ETag"].startswith(f'"{newer.pk}-')


def test_a_download_resumes_with_a_range(world, client):
    whole = client.get("/data/incidents.csv")
    assert whole["Accept-Ranges"] == "bytes"
    data, etag = body_of(whole), whole["ETag"]
    size = len(data)

    def ranged(value, **headers):
        return client.get("/data/incidents.csv", headers={"range": value, **headers})

    first = ranged("bytes=0-9")
    assert first.status_code == 206 and body_of(first) == data[:10]
    assert first["Content-Range"] == f"bytes 0-9/{size}" and first["Content-Length"] == "10"
    rest = ranged("bytes=10-")
    assert rest.status_code == 206 and body_of(rest) == data[10:]
    tail = ranged("bytes=-5")
    assert tail.status_code == 206 and body_of(tail) == data[-5:]
    past_end = ranged(f"bytes=5-{size + 100}")
    assert past_end.status_code == 206 and body_of(past_end) == data[5:]
    assert ranged("bytes=5-", **{"if-range": etag}).status_code == 206
    beyond = ranged(f"bytes={size}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{size}"
    # Not understood, several ranges, or another file's ETag: the whole file.
    for value, headers in [
        ("bytes=9-2", {}),
        ("bytes=0-1,5-6", {}),
        ("lines=1-2", {}),
        ("bytes=-", {}),
        ("bytes=0-9", {"if-range": '"another-file"'}),
    ]:
        response = ranged(value, **headers)
        assert response.status_code == 200 and body_of(response) == data, value


def test_odd_ranges_and_heads_are_clear_answers(world, client, monkeypatch):
    data = body_of(client.get("/data/incidents.csv"))
    size = len(data)
    huge = "9" * 5000
    for value in (f"bytes={huge}-", f"bytes=0-{huge}", f"bytes=-{huge}"):
        response = client.get("/data/incidents.csv", headers={"range": value})
        assert response.status_code == 200 and body_of(response) == data  # not understood
    empty = client.get("/data/incidents.csv", headers={"range": "bytes=-0"})
    assert empty.status_code == 416
    dated = client.get(
        "/data/incidents.csv",
        headers={"range": "bytes=0-9", "if-range": "Tue, 01 Dec 2026 00:00:00 GMT"},
    )
    assert dated.status_code == 200 and body_of(dated) == data
    # HEAD: the headers of the GET, the file never read.
    opened = []
    real = snapshot_views._open

    def spying(found):
        handle = real(found)
        opened.append(handle)
        return handle

    monkeypatch.setattr(snapshot_views, "_open", spying)
    head = client.head("/data/incidents.csv", headers={"range": "bytes=10-"})
    assert head.status_code == 206 and head["Content-Length"] == str(size - 10)
    assert head["Content-Range"] == f"bytes 10-{size - 1}/{size}" and head.content == b""
    whole = client.head("/data/incidents.csv")
    assert whole.status_code == 200 and whole["Content-Length"] == str(size)
    ranged = client.get("/data/incidents.csv", headers={"range": "bytes=0-3"})
    ranged.close()  # never read
    assert opened and all(handle.closed for handle in opened)


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_file_cut_short_is_never_served(world, client):
    made = snapshot.build_now("csv")
    with storages["exports"].open(made.file_name, "wb") as handle:
        handle.write(b"url,slug\n")
    for headers in ({}, {"range": "bytes=0-"}):
        assert client.get("/data/incidents.csv", headers=headers).status_code == 503
    assert len(results(build_public_snapshot)) == 1
