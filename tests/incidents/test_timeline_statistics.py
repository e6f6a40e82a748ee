"""Public statistics of the disclosure lag: the median per year, sector and victim country
with the number of incidents each figure rests on, and the distribution (on SQLite in
Python, on PostgreSQL in the database: the same numbers)."""

import datetime

import pytest

from tests.conftest import NON_MEMBERS, client_for
from tests.factories import IncidentFactory, SectorFactory
from tests.incidents.test_statistics import URL, numbers

D = datetime.date


def lagged(days, *, day, **fields):
    return IncidentFactory(
        date=day,
        occurred_on=day,
        disclosed_on=day + datetime.timedelta(days=days),
        **fields,
    )


@pytest.fixture
def world(db):
    health = SectorFactory(name="Health", slug="health")
    finance = SectorFactory(name="Finance", slug="finance")
    lagged(10, day=D(2020, 3, 1), country="FR", sector=health)
    lagged(30, day=D(2020, 5, 1), country="FR", sector=health)
    lagged(31, day=D(2020, 6, 1), country="FR", sector=health)
    lagged(400, day=D(2021, 1, 5), country="DE", sector=finance)
    # No lag: disclosed known only to the month.
    IncidentFactory(
        date=D(2020, 7, 1),
        occurred_on=D(2020, 7, 1),
        disclosed_on=D(2020, 9, 1),
        disclosed_precision="month",
        country="FR",
        sector=health,
    )
    # A draft's lag is nobody's figure but staff's.
    lagged(0, day=D(2020, 8, 1), country="FR", sector=health, status="draft")


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_the_lag_figures_and_what_each_rests_on(world, kind):
    client = client_for(kind)
    # [median days, incidents with a known lag]
    assert numbers(client, "lag-years") == {"2020": [30, 3], "2021": [400, 1]}
    assert numbers(client, "lag-sectors") == {"Health": [30, 3], "Finance": [400, 1]}
    assert numbers(client, "lag-countries") == {"France": [30, 3], "Germany": [400, 1]}
    assert numbers(client, "lag-distribution") == {
        "Same day": [0],
        "1 to 7 days": [0],
        "8 to 30 days": [2],
        "31 to 90 days": [1],
        "91 to 365 days": [0],
        "Over a year": [1],
    }
    # Filters narrow them like every chart.
    assert numbers(client, "lag-years", "country=DE") == {"2021": [400, 1]}


def test_an_even_count_has_the_mean_of_its_middle_two(world):
    lagged(60, day=D(2020, 10, 1), country="FR", sector=SectorFactory(slug="x", name="X"))
    assert numbers(client_for("anonymous"), "lag-years")["2020"] == [30, 4]  # (30 + 31) / 2
    assert numbers(client_for("anonymous"), "lag-sectors")["Health"] == [30, 3]


def test_staff_count_drafts_too(world):
    assert numbers(client_for("staff"), "lag-distribution")["Same day"] == [0 + 1]


def test_the_page_links_each_figure_to_the_incidents_it_rests_on(world):
    html = client_for("anonymous").get(URL).content.decode()
    for name in ("lag-years", "lag-distribution", "lag-sectors", "lag-countries"):
        assert f'id="chart-{name}"' in html
    assert 'href="/incidents/?lag_min=8&amp;lag_max=30"' in html
    assert 'href="/incidents/?year=2021&amp;lag_min=0"' in html
    assert 'href="/incidents/?sector=health&amp;lag_min=0"' in html
    finder = client_for("anonymous").get("/incidents/?sector=health&lag_min=0").content.decode()
    assert finder.count('<li class="incident-row">') == 3
