"""Members' extra matching splits the query into the same words on SQLite and PostgreSQL,
and a query without a word matches nothing (issue 9.6: a search for just a quote found
every incident on PostgreSQL)."""

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from incidents.search import _member_matches, search
from tests.conftest import client_for
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    TechniqueFactory,
    ThreatActorFactory,
)


@pytest.fixture
def world(db):
    a = IncidentFactory(
        organisation__name="Acme Rockets",
        summary="Ransomware encrypted the file servers.",
        motives=[MotiveFactory(name="Financial", slug="financial")],
        techniques=[TechniqueFactory(attack_id="T1486", name="Data Encrypted for Impact")],
        threat_actors=[ThreatActorFactory(name="Copper Lynx")],
    )
    b = IncidentFactory(
        organisation__name="Borealis Health",
        summary="Patient records exposed on a web server.",
        motives=[MotiveFactory(name="Espionage", slug="espionage")],
        threat_actors=[ThreatActorFactory(name="Grey Heron", aliases=["Heron Team"])],
    )
    return {"A": a, "B": b}


def found(world, q, *, member):
    names = {incident.pk: name for name, incident in world.items()}
    matches = search(Incident.objects.published(), q, member=member)
    return "".join(sorted(names[pk] for pk in matches.values_list("pk", flat=True)))


@pytest.mark.parametrize("member", [True, False], ids=["member", "non-member"])
@pytest.mark.parametrize("q", ['"', '""', '" "', "or", "-", '"-"', "- or"])
def test_a_query_without_a_word_matches_nothing(world, q, member):
    assert found(world, q, member=member) == ""


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ransomware lynx", "A"),  # a public word and an actor's name
        ("Lynx ransomware", "A"),
        ("acme financial", "A"),  # a victim and a motive
        ("T1486 servers", "A"),  # a technique ID and the summary
        ('"Grey Heron"', "B"),
        ("heron team patient", "B"),  # an alias and the summary
        ('patient "', "B"),
        ("heron lynx", ""),  # every word must match one incident
        ("espionage -borealis", ""),
        ("lynx -acme", ""),
    ],
)
def test_members_words_match_the_same_incidents_on_both_databases(world, q, expected):
    assert found(world, q, member=True) == expected


@pytest.mark.parametrize("q", ["ransomware lynx", "acme financial", "heron team patient"])
def test_non_members_words_never_match_gated_values(world, q):
    assert found(world, q, member=False) == ""


def test_an_empty_term_matches_no_actor_technique_or_motive(world):
    assert not Incident.objects.filter(_member_matches("")).exists()


def test_a_members_search_for_a_quote_lists_no_incident(world):
    client = client_for("member")
    html = client.get(reverse("incidents:incident_list"), {"q": '"'}).content.decode()
    assert "Acme Rockets" not in html
    assert "Borealis Health" not in html
    assert "Acme Rockets" in Client().get(reverse("incidents:incident_list")).content.decode()
