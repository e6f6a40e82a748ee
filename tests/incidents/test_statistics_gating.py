"""Gated statistics never reach a non-member: no chart, no table, no count, no link."""

import pytest
from django.utils.html import escape

from incidents.statistics import counts
from tests.conftest import MEMBERS, NON_MEMBERS, client_for
from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    SectorFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

GATED = [
    "GatedMotiveName",
    "gated-motive",
    "T1566",
    "GatedTechniqueName",
    "GatedTacticName",
    "gated-tactic",
    "GatedActorTypeName",
    "gated-actor-type",
    "Gated Actor Name",
    "North Korea",
    'id="chart-cia"',
    "/statistics/cia.csv",
]
MEMBER_ONLY_QUERY = (
    "motive=gated-motive&technique=T1566&tactic=gated-tactic&actor_type=gated-actor-type"
    "&actor_country=KP&confidentiality=high&integrity=low&availability=none&actor=gated-actor"
)


@pytest.fixture
def world(db):
    technique = TechniqueFactory(
        attack_id="T1566",
        name="GatedTechniqueName",
        tactics=[TacticFactory(name="GatedTacticName", shortname="gated-tactic")],
    )
    actor = ThreatActorFactory(
        name="Gated Actor Name",
        slug="gated-actor",
        country="KP",
        actor_type=ActorTypeFactory(name="GatedActorTypeName", slug="gated-actor-type"),
    )
    sector = SectorFactory(name="Water", slug="water")
    tagged = IncidentFactory(
        country="FR",
        sector=sector,
        motives=[MotiveFactory(name="GatedMotiveName", slug="gated-motive")],
        techniques=[technique],
        threat_actors=[actor],
    )
    CIAPostureFactory(incident=tagged, confidentiality="high", integrity="low")
    IncidentFactory(country="DE", sector=sector)


def assert_nothing_gated(body: bytes, where: str):
    for text in GATED:
        assert text.encode() not in body, f"{text!r} reached a non-member at {where}"


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_non_members_page_and_csvs_hold_no_gated_value(world, kind):
    # A member's counts are cached first: they must never be served to another audience.
    for member_kind in MEMBERS:
        assert client_for(member_kind).get("/statistics/").status_code == 200
    client = client_for(kind)
    for query in ("", MEMBER_ONLY_QUERY, "sector=water&" + MEMBER_ONLY_QUERY):
        response = client.get("/statistics/?" + query)
        assert response.status_code == 200
        assert_nothing_gated(response.content, f"/statistics/?{query}")
        html = response.content.decode()
        assert "Available to members" in html
        for title in counts.MEMBER_CHARTS.values():
            assert escape(title) in html  # named in the locked panel, with no number
        for name in counts.PUBLIC_CHARTS:
            csv = client.get(f"/statistics/{name}.csv?{query}")
            assert csv.status_code == 200
            assert_nothing_gated(csv.content, f"/statistics/{name}.csv?{query}")


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_members_csvs_answer_404_to_non_members(world, kind):
    client = client_for(kind)
    for name in counts.MEMBER_CHARTS:
        for query in ("", MEMBER_ONLY_QUERY):
            response = client.get(f"/statistics/{name}.csv?{query}")
            assert response.status_code == 404, name
            assert_nothing_gated(response.content, name)
        layer = client.get("/statistics/attack-layer.json?" + query)
        assert layer.status_code == 404
        assert_nothing_gated(layer.content, "attack-layer.json")


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_members_only_parameters_do_not_narrow_public_counts(world, kind):
    client = client_for(kind)
    plain = client.get("/statistics/countries.csv").content
    assert plain == client.get("/statistics/countries.csv?" + MEMBER_ONLY_QUERY).content
    assert b"France,1" in plain and b"Germany,1" in plain


def test_visitors_page_is_byte_identical_whatever_members_parameters_are_sent(world):
    client = client_for("anonymous")
    plain = client.get("/statistics/").content
    for query in (
        MEMBER_ONLY_QUERY,
        "motive=espionage&technique=T1566&actor_type=nation-state",
        "motive=no-such-motive&confidentiality=not-a-level",  # invalid, but ignored
    ):
        assert client.get("/statistics/?" + query).content == plain, query
    filtered = client.get("/statistics/?sector=water").content
    assert client.get("/statistics/?sector=water&" + MEMBER_ONLY_QUERY).content == filtered


def test_registered_readers_page_ignores_members_parameters(world):
    client = client_for("registered")
    plain = client.get("/statistics/").content.decode()
    probed = client.get("/statistics/?" + MEMBER_ONLY_QUERY).content.decode()
    # Their pages carry their own CSRF token; the statistics body is the same.
    start = plain.index('<div class="statistics">')
    assert probed[probed.index('<div class="statistics">') :] == plain[start:]


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_see_the_gated_charts(world, kind):
    client = client_for(kind)
    html = client.get("/statistics/").content.decode()
    for name in counts.MEMBER_CHARTS:
        assert f'id="chart-{name}"' in html
    for text in ("GatedMotiveName", "GatedTechniqueName", "GatedActorTypeName", "North Korea"):
        assert text in html
    assert "Available to members" not in html
    narrowed = client.get("/statistics/countries.csv?" + MEMBER_ONLY_QUERY).content
    assert b"France,1" in narrowed and b"Germany" not in narrowed
