"""The incident list's JSON is cached per audience, URL and catalogue version
(incidents.api.endpoints.list_incidents): a member's page never reaches anyone else (a
visitor, a bad token, a registered user, a lapsed member, the same token once its
membership lapsed), staff's drafts never reach members, and a catalogue write is seen at once."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import tokens
from accounts.models import Subscription
from incidents import services
from incidents.models import Incident
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SubscriptionFactory,
    ThreatActorFactory,
)

from .helpers import api_get, token_for

URL = "/api/v1/incidents?limit=10"
GATED_VALUES = ("Espionage", "Some Secret Group")
GATED_KEYS = {"status", "cia_posture", "motives", "techniques", "threat_actors"}


@pytest.fixture
def catalogue(db):
    IncidentFactory(
        organisation=OrganisationFactory(name="Tagged Victim"),
        date=datetime.date(2021, 5, 1),
        motives=[MotiveFactory(name="Espionage", slug="espionage")],
        threat_actors=[ThreatActorFactory(name="Some Secret Group")],
    )


def leaks(response) -> list[str]:
    """The gated values and fields in an answer."""
    text = response.content.decode()
    found = [value for value in GATED_VALUES if value in text]
    for record in response.json().get("results", []):
        found += sorted(GATED_KEYS & set(record))
    return found


def test_a_members_cached_page_reaches_no_one_else(catalogue):
    member = token_for("member")
    first = api_get(URL, member)
    assert first.json()["audience"] == "member" and set(leaks(first)) == {
        *GATED_VALUES,
        *GATED_KEYS,
    }
    assert api_get(URL, member).content == first.content  # now from the cache
    for kind in ("anonymous", "registered", "expired_member"):
        answer = api_get(URL, token_for(kind))
        assert answer.status_code == 200
        assert answer.json()["audience"] == "public", kind
        assert leaks(answer) == [], kind
    bad = api_get(URL, "cip_not-a-token")
    assert bad.status_code == 401 and leaks(bad) == []


def test_a_token_whose_membership_lapsed_reads_the_public_page(catalogue):
    subscription = SubscriptionFactory()
    token = tokens.create(subscription.user, "script")[1]
    assert api_get(URL, token).json()["audience"] == "member"
    Subscription.objects.filter(pk=subscription.pk).update(
        ends_at=timezone.now() - datetime.timedelta(days=1)
    )
    lapsed = api_get(URL, token)
    assert lapsed.json()["audience"] == "public"
    assert leaks(lapsed) == []


def test_staffs_drafts_never_reach_members(catalogue):
    draft = IncidentFactory(status=Incident.Status.DRAFT, date=datetime.date(2022, 1, 1))
    staff_page = api_get(URL, token_for("staff")).json()
    assert draft.slug in [r["slug"] for r in staff_page["results"]]
    for kind in ("member", "anonymous"):
        listed = api_get(URL, token_for(kind)).json()
        assert draft.slug not in [r["slug"] for r in listed["results"]], kind


def test_a_catalogue_write_is_seen_at_once(catalogue):
    before = api_get(URL).json()["results"]
    added = IncidentFactory(date=datetime.date(2023, 3, 3))
    assert [r["slug"] for r in api_get(URL).json()["results"]] == [
        added.slug,
        *[r["slug"] for r in before],
    ]
    services.unpublish(Incident.objects.filter(pk=added.pk))
    assert api_get(URL).json()["results"] == before


def test_a_cached_page_costs_no_query_and_keeps_its_headers(catalogue, settings):
    """No catalogue query: only the rate limit's count (one statement: portal.counters,
    in the database without Redis) and the versions' read (portal.versions, once per
    request in the tests)."""
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 2
    first = api_get(URL)
    with CaptureQueriesContext(connection) as queries:
        again = api_get(URL)
    count, versions = [q["sql"] for q in queries]
    assert count.startswith('INSERT INTO "portal_counter"')
    assert versions.startswith('SELECT "portal_version"')
    assert again.content == first.content
    assert "private" in again["Cache-Control"] and "Authorization" in again["Vary"]
    assert again["Content-Type"] == "application/json; charset=utf-8"
    assert api_get(URL).status_code == 429  # a cached page still counts


def test_each_url_is_its_own_page(catalogue):
    IncidentFactory(date=datetime.date(2020, 1, 1))
    first = api_get("/api/v1/incidents?limit=1").json()
    assert first["next_cursor"]
    second = api_get(f"/api/v1/incidents?limit=1&cursor={first['next_cursor']}").json()
    assert second["results"] != first["results"]
    assert api_get("/api/v1/incidents?limit=1&x=1").json()["next"].endswith("x=1")
    assert api_get("/api/v1/incidents?limit=1&x=2").json()["next"].endswith("x=2")
    assert api_get("/api/v1/incidents?limit=0").status_code == 400
