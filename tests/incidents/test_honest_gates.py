"""Honest gates: a members' field with no value behind it says so to everyone ("Not assessed",
"No actor identified"); one with a value stays locked for non-members (DESIGN.md,
docs/gating.md). Whether a value exists is public, like the counts; the value never is."""

import datetime

import pytest
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    SourceFactory,
    ThreatActorFactory,
)

# anonymous, signed in but no member, member
KINDS = [("anonymous", False), ("registered", False), ("member", True)]


def article(kind, incident):
    html = client_for(kind).get(incident.get_absolute_url()).content.decode()
    return html.split('<section aria-labelledby="analysis-h"', 1)[1].split("</section>", 1)[0]


def cell(html, label):
    """The text of the table cell labelled ``label`` (data-label)."""
    return html.split(f'data-label="{label}">', 1)[1].split("</td>", 1)[0]


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_no_cia_posture_reads_not_assessed(db, kind, member):
    incident = IncidentFactory()
    assert "Not assessed" in cell(article(kind, incident), "CIA Posture")


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_a_posture_that_knows_nothing_is_not_assessed(db, kind, member):
    incident = IncidentFactory()
    CIAPostureFactory(
        incident=incident, confidentiality="unknown", integrity="unknown", availability="unknown"
    )
    text = cell(article(kind, incident), "CIA Posture")
    if member:
        assert "impact-unknown" in text  # members see the posture as it is
    else:
        assert "Not assessed" in text
        assert "Available to members" not in text


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_a_cia_posture_stays_locked(db, kind, member):
    incident = IncidentFactory()
    CIAPostureFactory(incident=incident, confidentiality="high", notes="Payroll copied.")
    text = cell(article(kind, incident), "CIA Posture")
    assert "Not assessed" not in text
    if member:
        assert "Payroll copied." in text
    else:
        assert '<span class="locked">Available to members</span>' in text
        assert "Payroll copied." not in text
        assert "impact-high" not in text


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_no_actor_reads_no_actor_identified(db, kind, member):
    incident = IncidentFactory()
    html = article(kind, incident)
    assert "No actor identified" in html
    assert "0 actors" not in html
    assert "Available to members" not in cell(html, "Threat Actors")


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_an_actor_with_type_and_location_stays_locked(db, kind, member):
    actor = ThreatActorFactory(
        name="Grey Heron", actor_type=ActorTypeFactory(name="Heron Type"), country="KP"
    )
    incident = IncidentFactory(threat_actors=[actor])
    html = article(kind, incident)
    if member:
        assert "Grey Heron" in html and "Heron Type" in html and "North Korea" in html
        return
    assert "Grey Heron" not in html and "Heron Type" not in html and "North Korea" not in html
    assert '<span class="locked">1 actor</span>' in cell(html, "Threat Actors")
    assert '<span class="locked">Available to members</span>' in cell(html, "Type")
    assert '<span class="locked">Available to members</span>' in cell(html, "Location")


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_an_actor_without_type_or_location_says_not_identified(db, kind, member):
    unknown = ActorTypeFactory(name="Unknown", slug="unknown")
    incident = IncidentFactory(
        threat_actors=[
            ThreatActorFactory(name="Quiet Owl", actor_type=None, country=""),
            ThreatActorFactory(name="Still Owl", actor_type=unknown, country=""),
        ]
    )
    html = article(kind, incident)
    if member:
        assert "Quiet Owl" in html and "Still Owl" in html
        return
    assert "Owl" not in html
    assert '<span class="locked">2 actors</span>' in cell(html, "Threat Actors")
    assert '<span class="muted">Not identified</span>' in cell(html, "Type")
    assert '<span class="muted">Not identified</span>' in cell(html, "Location")


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_type_known_location_not(db, kind, member):
    actor = ThreatActorFactory(actor_type=ActorTypeFactory(name="Heron Type"), country="")
    html = article(kind, IncidentFactory(threat_actors=[actor]))
    if member:
        assert "Heron Type" in html
        return
    assert "Heron Type" not in html
    assert '<span class="locked">Available to members</span>' in cell(html, "Type")
    assert '<span class="muted">Not identified</span>' in cell(html, "Location")


@pytest.mark.parametrize(("kind", "member"), KINDS)
def test_no_motive_or_technique_reads_none_recorded(db, kind, member):
    html = article(kind, IncidentFactory())
    assert "None recorded" in cell(html, "Motives")
    assert "None recorded" in cell(html, "Tactics, Techniques &amp; Procedures")


# Dates that agree


def test_last_updated_is_never_before_the_incident_or_its_sources(db):
    incident = IncidentFactory(date=datetime.date(2025, 4, 22), date_precision="day")
    SourceFactory(incident=incident, published_on=datetime.date(2025, 5, 2))
    type(incident).objects.filter(pk=incident.pk).update(
        updated_at=timezone.make_aware(datetime.datetime(2025, 1, 9, 17))
    )
    html = client_for("anonymous").get(incident.get_absolute_url()).content.decode()
    assert 'Last updated <time datetime="2025-05-02">2 May 2025</time>.' in html
    assert "Last updated 2 May 2025." in html  # the citation says the same date
    assert "note = {Last updated 2025-05-02}" in html
    assert "9 Jan 2025" not in html


def test_last_updated_is_the_incident_date_without_later_sources(db):
    incident = IncidentFactory(date=datetime.date(2025, 4, 22), date_precision="day")
    type(incident).objects.filter(pk=incident.pk).update(
        updated_at=timezone.make_aware(datetime.datetime(2025, 1, 9, 17))
    )
    html = client_for("member").get(incident.get_absolute_url()).content.decode()
    assert "Last updated 22 April 2025." in html
    assert '<time datetime="2025-04-22">22 Apr 2025</time>.' in html


def test_a_later_update_is_shown_as_it_is(db):
    incident = IncidentFactory(date=datetime.date(2020, 1, 1), date_precision="year")
    html = client_for("anonymous").get(incident.get_absolute_url()).content.decode()
    today = timezone.localdate()
    assert f'Last updated <time datetime="{today:%Y-%m-%d}">' in html


def test_last_updated_is_never_before_the_timelines_dates(db):
    incident = IncidentFactory(
        date=datetime.date(2025, 4, 22),
        date_precision="day",
        occurred_on=datetime.date(2025, 4, 22),
        occurred_precision="day",
        disclosed_on=datetime.date(2025, 6, 3),
        disclosed_precision="day",
    )
    type(incident).objects.filter(pk=incident.pk).update(
        updated_at=timezone.make_aware(datetime.datetime(2025, 1, 9, 17))
    )
    html = client_for("anonymous").get(incident.get_absolute_url()).content.decode()
    assert 'Last updated <time datetime="2025-06-03">3 Jun 2025</time>.' in html
    assert "Last updated 3 June 2025." in html
