import datetime

import pytest
from django.db import IntegrityError, transaction

from incidents.models import Incident, Technique, format_incident_date
from tests.factories import (
    IncidentFactory,
    OrganisationFactory,
    TechniqueFactory,
    ThreatActorFactory,
)


@pytest.mark.parametrize(
    ("precision", "expected"),
    [("year", "2020"), ("month", "Nov 2020"), ("day", "20 Nov 2020")],
)
def test_date_is_shown_as_far_as_it_is_known(precision, expected):
    assert format_incident_date(datetime.date(2020, 11, 20), precision) == expected


def test_date_is_stored_as_the_start_of_its_known_period(db):
    month = IncidentFactory(date=datetime.date(2020, 11, 20), date_precision="month")
    year = IncidentFactory(date=datetime.date(2019, 7, 4), date_precision="year")
    month.refresh_from_db()
    year.refresh_from_db()
    assert month.date == datetime.date(2020, 11, 1)
    assert month.date_display == "Nov 2020"
    assert year.date == datetime.date(2019, 1, 1)
    assert year.date_display == "2019"


def test_slugs_are_derived_unique_and_stable(db):
    org = OrganisationFactory(name="Mitsubishi Electric Corporation")
    first = IncidentFactory(organisation=org, date=datetime.date(2020, 11, 20))
    second = IncidentFactory(organisation=org, date=datetime.date(2020, 11, 2))
    assert first.slug == "2020-11-mitsubishi-electric-corporation"
    assert second.slug == "2020-11-mitsubishi-electric-corporation-2"
    first.summary = "Edited."
    first.save()
    first.refresh_from_db()
    assert first.slug == "2020-11-mitsubishi-electric-corporation"
    assert org.slug == "mitsubishi-electric-corporation"


def test_publishing_sets_the_timestamp_once(db):
    incident = IncidentFactory(status="draft")
    assert incident.published_at is None
    incident.status = "published"
    incident.save()
    stamp = incident.published_at
    assert stamp is not None
    incident.save()
    assert incident.published_at == stamp


def test_technique_url_defaults_to_attack(db):
    technique = TechniqueFactory(attack_id="T1566.001", parent=TechniqueFactory(attack_id="T1566"))
    assert technique.url == "https://attack.mitre.org/techniques/T1566/001"


@pytest.mark.parametrize(
    "update",
    [
        {"date_precision": "week"},
        {"status": "archived"},
        {"status": "published", "published_at": None},
    ],
)
def test_database_rejects_invalid_incidents(db, update):
    incident = IncidentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(**update)


def test_database_rejects_duplicate_actor_names_case_insensitively(db):
    ThreatActorFactory(name="Grey Heron")
    with pytest.raises(IntegrityError), transaction.atomic():
        ThreatActorFactory(name="grey heron", slug="grey-heron-2")


def test_one_victim_name_in_two_countries_is_two_organisations(db):
    """Issue 10: victims are keyed by name and country (the importers' rule); staff may
    also keep two organisations of one name apart."""
    gb = OrganisationFactory(name="Ministry of Health", country="GB")
    nz = OrganisationFactory(name="Ministry of Health", country="NZ")
    assert gb.slug != nz.slug


def test_database_rejects_subtechnique_id_without_dot(db):
    parent = TechniqueFactory(attack_id="T1566")
    with pytest.raises(IntegrityError), transaction.atomic():
        Technique.objects.create(attack_id="T1567", name="Bad", parent=parent)


def test_database_rejects_invalid_impact(db):
    from tests.factories import CIAPostureFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        CIAPostureFactory(confidentiality="critical")


def test_taggable_excludes_revoked_and_deprecated(db):
    live = TechniqueFactory()
    TechniqueFactory(is_revoked=True)
    TechniqueFactory(is_deprecated=True)
    assert list(Technique.objects.taggable()) == [live]
