"""The gating matrix: each page that shows an incident, organisation or actor, for each viewer."""

import re

import pytest
from django.urls import reverse

from incidents.presenters import IncidentGated, IncidentPublic
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    SourceFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)


@pytest.fixture
def incident(db):
    tactic = TacticFactory(name="Initial Access")
    incident = IncidentFactory(
        organisation__name="Acme Rockets",
        summary="Acme Rockets disclosed unauthorised access.",
        motives=[MotiveFactory(name="Financial"), MotiveFactory(name="Espionage")],
        techniques=[TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[tactic])],
        threat_actors=[ThreatActorFactory(name="Grey Heron", country="KP", aliases=["Heron Team"])],
    )
    CIAPostureFactory(incident=incident, confidentiality="high", notes="Payroll data copied.")
    SourceFactory(incident=incident, title="Acme statement")
    return incident


GATED_TEXT = [
    "Financial",
    "Espionage",
    "T1566",
    "Phishing",
    "Initial Access",
    "Grey Heron",
    "Payroll data copied.",
    "North Korea",
    "Heron Team",
]


def test_incident_page(viewer, incident):
    kind, client, member = viewer
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cyber Incident Victim: Acme Rockets" in html
    assert "Acme Rockets disclosed unauthorised access." in html
    assert "Acme statement" in html
    assert isinstance(response.context["incident"], IncidentPublic)
    if member:
        assert isinstance(response.context["gated"], IncidentGated)
        for text in GATED_TEXT:
            if text != "Heron Team":  # aliases are on the actor's page, not the incident's
                assert text in html, text
        assert "Available to members" not in html
    else:
        assert response.context["gated"] is None
        # Incident types are public, and one shares its name with a motive: the finder's
        # type menu offers "Espionage" (the type) to everyone.
        outside_type_menu = re.sub(r'<select name="type".*?</select>', "", html, flags=re.S)
        for text in GATED_TEXT:
            assert text not in outside_type_menu, (kind, text)
        assert "2 motives" in html
        assert "1 technique" in html
        assert "1 actor" in html
        assert "Available to members" in html


def test_incident_counts_for_no_actor(non_member_client, db):
    incident = IncidentFactory(
        motives=[MotiveFactory(), MotiveFactory()], techniques=[TechniqueFactory()]
    )
    html = non_member_client.get(incident.get_absolute_url()).content.decode()
    assert "2 motives" in html
    assert "1 technique" in html
    assert "No actor identified" in html  # no lock over nothing (test_honest_gates)


def test_incident_list(viewer, incident):
    kind, client, member = viewer
    response = client.get(reverse("incidents:incident_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Rockets" in html
    rows = html[html.index('<ol class="incident-list">') :]
    if member:  # members' rows name the actors, technique IDs and motives, as finder links
        assert "2 motives" not in rows
        for text in ("Grey Heron", "T1566", "Financial", "Espionage"):
            assert f">{text}</a>" in rows, text
        assert 'href="/incidents/?technique=T1566"' in rows
    else:  # members' filter menus list the (public) taxonomies: nothing gated anywhere
        assert "2 motives" in rows  # non-members' rows show the counts
        assert "1 technique" in rows
        assert "1 actor" in rows
        # Incident types are public, and one shares its name with a motive: the finder's
        # type menu offers "Espionage" (the type) to everyone.
        outside_type_menu = re.sub(r'<select name="type".*?</select>', "", html, flags=re.S)
        for text in GATED_TEXT:
            assert text not in outside_type_menu, (kind, text)


def test_organisation_page(viewer, incident):
    kind, client, member = viewer
    IncidentFactory(organisation=incident.organisation, summary="Second breach at Acme.")
    response = client.get(incident.organisation.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Rockets" in html
    assert "Second breach at Acme." in html
    assert "Recurring victim" in html
    for text in GATED_TEXT:
        assert text not in html, (kind, text)


def test_actor_page(viewer, incident):
    kind, client, member = viewer
    actor = incident.threat_actors.get()
    response = client.get(actor.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Grey Heron" in html  # an actor's name and incident count are public
    assert response.context["actor"].incident_count == 1
    if member:
        assert "Heron Team" in html
        assert "North Korea" in html
        assert "Acme Rockets" in html  # which incidents it is linked to
    else:
        assert response.context["gated"] is None
        assert "rows" not in response.context
        for text in ["Heron Team", "North Korea", "Acme Rockets", incident.slug]:
            assert text not in html, (kind, text)
        assert "Available to members" in html


def test_actor_list_is_public(viewer, incident):
    kind, client, member = viewer
    html = client.get(reverse("incidents:actor_list")).content.decode()
    assert "Grey Heron" in html
    assert "Heron Team" not in html and "North Korea" not in html


def test_drafts_are_staff_only(viewer, db):
    kind, client, member = viewer
    draft = IncidentFactory(status="draft", organisation__name="Hidden Draft Org")
    response = client.get(draft.get_absolute_url())
    org_response = client.get(draft.organisation.get_absolute_url())
    list_html = client.get(reverse("incidents:incident_list")).content.decode()
    if kind == "staff":
        assert response.status_code == 200
        assert "Draft" in response.content.decode()
        assert org_response.status_code == 200
        assert "Hidden Draft Org" in list_html
    else:
        assert response.status_code == 404
        assert org_response.status_code == 404
        assert "Hidden Draft Org" not in list_html


def test_actor_incident_count_ignores_drafts(non_member_client, db):
    actor = ThreatActorFactory()
    IncidentFactory(threat_actors=[actor])
    IncidentFactory(threat_actors=[actor], status="draft")
    response = non_member_client.get(actor.get_absolute_url())
    assert response.context["actor"].incident_count == 1


def test_actor_known_only_from_a_draft_is_staff_only(viewer, db):
    kind, client, member = viewer
    actor = ThreatActorFactory(name="Draft Linked Actor")
    IncidentFactory(status="draft", threat_actors=[actor])
    listed = "Draft Linked Actor" in client.get(reverse("incidents:actor_list")).content.decode()
    status = client.get(actor.get_absolute_url()).status_code
    assert listed == (kind == "staff")
    assert status == (200 if kind == "staff" else 404)


def test_unattributed_actor_is_for_members_only(viewer, db):
    kind, client, member = viewer
    actor = ThreatActorFactory(name="Unattributed organized crime (Tuvalu)", is_unattributed=True)
    incident = IncidentFactory(threat_actors=[actor])
    listed = (
        "Unattributed organized crime"
        in client.get(reverse("incidents:actor_list")).content.decode()
    )
    on_incident = (
        "Unattributed organized crime" in client.get(incident.get_absolute_url()).content.decode()
    )
    assert listed == member
    assert on_incident == member
    assert client.get(actor.get_absolute_url()).status_code == (200 if member else 404)


@pytest.mark.parametrize(
    ("precision", "iso"), [("year", "2014"), ("month", "2014-06"), ("day", "2014-06-09")]
)
def test_machine_readable_date_keeps_its_precision(non_member_client, precision, iso):
    import datetime

    incident = IncidentFactory(date=datetime.date(2014, 6, 9), date_precision=precision)
    html = non_member_client.get(incident.get_absolute_url()).content.decode()
    assert f'<time datetime="{iso}">' in html
    assert "2014-06-09" not in html or precision == "day"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_pages_refuse_unsafe_methods(viewer, incident, method):
    kind, client, member = viewer
    for url in [reverse("incidents:incident_list"), incident.get_absolute_url(), reverse("home")]:
        assert getattr(client, method)(url).status_code == 405


def test_members_incident_page_links_gated_values_to_the_finder(viewer, incident):
    kind, client, member = viewer
    html = client.get(incident.get_absolute_url()).content.decode()
    motive = incident.motives.order_by("name").first()
    actor = incident.threat_actors.get()
    links = [
        f'href="/incidents/?motive={motive.slug}"',
        'href="/incidents/?technique=T1566"',
        f'href="/incidents/?actor={actor.slug}"',
    ]
    for link in links:
        assert (link in html) == member, (kind, link)
