"""Issue 10, item 6: the data-quality report (``manage.py catalogue_report`` and the admin's
*Catalogue report*), on both databases (trigram similarity on PostgreSQL)."""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from incidents import quality
from incidents.models import OrganisationAlias
from tests.factories import IncidentFactory, OrganisationFactory, SourceFactory, UserFactory
from tests.test_admin import client_for, editor

QUALITY = Path(__file__).resolve().parent.parent / "data" / "veris" / "quality.jsonl"
DAY = datetime.timedelta(days=1)
LEAK = (
    "Attackers copied the customer database of Acme Stores and posted 40,000 card numbers "
    "on a forum; the company reset every password."
)


def incident(org, date, summary=LEAK, **fields):
    found = IncidentFactory(organisation=org, date=date, summary=summary, **fields)
    SourceFactory(incident=found)
    return found


@pytest.fixture
def acme(db):
    return OrganisationFactory(name="Acme Stores", country="US")


def test_same_victim_within_a_week_with_similar_summaries_is_a_likely_duplicate(acme):
    first = incident(acme, datetime.date(2020, 3, 1))
    second = incident(acme, datetime.date(2020, 3, 6), summary=LEAK.replace("40,000", "40 000"))
    (pair,) = quality.likely_duplicates()
    assert {pair.first, pair.second} == {first, second}
    assert pair.similarity >= quality.SIMILARITY


@pytest.mark.parametrize(
    "days, other_victim, summary",
    [
        (8, False, LEAK),  # more than a week apart
        (2, True, LEAK),  # another victim
        (2, False, "A laptop with payroll files was stolen from a branch manager's car."),
    ],
)
def test_not_a_likely_duplicate(acme, days, other_victim, summary):
    incident(acme, datetime.date(2020, 3, 1))
    org = OrganisationFactory(name="Other Stores", country="US") if other_victim else acme
    incident(org, datetime.date(2020, 3, 1) + days * DAY, summary=summary)
    assert quality.likely_duplicates() == []


def test_placeholder_victims_have_no_duplicates(db):
    unnamed = OrganisationFactory(name="Unidentified organisation (Canada)", is_placeholder=True)
    incident(unnamed, datetime.date(2020, 3, 1))
    incident(unnamed, datetime.date(2020, 3, 2))
    assert quality.likely_duplicates() == []


def test_organisations_sharing_a_name_and_country_are_merge_candidates(db):
    a = OrganisationFactory(name="Acme Inc", country="US")
    b = OrganisationFactory(name="ACME", country="US")
    OrganisationFactory(name="Acme", country="GB")  # another country: another victim
    (group,) = quality.spelling_groups()
    assert (group.country, set(group.organisations)) == ("US", {a, b})


def test_organisations_with_several_spellings(acme):
    OrganisationAlias.objects.create(organisation=acme, name="Acme Stores")
    OrganisationAlias.objects.create(organisation=acme, name="ACME Stores Inc.")
    (org,) = quality.several_spellings()
    assert org.spellings == ["ACME Stores Inc.", "Acme Stores"]


def test_incidents_without_sources_and_future_dates(acme):
    sourced = incident(acme, datetime.date(2020, 3, 1))
    bare = IncidentFactory(organisation=acme, date=datetime.date(2019, 1, 1))
    future = IncidentFactory(organisation=acme, date=datetime.date(2099, 1, 1), status="draft")
    report = quality.build_report(today=datetime.date(2026, 12, 1))
    assert set(report.without_sources) == {bare, future}
    assert sourced not in report.without_sources
    assert report.future == [future]


def test_the_command_lists_every_section_with_counts(db):
    call_command("import_veris", str(QUALITY), stdout=StringIO())
    out = StringIO()
    call_command("catalogue_report", stdout=out)
    text = out.getvalue()
    assert "1  incidents dated in the future" in text
    assert "2099-01-01 (draft)" in text
    assert "quality.jsonl:5: actor.external.variety: warning: unknown value 'Alien overlord'" in (
        text
    )
    assert "Microsoft [microsoft]: Microsoft | Microsoft Corp | microsoft" in text


def test_staff_read_the_report_in_the_admin(db, acme):
    incident(acme, datetime.date(2020, 3, 1))
    incident(acme, datetime.date(2020, 3, 3))
    url = reverse("admin:incidents_catalogue_report")
    response = client_for(editor()).get(url)
    assert response.status_code == 200
    assert "Likely duplicate incidents" in response.content.decode()
    assert "Acme Stores" in response.content.decode()
    datasets = client_for(editor()).get(reverse("admin:incidents_dataset_changelist"))
    assert url in datasets.content.decode()


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_non_staff_never_read_the_report(db, kind):
    user = None if kind == "anonymous" else UserFactory()
    response = client_for(user).get(reverse("admin:incidents_catalogue_report"))
    assert response.status_code == 302  # to the login page
