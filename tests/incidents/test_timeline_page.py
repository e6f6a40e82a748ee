"""The timeline on an incident page, for every viewer (public, DESIGN.md), and the status of
suspected and near-miss incidents on the page and in lists."""

import csv
import datetime
import io
import json
import re

import pytest
from django.urls import reverse

from incidents.exports import records
from incidents.models import Incident
from tests.factories import IncidentFactory
from tests.incidents.test_exports import body_of

D = datetime.date
TIMELINE_RE = re.compile(r'<section aria-labelledby="timeline-h".*?</section>', re.S)


@pytest.fixture
def incident(db):
    return IncidentFactory(
        organisation__name="Mitsubishi Electric Corporation",
        occurred_on=D(2019, 6, 28),
        occurred_precision="day",
        discovered_on=D(2019, 6, 1),
        discovered_precision="month",
        discovered_source="https://example.org/discovery-report",
        disclosed_on=D(2020, 1, 20),
        disclosed_precision="day",
        disclosed_source="https://example.org/statement",
        timeline_raw={"timeline": {"discovery": {"unit": "Days", "value": 1}}},
        confirmation="suspected",
    )


def timeline_of(client, incident):
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    match = TIMELINE_RE.search(html)
    assert match, "no timeline section"
    return html, match.group(0)


def test_every_viewer_sees_the_timeline_with_precision_sources_and_lag(viewer, incident):
    _kind, client, _member = viewer
    html, section = timeline_of(client, incident)
    assert '<time datetime="2019-06-28">28 Jun 2019</time>' in section
    assert '<time datetime="2019-06">Jun 2019</time>' in section  # discovered: a month
    assert '<time datetime="2020-01-20">20 Jan 2020</time>' in section
    assert 'href="https://example.org/discovery-report"' in section
    assert 'href="https://example.org/statement"' in section
    assert "The VERIS record: 1 day after the compromise." in section
    assert "Disclosed <strong>206 days</strong> after it occurred." in section
    # The catalogue date is the occurred date; the status is public.
    assert '<dd><time datetime="2019-06-28">28 Jun 2019</time></dd>' in html
    assert '<span class="badge badge-unconfirmed">Suspected</span>' in html


def test_an_unknown_date_says_so_and_no_lag_is_made_up(anonymous_client, db):
    incident = IncidentFactory(
        occurred_on=D(2019, 6, 1), occurred_precision="month", disclosed_on=D(2020, 1, 20)
    )
    _html, section = timeline_of(anonymous_client, incident)
    assert '<time datetime="2019-06">Jun 2019</time>' in section
    assert re.search(r"Discovered</span> <span class=\"muted\">Not known</span>", section)
    assert "timeline-lag" not in section  # occurred known only to the month
    assert "badge-unconfirmed" not in _html


def test_lists_show_the_status_and_the_lag(anonymous_client, incident):
    html = anonymous_client.get(reverse("incidents:incident_list")).content.decode()
    assert '<span class="badge badge-unconfirmed">Suspected</span>' in html
    assert "disclosed after 206 days" in html


def test_exports_and_the_api_carry_the_timeline_to_anyone(anonymous_client, incident):
    expected = {
        "occurred": {"date": "2019-06-28", "precision": "day", "source": ""},
        "occurred_until": None,
        "discovered": {
            "date": "2019-06",
            "precision": "month",
            "source": "https://example.org/discovery-report",
        },
        "disclosed": {
            "date": "2020-01-20",
            "precision": "day",
            "source": "https://example.org/statement",
        },
        "disclosure_lag_days": 206,
    }
    # The record built from an instance and the one read as plain rows agree.
    row = Incident.objects.filter(pk=incident.pk).for_export(member=False).get()
    assert records.public_record(row, "")["timeline"] == expected
    (plain,) = records.public_records(
        Incident.objects.filter(pk=incident.pk).order_by("pk"), [], "", chunk_size=10
    )
    assert plain["timeline"] == expected
    assert plain["confirmation"] == "suspected"

    data = json.loads(body_of(anonymous_client.get("/incidents/export.json")))
    assert data["incidents"][0]["timeline"] == expected
    (csv_row,) = csv.DictReader(
        io.StringIO(body_of(anonymous_client.get("/incidents/export.csv")).decode("utf-8-sig"))
    )
    assert csv_row["discovered"] == "2019-06"
    assert csv_row["discovered_precision"] == "month"
    assert csv_row["disclosed_source"] == "https://example.org/statement"
    assert csv_row["occurred_until"] == ""
    assert csv_row["disclosure_lag_days"] == "206"
    assert csv_row["confirmation"] == "suspected"

    api = anonymous_client.get(f"/api/v1/incidents/{incident.slug}").json()
    assert api["timeline"] == expected
    assert api["confirmation"] == "suspected"
