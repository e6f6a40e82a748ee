"""The read-only API (incidents.api, docs/api.md): who gets which fields, the finder's
filters per audience, cursor pages, bad input, tokens, rate limits and ETags."""

import datetime

import pytest
from django.test import Client

from accounts import tokens
from tests.conftest import MEMBERS, NON_MEMBERS, VERSIONS_READ, VIEWERS
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

from .helpers import api_get, token_for

GATED_KEYS = {"status", "cia_posture", "motives", "techniques", "threat_actors"}


@pytest.fixture
def catalogue(db):
    espionage = MotiveFactory(name="Espionage", slug="espionage")
    actor = ThreatActorFactory(name="Some Group", aliases=["Alias"], country="RU")
    tagged = IncidentFactory(
        organisation=OrganisationFactory(name="Tagged Victim"),
        date=datetime.date(2021, 5, 1),
        motives=[espionage],
        techniques=[TechniqueFactory(attack_id="T1566", name="Phishing")],
        threat_actors=[actor],
    )
    CIAPostureFactory(incident=tagged, confidentiality="high")
    others = [IncidentFactory(date=datetime.date(2020, 1, d)) for d in range(1, 6)]
    return {"tagged": tagged, "others": others, "actor": actor}


@pytest.mark.parametrize("kind", VIEWERS)
def test_each_viewer_gets_the_fields_of_their_audience(kind, catalogue):
    token = token_for(kind)
    member = kind in MEMBERS
    listing = api_get("/api/v1/incidents", token).json()
    assert listing["audience"] == ("member" if member else "public")
    assert len(listing["results"]) == 6
    detail = api_get(f"/api/v1/incidents/{catalogue['tagged'].slug}", token).json()
    for record in [*listing["results"], detail]:
        assert {"slug", "victim", "summary", "counts", "sources"} <= set(record)
        assert (set(record) >= GATED_KEYS) if member else not (GATED_KEYS & set(record))
    assert detail["counts"] == {"motives": 1, "techniques": 1, "threat_actors": 1}
    if member:
        assert detail["motives"] == ["Espionage"]
        assert detail["cia_posture"]["confidentiality"] == "high"
        assert detail["threat_actors"][0]["aliases"] == ["Alias"]


@pytest.mark.parametrize("kind", VIEWERS)
def test_threat_actors_show_their_gated_fields_to_members_only(kind, catalogue):
    token = token_for(kind)
    actor = api_get(f"/api/v1/threat-actors/{catalogue['actor'].slug}", token).json()
    listed = api_get("/api/v1/threat-actors", token).json()["results"]
    for shown in (actor, *listed):
        assert shown["name"] == "Some Group"
        if kind in MEMBERS:
            assert shown["aliases"] == ["Alias"] and shown["location"] == "RU"
        else:
            assert not {"aliases", "location", "type", "attack_id"} & set(shown)


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_a_non_members_gated_filters_do_not_narrow(kind, catalogue):
    token = token_for(kind)
    everything = api_get("/api/v1/incidents", token).json()
    gated = api_get(
        "/api/v1/incidents?motive=espionage&technique=T1566&actor=some-group"
        "&confidentiality=high&actor_country=RU",
        token,
    ).json()
    assert gated == everything
    assert gated["query"] == {}
    stats = api_get("/api/v1/statistics", token).json()
    assert api_get("/api/v1/statistics?motive=espionage", token).json() == stats
    assert {c["name"] for c in stats["charts"]}.isdisjoint({"motives", "techniques", "cia"})


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_filter_and_count_by_gated_values(kind, catalogue):
    token = token_for(kind)
    found = api_get("/api/v1/incidents?motive=espionage", token).json()
    assert [r["slug"] for r in found["results"]] == [catalogue["tagged"].slug]
    assert found["query"] == {"motive": "espionage"}
    charts = api_get("/api/v1/statistics", token).json()["charts"]
    motives = next(c for c in charts if c["name"] == "motives")
    assert [(r["key"], r["values"]) for r in motives["rows"]] == [("espionage", [1])]


@pytest.mark.django_db
def test_public_filters_and_search_apply_to_everyone(catalogue):
    year = api_get("/api/v1/incidents?year=2020").json()
    assert len(year["results"]) == 5 and year["query"] == {"year": "2020"}
    found = api_get("/api/v1/incidents?q=Tagged").json()
    assert [r["slug"] for r in found["results"]] == [catalogue["tagged"].slug]
    assert found["sort"] == "relevance"


@pytest.mark.parametrize("sort", ["newest", "oldest", "records", "relevance"])
def test_cursor_pages_walk_every_incident_once(sort, catalogue):
    seen, url = [], f"/api/v1/incidents?limit=2&sort={sort}"
    while url:
        page = api_get(url.removeprefix("http://testserver")).json()
        seen += [r["slug"] for r in page["results"]]
        url = page["next"]
        assert (url is None) == (page["next_cursor"] is None)
    everything = api_get(f"/api/v1/incidents?limit=100&sort={sort}").json()["results"]
    assert seen == [r["slug"] for r in everything]
    assert len(seen) == 6


@pytest.mark.django_db
def test_the_newest_order_pages_by_keyset(catalogue):
    first = api_get("/api/v1/incidents?limit=2").json()
    assert first["next_cursor"].startswith("after:")
    assert api_get("/api/v1/incidents?sort=records&limit=2").json()["next_cursor"] == "offset:2"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=nonsense",
        "cursor=after:2020-13-01.5",
        "cursor=offset:999999",
        "sort=records&cursor=after:2020-01-01.5",
        "date_from=yesterday",
        "records_min=-1",
        "sort=sideways",
        "year=1500",
        "country=XX",
    ],
)
def test_bad_input_is_a_clear_400(query, catalogue):
    response = api_get(f"/api/v1/incidents?{query}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["detail"]


@pytest.mark.django_db
def test_unknown_objects_are_404s(catalogue):
    for path in ("incidents/nope", "organisations/nope", "threat-actors/nope"):
        response = api_get(f"/api/v1/{path}")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


@pytest.mark.django_db
def test_drafts_are_only_for_staff_tokens(catalogue):
    draft = IncidentFactory(status="draft")
    assert api_get(f"/api/v1/incidents/{draft.slug}", token_for("member")).status_code == 404
    assert api_get(f"/api/v1/incidents/{draft.slug}", token_for("staff")).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cip_00000000_" + "A" * 43,  # well formed, unknown
        "Bearer not-a-token",
        "Bearer ",
        "Token something",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_bad_token_is_a_401_never_a_visitor(header, catalogue):
    response = Client().get("/api/v1/incidents", headers={"Authorization": header})
    assert response.status_code == 401
    assert "token is not valid" in response.json()["detail"]
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.django_db
def test_a_revoked_token_is_a_401(catalogue):
    raw = token_for("member")
    assert api_get("/api/v1/incidents", raw).status_code == 200
    token = tokens.resolve(raw)
    tokens.revoke(token.user, token.pk)
    assert api_get("/api/v1/incidents", raw).status_code == 401


@pytest.mark.django_db
def test_a_lapsed_members_token_reads_like_a_visitors(catalogue):
    from django.utils import timezone

    from accounts.models import Subscription

    raw = token_for("member")
    slug = catalogue["tagged"].slug
    assert "motives" in api_get(f"/api/v1/incidents/{slug}", raw).json()
    Subscription.objects.update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
    lapsed = api_get(f"/api/v1/incidents/{slug}", raw).json()
    assert lapsed == api_get(f"/api/v1/incidents/{slug}").json()
    assert not GATED_KEYS & set(lapsed)


@pytest.mark.django_db
def test_a_session_cookie_is_not_a_token(catalogue):
    from tests.conftest import client_for

    response = client_for("member").get(f"/api/v1/incidents/{catalogue['tagged'].slug}")
    assert not GATED_KEYS & set(response.json())


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_single_objects_answer_if_none_match_with_a_304(kind, catalogue):
    token = token_for(kind)
    path = f"/api/v1/incidents/{catalogue['tagged'].slug}"
    first = api_get(path, token)
    etag = first["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    again = api_get(path, token, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert "Authorization" in again["Vary"]
    assert api_get(path, token, **{"If-None-Match": '"other"'}).status_code == 200
    catalogue["tagged"].summary = "Changed."
    catalogue["tagged"].save()
    assert api_get(path, token, **{"If-None-Match": etag}).status_code == 200


@pytest.mark.django_db
def test_audiences_have_different_etags(catalogue):
    path = f"/api/v1/incidents/{catalogue['tagged'].slug}"
    assert api_get(path)["ETag"] != api_get(path, token_for("member"))["ETag"]


@pytest.mark.django_db
def test_rate_limits_per_token_and_per_address(catalogue, settings):
    settings.API_REQUESTS_PER_MINUTE = 3
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 2
    mine, theirs = token_for("member"), token_for("registered")
    assert [api_get("/api/v1/organisations", mine).status_code for _ in range(3)] == [200] * 3
    limited = api_get("/api/v1/organisations", mine)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["detail"]
    assert api_get("/api/v1/organisations", theirs).status_code == 200  # a token of its own
    assert [api_get("/api/v1/organisations").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db
def test_techniques_are_for_members(catalogue):
    assert api_get("/api/v1/techniques").status_code == 403
    assert api_get("/api/v1/techniques", token_for("expired_member")).status_code == 403
    listed = api_get("/api/v1/techniques", token_for("member")).json()["results"]
    assert [t["attack_id"] for t in listed] == ["T1566"]


@pytest.mark.django_db
def test_every_answer_is_private_and_varies_with_the_token(catalogue):
    for path in ("/api/v1/incidents", "/api/v1/statistics", "/api/v1/incidents/nope"):
        response = api_get(path)
        assert "private" in response["Cache-Control"]
        assert "Authorization" in response["Vary"]


@pytest.mark.django_db
def test_the_schema_and_the_docs_are_served_from_our_own_files():
    schema = api_get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/incidents" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = api_get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html  # no CDN
    for script in html.split("<script")[1:]:
        head, body = script.split(">", 1)
        assert "src=" in head or 'type="application/json"' in head, "inline script"


@pytest.mark.parametrize(
    ("kind", "path", "queries"),
    [
        # Each begins with the rate limit's count (one statement: portal.counters).
        # the page's ids, those incidents, sources, incident types (prefetched)
        ("anonymous", "/api/v1/incidents?limit=100", 5),
        # token, membership, the page's ids, those incidents, sources, incident types,
        # motives, techniques, their tactics, actors
        ("member", "/api/v1/incidents?limit=100", 11),
        # organisations with their counts
        ("anonymous", "/api/v1/organisations?limit=100", 2),
        # token, membership, actors with their counts and types, their techniques (with
        # parents) and the techniques' tactics, their software
        ("member", "/api/v1/threat-actors?limit=100", 7),
        # token, membership, the incident with its posture, sources, incident types,
        # motives, techniques, their tactics, actors
        ("member", "/api/v1/incidents/{slug}", 10),
    ],
)
def test_query_counts_do_not_grow_with_the_rows(
    kind, path, queries, catalogue, django_assert_max_num_queries
):
    IncidentFactory.create_batch(
        5,
        types=["ransomware", "data-breach"],
        motives=[MotiveFactory()],
        techniques=[TechniqueFactory()],
        threat_actors=[ThreatActorFactory()],
    )
    token = token_for(kind)
    # The token's last use is noted, and the minute's rate-limit row made (which deletes
    # rows of minutes that ended): not on every call.
    api_get("/api/v1/techniques", token)
    path = path.format(slug=catalogue["tagged"].slug)
    with django_assert_max_num_queries(VERSIONS_READ + queries):
        assert api_get(path, token).status_code == 200
