"""Incident types: a public facet (DESIGN.md), one or more per incident, on every channel
that shows incidents (pages, finder, hubs, statistics, exports, API, feeds) and in search."""

import csv
import io
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from incidents import rules, services
from incidents.models import IncidentType, MergeCandidate
from tests.conftest import NON_MEMBERS, client_for
from tests.factories import IncidentFactory, OrganisationFactory, SectorFactory, UserFactory
from tests.incidents.api.helpers import api_get, token_for
from tests.incidents.pages import fetch, postgres_only, slugs_on

VIEWERS = [*NON_MEMBERS, "member"]
TYPE_LINK_RE = re.compile(r'<a href="/types/([-a-z]+)/" class="type-tag">')


@pytest.fixture
def typed(db):
    health = SectorFactory(name="Health", slug="health")
    locked = IncidentFactory(
        organisation=OrganisationFactory(name="Quince Hospital"),
        sector=health,
        summary="Systems were locked and a payment demanded.",
        types=["ransomware", "data-breach"],
    )
    leaked = IncidentFactory(
        organisation=OrganisationFactory(name="Rowan Bank"),
        summary="Customer records were posted online.",
        types=["data-breach"],
    )
    plain = IncidentFactory(
        organisation=OrganisationFactory(name="Sorrel Mills"), summary="Something happened."
    )
    caches["pages"].clear()
    return locked, leaked, plain


def test_the_migration_made_the_taxonomy_in_its_order(db):
    assert list(IncidentType.objects.values_list("slug", flat=True)) == list(rules.INCIDENT_TYPES)
    ransomware = IncidentType.objects.get(slug="ransomware")
    assert ransomware.get_absolute_url() == "/types/ransomware/"
    assert ransomware.description


@pytest.mark.parametrize("kind", VIEWERS)
def test_the_incident_page_shows_its_types_to_everyone(typed, kind):
    locked, _leaked, plain = typed
    html = client_for(kind).get(locked.get_absolute_url()).content.decode()
    assert TYPE_LINK_RE.findall(html) == ["ransomware", "data-breach"]
    html = client_for(kind).get(plain.get_absolute_url()).content.decode()
    assert "Not classified yet" in html


@pytest.mark.parametrize("kind", VIEWERS)
def test_rows_show_the_types_and_the_filter_narrows_for_everyone(typed, kind):
    locked, leaked, plain = typed
    client = client_for(kind)
    everything = fetch(client)
    assert 'name="type"' in everything.content.decode()  # a public filter, never locked
    assert "ransomware" in TYPE_LINK_RE.findall(everything.content.decode())
    assert set(slugs_on(fetch(client, {"type": "ransomware"}))) == {locked.slug}
    assert set(slugs_on(fetch(client, {"type": "data-breach"}))) == {locked.slug, leaked.slug}
    assert slugs_on(fetch(client, {"type": "wiper"})) == []


def test_an_unknown_type_is_a_clear_400(typed):
    response = fetch(client_for("anonymous"), {"type": "no-such-type"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_search_matches_the_types_words(typed, kind):
    locked, leaked, _plain = typed
    client = client_for(kind)
    # Neither summary says "ransomware" or "breach": their types do.
    assert set(slugs_on(fetch(client, {"q": "ransomware"}))) == {locked.slug}
    assert set(slugs_on(fetch(client, {"q": "breach"}))) == {locked.slug, leaked.slug}
    assert set(slugs_on(fetch(client, {"q": "ransomware hospital"}))) == {locked.slug}


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_search_matches_the_victims_other_spellings(db, kind):
    incident = IncidentFactory(organisation=OrganisationFactory(name="Tamarind Holdings plc"))
    incident.organisation.aliases.create(name="Tamarind Group")
    caches["pages"].clear()
    assert slugs_on(fetch(client_for(kind), {"q": "Tamarind Group"})) == [incident.slug]


@pytest.mark.parametrize("kind", VIEWERS)
def test_a_hub_per_type(typed, kind):
    locked, leaked, _plain = typed
    client = client_for(kind)
    response = client.get("/types/data-breach/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Incidents of type Data breach" in html
    assert IncidentType.objects.get(slug="data-breach").description in html
    assert "2 published incidents" in html
    assert set(slugs_on(response)) == {locked.slug, leaked.slug}
    assert 'id="chart-years"' in html and 'id="chart-sectors"' in html
    assert client.get("/types/bec/").status_code == 200  # no incident yet: still its page
    assert client.get("/types/no-such-type/").status_code == 404


def test_browse_and_home_lead_to_the_types(typed):
    client = client_for("anonymous")
    browse = client.get(reverse("incidents:browse")).content.decode()
    assert 'id="by-type"' in browse
    assert browse.count('href="/types/') == len(rules.INCIDENT_TYPES)
    home = client.get(reverse("home")).content.decode()
    # The search box leads to the finder; the types with incidents are listed.
    assert re.search(r'<form method="get" action="/incidents/"[^>]*role="search"', home)
    assert 'name="q"' in home
    assert 'href="/types/ransomware/"' in home
    assert 'href="/types/wiper/"' not in home  # none yet


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_public_statistics_by_type(typed, kind):
    client = client_for(kind)
    html = client.get(reverse("incidents:statistics")).content.decode()
    for name in ("types", "types-by-year", "type-sector"):
        assert f'id="chart-{name}"' in html, name
    rows = list(csv.reader(io.StringIO(client.get("/statistics/types.csv").content.decode())))
    counted = {row[0]: row[2] for row in rows[1:]}
    assert counted == {"data-breach": "2", "ransomware": "1"}


def test_the_feed_filters_by_type_and_names_the_types(typed):
    locked, _leaked, _plain = typed
    feed = client_for("anonymous").get("/incidents/feed/?type=ransomware").content.decode()
    assert feed.count("<entry>") == 1
    assert locked.slug in feed
    assert '<category term="Ransomware"/>' in feed
    assert '<category term="Data breach"/>' in feed


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_exports_carry_the_types(typed, kind):
    locked, _leaked, _plain = typed
    client = client_for(kind)
    response = client.get("/incidents/export.csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    by_slug = {row["slug"]: row for row in rows}
    assert by_slug[locked.slug]["types"] == "ransomware | data-breach"
    data = json.loads(b"".join(client.get("/incidents/export.json").streaming_content))
    by_slug = {record["slug"]: record for record in data["incidents"]}
    assert by_slug[locked.slug]["types"] == ["ransomware", "data-breach"]
    filtered = client.get("/incidents/export.json?type=ransomware")
    data = json.loads(b"".join(filtered.streaming_content))
    assert [record["slug"] for record in data["incidents"]] == [locked.slug]


def test_stix_labels_the_incident_with_its_types(typed):
    locked, _leaked, plain = typed
    response = client_for("member").get("/incidents/export.stix.json")
    bundle = json.loads(b"".join(response.streaming_content))
    incidents = {o["name"].split(" (")[0]: o for o in bundle["objects"] if o["type"] == "incident"}
    assert incidents["Quince Hospital"]["labels"] == ["ransomware", "data-breach"]
    assert "labels" not in incidents["Sorrel Mills"]


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_the_api_lists_the_types_filters_and_records_them(typed, kind):
    locked, leaked, _plain = typed
    token = token_for(kind)
    listed = api_get("/api/v1/incident-types", token).json()["results"]
    assert [t["slug"] for t in listed] == list(rules.INCIDENT_TYPES)
    breach = next(t for t in listed if t["slug"] == "data-breach")
    assert breach["incident_count"] == 2
    assert breach["url"].endswith("/types/data-breach/")
    page = api_get("/api/v1/incidents?type=data-breach", token).json()
    assert page["query"] == {"type": "data-breach"}
    assert {r["slug"] for r in page["results"]} == {locked.slug, leaked.slug}
    record = api_get(f"/api/v1/incidents/{locked.slug}", token).json()
    assert record["types"] == ["ransomware", "data-breach"]
    schema = api_get("/api/v1/openapi.json").json()
    assert "/api/v1/incident-types" in schema["paths"]
    assert "types" in schema["components"]["schemas"]["Incident"]["required"]


def test_editors_set_an_incidents_types_and_the_admin_words_them(typed):
    _locked, _leaked, plain = typed
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(editor)
    html = client.get(reverse("admin:incidents_incident_change", args=[plain.pk])).content
    assert b'<select name="types"' in html and b"Business email compromise (BEC)" in html
    superuser = Client()
    superuser.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = superuser.get(reverse("admin:incidents_incidenttype_changelist"))
    assert changelist.status_code == 200
    assert b"Business email compromise (BEC)" in changelist.content


@postgres_only
class TestPostgresSearchVectorKeepsTypesAndSpellings:
    """PostgreSQL: the trigger-kept search vector holds the incident's types and its
    victim's other spellings (migration 0028), whoever writes them."""

    def slugs(self, q):
        caches["pages"].clear()
        return slugs_on(fetch(client_for("anonymous"), {"q": q}))

    def test_a_type_linked_unlinked_or_renamed(self, db):
        incident = IncidentFactory(summary="Systems went dark.")
        assert self.slugs("defacement") == []
        defacement = IncidentType.objects.get(slug="defacement")
        incident.types.add(defacement)
        assert self.slugs("defacement") == [incident.slug]
        defacement.name = "Vandalised website"
        defacement.save()
        assert self.slugs("vandalised") == [incident.slug]
        incident.types.remove(defacement)
        assert self.slugs("vandalised") == []

    def test_links_written_in_bulk(self, db):
        incidents = IncidentFactory.create_batch(3, summary="Nothing said.")
        through = incidents[0].types.through
        wiper = IncidentType.objects.get(slug="wiper")
        through.objects.bulk_create([through(incident=i, incidenttype=wiper) for i in incidents])
        assert set(self.slugs("wiper")) == {i.slug for i in incidents}
        through.objects.filter(incident=incidents[0]).delete()
        assert set(self.slugs("wiper")) == {i.slug for i in incidents[1:]}

    def test_a_spelling_added_or_removed(self, db):
        incident = IncidentFactory(organisation=OrganisationFactory(name="Umber Utilities"))
        assert self.slugs("Ochre") == []
        alias = incident.organisation.aliases.create(name="Ochre Power Company")
        assert self.slugs("Ochre") == [incident.slug]
        alias.name = "Sienna Power"
        alias.save()
        assert self.slugs("Ochre") == [] and self.slugs("Sienna") == [incident.slug]
        alias.delete()
        assert self.slugs("Sienna") == []


def test_a_merge_keeps_the_types_both_incidents_had(db):
    kept = IncidentFactory(types=["data-breach"])
    duplicate = IncidentFactory(organisation=kept.organisation, types=["ransomware"])
    candidate = MergeCandidate.objects.create(incident=kept, duplicate=duplicate, score=90)
    services.merge_incidents(candidate)
    assert set(kept.types.values_list("slug", flat=True)) == {"data-breach", "ransomware"}
