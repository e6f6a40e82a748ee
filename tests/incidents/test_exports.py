"""Exports (/incidents/export.csv, .json, .stix.json): gating, formats, bad input, quotas,
query counts and the finder's links."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from stix2validator import ValidationOptions, validate_string

from tests.conftest import MEMBERS, NON_MEMBERS, client_for
from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SourceFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)
from tests.test_canary import (
    ACTOR_COUNTRIES,
    canaries,  # noqa: F401 - the canary fixture, reused
)

FORMATS = ["csv", "json", "stix.json"]
PUBLIC_FORMATS = ["csv", "json"]
# Besides the canary test's own: what an export could carry that pages do not.
EXPORT_GATED = [
    "canary-tactic-0",
    "canary-tactic-1",
    "canary-tactic-2",
    "Public Actor Name",  # which actor an incident is linked to is for members
    '"location"',
    "cia_posture",
    "confidentiality",
]


def body_of(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


def export(client, fmt, query="", **extra):
    response = client.get(f"/incidents/export.{fmt}{'?' + query if query else ''}", **extra)
    response.body = body_of(response)
    return response


def csv_rows(body: bytes):
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def json_without_timestamp(body: bytes):
    data = json.loads(body)
    data.pop("generated_at")
    return data


# Gating ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", NON_MEMBERS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_gated_value_in_any_export_to_a_non_member(kind, fmt, canaries):  # noqa: F811
    response = export(client_for(kind), fmt)
    if fmt == "stix.json":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert b"Linked Victim 0" in response.body  # the public part is there
    blob = response.body + str(response.headers).encode()
    for canary in canaries["gated"] + canaries["draft"] + EXPORT_GATED:
        assert canary.encode() not in blob, f"{canary!r} leaked to {kind} in {fmt}"


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_public_exports_carry_the_gated_counts_only(kind, canaries):  # noqa: F811
    data = json.loads(export(client_for(kind), "json").body)
    linked = [i for i in data["incidents"] if i["victim"]["name"] == "Linked Victim 0"][0]
    # Techniques: the canary sub-technique, its parent and a derived one.
    assert linked["counts"] == {"motives": 2, "techniques": 3, "threat_actors": 1}
    assert linked["types"] == ["ransomware"]  # public, like the sector
    assert set(linked) == {
        "slug",
        "url",
        "victim",
        "date",
        "date_precision",
        "country",
        "sector",
        "types",
        "summary",
        "description",
        "records_affected",
        "published_at",
        "updated_at",
        "sources",
        "counts",
        "provenance",
        # The timeline and the status are public (DESIGN.md).
        "confirmation",
        "timeline",
    }
    assert data["audience"] == "public"
    assert "attack" not in data["licence"]
    row = [
        r
        for r in csv_rows(export(client_for(kind), "csv").body)
        if r["victim"] == "Linked Victim 0"
    ]
    assert row[0]["motive_count"] == "2" and row[0]["threat_actor_count"] == "1"
    assert "motives" not in row[0] and "techniques" not in row[0]


MEMBER_ONLY_QUERY = (
    "motive={motive}&technique=T9900&tactic=canary-tactic-0&actor={actor}"
    "&actor_type={actor_type}&actor_country=TV&confidentiality=high&integrity=medium"
    "&availability=low"
)


def _member_only_query(canaries_incident):
    actor = canaries_incident.threat_actors.get()
    return MEMBER_ONLY_QUERY.format(
        motive=canaries_incident.motives.order_by("name").first().slug,
        actor=actor.slug,
        actor_type=actor.actor_type.slug,
    )


@pytest.mark.parametrize("kind", NON_MEMBERS)
@pytest.mark.parametrize("fmt", PUBLIC_FORMATS)
def test_member_only_parameters_do_not_narrow_a_non_members_export(kind, fmt, canaries):  # noqa: F811
    from incidents.models import Incident

    first = Incident.objects.get(organisation__name="Linked Victim 0")
    query = _member_only_query(first)
    # They do narrow a member's export, to the one incident that matches them all.
    member_rows = csv_rows(export(client_for("member"), "csv", query).body)
    assert [r["victim"] for r in member_rows] == ["Linked Victim 0"]

    client = client_for(kind)
    plain = export(client, fmt, "country=FR")
    with_members_filters = export(client, fmt, f"country=FR&{query}")
    assert plain.status_code == with_members_filters.status_code == 200
    if fmt == "csv":
        assert plain.body == with_members_filters.body
        assert len(csv_rows(plain.body)) == 3
    else:
        assert json_without_timestamp(plain.body) == json_without_timestamp(
            with_members_filters.body
        )
        assert json.loads(plain.body)["query"] == {"country": "FR"}


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_get_the_gated_fields(kind, canaries):  # noqa: F811
    client = client_for(kind)
    everything = b"".join(export(client, fmt).body for fmt in FORMATS)
    for canary in set(canaries["gated"]) - set(canaries["actor_profile"]):
        if canary.startswith(("CanaryActorDescription", 'class="')):
            continue  # an actor's description is on its page; impact classes are HTML
        if canary in ACTOR_COUNTRIES.values():
            continue  # exports give locations as ISO codes
        assert canary.encode() in everything, f"{kind} never gets {canary!r}"
    data = json.loads(export(client, "json").body)
    linked = [i for i in data["incidents"] if i["victim"]["name"] == "Linked Victim 0"][0]
    assert linked["cia_posture"] == {
        "confidentiality": "high",
        "integrity": "medium",
        "availability": "low",
        "notes": "CanaryCiaNotes0",
    }
    assert linked["threat_actors"][0]["location"] in ("TV", "NR")
    assert data["licence"]["attack"]["licence_url"].startswith("https://attack.mitre.org/")
    drafts = b"CanaryDraftSummary" in everything
    assert drafts == (kind == "staff")


# Formats -----------------------------------------------------------------------------


@pytest.fixture
def rich(db):
    tactic = TacticFactory(name="Initial Access", shortname="initial-access")
    incident = IncidentFactory(
        organisation__name="Acme Rockets",
        summary='=HYPERLINK("http://evil.example")',
        description="@SUM(A1) and more",
        motives=[MotiveFactory(name="Financial"), MotiveFactory(name="Espionage")],
        techniques=[
            TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[tactic]),
            TechniqueFactory(attack_id="T1078", name="Valid Accounts", tactics=[tactic]),
        ],
        threat_actors=[
            ThreatActorFactory(
                name="Grey Heron",
                country="KP",
                aliases=["Heron Team"],
                actor_type=ActorTypeFactory(name="Nation-state"),
            ),
            ThreatActorFactory(name="APT Example", attack_id="G0007", country=""),
        ],
    )
    CIAPostureFactory(incident=incident, confidentiality="high", notes="-1+1")
    SourceFactory(incident=incident, url="https://news.example.com/a")
    SourceFactory(incident=incident, url="https://news.example.com/b")
    IncidentFactory(organisation__name="Ünïcode Café", summary="Plain summary, with a comma")
    return incident


def test_csv_is_one_row_per_incident_with_a_bom_header_and_separator(rich):
    response = export(client_for("member"), "csv")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="incidents-')
    rows = csv_rows(response.body)
    assert [r["victim"] for r in rows] == ["Acme Rockets", "Ünïcode Café"] or len(rows) == 2
    acme = [r for r in rows if r["victim"] == "Acme Rockets"][0]
    assert acme["motives"] == "Espionage | Financial"
    assert acme["technique_ids"] == "T1078 | T1566"
    assert acme["techniques"] == "Valid Accounts | Phishing"
    assert acme["tactics"] == "Initial Access"
    assert acme["threat_actors"] == "APT Example | Grey Heron"
    assert acme["threat_actor_locations"] == " | KP"
    assert acme["sources"] == "https://news.example.com/a | https://news.example.com/b"
    assert acme["licence"] == "" and acme["dataset"] == "Cyber Incident Portal"
    cafe = [r for r in rows if r["victim"] == "Ünïcode Café"][0]
    assert cafe["summary"] == "Plain summary, with a comma"


def test_csv_neutralises_formulas(rich):
    rows = csv_rows(export(client_for("member"), "csv").body)
    acme = [r for r in rows if r["victim"] == "Acme Rockets"][0]
    assert acme["summary"] == '\'=HYPERLINK("http://evil.example")'
    assert acme["description"] == "'@SUM(A1) and more"
    assert acme["cia_notes"] == "'-1+1"


def test_csv_cells_neutralised_for_every_dangerous_start():
    from incidents.exports.csvfile import neutralised

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralised(start + "1") == "'" + start + "1"
    assert neutralised("plain") == "plain"
    assert neutralised(None) == ""
    assert neutralised(12) == "12"


def test_json_schema_and_metadata(rich):
    response = export(client_for("member"), "json", "q=acme&country=DE&motive=nonsense-ignored")
    # an unknown motive is a bad filter for a member: 400
    assert response.status_code == 400
    response = export(client_for("member"), "json", "q=acme&country=DE")
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.body)
    assert data["format"] == "cyber-incident-portal/incidents-export/1"
    assert data["query"] == {"q": "acme", "country": "DE"}
    assert data["audience"] == "member"
    assert data["count"] == len(data["incidents"]) == 1
    assert "notice" in data["licence"] and "datasets" in data["licence"]
    incident = data["incidents"][0]
    assert incident["victim"]["name"] == "Acme Rockets"
    assert [t["attack_id"] for t in incident["techniques"]] == ["T1078", "T1566"]
    assert incident["techniques"][1]["tactics"] == ["initial-access"]
    assert incident["techniques"][1]["tactic_names"] == ["Initial Access"]
    assert {a["name"]: a["type"] for a in incident["threat_actors"]}["Grey Heron"] == "Nation-state"


def test_search_text_narrows_exports_for_everyone(rich):
    for kind in ("anonymous", "member"):
        rows = csv_rows(export(client_for(kind), "csv", "q=acme").body)
        assert [r["victim"] for r in rows] == ["Acme Rockets"]


def test_a_non_members_search_does_not_match_gated_text(rich):
    # "phishing" is a technique of Acme's incident: members' search finds it, others' not.
    assert len(csv_rows(export(client_for("member"), "csv", "q=phishing").body)) == 1
    assert csv_rows(export(client_for("registered"), "csv", "q=phishing").body) == []


def test_stix_bundle_validates_and_has_the_objects(rich):
    response = export(client_for("member"), "stix.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/stix+json")
    result = validate_string(response.body.decode(), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    bundle = json.loads(response.body)
    by_type = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    assert len(by_type["incident"]) == 2
    assert {i["name"] for i in by_type["identity"]} == {"Acme Rockets", "Ünïcode Café"}
    patterns = {p["name"]: p for p in by_type["attack-pattern"]}
    assert patterns["Phishing"]["external_references"][0] == {
        "source_name": "mitre-attack",
        "external_id": "T1566",
        "url": "https://attack.mitre.org/techniques/T1566",
    }
    assert [a["name"] for a in by_type["threat-actor"]] == ["Grey Heron"]
    assert [a["name"] for a in by_type["intrusion-set"]] == ["APT Example"]
    assert by_type["location"][0]["country"] == "KP"
    kinds = {r["relationship_type"] for r in by_type["relationship"]}
    assert kinds == {"targets", "uses", "attributed-to", "located-at"}
    marking = by_type["marking-definition"][0]
    assert "CC BY-SA 4.0" in marking["definition"]["statement"]
    assert "MITRE" in marking["definition"]["statement"]
    assert all(
        o.get("object_marking_refs") == [marking["id"]]
        for o in bundle["objects"]
        if o["type"] != "marking-definition"
    )


def test_stix_ids_are_stable_across_exports(rich):
    client = client_for("member")
    first = json.loads(export(client, "stix.json").body)
    second = json.loads(export(client, "stix.json").body)
    assert [o["id"] for o in first["objects"]] == [o["id"] for o in second["objects"]]
    assert first["objects"] == second["objects"]


# Bad input ---------------------------------------------------------------------------

BAD_QUERIES = [
    "date_from=not-a-date",
    "year=abc",
    "records_min=-5",
    "records_min=" + "9" * 40,
    "sort=sideways",
    "country=ZZZ",
    "date_from=2020-13-45&date_to=\x00",
]


@pytest.mark.parametrize("kind", ["anonymous", "member"])
@pytest.mark.parametrize("query", BAD_QUERIES)
def test_malformed_filters_are_a_400(kind, query, rich):
    response = export(client_for(kind), "csv", query)
    assert response.status_code == 400
    assert b"Filters not valid" in response.body


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "\x00" * 10,
        "q=%00acme%00",
        "country=D%00E",
        "q=" + "a" * 5000,
        "page=999999999999999999999&after=nonsense",
        "organisation=" + "x" * 3000,
        "technique=" + "\x00T1566",
    ],
)
def test_absurd_values_and_nul_bytes_never_500(query, rich):
    for kind in ("anonymous", "member"):
        for fmt in FORMATS:
            response = export(client_for(kind), fmt, query)
            assert response.status_code < 500, (kind, fmt, query)


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/export.xml",
        "/incidents/export.stix",
        "/incidents/export.csv.gz",
        "/incidents/export.",
        "/incidents/export/",
    ],
)
def test_unknown_format_is_a_404(path, db):
    assert client_for("member").get(path).status_code == 404


def test_stix_is_for_members_only(rich):
    for kind in NON_MEMBERS:
        response = export(client_for(kind), "stix.json")
        assert response.status_code == 403
        assert b"for members" in response.body.lower()


def test_exports_are_get_only(rich):
    assert client_for("member").post("/incidents/export.csv").status_code == 405


# Quotas ------------------------------------------------------------------------------


@pytest.fixture
def three_incidents(db):
    return [IncidentFactory() for _ in range(3)]


def test_public_quota_counts_rows_per_ip_and_refuses_with_a_429(three_incidents, settings):
    settings.EXPORT_PUBLIC_ROWS_PER_DAY = 7
    client = client_for("anonymous")
    first = export(client, "csv")
    assert first.status_code == 200
    assert first["X-Export-Rows-Remaining"] == "4"
    second = export(client, "json")
    assert second["X-Export-Rows-Remaining"] == "1"
    refused = export(client, "csv")
    assert refused.status_code == 429
    assert b"Export quota used up" in refused.body
    assert int(refused["Retry-After"]) > 0
    assert refused["X-Export-Rows-Remaining"] == "1"
    # A refused export reserved nothing: one row still fits.
    one = export(client, "csv", "records_min=1&q=" + three_incidents[0].summary.split()[-1])
    assert one.status_code == 200, one.body
    assert len(csv_rows(one.body)) == 1
    assert one["X-Export-Rows-Remaining"] == "0"
    # Another address has its own quota; a signed-in non-member counts by address too.
    assert export(client, "csv", REMOTE_ADDR="10.0.0.9").status_code == 200
    assert export(client_for("registered"), "csv").status_code == 429


def test_member_quota_is_per_account(three_incidents, settings):
    settings.EXPORT_ROWS_PER_DAY = 5
    alice, bob = client_for("member"), client_for("member")
    assert export(alice, "stix.json")["X-Export-Rows-Remaining"] == "2"
    assert export(alice, "csv").status_code == 429
    assert export(bob, "csv")["X-Export-Rows-Remaining"] == "2"


def test_quota_shown_on_the_finder(three_incidents, settings):
    settings.EXPORT_ROWS_PER_DAY = 5
    client = client_for("member")
    export(client, "csv")
    html = client.get("/incidents/").content.decode()
    assert "2 of 5 rows left today" in html


# Query counts ------------------------------------------------------------------------


def populate(size):
    org = OrganisationFactory()
    tactics = [TacticFactory() for _ in range(2)]
    for _ in range(size):
        incident = IncidentFactory(
            organisation=org,
            types=["ransomware", "data-breach"],
            motives=[MotiveFactory() for _ in range(2)],
            techniques=[TechniqueFactory(tactics=tactics) for _ in range(2)],
            threat_actors=[ThreatActorFactory(actor_type=ActorTypeFactory()) for _ in range(2)],
        )
        CIAPostureFactory(incident=incident)
        SourceFactory(incident=incident)


def _queries(client, fmt):
    with CaptureQueriesContext(connection) as queries:
        response = export(client, fmt)
    assert response.status_code == 200
    return len(queries)


# A member's export:
#   1 session, 2 user, 3 is_member (subscription), 4 the quota used today, 5 count of
#   rows, 6 the rows reserved (one statement: portal.counters), 7 datasets (licence),
#   8 incidents with victim, sector, dataset, CIA posture and the gated counts, then per
#   chunk of EXPORT_CHUNK_SIZE rows: 9 sources, 10 incident types, 11 motives, 12
#   techniques with parents, 13 their tactics, 14 threat actors with their types.
MEMBER_QUERIES = 14
# A visitor's: 1 the quota used today, 2 count, 3 the rows reserved, 4 datasets,
# 5 incidents, 6 sources, 7 incident types (per chunk).
PUBLIC_QUERIES = 7
# The day's first export makes the quota's row, and deletes rows of windows that ended
# (portal.counters): one statement more, once a day. Each test exports once first.
# On PostgreSQL, one more: JIT compilation off for the export's transaction.
if connection.vendor == "postgresql":
    MEMBER_QUERIES += 1
    PUBLIC_QUERIES += 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_member_export_queries_do_not_grow_with_rows(fmt, db, django_assert_max_num_queries):
    client = client_for("member")
    populate(2)
    export(client, fmt)  # the day's first
    small = _queries(client, fmt)
    populate(8)
    with django_assert_max_num_queries(MEMBER_QUERIES):
        response = export(client, fmt)
    assert response.status_code == 200
    assert _queries(client, fmt) == small


@pytest.mark.parametrize("fmt", PUBLIC_FORMATS)
def test_public_export_queries_do_not_grow_with_rows(fmt, db, django_assert_max_num_queries):
    client = client_for("anonymous")
    populate(2)
    export(client, fmt)  # the day's first
    small = _queries(client, fmt)
    populate(8)
    with django_assert_max_num_queries(PUBLIC_QUERIES):
        export(client, fmt)
    assert _queries(client, fmt) == small


def test_rows_are_read_in_chunks(db, settings):
    settings.EXPORT_CHUNK_SIZE = 3
    populate(7)
    client = client_for("anonymous")
    with CaptureQueriesContext(connection) as queries:
        rows = csv_rows(export(client, "csv").body)
    assert len(rows) == 7
    sources = [q for q in queries if "incidents_source" in q["sql"]]
    assert len(sources) == 3  # one per chunk of 3: 3 + 3 + 1


# The finder's links ------------------------------------------------------------------


def test_finder_links_carry_the_canonical_query(three_incidents):
    html = client_for("anonymous").get("/incidents/?country=DE&motive=x&sort=newest").content
    assert b'href="/incidents/export.csv?country=DE"' in html
    assert b'href="/incidents/export.json?country=DE"' in html
    assert b"/incidents/export.stix.json" not in html
    assert b"Up to 10,000 rows a day" in html


def test_finder_links_for_members_include_stix(three_incidents):
    html = client_for("member").get("/incidents/?country=DE").content
    for fmt in FORMATS:
        assert f'href="/incidents/export.{fmt}?country=DE"'.encode() in html
    assert b"100,000 of 100,000 rows left today" in html


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_file_starts_before_any_incident_is_read(fmt, db):
    populate(3)
    response = client_for("member").get(f"/incidents/export.{fmt}")
    assert response.streaming
    pieces = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(pieces)
    assert first.startswith((b"\xef\xbb\xbfurl,", b'{"format"', b'{"type":"bundle"'))
    assert not [q for q in queries if 'FROM "incidents_incident"' in q["sql"]]
    rest = b"".join(pieces)
    assert b"Public summary" in first + rest


def test_an_export_never_writes_more_rows_than_it_reserved(three_incidents, monkeypatch):
    from incidents.exports.quota import ExportQuota

    reserve = ExportQuota.reserve

    def reserve_then_publish(self, rows):
        IncidentFactory(organisation__name="Published Meanwhile")
        return reserve(self, rows)

    monkeypatch.setattr(ExportQuota, "reserve", reserve_then_publish)
    response = export(client_for("anonymous"), "csv")
    assert response["X-Export-Rows-Remaining"] == "9997"
    assert len(csv_rows(response.body)) == 3
