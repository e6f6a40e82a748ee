"""Threat actor profiles: what each viewer sees of an actor, the actors list (natural order,
search, paging), the techniques matrix of an actor and of an incident, and the members'
ATT&CK Navigator layers of one actor and one incident."""

import json
import re

import pytest
from django.urls import reverse

from incidents import presenters
from incidents.models import ATTACK_DATASET, Dataset
from incidents.presenters import natural_key
from tests.conftest import MEMBERS, NON_MEMBERS, client_for
from tests.factories import (
    ActorTypeFactory,
    IncidentFactory,
    SoftwareFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)
from tests.test_canary import EXTRA_URLS, canaries  # noqa: F401 (a fixture)

LAYER_FIELDS = {"name", "versions", "domain", "description", "techniques", "gradient"}
LAYER_TECHNIQUE_FIELDS = {"techniqueID", "tactic", "score", "comment", "enabled"}


@pytest.fixture
def attack(db):
    """APT28 as the ATT&CK import leaves it, and a staff-made actor with an ATT&CK ID."""
    dataset = Dataset.objects.create(slug=ATTACK_DATASET, name="MITRE ATT&CK", version="18.1")
    initial, execution = (
        TacticFactory(shortname="initial-access", name="Initial Access", order=2),
        TacticFactory(shortname="execution", name="Execution", order=3),
    )
    phishing = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[initial])
    attachment = TechniqueFactory(
        attack_id="T1566.001", name="Spearphishing Attachment", parent=phishing, tactics=[initial]
    )
    shell = TechniqueFactory(attack_id="T1059", name="Command Interpreter", tactics=[execution])
    powershell = TechniqueFactory(
        attack_id="T1059.001", name="PowerShell", parent=shell, tactics=[execution]
    )
    apt28 = ThreatActorFactory(
        name="APT28",
        attack_id="G0007",
        dataset=dataset,
        external_id="G0007",
        aliases=["Fancy Bear"],
        actor_type=ActorTypeFactory(name="Nation-state", slug="nation-state"),
        actor_type_source="MISP galaxy: threat actors, version 349 (APT28; sponsor)",
        country="RU",
        country_source="MISP galaxy: threat actors, version 349 (APT28)",
        description="APT28 is a threat group.",
    )
    apt28.techniques.set([attachment, shell, powershell])
    apt28.software.set([SoftwareFactory(attack_id="S0002", name="Mimikatz", kind="tool")])
    staff_made = ThreatActorFactory(name="Staff Gang", attack_id="G0999", aliases=["Sneaky"])
    incident = IncidentFactory(techniques=[attachment, powershell], threat_actors=[apt28])
    IncidentFactory(threat_actors=[staff_made])  # an actor with no incident is not listed
    return apt28, staff_made, incident


def body(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_a_non_member_sees_name_count_and_attack_id_only(kind, attack):
    apt28, staff_made, _ = attack

    page = body(client_for(kind).get(apt28.get_absolute_url()))

    assert "APT28" in page
    assert '<a href="https://attack.mitre.org/groups/G0007/" rel="noopener external">G0007</a>' in (
        page
    )
    assert "1 incident: available to members" in page
    # ATT&CK's description of a group it tracks is ATT&CK's public knowledge.
    assert "APT28 is a threat group." in page
    for gated in [
        "Nation-state",
        "Russia",
        "MISP galaxy",
        "Fancy Bear",
        "T1566",
        "T1059",
        "Mimikatz",
        "S0002",
        "attack-layer.json",
    ]:
        assert gated not in page
    # An ATT&CK ID staff gave an actor is their attribution: for members only.
    assert "G0999" not in body(client_for(kind).get(staff_made.get_absolute_url()))


@pytest.mark.parametrize("kind", MEMBERS)
def test_a_member_sees_the_profile_with_sources(kind, attack):
    apt28, staff_made, incident = attack

    page = body(client_for(kind).get(apt28.get_absolute_url()))

    assert 'Nation-state<small class="source-note">Source: MISP galaxy: threat actors, ' in page
    assert "Source: MISP galaxy: threat actors, version 349 (APT28)</small>" in page
    assert "Fancy Bear" in page and "APT28 is a threat group." in page
    assert 'href="https://attack.mitre.org/software/S0002"' not in page  # factory: no url
    assert "Mimikatz" in page and "(tool)" in page
    assert "3 techniques MITRE ATT&amp;CK relates to this group" in page
    assert reverse("incidents:actor_layer", args=[apt28.slug]) in page
    assert incident.get_absolute_url() in page
    assert "G0999" in body(client_for(kind).get(staff_made.get_absolute_url()))


def test_the_matrix_puts_subtechniques_under_their_parent_by_tactic(attack):
    apt28, _, _ = attack
    actor = type(apt28).objects.for_member_profile().get(pk=apt28.pk)

    matrix = presenters.technique_matrix(actor.techniques.all())

    assert [(c.tactic, c.shortname) for c in matrix] == [
        ("Initial Access", "initial-access"),
        ("Execution", "execution"),
    ]
    initial, execution = matrix
    # The parent T1566 is not used itself: shown only to hold its sub-technique.
    assert [
        (c.attack_id, c.used, [s.attack_id for s in c.subtechniques]) for c in initial.cells
    ] == [("T1566", False, ["T1566.001"])]
    assert [
        (c.attack_id, c.used, [s.attack_id for s in c.subtechniques]) for c in execution.cells
    ] == [("T1059", True, ["T1059.001"])]


def test_an_incident_page_shows_its_techniques_on_the_matrix_to_members_only(attack):
    _, _, incident = attack
    member_page = body(client_for("member").get(incident.get_absolute_url()))
    matrix = member_page[member_page.index('id="matrix-h"') :]
    assert matrix.index("Initial Access") < matrix.index("T1566.001") < matrix.index("Execution")
    assert matrix.index("T1059") < matrix.index("T1059.001")
    assert reverse("incidents:incident_layer", args=[incident.slug]) in member_page
    for kind in NON_MEMBERS:
        page = body(client_for(kind).get(incident.get_absolute_url()))
        assert 'id="matrix-h"' not in page and "attack-layer.json" not in page


# Navigator layers ----------------------------------------------------------------------


def assert_valid_layer(layer):
    """The fields ATT&CK Navigator's layer format 4.5 documents, with their types."""
    assert set(layer) >= LAYER_FIELDS
    assert layer["versions"]["layer"] == "4.5"
    assert layer["domain"] == "enterprise-attack"
    assert isinstance(layer["name"], str) and isinstance(layer["description"], str)
    for technique in layer["techniques"]:
        assert set(technique) >= LAYER_TECHNIQUE_FIELDS
        assert re.fullmatch(r"T\d{4}(\.\d{3})?", technique["techniqueID"])
        assert re.fullmatch(r"[a-z-]+", technique["tactic"])
        assert isinstance(technique["score"], int) and isinstance(technique["comment"], str)
    gradient = layer["gradient"]
    assert gradient["minValue"] < gradient["maxValue"]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in gradient["colors"])
    for item in layer["legendItems"]:
        assert set(item) == {"label", "color"}


@pytest.mark.parametrize("kind", MEMBERS)
def test_an_actors_layer_loads_back_its_techniques(kind, attack):
    apt28, _, _ = attack

    response = client_for(kind).get(reverse("incidents:actor_layer", args=[apt28.slug]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="actor-apt28-attack-layer.json"' in response["Content-Disposition"]
    layer = json.loads(response.content)
    assert_valid_layer(layer)
    assert layer["versions"]["attack"] == "18"
    assert layer["name"] == "APT28 (G0007)"
    loaded = {(t["techniqueID"], t["tactic"]) for t in layer["techniques"]}
    assert loaded == {
        ("T1566.001", "initial-access"),
        ("T1059", "execution"),
        ("T1059.001", "execution"),
    }


def test_an_incidents_layer_loads_back_its_techniques(attack):
    _, _, incident = attack

    response = client_for("member").get(reverse("incidents:incident_layer", args=[incident.slug]))

    layer = json.loads(response.content)
    assert_valid_layer(layer)
    assert {(t["techniqueID"], t["tactic"], t["score"]) for t in layer["techniques"]} == {
        ("T1566.001", "initial-access", 1),
        ("T1059.001", "execution", 1),
    }


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_layers_are_for_members_only(kind, attack):
    apt28, _, incident = attack
    client = client_for(kind)
    for url in (
        reverse("incidents:actor_layer", args=[apt28.slug]),
        reverse("incidents:incident_layer", args=[incident.slug]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert b"T1566" not in response.content and b"T1059" not in response.content


def test_a_draft_incidents_layer_is_for_staff_only(attack):
    draft = IncidentFactory(status="draft", techniques=[TechniqueFactory()])
    url = reverse("incidents:incident_layer", args=[draft.slug])
    assert client_for("member").get(url).status_code == 404
    assert client_for("staff").get(url).status_code == 200


# The list -------------------------------------------------------------------------------


def test_natural_key_orders_numbers_as_numbers():
    names = ["APT29", "apt3", "APT1", "Group 10", "Group 9", "admin@338", "APT28"]
    assert sorted(names, key=natural_key) == [
        "admin@338",
        "APT1",
        "apt3",
        "APT28",
        "APT29",
        "Group 9",
        "Group 10",
    ]


def names_on(response):
    return re.findall(r'<td[^>]*><a href="/actors/[^"]+/">([^<]+)</a>', body(response))


def test_the_list_is_in_natural_order_paged_with_attack_ids(attack, monkeypatch):
    monkeypatch.setattr("incidents.views.actors.ACTORS_PER_PAGE", 3)
    dataset = Dataset.objects.get(slug=ATTACK_DATASET)
    for name in ["APT3", "APT29", "APT1"]:
        ThreatActorFactory(name=name, dataset=dataset, external_id=name)
    client = client_for("anonymous")

    first = client.get(reverse("incidents:actor_list"))
    second = client.get(reverse("incidents:actor_list"), {"page": 2})

    assert names_on(first) + names_on(second) == ["APT1", "APT3", "APT28", "APT29", "Staff Gang"]
    assert "G0007</a>" in body(first)
    assert "G0999" not in body(second)  # staff's attribution: not on the public list
    assert client.get(reverse("incidents:actor_list"), {"page": 3}).status_code == 404
    assert client.get(reverse("incidents:actor_list"), {"page": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("kind", "query", "expected"),
    [
        ("anonymous", "apt", ["APT28"]),
        ("anonymous", "g0007", ["APT28"]),
        ("member", "fancy", ["APT28"]),
        ("member", "g0999", ["Staff Gang"]),
        ("anonymous", "Staff\x00 Gang", ["Staff Gang"]),
    ],
)
def test_search(kind, query, expected, attack):
    response = client_for(kind).get(reverse("incidents:actor_list"), {"q": query})
    assert response.status_code == 200
    assert names_on(response) == expected


@pytest.mark.parametrize("kind", NON_MEMBERS)
@pytest.mark.parametrize("gated", ["fancy", "sneaky", "g0999"])
def test_a_non_members_search_on_gated_values_does_not_narrow(kind, gated, attack):
    """Aliases and staff's ATT&CK IDs are for members: searching them finds nothing, exactly
    like a search for a name that exists nowhere."""
    client = client_for(kind)
    found = client.get(reverse("incidents:actor_list"), {"q": gated})
    nothing = client.get(reverse("incidents:actor_list"), {"q": "zzzz"})
    assert names_on(found) == names_on(nothing) == []


def test_staff_correcting_a_value_by_hand_drops_its_imported_source(attack):
    from incidents.admin import ThreatActorForm

    apt28, _, _ = attack
    data = {
        "name": apt28.name,
        "slug": apt28.slug,
        "aliases": "Fancy Bear",
        "actor_type": apt28.actor_type_id,
        "actor_type_source": apt28.actor_type_source,
        "country": "BY",
        "country_source": apt28.country_source,
        "description": apt28.description,
        "attack_id": apt28.attack_id,
    }

    form = ThreatActorForm(data=data, instance=apt28)
    assert form.is_valid(), form.errors
    actor = form.save()

    assert (actor.country, actor.country_source) == ("BY", "")
    assert actor.actor_type_source.startswith("MISP galaxy")  # the type was not touched


def test_the_layers_the_canary_crawl_asks_for_exist(canaries):  # noqa: F811
    """The Navigator layers in the canary crawl's EXTRA_URLS, refused to non-members, are
    real ones."""
    for layer in (
        "/incidents/2021-05-linked-victim-0/attack-layer.json",
        "/actors/public-actor-name-0/attack-layer.json",
    ):
        assert layer in EXTRA_URLS
        assert client_for("member").get(layer).status_code == 200, layer
