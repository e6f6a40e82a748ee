"""The organisations list: A-Z, search by name, sort by incidents, paging that keeps both."""

import html as html_lib
import re

import pytest
from django.urls import reverse

from tests.factories import IncidentFactory, OrganisationFactory

URL = reverse("incidents:organisation_list")


@pytest.fixture
def victims(db):
    health = OrganisationFactory(name="Borealis Health")
    IncidentFactory(organisation=health)
    IncidentFactory(organisation=health)
    IncidentFactory(organisation=health, status="draft")
    IncidentFactory(organisation=OrganisationFactory(name="Acme Health Insurance"))
    IncidentFactory(organisation=OrganisationFactory(name="Cobalt Bank"))
    IncidentFactory(organisation=OrganisationFactory(name="Hidden Health"), status="draft")


def names(response):
    assert response.status_code == 200
    return [(o.name, o.incident_count) for o in response.context["organisations"]]


def test_search_by_name_finds_published_victims_only(viewer, victims):
    kind, client, member = viewer
    found = names(client.get(URL, {"q": "  health\x00 "}))
    if kind == "staff":  # staff see drafts, and count them
        assert found == [
            ("Acme Health Insurance", 1),
            ("Borealis Health", 3),
            ("Hidden Health", 1),
        ]
    else:
        assert found == [("Acme Health Insurance", 1), ("Borealis Health", 2)]
    html = client.get(URL, {"q": "health"}).content.decode()
    assert "matching “health”" in html
    assert "Hidden Health" not in html or kind == "staff"


def test_sorted_by_incidents_then_name(anonymous_client, victims):
    found = names(anonymous_client.get(URL, {"sort": "incidents"}))
    assert found == [("Borealis Health", 2), ("Acme Health Insurance", 1), ("Cobalt Bank", 1)]
    assert anonymous_client.get(URL, {"sort": "size"}).status_code == 404


def test_search_within_a_letter(anonymous_client, victims):
    assert names(anonymous_client.get(URL, {"q": "health", "letter": "B"})) == [
        ("Borealis Health", 2)
    ]
    html = anonymous_client.get(URL, {"q": "health", "sort": "incidents"}).content.decode()
    # The letters keep the search and the order.
    assert 'href="?letter=B&amp;q=health&amp;sort=incidents"' in html


def test_paging_keeps_the_search(anonymous_client, db):
    for i in range(55):
        IncidentFactory(organisation=OrganisationFactory(name=f"Clinic {i:02d}"))
    IncidentFactory(organisation=OrganisationFactory(name="Bank"))
    first = anonymous_client.get(URL, {"q": "clinic"})
    assert len(names(first)) == 50
    html = first.content.decode()
    assert "55 organisations" in html
    link = re.search(r'rel="next" href="\?([^"]*)"', html).group(1)
    assert html_lib.unescape(link) == "q=clinic&page=2"
    second = anonymous_client.get(URL + "?" + html_lib.unescape(link))
    assert [n for n, _ in names(second)] == [
        "Clinic 50",
        "Clinic 51",
        "Clinic 52",
        "Clinic 53",
        "Clinic 54",
    ]


def test_the_table_reflows_on_narrow_screens(anonymous_client, victims):
    html = anonymous_client.get(URL).content.decode()
    assert '<table class="data-table reflow reflow-compact">' in html
    assert 'data-label="Incidents"' in html
