"""Timelines: a victim's incidents on its public page (anyone), a threat actor's on its page
(members only), each date drawn only as precisely as it is known, long histories counted."""

import datetime
import re

import pytest

from incidents.models import Incident
from incidents.statistics import timelines
from tests.conftest import MEMBERS, NON_MEMBERS, VIEWERS, client_for
from tests.factories import IncidentFactory, OrganisationFactory, ThreatActorFactory

TIMELINE = 'id="timeline-h"'


@pytest.fixture
def victim(db):
    """A recurring victim: one incident per date precision, and a draft."""
    org = OrganisationFactory(name="Timeline Victim", slug="timeline-victim")
    actor = ThreatActorFactory(name="Timeline Actor", slug="timeline-actor")
    incidents = {
        "year": IncidentFactory(
            organisation=org,
            date=datetime.date(2019, 1, 1),
            date_precision="year",
            summary="Known only to the year.",
            threat_actors=[actor],
        ),
        "month": IncidentFactory(
            organisation=org,
            date=datetime.date(2020, 3, 1),
            date_precision="month",
            summary="Known to the month.",
            threat_actors=[actor],
        ),
        "day": IncidentFactory(
            organisation=org,
            date=datetime.date(2021, 6, 5),
            summary="Known to the day.",
        ),
        "draft": IncidentFactory(
            organisation=org,
            date=datetime.date(2021, 9, 9),
            summary="TimelineDraftSummary",
            status=Incident.Status.DRAFT,
        ),
    }
    return org, actor, incidents


def timeline_of(html: str) -> str:
    match = re.search(r'<section class="timeline".*?</section>', html, re.S)
    assert match, "the page has no timeline"
    return match[0]


def drawn(incidents, title="summary"):
    timeline = timelines.build(incidents, title=title, finder_params={})
    return timeline, timelines.drawing(timeline, "/incidents/")


# Precision: drawn as far as it is known, never more.


def test_each_date_is_drawn_only_as_precisely_as_it_is_known(victim):
    _, _, incidents = victim
    timeline, drawing = drawn(Incident.objects.published())
    assert not timeline.grouped and timeline.total == 3
    marks = {item["mark"].precision: item for item in drawing["marks"]}
    left, month = timelines.LEFT, timelines.MONTH_W
    # The year-only incident (stored as 1 January) spans the whole of 2019: no dot in January.
    assert marks["year"]["shape"] == "year"
    assert float(marks["year"]["x"]) == left
    assert float(marks["year"]["width"]) == pytest.approx(timelines.PLOT, abs=0.05)
    # The month-only incident spans March, the whole of it.
    assert float(marks["month"]["x"]) == pytest.approx(left + 2 * month, abs=0.05)
    assert float(marks["month"]["width"]) == pytest.approx(month, abs=0.05)
    # The day is a dot inside June, near its start (the 5th of 30 days).
    cx = float(marks["day"]["cx"])
    assert left + 5 * month < cx < left + 5.25 * month
    assert [item["mark"].date_display for item in drawing["marks"]] == [
        "2019",
        "Mar 2020",
        "5 Jun 2021",
    ]
    assert [row["year"] for row in drawing["rows"]] == [2019, 2020, 2021]


@pytest.mark.parametrize("kind", VIEWERS)
def test_a_victims_page_has_its_timeline_for_every_viewer(victim, kind):
    org, _, incidents = victim
    html = timeline_of(client_for(kind).get(org.get_absolute_url()).content.decode())
    for key in ("year", "month", "day"):
        assert f'href="{incidents[key].get_absolute_url()}"' in html
    for iso, display in (("2019", "2019"), ("2020-03", "Mar 2020"), ("2021-06-05", "5 Jun 2021")):
        assert f'<time datetime="{iso}">{display}</time>' in html
    assert "<circle" in html and 'stroke-dasharray="4 3"' in html
    # A draft is on the timeline of those who may see drafts only.
    assert ("TimelineDraftSummary" in html) == (kind == "staff")
    assert "style=" not in html and "<script" not in html


def test_one_incident_is_no_history(db):
    incident = IncidentFactory()
    html = client_for("anonymous").get(incident.organisation.get_absolute_url()).content.decode()
    assert TIMELINE not in html


# A threat actor's timeline: which incidents it is linked to is for members only.


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_see_an_actors_timeline_with_its_victims(victim, kind):
    _, actor, incidents = victim
    html = timeline_of(client_for(kind).get(actor.get_absolute_url()).content.decode())
    assert html.count('href="/incidents/') >= 4  # two marks and two table rows
    assert f'href="{incidents["year"].get_absolute_url()}"' in html
    assert "Timeline Victim" in html


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_non_members_get_nothing_of_an_actors_timeline(victim, kind):
    _, actor, incidents = victim
    response = client_for(kind).get(actor.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200 and "Available to members" in html
    assert TIMELINE not in html and "<svg" not in html
    for text in ("Timeline Victim", incidents["year"].slug, incidents["month"].slug):
        assert text not in html
    # Not built and handed to the template either.
    assert "timeline" not in response.context


# Long histories: counted per month and year, from one aggregate query.


@pytest.fixture
def long_history(db):
    org = OrganisationFactory(name="Long History", slug="long-history")
    for n in range(timelines.MARKS + 10):
        IncidentFactory(organisation=org, date=datetime.date(2015 + n % 5, 1 + n % 12, 10))
    for _ in range(3):
        IncidentFactory(organisation=org, date=datetime.date(2018, 1, 1), date_precision="year")
    return org


def test_a_long_history_is_counted_by_month_and_year(long_history):
    incidents = Incident.objects.filter(organisation=long_history)
    timeline, drawing = drawn(incidents)
    assert timeline.grouped and timeline.total == timelines.MARKS + 13
    year = {y.year: y for y in timeline.years}[2018]
    # Days in 2018: n % 5 == 3, months 1 + n % 12.
    expected = [0] * 12
    for n in range(timelines.MARKS + 10):
        if n % 5 == 3:
            expected[n % 12] += 1
    assert list(year.months) == expected  # the three year-only ones are not in January
    assert year.year_only == 3
    bands = drawing["bands"]
    assert len(bands) == 1 and bands[0]["text"] == "3 incidents known only to the year"
    assert bands[0]["href"] == "/incidents/?year=2018"
    assert sum(cell["value"] for cell in drawing["cells"]) == timelines.MARKS + 10


def test_a_long_history_page_links_each_month_to_the_finder(long_history):
    html = timeline_of(client_for("anonymous").get("/organisations/long-history/").content.decode())
    assert (
        "/incidents/?organisation=long-history&amp;date_from=2018-04-01&amp;date_to=2018-04-30"
        in html
    )
    assert "/incidents/?organisation=long-history&amp;year=2018" in html
    assert "3 incidents known only to the year" in html
    assert "<circle" not in html  # counted, not drawn one by one


def test_too_many_at_once_to_tell_apart_are_counted(db):
    org = OrganisationFactory()
    for day in range(1, timelines.MAX_LANES + 2):
        IncidentFactory(organisation=org, date=datetime.date(2020, 5, day))
    timeline, _ = drawn(Incident.objects.filter(organisation=org))
    assert timeline.grouped and timeline.years[0].months[4] == timelines.MAX_LANES + 1


@pytest.mark.parametrize("size", [3, timelines.MARKS + 20])
def test_a_victims_page_costs_the_same_queries_however_long_its_history(
    db, size, django_assert_num_queries
):
    org = OrganisationFactory()
    for n in range(size):
        IncidentFactory(organisation=org, date=datetime.date(2000 + n % 20, 1 + n % 12, 1 + n % 28))
    client = client_for("anonymous")
    # The organisation with its visible-incident count; the spellings sources used; the
    # paginator's count; the page's rows; their incident types; the timeline's first
    # MARKS + 1 incidents; and, for a long history only, their counts per year, month and
    # precision.
    with django_assert_num_queries(6 if size <= timelines.MARKS else 7) as captured:
        assert client.get(org.get_absolute_url()).status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    assert len([q for q in sql if q.endswith(f"LIMIT {timelines.MARKS + 1}")]) == 1
