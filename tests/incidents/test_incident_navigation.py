"""Navigation (issue 25): the main menu names Pricing and ATT&CK and folds behind a menu
button on a phone; an incident page's <title> is the incident (victim and date) while its
heading keeps the catalogue's wording, and its organisation, country and sector lead to
their hubs, for every audience."""

import re

import pytest

from tests.conftest import AUDIENCES, client_for
from tests.factories import IncidentFactory, SectorFactory


@pytest.fixture
def incident(db):
    return IncidentFactory(
        organisation__name="Acme Rockets",
        organisation__slug="acme-rockets",
        country="FR",
        sector=SectorFactory(name="Aerospace", slug="aerospace"),
    )


@pytest.mark.parametrize("kind", AUDIENCES)
def test_the_title_is_the_incident_and_the_heading_keeps_its_wording(kind, incident):
    html = client_for(kind).get(incident.get_absolute_url()).content.decode()
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert title.startswith("Acme Rockets (") and "Cyber Incident Victim" not in title
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    assert heading.startswith("Cyber Incident Victim: Acme Rockets")


@pytest.mark.parametrize("kind", AUDIENCES)
def test_organisation_country_and_sector_link_to_their_hubs(kind, incident):
    html = client_for(kind).get(incident.get_absolute_url()).content.decode()
    facts = html[html.index('<dl class="facts">') :]
    facts = facts[: facts.index("</dl>")]
    assert 'href="/organisations/acme-rockets/"' in facts
    assert 'href="/countries/FR/"' in facts
    assert 'href="/sectors/aerospace/">Aerospace</a>' in facts
    for path in ("/organisations/acme-rockets/", "/countries/FR/", "/sectors/aerospace/"):
        assert client_for(kind).get(path).status_code == 200


def test_an_incident_without_country_or_sector_links_neither(db):
    incident = IncidentFactory(country="", sector=None)
    html = client_for("anonymous").get(incident.get_absolute_url()).content.decode()
    facts = html[html.index('<dl class="facts">') :]
    facts = facts[: facts.index("</dl>")]
    assert "/countries/" not in facts and "/sectors/" not in facts


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_the_main_menu_has_pricing_and_attack_behind_a_menu_button(kind, db):
    html = client_for(kind).get("/").content.decode()
    menu = html[html.index('<details class="site-menu"') :]
    menu = menu[: menu.index("</details>")]
    assert '<summary class="menu-button">Menu</summary>' in menu
    nav = menu[menu.index('<nav aria-label="Main">') : menu.index("</nav>")]
    assert '<a href="/pricing/">Pricing</a>' in nav
    assert '<a href="/attack/">ATT&amp;CK</a>' in nav
    # Signing in and out are in the same menu.
    assert ("Log out" if kind == "member" else "Log in") in menu
