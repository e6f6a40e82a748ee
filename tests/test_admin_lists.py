"""Admin lists that fit their data: the incident list's status and dataset columns, and its
country filter as one menu."""

import re

from django.test import Client
from django.urls import reverse

from tests.factories import IncidentFactory, UserFactory

URL = reverse("admin:incidents_incident_changelist")


def superuser_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_incident_list_shows_status_and_dataset(db):
    IncidentFactory(organisation__name="Acme Rockets", status="draft")
    html = superuser_client().get(URL).content.decode()
    assert "column-status" in html
    assert "column-dataset" in html
    assert "Draft" in html


def test_the_country_filter_is_one_menu(db):
    IncidentFactory(country="DE")
    client = superuser_client()
    html = client.get(URL).content.decode()
    menu = re.search(r'<select class="admin-dropdown-filter"[^>]*>(.*?)</select>', html, re.S)
    assert menu, "no country menu"
    assert '<option value="?country__exact=DE">Germany</option>' in menu.group(1)
    assert '<a href="?country__exact=DE">' not in html  # not a column of links
    assert "/static/js/admin_dropdown_filter.js" in html
    filtered = client.get(URL, {"country__exact": "DE"}).content.decode()
    assert '<option value="?country__exact=DE" selected>Germany</option>' in filtered
