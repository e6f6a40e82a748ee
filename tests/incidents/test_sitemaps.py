"""The sitemaps list the public hubs (countries, sectors, years with published incidents;
ATT&CK's own tactics and techniques) and nothing a visitor cannot open."""

import datetime
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django.test import Client

from tests.conftest import client_for
from tests.factories import (
    IncidentFactory,
    SectorFactory,
    TacticFactory,
    TechniqueFactory,
)

LOC = "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"
MITRE = "https://attack.mitre.org/"


@pytest.fixture
def world(db):
    initial = TacticFactory(shortname="initial-access", name="Initial Access", url=MITRE + "TA1")
    phishing = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[initial])
    TechniqueFactory(attack_id="T1566.001", parent=phishing, tactics=[initial])
    TechniqueFactory(attack_id="T1193", is_revoked=True, tactics=[initial])
    TechniqueFactory(attack_id="T1064", is_deprecated=True, tactics=[initial])
    # Not ATT&CK's (no page at MITRE): hubs for members only.
    homemade = TacticFactory(shortname="homemade-tactic", name="Homemade")
    TechniqueFactory(attack_id="T9876", tactics=[homemade])
    health = SectorFactory(slug="healthcare")
    IncidentFactory(
        country="FR", sector=health, date=datetime.date(2020, 5, 1), types=["ransomware"]
    )
    # Only a draft in Italy, in 1999, in its sector: no hub for a visitor.
    IncidentFactory(
        country="IT",
        sector=SectorFactory(slug="draft-only-sector"),
        date=datetime.date(1999, 5, 1),
        status="draft",
        types=["wiper"],
    )
    SectorFactory(slug="empty-sector")


def listed(client) -> list[str]:
    """Every address in every section of the sitemap, as paths."""
    paths = []
    for section in parse(client.get("/sitemap.xml")).iter(LOC):
        urlset = parse(client.get(urlsplit(section.text).path))
        paths += [urlsplit(loc.text).path for loc in urlset.iter(LOC)]
    return paths


def parse(response):
    assert response.status_code == 200
    return ET.fromstring(response.content)  # noqa: S314 - the portal's own output


def test_the_sitemaps_list_the_public_hubs(world):
    paths = listed(Client())
    for path in (
        "/statistics/",
        "/browse/",
        "/browse/countries/",
        "/attack/",
        "/countries/FR/",
        "/sectors/healthcare/",
        "/years/2020/",
        "/types/ransomware/",
        "/attack/tactics/initial-access/",
        "/attack/techniques/T1566/",
        "/attack/techniques/T1566.001/",
    ):
        assert path in paths
    assert len(paths) == len(set(paths))


def test_the_sitemaps_list_no_hub_a_visitor_cannot_see(world):
    paths = listed(Client())
    for path in (
        "/countries/IT/",  # a draft's country
        "/years/1999/",  # a draft's year
        "/sectors/draft-only-sector/",
        "/sectors/empty-sector/",  # a page, but with nothing on it
        "/types/wiper/",  # a draft's type
        "/types/bec/",  # a page, but with nothing on it
        "/attack/techniques/T1193/",  # revoked
        "/attack/techniques/T1064/",  # deprecated
        "/attack/tactics/homemade-tactic/",  # not ATT&CK's: members only
        "/attack/techniques/T9876/",
    ):
        assert path not in paths
    # The members-only hubs exist (for members): leaving them out is the sitemap's choice.
    member = client_for("member")
    assert member.get("/attack/techniques/T9876/").status_code == 200
    assert member.get("/attack/tactics/homemade-tactic/").status_code == 200


def test_every_address_in_the_sitemaps_opens_for_a_visitor(world):
    visitor = Client()
    paths = listed(visitor)
    assert len(paths) > 10
    for path in paths:
        caches["pages"].clear()  # each answered now, not from a page cached for someone else
        assert visitor.get(path).status_code == 200, path


def test_a_hub_leaves_the_sitemap_when_its_last_incident_is_unpublished(world):
    from incidents.models import Incident

    # A bulk update sends no signal: the database's triggers change the version.
    Incident.objects.filter(country="FR").update(status="draft")
    paths = listed(Client())
    assert not [p for p in paths if re.match(r"^/(countries|years|sectors)/", p)]
