"""The Atom feed and the sitemaps are well-formed XML whatever text reaches the database.

Control characters are stripped when text is saved; these tests write around that
(``QuerySet.update``) to show that the XML outputs survive what slips through anyway.
"""

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from incidents.feeds import xml_text
from incidents.models import Incident, Organisation, ThreatActor
from tests.factories import IncidentFactory, ThreatActorFactory

ATOM = "{http://www.w3.org/2005/Atom}"
# Every character XML 1.0 forbids that a text column may hold (C0 controls but tab, newline
# and carriage return; U+FFFE and U+FFFF). PostgreSQL refuses NUL itself.
FORBIDDEN = "".join(chr(c) for c in range(1, 32) if c not in (9, 10, 13)) + "\ufffe\uffff"


@pytest.fixture
def client(db):
    return Client(raise_request_exception=False)


def parse(response):
    assert response.status_code == 200
    return ET.fromstring(response.content)  # noqa: S314 - the portal's own output


@pytest.mark.parametrize("field", ["summary", "organisation__name"], ids=["summary", "victim name"])
def test_feed_strips_a_vertical_tab(client, field):
    incident = IncidentFactory(summary="plain", organisation__name="Acme Rockets")
    if field == "summary":
        Incident.objects.filter(pk=incident.pk).update(summary="a\x0bb")
    else:
        Organisation.objects.filter(pk=incident.organisation_id).update(name="Acme\x0b Rockets")
    entry = parse(client.get(reverse("incidents:incident_feed"))).find(f"{ATOM}entry")
    if field == "summary":
        assert entry.find(f"{ATOM}summary").text == "ab"
    else:
        assert entry.find(f"{ATOM}title").text.startswith("Cyber Incident Victim: Acme Rockets (")


def test_feed_strips_every_character_xml_forbids(client):
    incident = IncidentFactory()
    Incident.objects.filter(pk=incident.pk).update(summary=f"a{FORBIDDEN}b\tc\nd é中😀")
    Organisation.objects.filter(pk=incident.organisation_id).update(name=f"Acme{FORBIDDEN}")
    entry = parse(client.get(reverse("incidents:incident_feed"))).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}summary").text == "ab\tc\nd é中😀"
    assert "Acme (" in entry.find(f"{ATOM}title").text


def test_sitemaps_stay_well_formed_with_control_characters_in_every_text(client):
    incident = IncidentFactory(threat_actors=[ThreatActorFactory()])
    Incident.objects.update(summary=FORBIDDEN, description=FORBIDDEN)
    Organisation.objects.update(name=f"Acme{FORBIDDEN}")
    ThreatActor.objects.update(name=f"Heron{FORBIDDEN}", aliases=[FORBIDDEN])
    index = parse(client.get(reverse("sitemap_index")))
    sections = [loc.text for loc in index.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert len(sections) == 6
    for url in sections:
        section = parse(client.get(urlsplit(url).path))
        assert section.tag.endswith("urlset")
    assert incident.slug in client.get("/sitemap-incidents.xml").content.decode()


def test_xml_text_keeps_everything_xml_allows():
    allowed = "tab\t newline\n return\r é \ud7ff \ue000 \ufffd \U00010000 \U0010ffff"
    assert xml_text(allowed) == allowed
    assert xml_text(f"a\x00{FORBIDDEN}\ud800b") == "ab"
    assert xml_text("") == ""
