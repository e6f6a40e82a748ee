import datetime

import pytest
from django.urls import reverse

from tests.factories import IncidentFactory, OrganisationFactory, SectorFactory


@pytest.fixture
def incidents(db):
    health = SectorFactory(name="Healthcare", slug="healthcare")
    IncidentFactory(country="GB", sector=health, date=datetime.date(2019, 3, 1))
    IncidentFactory(country="GB", sector=health, date=datetime.date(2020, 3, 1))
    IncidentFactory(country="US", date=datetime.date(2020, 5, 1))
    IncidentFactory(country="FR", sector=health, status="draft", date=datetime.date(2018, 1, 1))


def test_browse_counts_published_incidents_only(viewer, incidents):
    kind, client, member = viewer
    response = client.get(reverse("incidents:browse"))
    assert response.status_code == 200
    ctx = response.context
    assert [(code, n) for code, _, n in ctx["countries"]] == [("GB", 2), ("US", 1)]
    assert [(slug, n) for slug, _, n in ctx["sectors"]] == [("healthcare", 2)]
    assert ctx["decades"] == [("2020s", [(2020, 2)]), ("2010s", [(2019, 1)])]
    html = response.content.decode()
    for hub in ("/countries/GB/", "/sectors/healthcare/", "/years/2019/", "/attack/"):
        assert f'href="{hub}"' in html
    assert "France" not in html  # only a draft there
    assert "/browse/countries/" not in html  # two countries: no long tail to page


def test_browse_links_lead_to_hubs_of_matching_incidents(client, incidents):
    html = client.get("/countries/GB/").content.decode()
    assert "2 published incidents" in html
    # The finder's own filtered lists, which the old browse page linked to, still work.
    html = client.get(reverse("incidents:incident_list") + "?country=GB").content.decode()
    assert "2 incidents" in html


def test_the_long_tail_of_countries_is_paged_a_to_z(client, db):
    codes = ["AT", "BE", "BR", "CA", "CH", "CL", "CN", "CZ", "DE", "DK", "EE", "ES", "FI"]
    codes += ["FR", "GB", "GR", "HU", "IE", "IN", "IT", "JP", "NL", "NO", "PL", "US"]
    for n, code in enumerate(codes):
        for _ in range(1 + (n % 3)):
            IncidentFactory(country=code)
    index = client.get(reverse("incidents:browse"))
    assert len(index.context["countries"]) == 20
    assert f"All {len(codes)} countries" in index.content.decode()
    groups = dict(client.get("/browse/countries/").context["groups"])
    assert [name for _code, name, _n in groups["B"]] == ["Belgium", "Brazil"]
    assert sum(len(rows) for rows in groups.values()) == len(codes)


def test_organisations_by_letter(client, db):
    for name in ["Acme", "Apex", "Beta", "3M Example"]:
        IncidentFactory(organisation=OrganisationFactory(name=name))
    url = reverse("incidents:organisation_list")
    a = client.get(url, {"letter": "A"}).context["organisations"]
    assert [o.name for o in a] == ["Acme", "Apex"]
    other = client.get(url, {"letter": "#"}).context["organisations"]
    assert [o.name for o in other] == ["3M Example"]
    assert client.get(url, {"letter": "AB"}).status_code == 404
    assert client.get(url, {"letter": "<"}).status_code == 404
