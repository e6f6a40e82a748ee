"""Actor pages worth opening: ATT&CK's public knowledge for anyone, honest gates, the
techniques an actor's incidents used beside those ATT&CK relates (members), and the list's
sort by incident count and filter "with incidents in the catalogue" (the count is public)."""

import pytest
from django.urls import reverse

from incidents.models import ATTACK_DATASET, Dataset
from tests.conftest import MEMBERS, NON_MEMBERS, client_for
from tests.factories import (
    ActorTypeFactory,
    IncidentFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)
from tests.incidents.test_actor_profiles import names_on

KINDS = [("anonymous", False), ("registered", False), ("member", True)]


@pytest.fixture
def groups(db):
    """Two ATT&CK groups (one with incidents), a staff-made actor with nothing known."""
    dataset = Dataset.objects.create(slug=ATTACK_DATASET, name="MITRE ATT&CK", version="18.1")
    tactic = TacticFactory(shortname="initial-access", name="Initial Access")
    phishing = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[tactic])
    valid = TechniqueFactory(attack_id="T1078", name="Valid Accounts", tactics=[tactic])
    apt29 = ThreatActorFactory(
        name="APT29",
        attack_id="G0016",
        dataset=dataset,
        external_id="G0016",
        description="APT29 is threat group that has been attributed to Russia's "
        "[Foreign Intelligence Service](https://example.org). It has operated since 2008.",
        aliases=["Cozy Bear"],
        country="RU",
    )
    apt29.techniques.set([phishing])
    apt3 = ThreatActorFactory(
        name="APT3", attack_id="G0022", dataset=dataset, external_id="G0022", description="APT3."
    )
    bare = ThreatActorFactory(name="Bare Gang", actor_type=None, country="", aliases=[])
    for _ in range(2):
        IncidentFactory(threat_actors=[apt29], techniques=[valid, phishing])
    IncidentFactory(threat_actors=[apt29], techniques=[valid])
    IncidentFactory(threat_actors=[bare])
    return apt29, apt3, bare


def html(kind, url, **params):
    response = client_for(kind).get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_attack_knowledge_is_public_on_the_page_and_the_list(kind, member, groups):
    apt29, _, _ = groups
    page = html(kind, apt29.get_absolute_url())
    assert '<a href="https://attack.mitre.org/groups/G0016/"' in page
    assert "Foreign Intelligence Service" in page and "Description from MITRE ATT&amp;CK" in page
    listing = html(kind, reverse("incidents:actor_list"))
    assert "G0016</a>" in listing and "G0022</a>" in listing
    # The first sentence, links reduced to their text.
    assert (
        "APT29 is threat group that has been attributed to Russia&#x27;s Foreign Intelligence "
        "Service.</small>"
    ) in listing
    assert "It has operated since 2008" not in listing


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_an_actor_with_nothing_known_says_so(kind, member, groups):
    _, _, bare = groups
    page = html(kind, bare.get_absolute_url())
    assert "Available to members" not in page.split("</dl>")[0]
    if member:
        assert "None known" in page
        return
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert facts.count('<span class="muted">Not identified</span>') == 2  # type, location
    assert '<span class="muted">None known</span>' in facts  # aliases
    assert "ATT&amp;CK relates no technique or software to it" in page


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_values_that_exist_stay_locked(kind, groups):
    apt29, _, _ = groups
    page = html(kind, apt29.get_absolute_url())
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "Russia" not in facts and "Cozy Bear" not in page and "T1566" not in page
    # Type: the factory's type; location RU; aliases: all exist.
    assert facts.count('<span class="locked">Available to members</span>') == 3
    assert "The techniques and software ATT&amp;CK relates to it: available to members" in page
    assert "3 incidents: available to members" in page


def test_an_unknown_type_is_no_type(groups):
    _, _, bare = groups
    bare.actor_type = ActorTypeFactory(name="Unknown", slug="unknown")
    bare.save()
    page = html("anonymous", bare.get_absolute_url())
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert facts.count('<span class="muted">Not identified</span>') == 2


@pytest.mark.parametrize("kind", MEMBERS)
def test_a_member_sees_its_incidents_techniques_beside_attacks(kind, groups):
    apt29, _, _ = groups
    page = html(kind, apt29.get_absolute_url())
    used = page.split('id="incident-techniques-h"')[1].split('id="attack-techniques-h"')[0]
    assert "2 techniques recorded in the incidents linked to this actor" in used
    assert used.index("T1078") < used.index("T1566")
    assert "Valid Accounts" in used and "3 incidents" in used
    assert "Phishing" in used and "2 incidents" in used and "also related by ATT&amp;CK" in used
    assert "actor=apt29&amp;technique=T1078" in used
    related = page.split('id="attack-techniques-h"')[1]
    assert "1 technique MITRE ATT&amp;CK relates to this group" in related


@pytest.mark.parametrize("kind", MEMBERS)
def test_an_actor_attack_relates_nothing_to_still_lists_its_incidents_techniques(kind, groups):
    _, _, bare = groups
    IncidentFactory(threat_actors=[bare], techniques=[TechniqueFactory(attack_id="T1486")])
    page = html(kind, bare.get_absolute_url())
    assert "T1486" in page.split('id="incident-techniques-h"')[1]
    assert "ATT&amp;CK relates no technique to this actor." in page


@pytest.mark.parametrize("kind", ["anonymous", "registered", "member"])
def test_sort_by_incident_count_and_filter_with_incidents(kind, groups):
    url = reverse("incidents:actor_list")
    client = client_for(kind)
    by_name = names_on(client.get(url))
    assert by_name == ["APT3", "APT29", "Bare Gang"]
    assert names_on(client.get(url, {"sort": "incidents"})) == ["APT29", "Bare Gang", "APT3"]
    assert names_on(client.get(url, {"with_incidents": "1"})) == ["APT29", "Bare Gang"]
    both = client.get(url, {"with_incidents": "1", "sort": "incidents"})
    assert names_on(both) == ["APT29", "Bare Gang"]
    # Unknown values fall back to the defaults, never a 500.
    assert names_on(client.get(url, {"sort": "x\x00", "with_incidents": "yes"})) == by_name


def test_the_sort_and_filter_follow_the_pages(groups, monkeypatch):
    monkeypatch.setattr("incidents.views.actors.ACTORS_PER_PAGE", 1)
    url = reverse("incidents:actor_list")
    page = html("anonymous", url, sort="incidents", with_incidents="1")
    assert 'href="?sort=incidents&amp;with_incidents=1&amp;page=2"' in page


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_the_api_gives_attacks_description_publicly(kind, groups):
    apt29, _, bare = groups
    client = client_for(kind)
    listed = client.get("/api/v1/threat-actors", HTTP_ACCEPT="application/json")
    assert listed.status_code == 200
    rows = {row["slug"]: row for row in listed.json()["results"]}
    assert "Foreign Intelligence Service" in rows["apt29"]["description_html"]
    assert "description_html" not in rows["bare-gang"]
    assert "aliases" not in rows["apt29"] and "location" not in rows["apt29"]
