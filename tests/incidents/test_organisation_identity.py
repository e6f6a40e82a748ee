"""Issue 10, item 2: victims a reader can trust. The normalised key, staff merge (old
addresses answer 301, logged) and split by country in the admin, and the migration that
gives existing organisations their first spelling."""

import importlib

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from incidents import rules
from incidents.models import Incident, Organisation, OrganisationAlias, OrganisationRedirect
from tests.factories import IncidentFactory, OrganisationFactory
from tests.test_admin import client_for, editor, run_action

migration = importlib.import_module("incidents.migrations.0013_organisation_identity_and_full_text")


@pytest.mark.parametrize(
    "a, b",
    [
        ("Microsoft", "Microsoft Corp."),
        ("Microsoft", "MICROSOFT Corporation"),
        ("7-Eleven", "7 Eleven, Inc."),
        ("Bank of America", "Bank of America Corp"),
        ("The Boeing Company", "Boeing"),
        ("Librería Porrúa", "Libreria Porrua"),
        ("AT&T", "AT and T"),
    ],
)
def test_spellings_of_one_name_share_a_key(a, b):
    assert rules.organisation_key(a) == rules.organisation_key(b)


@pytest.mark.parametrize(
    "a, b",
    [("Microsoft", "Micron"), ("Bank of America", "America"), ("Co", "Inc")],
)
def test_different_names_keep_different_keys(a, b):
    assert rules.organisation_key(a) != rules.organisation_key(b)


@pytest.fixture
def editor_client(db):
    return client_for(editor())


def merge(client, organisations, keep):
    url = reverse("admin:incidents_organisation_changelist")
    return client.post(
        url,
        {
            "action": "merge",
            "_selected_action": [str(o.pk) for o in organisations],
            "keep": str(keep.pk),
            "confirm": "yes",
        },
        follow=True,
    )


def test_merge_asks_which_organisation_to_keep(editor_client):
    a, b = OrganisationFactory(name="Microsoft"), OrganisationFactory(name="Microsoft Corp")
    response = run_action(editor_client, Organisation, "merge", [a, b])
    assert response.status_code == 200
    assert b'name="keep"' in response.content
    assert Organisation.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_merge_moves_incidents_and_spellings_and_redirects_old_addresses(editor_client, client):
    keep = OrganisationFactory(name="Microsoft", country="US")
    gone = OrganisationFactory(name="Microsoft Corp", country="US")
    incident = IncidentFactory(organisation=gone, status="published")
    old_url = gone.get_absolute_url()

    response = merge(editor_client, [keep, gone], keep)

    assert "Merged 1 organisation(s) into Microsoft" in response.content.decode()
    assert not Organisation.objects.filter(pk=gone.pk).exists()
    assert Incident.objects.get(pk=incident.pk).organisation == keep
    assert "Microsoft Corp" in set(keep.aliases.values_list("name", flat=True))
    redirect = client.get(old_url)
    assert (redirect.status_code, redirect["Location"]) == (301, keep.get_absolute_url())
    entry = LogEntry.objects.get(object_id=str(keep.pk))
    assert "Microsoft Corp" in entry.get_change_message()


def test_a_second_merge_keeps_the_first_redirect_working(editor_client, client):
    first = OrganisationFactory(name="Acme", country="US")
    second = OrganisationFactory(name="Acme Inc", country="US")
    third = OrganisationFactory(name="ACME Corp", country="US")
    IncidentFactory(organisation=first, status="published")
    old = second.get_absolute_url()
    merge(editor_client, [second, third], third)
    merge(editor_client, [first, third], first)
    assert client.get(old)["Location"] == first.get_absolute_url()
    assert OrganisationRedirect.objects.filter(organisation=first).count() == 2


def test_merge_across_countries_is_refused(editor_client):
    gb = OrganisationFactory(name="Ministry of Health", country="GB")
    nz = OrganisationFactory(name="Ministry of Health 2", country="NZ")
    response = merge(editor_client, [gb, nz], gb)
    assert "different countries" in response.content.decode()
    assert Organisation.objects.filter(pk__in=[gb.pk, nz.pk]).count() == 2


def test_a_redirect_never_reveals_an_organisation_the_viewer_may_not_see(editor_client, client):
    keep = OrganisationFactory(name="Hidden Victim", country="US")
    gone = OrganisationFactory(name="Hidden Victim Inc", country="US")
    IncidentFactory(organisation=keep, status="draft")
    old = gone.get_absolute_url()
    merge(editor_client, [keep, gone], keep)
    assert client.get(old).status_code == 404


def test_split_by_country_gives_each_country_its_own_organisation(editor_client):
    org = OrganisationFactory(name="Ministry of Health", country="CA")
    ca = IncidentFactory(organisation=org, country="CA")
    gb = IncidentFactory(organisation=org, country="GB")
    nz = IncidentFactory(organisation=org, country="NZ")

    response = run_action(editor_client, Organisation, "split_by_country", [org])

    assert "2 organisation(s) made" in response.content.decode()
    assert Incident.objects.get(pk=ca.pk).organisation == org
    moved = {Incident.objects.get(pk=i.pk).organisation for i in (gb, nz)}
    assert {(o.name, str(o.country)) for o in moved} == {
        ("Ministry of Health", "GB"),
        ("Ministry of Health", "NZ"),
    }
    assert all("Ministry of Health" in o.aliases.values_list("name", flat=True) for o in moved)
    assert LogEntry.objects.filter(object_id=str(org.pk)).exists()


def test_existing_organisations_get_their_name_as_first_spelling(db):
    acme = OrganisationFactory(name="Acme")
    unnamed = OrganisationFactory(name="Unidentified organisation (Canada)")

    migration.backfill_identity(apps, None)
    migration.backfill_identity(apps, None)  # twice: nothing more

    assert set(OrganisationAlias.objects.values_list("organisation", "name")) == {
        (acme.pk, "Acme"),
        (unnamed.pk, "Unidentified organisation (Canada)"),
    }
    assert set(Organisation.objects.filter(is_placeholder=True)) == {unnamed}


def test_the_alias_model_holds_one_spelling_once(db):
    org = OrganisationFactory(name="Acme")
    OrganisationAlias.objects.create(organisation=org, name="ACME Inc")
    with pytest.raises(Exception):  # noqa: B017, PT011 - IntegrityError from either database
        OrganisationAlias.objects.create(organisation=org, name="ACME Inc")
