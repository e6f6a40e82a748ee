"""Saving a finder search (members), the saved searches page, and the Atom feeds: a
saved search's private feed and the public feeds per facet."""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Subscription
from incidents.models import MAX_SAVED_SEARCHES, SavedSearch
from tests.conftest import client_for
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def member():
    return SubscriptionFactory().user


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def entries(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - the portal's own output
    return [e.find(f"{ATOM}title").text for e in feed.iter(f"{ATOM}entry")]


# Saving


def test_a_member_saves_the_finders_canonical_query(member):
    MotiveFactory(slug="espionage")
    client = signed_in(member)
    finder = client.get("/incidents/?sort=relevance&motive=espionage&q=++ransomware++&page=1")
    assert b"Save this search" in finder.content
    response = client.post(
        "/accounts/searches/",
        {
            "name": "Spies",
            "alerts": "daily",
            "query": "sort=relevance&motive=espionage&q=++ransomware++",
        },
    )
    assert response.status_code == 302
    saved = SavedSearch.objects.get(user=member)
    # The finder's own normalisation: declaration order, defaults (sort) left out, trimmed.
    assert (saved.name, saved.query, saved.alerts) == (
        "Spies",
        "q=ransomware&motive=espionage",
        "daily",
    )
    assert saved.get_absolute_url() == "/incidents/?q=ransomware&motive=espionage"
    listing = client.get("/accounts/searches/")
    assert b"Spies" in listing.content and saved.feed_token.encode() in listing.content


def test_nul_bytes_never_reach_a_saved_query(member):
    IncidentFactory(organisation=OrganisationFactory(slug="acme"))
    response = signed_in(member).post(
        "/accounts/searches/",
        {"name": "n", "alerts": "daily", "query": "organisation=ac%00me&q=ran%00somware%00"},
    )
    assert response.status_code == 302
    assert SavedSearch.objects.get().query == "q=ransomware&organisation=acme"


@pytest.mark.parametrize("kind", ["registered", "expired_member"])
def test_non_members_cannot_save_and_see_no_save_button(kind):
    client = client_for(kind)
    assert b"Save this search" not in client.get("/incidents/?q=ransomware").content
    response = client.post("/accounts/searches/", {"name": "x", "alerts": "off", "query": "q=x"})
    assert response.status_code == 403
    assert not SavedSearch.objects.exists()


def test_visitors_are_sent_to_log_in():
    response = Client().post("/accounts/searches/", {"name": "x", "alerts": "off"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().get("/accounts/searches/").status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "alerts": "off", "query": "q=x"},
        {"name": "x" * 101, "alerts": "off", "query": "q=x"},
        {"name": "x", "alerts": "hourly", "query": "q=x"},
        {"name": "x", "alerts": "off", "query": "country=ZZ"},
        {"name": "x", "alerts": "off", "query": "date_from=yesterday"},
    ],
)
def test_bad_input_is_a_clear_400(member, data):
    response = signed_in(member).post("/accounts/searches/", data)
    assert response.status_code == 400
    assert not SavedSearch.objects.exists()


def test_the_number_of_saved_searches_is_limited(member):
    SavedSearch.objects.bulk_create(
        SavedSearch(user=member, name=f"s{n}", feed_token=f"t{n}")
        for n in range(MAX_SAVED_SEARCHES)
    )
    response = signed_in(member).post("/accounts/searches/", {"name": "one more", "alerts": "off"})
    assert response.status_code == 400
    assert b"delete one" in response.content


# Managing


def test_rename_alerts_new_feed_and_delete(member):
    saved = SavedSearch.objects.create(user=member, name="Old", query="country=FR")
    client = signed_in(member)
    old_token = saved.feed_token
    assert (
        client.post(
            f"/accounts/searches/{saved.pk}/",
            {f"s{saved.pk}-name": "New", f"s{saved.pk}-alerts": "weekly"},
        ).status_code
        == 302
    )
    saved.refresh_from_db()
    assert (saved.name, saved.alerts) == ("New", "weekly")
    assert (
        client.post(f"/accounts/searches/{saved.pk}/", {f"s{saved.pk}-name": ""}).status_code == 400
    )

    assert client.post(f"/accounts/searches/{saved.pk}/feed/").status_code == 302
    saved.refresh_from_db()
    assert saved.feed_token != old_token
    assert Client().get(f"/searches/feed/{old_token}/").status_code == 404
    assert Client().get(f"/searches/feed/{saved.feed_token}/").status_code == 200

    deleted = client.post(f"/accounts/searches/{saved.pk}/delete/", {"confirm": "yes"})
    assert deleted.status_code == 302
    assert not SavedSearch.objects.exists()


def test_another_users_search_is_a_404(member):
    saved = SavedSearch.objects.create(user=UserFactory(), name="Theirs", query="")
    client = signed_in(member)
    for path in ("", "delete/", "feed/"):
        assert (
            client.post(
                f"/accounts/searches/{saved.pk}/{path}", {f"s{saved.pk}-name": "Mine"}
            ).status_code
            == 404
        )
    assert b"Theirs" not in client.get("/accounts/searches/").content
    assert SavedSearch.objects.get(pk=saved.pk).name == "Theirs"


def test_a_lapsed_member_still_manages_their_searches(member):
    saved = SavedSearch.objects.create(user=member, name="Mine", query="country=FR", alerts="daily")
    Subscription.objects.filter(user=member).update(
        ends_at=timezone.now() - datetime.timedelta(days=1)
    )
    client = signed_in(member)
    page = client.get("/accounts/searches/")
    assert b"paused" in page.content and b"Mine" in page.content
    assert (
        client.post(
            f"/accounts/searches/{saved.pk}/",
            {f"s{saved.pk}-name": "Mine", f"s{saved.pk}-alerts": "off"},
        ).status_code
        == 302
    )
    assert SavedSearch.objects.get(pk=saved.pk).alerts == "off"


# Feeds


def test_the_private_feed_follows_its_owners_membership(member):
    espionage = MotiveFactory(slug="espionage")
    IncidentFactory(organisation=OrganisationFactory(name="Spied On"), motives=[espionage])
    IncidentFactory(organisation=OrganisationFactory(name="Not Spied On"))
    IncidentFactory(
        organisation=OrganisationFactory(name="Draft Victim"), motives=[espionage], status="draft"
    )
    saved = SavedSearch.objects.create(user=member, name="Spies", query="motive=espionage")
    url = f"/searches/feed/{saved.feed_token}/"
    titles = entries(Client().get(url))
    assert [t.split(": ")[1].split(" (")[0] for t in titles] == ["Spied On"]

    Subscription.objects.filter(user=member).update(
        ends_at=timezone.now() - datetime.timedelta(days=1)
    )
    response = Client().get(url)
    assert entries(response) == []
    assert b"Spied On" not in response.content
    assert Client().get("/searches/feed/not-a-token/").status_code == 404


def test_the_public_feed_narrows_by_search_text_and_public_facets():
    IncidentFactory(
        organisation=OrganisationFactory(name="Ransom Target"),
        summary="Ransomware locked the files.",
        country="FR",
    )
    IncidentFactory(
        organisation=OrganisationFactory(name="Phished Bank"),
        summary="A phishing wave.",
        country="DE",
    )

    def victims(query):
        return sorted(
            t.split(": ")[1].split(" (")[0]
            for t in entries(Client().get("/incidents/feed/" + query))
        )

    assert victims("") == ["Phished Bank", "Ransom Target"]
    assert victims("?q=ransomware") == ["Ransom Target"]
    assert victims("?country=DE") == ["Phished Bank"]
    assert victims("?q=ransomware&country=DE") == []
    response = Client().get("/incidents/feed/?q=ransomware&country=FR")
    feed = ET.fromstring(response.content)  # noqa: S314
    assert feed.find(f"{ATOM}title").text.endswith(": “ransomware”, France")
    assert Client().get("/incidents/feed/?country=ZZ").status_code == 400
    assert Client().get("/incidents/feed/?date_from=soon").status_code == 400


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_the_public_feed_ignores_members_filters_for_everyone(kind):
    espionage = MotiveFactory(slug="espionage")
    IncidentFactory(motives=[espionage])
    IncidentFactory()
    client = client_for(kind)
    assert len(entries(client.get("/incidents/feed/?motive=espionage"))) == 2


def test_the_finder_links_the_feed_of_a_public_search_only(member):
    MotiveFactory(slug="espionage")
    IncidentFactory(country="FR")
    page = Client().get("/incidents/?q=ransomware&country=FR&sort=oldest")
    assert b'href="/incidents/feed/?q=ransomware&amp;country=FR"' in page.content
    members_search = signed_in(member).get("/incidents/?motive=espionage")
    assert b"/incidents/feed/?" not in members_search.content
