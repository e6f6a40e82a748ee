"""Watched organisations (issue 25): a member watches organisations by name or web domain
and gets the saved searches' alerts when a new incident names one; members only; the
watch list is the member's own data (Your data, deleted with the account)."""

import datetime
import json

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from incidents import alerts, services, watches
from incidents.models import (
    AlertMatch,
    Incident,
    NewIncident,
    OrganisationAlias,
    SavedSearch,
    Watch,
)
from tests.conftest import client_for
from tests.factories import IncidentFactory, OrganisationFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """A draft made and published by the service, the matcher run when it commits."""

    def run(**fields):
        draft = IncidentFactory(status="draft", **fields)
        with django_capture_on_commit_callbacks(execute=True):
            services.publish(Incident.objects.filter(pk=draft.pk))
        return Incident.objects.get(pk=draft.pk)

    return run


@pytest.fixture
def member():
    return SubscriptionFactory().user


def watch(user, text, alerts="immediate", organisation=None):
    watchlist = watches.watchlist_of(user, create=True)
    if watchlist.alerts != alerts:
        watchlist.alerts = alerts
        watchlist.save()
    label, key, domain = watches.parse(text)
    return Watch.objects.create(
        watchlist=watchlist, label=label, name_key=key, domain=domain, organisation=organisation
    )


def alert_emails():
    return [m for m in mail.outbox if "List-Unsubscribe" in m.extra_headers]


def logged_in(user):
    client = client_for("anonymous")
    client.force_login(user)
    return client


# What a member writes


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Acme Logistics Ltd", ("Acme Logistics Ltd", "acmelogistics", "")),
        ("  The  ACME   Logistics ", ("The ACME Logistics", "acmelogistics", "")),
        ("Booking.com", ("Booking.com", "bookingcom", "booking.com")),
        ("https://www.Supplier.example/contact", ("supplier.example", "", "supplier.example")),
        ("bücher.example", ("bücher.example", "bucherexample", "xn--bcher-kva.example")),
    ],
)
def test_a_name_or_a_domain_is_read_as_watches_match_them(text, expected):
    assert watches.parse(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\x00"])
def test_what_names_nothing_is_refused(text):
    with pytest.raises(watches.NotValid):
        watches.parse(text)


# Matching and alerts (the saved searches' path)


def test_a_new_incident_naming_a_watched_organisation_sends_the_alert(member, publish):
    watch(member, "ACME Logistics")
    hit = publish(organisation=OrganisationFactory(name="Acme Logistics Ltd."))
    publish(organisation=OrganisationFactory(name="Acme Bakery"))

    [email] = alert_emails()
    assert email.to == [member.email]
    assert "1 new incident: Watched organisations" in email.subject
    assert "names an organisation you watch" in email.body
    assert "Acme Logistics Ltd." in email.body and "Bakery" not in email.body
    assert hit.get_absolute_url() in email.body
    assert reverse("incidents:watches") in email.body
    assert "names an organisation you watch" in email.alternatives[0][0]
    watchlist = watches.watchlist_of(member)
    assert list(AlertMatch.objects.values_list("saved_search", "incident", "emailed")) == [
        (watchlist.pk, hit.pk, True)
    ]
    assert not NewIncident.objects.exists()


def test_a_spelling_a_source_used_a_website_domain_and_the_victim_itself_match(member, publish):
    aliased = OrganisationFactory(name="Northwind Holdings")
    OrganisationAlias.objects.create(organisation=aliased, name="Northwind Traders")
    on_domain = OrganisationFactory(name="Contoso", website="https://shop.contoso.example/")
    renamed = OrganisationFactory(name="Fabrikam")
    watch(member, "northwind traders")
    watch(member, "contoso.example")
    watch(member, "Fabrikam", organisation=renamed)
    renamed.name = "Fabrikam Group (formerly Fabrikam)"
    renamed.save()

    hits = [publish(organisation=o) for o in (aliased, on_domain, renamed)]
    publish(organisation=OrganisationFactory(name="Other", website="https://contoso.example.org"))

    watchlist = watches.watchlist_of(member)
    assert set(AlertMatch.objects.values_list("saved_search", "incident")) == {
        (watchlist.pk, hit.pk) for hit in hits
    }
    assert len(alert_emails()) == 3  # immediate: one email per publication


def test_an_empty_watch_list_and_alerts_off_match_nothing(member, publish):
    watches.watchlist_of(member, create=True)  # a watch list with no watch: not "everything"
    other = SubscriptionFactory().user
    watch(other, "Acme", alerts="off")
    publish(organisation=OrganisationFactory(name="Acme"))
    assert not AlertMatch.objects.exists() and not alert_emails()


def test_watch_lists_and_saved_searches_each_get_their_own_alert(member, publish):
    SavedSearch.objects.create(user=member, name="German", query="country=DE", alerts="immediate")
    watch(member, "Acme")
    publish(organisation=OrganisationFactory(name="Acme"), country="DE")
    subjects = sorted(m.subject for m in alert_emails())
    assert [s.split("] ")[-1] for s in subjects] == [
        "1 new incident: German",
        "1 new incident: Watched organisations",
    ]


def test_digests_list_the_watch_lists_matches(member, publish):
    watch(member, "Acme", alerts="daily")
    publish(organisation=OrganisationFactory(name="Acme"))
    assert not alert_emails()
    assert alerts.searches_due("daily") == [watches.watchlist_of(member).pk]
    alerts.deliver(watches.watchlist_of(member).pk)
    [email] = alert_emails()
    assert "(daily digest)" in email.body


def test_a_lapsed_member_gets_no_alert_and_no_backlog(member, publish):
    watch(member, "Acme")
    member.subscriptions.update(ends_at=timezone.now() - datetime.timedelta(days=1))
    publish(organisation=OrganisationFactory(name="Acme"))
    assert not alert_emails()
    assert list(AlertMatch.objects.values_list("emailed", flat=True)) == [False]
    assert not AlertMatch.objects.filter(sent_at__isnull=True).exists()


# The page: members add, everyone signed in keeps control of their own list


def test_a_member_adds_lists_and_removes_watches(member):
    client = logged_in(member)
    victim = OrganisationFactory(name="Acme Logistics Ltd")
    IncidentFactory(organisation=victim)
    response = client.post(reverse("incidents:watches"), {"watch": "acme logistics"})
    assert response.status_code == 302
    client.post(reverse("incidents:watches"), {"watch": "ACME Logistics"})  # the same key
    [added] = Watch.objects.filter(watchlist__user=member)
    assert (added.label, added.name_key, added.watchlist.alerts) == (
        "acme logistics",
        "acmelogistics",
        "immediate",
    )

    page = client.get(reverse("incidents:watches")).content.decode()
    assert "acme logistics" in page and victim.get_absolute_url() in page
    assert "Latest incidents naming them" in page

    assert client.post(reverse("incidents:watch_alerts"), {"alerts": "weekly"}).status_code == 302
    assert watches.watchlist_of(member).alerts == "weekly"
    client.post(reverse("incidents:watch_remove", args=[added.pk]))
    assert not Watch.objects.exists()


def test_watching_from_a_victims_page_links_the_organisation(member):
    victim = OrganisationFactory(name="Globex")
    IncidentFactory(organisation=victim)
    client = logged_in(member)
    victim_page = client.get(victim.get_absolute_url()).content.decode()
    assert f'href="{reverse("incidents:watches")}?organisation={victim.slug}"' in victim_page
    form = client.get(reverse("incidents:watches"), {"organisation": victim.slug})
    assert 'value="Globex"' in form.content.decode()
    client.post(reverse("incidents:watches"), {"watch": "Globex", "organisation": victim.slug})
    assert Watch.objects.get().organisation == victim
    # The name changed in the form before adding: what it says is watched, not the victim.
    client.post(reverse("incidents:watches"), {"watch": "Initech", "organisation": victim.slug})
    assert Watch.objects.get(label="Initech").organisation is None


@pytest.mark.parametrize("kind", ["registered", "expired_member"])
def test_a_non_member_cannot_watch(kind):
    client = client_for(kind)
    page = client.get(reverse("incidents:watches"))
    assert page.status_code == 200
    assert "Watching organisations is for members" in page.content.decode()
    assert 'name="watch"' not in page.content.decode()
    refused = client.post(reverse("incidents:watches"), {"watch": "Acme"})
    assert refused.status_code == 403
    assert not Watch.objects.exists() and not SavedSearch.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in():
    client = client_for("anonymous")
    for name in ["incidents:watches", "incidents:watch_alerts"]:
        response = client.post(reverse(name), {"watch": "Acme"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Watch.objects.exists()


def test_a_lapsed_member_keeps_control_of_their_list(member):
    kept = watch(member, "Acme")
    member.subscriptions.update(ends_at=timezone.now() - datetime.timedelta(days=1))
    client = logged_in(member)
    page = client.get(reverse("incidents:watches")).content.decode()
    assert "paused" in page and "Acme" in page
    assert "Latest incidents naming them" not in page
    client.post(reverse("incidents:watch_alerts"), {"alerts": "off"})
    assert watches.watchlist_of(member).alerts == "off"
    client.post(reverse("incidents:watch_remove", args=[kept.pk]))
    assert not Watch.objects.exists()


def test_nobody_removes_or_reads_another_members_watches(member):
    theirs = watch(SubscriptionFactory().user, "Initech")
    client = logged_in(member)
    assert client.post(reverse("incidents:watch_remove", args=[theirs.pk])).status_code == 404
    assert "Initech" not in client.get(reverse("incidents:watches")).content.decode()
    assert Watch.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("text", ["", "!!!", "x" * 301])
def test_bad_input_is_a_clear_400_and_adds_nothing(member, text):
    response = logged_in(member).post(reverse("incidents:watches"), {"watch": text})
    assert response.status_code == 400
    assert not Watch.objects.exists()


def test_the_list_has_a_limit(member, monkeypatch):
    monkeypatch.setattr("incidents.views.watches.MAX_WATCHES", 2)
    client = logged_in(member)
    for name in ["One", "Two"]:
        assert client.post(reverse("incidents:watches"), {"watch": name}).status_code == 302
    refused = client.post(reverse("incidents:watches"), {"watch": "Three"})
    assert refused.status_code == 400 and Watch.objects.count() == 2


def test_the_watch_list_is_not_a_saved_search_on_that_page(member):
    watch(member, "Acme")
    page = logged_in(member).get(reverse("incidents:saved_searches")).content.decode()
    assert "Watched organisations</a></h2>" not in page
    assert "You have no saved searches" in page


# The private feed


def test_the_private_feed_lists_incidents_naming_a_watch_while_the_owner_is_a_member(member):
    watch(member, "Acme")
    IncidentFactory(organisation=OrganisationFactory(name="ACME"), summary="Acme was hit.")
    IncidentFactory(organisation=OrganisationFactory(name="Umbrella"))
    url = watches.watchlist_of(member).feed_url()
    feed = client_for("anonymous").get(url).content.decode()
    assert "ACME" in feed and "Umbrella" not in feed
    member.subscriptions.update(ends_at=timezone.now() - datetime.timedelta(days=1))
    assert "ACME" not in client_for("anonymous").get(url).content.decode()


# Your data


def test_your_data_has_the_watch_list_and_deleting_the_account_removes_it(member):
    watch(member, "Acme")
    watch(member, "contoso.example")
    data = json.loads(logged_in(member).post(reverse("accounts:my_data")).content)
    section = data["watched_organisations"]
    assert section["alerts"] == "immediate"
    assert [(w["label"], w["domain"]) for w in section["watches"]] == [
        ("Acme", None),
        ("contoso.example", "contoso.example"),
    ]
    assert "feed" not in json.dumps(section)
    assert data["saved_searches"] == []
    member.delete()
    assert not Watch.objects.exists() and not SavedSearch.objects.exists()
