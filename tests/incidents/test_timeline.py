"""An incident's timeline: its rules (order, no future date, the catalogue date, the
disclosure lag) and how every writer keeps them (incidents.rules, Incident.save, clean)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from incidents import rules
from incidents.models import Incident
from tests.factories import IncidentFactory
from tests.test_admin import change_form_payload, change_url, client_for, editor

D = datetime.date
TODAY = D(2024, 6, 15)
DAY = "day"
NOV_2020 = D(2020, 11, 1)


def timeline(**dates):
    """rules.timeline_of's shape from ``occurred=(date, precision)``, ..."""
    return {name: dates.get(name, (None, "day")) for name in rules.TIMELINE_DATES}


@pytest.mark.parametrize(
    ("dates", "problem"),
    [
        # Disclosed the day before it occurred.
        ({"occurred": (D(2020, 11, 20), DAY), "disclosed": (D(2020, 11, 19), DAY)}, "disclosed"),
        ({"occurred": (D(2020, 11, 20), DAY), "discovered": (D(2019, 1, 1), "year")}, "discovered"),
        ({"occurred": (NOV_2020, "month"), "occurred_end": (D(2020, 10, 31), DAY)}, "occurred_end"),
        # Any date after today.
        ({"disclosed": (D(2024, 6, 16), "day")}, "disclosed"),
        ({"occurred": (D(2025, 1, 1), "year")}, "occurred"),
    ],
)  # fmt: skip
def test_impossible_timelines_are_refused(dates, problem):
    assert set(rules.timeline_problems(timeline(**dates), TODAY)) == {problem}


@pytest.mark.parametrize(
    "dates",
    [
        # Compared as periods: "Nov 2020" is not before "20 Nov 2020", nor 2020 before it.
        {"occurred": (D(2020, 11, 20), "day"), "disclosed": (D(2020, 11, 1), "month")},
        {"occurred": (D(2020, 11, 20), "day"), "discovered": (D(2020, 1, 1), "year")},
        {"occurred": (D(2020, 11, 20), "day"), "disclosed": (D(2020, 11, 20), "day")},
        # This month and this year are not in the future.
        {"disclosed": (D(2024, 6, 1), "month"), "occurred": (D(2024, 1, 1), "year")},
        {},
    ],
)
def test_possible_timelines_pass(dates):
    assert rules.timeline_problems(timeline(**dates), TODAY) == {}


def test_the_lag_counts_days_from_occurred_else_discovered_both_known_to_the_day():
    day = {"occurred": (D(2020, 1, 1), "day"), "disclosed": (D(2020, 3, 1), "day")}
    assert rules.disclosure_lag(timeline(**day)) == 60
    from_discovery = {
        "occurred": (D(2020, 1, 1), "month"),
        "discovered": (D(2020, 2, 1), "day"),
        "disclosed": (D(2020, 3, 1), "day"),
    }
    assert rules.disclosure_lag(timeline(**from_discovery)) == 29
    assert rules.disclosure_lag(timeline(**{**day, "disclosed": (D(2020, 3, 1), "month")})) is None
    assert rules.disclosure_lag(timeline(occurred=(D(2020, 1, 1), "month"))) is None
    assert rules.disclosure_lag(timeline(disclosed=(D(2020, 1, 1), "day"))) is None


def test_the_catalogue_date_is_occurred_else_disclosed_else_none():
    both = timeline(occurred=(D(2019, 6, 9), "month"), disclosed=(D(2020, 1, 20), "day"))
    assert rules.catalogue_date(both) == (D(2019, 6, 1), "month")
    assert rules.catalogue_date(timeline(disclosed=(D(2020, 1, 20), "day"))) == (
        D(2020, 1, 20),
        "day",
    )
    assert rules.catalogue_date(timeline(discovered=(D(2020, 1, 20), "day"))) is None


def test_a_save_keeps_the_catalogue_date_and_the_lag(db):
    incident = IncidentFactory(
        date=D(2022, 1, 1),
        occurred_on=D(2019, 6, 28),
        occurred_precision="day",
        disclosed_on=D(2020, 1, 20),
        disclosed_precision="day",
    )
    incident.refresh_from_db()
    assert (incident.date, incident.date_precision) == (D(2019, 6, 28), "day")
    assert incident.disclosure_lag_days == 206
    # Only the disclosure known: it is the catalogue date; the lag is unknown.
    incident.occurred_on = None
    incident.disclosed_precision = "month"
    incident.save(update_fields=["occurred_on", "disclosed_precision"])
    incident.refresh_from_db()
    assert (incident.date, incident.date_precision) == (D(2020, 1, 1), "month")
    assert incident.disclosure_lag_days is None
    assert incident.disclosed_on == D(2020, 1, 1)  # the first day of its month


def test_a_timeline_leaves_a_published_slug_alone(db):
    incident = IncidentFactory(date=D(2020, 11, 20), status="published")
    slug = incident.slug
    incident.occurred_on, incident.occurred_precision = D(2019, 3, 1), "month"
    incident.save()
    incident.refresh_from_db()
    assert incident.slug == slug
    assert incident.date == D(2019, 3, 1)


def test_clean_names_the_field_and_the_reason(db):
    incident = IncidentFactory.build(
        occurred_on=D(2020, 11, 20),
        occurred_precision="day",
        disclosed_on=D(2020, 11, 19),
        disclosed_precision="day",
        discovered_on=timezone_tomorrow(),
        discovered_precision="day",
    )
    with pytest.raises(ValidationError) as raised:
        incident.clean()
    errors = raised.value.message_dict
    assert errors["disclosed_on"] == [
        "Disclosed (19 Nov 2020) cannot be before occurred (20 Nov 2020)."
    ]
    assert "is in the future" in errors["discovered_on"][0]


def timezone_tomorrow():
    return datetime.date.today() + datetime.timedelta(days=2)


def test_the_database_refuses_a_negative_lag_and_an_end_without_a_start(db):
    incident = IncidentFactory()
    for values in ({"disclosure_lag_days": -1}, {"occurred_end_on": D(2020, 1, 1)}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Incident.objects.filter(pk=incident.pk).update(**values)


def test_the_admin_form_shows_a_clear_error_and_saves_nothing(db):
    incident = IncidentFactory(summary="Kept.")
    client = client_for(editor())
    url = change_url(incident)
    data = change_form_payload(client.get(url))
    data.update(
        occurred_on="2020-11-20",
        occurred_precision="day",
        disclosed_on="2020-11-19",
        disclosed_precision="day",
        summary="Changed.",
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["disclosed_on"] == [
        "Disclosed (19 Nov 2020) cannot be before occurred (20 Nov 2020)."
    ]
    incident.refresh_from_db()
    assert incident.summary == "Kept."

    data["disclosed_on"] = "2021-01-05"
    assert client.post(url, data).status_code == 302
    incident.refresh_from_db()
    assert (incident.date, incident.disclosure_lag_days) == (D(2020, 11, 20), 46)
