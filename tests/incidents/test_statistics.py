"""The statistics page: its numbers, its filters, its CSVs, its caching and its queries."""

import csv
import datetime
import io
import json
import re

import pytest
from django.db import connection
from django.urls import reverse

from incidents.models import Dataset, Incident, StatisticsRollup
from incidents.statistics import counts
from incidents.statistics.counts.base import TOP
from tests.conftest import VERSIONS_READ, client_for
from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SectorFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

URL = "/statistics/"


@pytest.fixture
def world(db):
    """Three published incidents and a draft, with every kind of gated value."""
    health = SectorFactory(name="Health", slug="health")
    finance = SectorFactory(name="Finance", slug="finance")
    money = MotiveFactory(name="Money Motive", slug="money")
    spying = MotiveFactory(name="Spying Motive", slug="spying")
    gangs = ActorTypeFactory(name="Gang Type", slug="gang")
    states = ActorTypeFactory(name="State Type", slug="state")
    entry = TacticFactory(name="Entry Tactic", shortname="entry", order=1)
    harm = TacticFactory(name="Harm Tactic", shortname="harm", order=2)
    phishing = TechniqueFactory(attack_id="T1566", name="Phishing Technique", tactics=[entry])
    encrypt = TechniqueFactory(attack_id="T1486", name="Encrypt Technique", tactics=[harm])
    gang = ThreatActorFactory(name="Gang Actor", actor_type=gangs, country="RU")
    state = ThreatActorFactory(name="State Actor", actor_type=states, country="CN")
    hospital = OrganisationFactory(name="Twice Hit Hospital", slug="twice-hit-hospital")
    first = IncidentFactory(
        organisation=hospital,
        date=datetime.date(2020, 3, 10),
        # Disclosed 30 days after it occurred (the public lag charts).
        occurred_on=datetime.date(2020, 3, 10),
        disclosed_on=datetime.date(2020, 4, 9),
        country="FR",
        sector=health,
        records_affected=100,
        types=["ransomware"],
        motives=[money],
        techniques=[phishing, encrypt],
        threat_actors=[gang],
    )
    CIAPostureFactory(incident=first, confidentiality="high")
    second = IncidentFactory(
        organisation=hospital,
        date=datetime.date(2021, 6, 1),
        date_precision="month",
        country="FR",
        sector=health,
        records_affected=300,
        types=["ransomware", "data-breach"],
        motives=[money, spying],
        techniques=[phishing],
        threat_actors=[state],
    )
    CIAPostureFactory(incident=second, confidentiality="low")
    IncidentFactory(
        date=datetime.date(2021, 1, 1),
        date_precision="year",
        country="DE",
        sector=finance,
        records_affected=None,
        motives=[spying],
        threat_actors=[state],
    )
    IncidentFactory(status="draft", date=datetime.date(2019, 1, 1), country="IT", motives=[money])


def rows_of(response):
    return list(csv.reader(io.StringIO(response.content.decode())))[1:]


def numbers(client, chart, query=""):
    response = client.get(f"/statistics/{chart}.csv" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return {row[1]: [int(v) for v in row[2:]] for row in rows_of(response)}


def test_public_numbers(world):
    client = client_for("anonymous")
    assert numbers(client, "years") == {"2020": [1], "2021": [2]}
    months = numbers(client, "months")
    assert len(months) == 16  # Mar 2020 .. Jun 2021; the incident dated by year only is left out
    assert months["Mar 2020"] == [1] and months["Jun 2021"] == [1] and months["Jan 2021"] == [0]
    assert numbers(client, "countries") == {"France": [2], "Germany": [1]}
    assert numbers(client, "sectors") == {"Health": [2], "Finance": [1]}
    assert numbers(client, "records-total") == {"2020": [100, 1], "2021": [300, 1]}
    assert numbers(client, "records-median") == {"2020": [100, 1], "2021": [300, 1]}
    assert numbers(client, "victims") == {"Twice Hit Hospital": [2]}
    assert numbers(client, "datasets") == {"Entered by the portal's editors": [3]}


def test_staff_count_drafts_too(world):
    assert numbers(client_for("staff"), "years") == {"2019": [1], "2020": [1], "2021": [2]}


@pytest.mark.parametrize("kind", ["member", "staff"])
def test_member_numbers(world, kind):
    client = client_for(kind)
    drafts = kind == "staff"
    assert numbers(client, "motives") == {
        "Money Motive": [3 if drafts else 2],
        "Spying Motive": [2],
    }
    by_year = numbers(client, "motives-by-year", "year=2021")
    assert by_year == {"Spying Motive": [2], "Money Motive": [1]}
    assert numbers(client, "techniques") == {
        "T1566 Phishing Technique": [2],
        "T1486 Encrypt Technique": [1],
    }
    assert numbers(client, "tactics") == {"Entry Tactic": [2], "Harm Tactic": [1]}
    assert numbers(client, "actor-types") == {"State Type": [2], "Gang Type": [1]}
    assert numbers(client, "actor-countries") == {"China": [2], "Russia": [1]}
    # columns: high, medium, low, none, unknown
    assert numbers(client, "cia") == {
        "Confidentiality": [1, 0, 1, 0, 0],
        "Integrity": [0, 0, 2, 0, 0],
        "Availability": [0, 0, 0, 2, 0],
    }
    response = client.get("/statistics/actor-type-sector.csv")
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert header == ["key", "Actor type", "Health", "Finance"]
    assert numbers(client, "actor-type-sector") == {"State Type": [1, 1], "Gang Type": [1, 0]}


def test_member_filters_narrow_every_chart(world):
    client = client_for("member")
    assert numbers(client, "years", "motive=spying") == {"2021": [2]}
    assert numbers(client, "sectors", "technique=T1486") == {"Health": [1]}
    assert numbers(client, "actor-countries", "sector=finance") == {"China": [1]}
    assert numbers(client, "motives", "actor_type=gang") == {"Money Motive": [1]}


def test_public_filters_and_search_narrow_the_charts(world):
    client = client_for("anonymous")
    assert numbers(client, "years", "sector=health") == {"2020": [1], "2021": [1]}
    assert numbers(client, "countries", "year=2021") == {"France": [1], "Germany": [1]}
    assert numbers(client, "years", "q=Twice+Hit") == {"2020": [1], "2021": [1]}


def test_page_draws_every_chart_with_links_to_the_finder(world):
    response = client_for("member").get(URL + "?sector=health")
    assert response.status_code == 200
    html = response.content.decode()
    for name in [*counts.PUBLIC_CHARTS, *counts.MEMBER_CHARTS]:
        assert f'id="chart-{name}"' in html, name
        assert f"/statistics/{name}.csv?sector=health" in html, name
    # every chart an SVG but the ATT&CK matrix, a grid of links
    assert html.count("<svg") == len(counts.PUBLIC_CHARTS) + len(counts.MEMBER_CHARTS) - 1
    assert 'class="heat heat-5" href="/incidents/?sector=health&amp;technique=T1566"' in html
    assert 'href="/statistics/attack-layer.json?sector=health"' in html
    assert 'href="/incidents/?sector=health&amp;country=FR"' in html
    assert 'href="/incidents/?sector=health&amp;motive=spying"' in html
    assert 'href="/incidents/?sector=health&amp;actor_type=gang"' in html
    # nothing the strict CSP would block
    assert "style=" not in html and "<style" not in html and "<script" not in html


def test_long_tail_of_countries_is_grouped(db):
    codes = ["FR", "DE", "IT", "ES", "PL", "NL", "BE", "AT", "CH", "SE", "NO", "DK", "FI", "IE"]
    codes += ["PT", "GR", "CZ", "HU"]
    for i, code in enumerate(codes):
        for _ in range(len(codes) - i):
            IncidentFactory(country=code)
    rows = numbers(client_for("anonymous"), "countries")
    assert len(rows) == TOP + 1
    assert rows["France"] == [len(codes)]
    assert rows["Other (3 countries)"] == [3 + 2 + 1]


def test_unknown_chart_is_a_clear_404(world):
    response = client_for("member").get("/statistics/no-such-chart.csv")
    assert response.status_code == 404
    assert b"There is no chart of that name." in response.content


@pytest.mark.parametrize(
    "query",
    [
        "year=abc",
        "date_from=2020-13-45",
        "records_min=-5",
        "records_max=99999999999999999999999",
        "country=XX",
        "sector=no-such-sector",
        "q=a%00b&date_to=nope",
    ],
)
@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_malformed_filters_answer_400_like_the_finder(world, query, kind):
    client = client_for(kind)
    assert client.get("/incidents/?" + query).status_code == 400
    page = client.get(URL + "?" + query)
    assert page.status_code == 400
    assert b"Some filters are not valid." in page.content
    assert client.get("/statistics/years.csv?" + query).status_code == 400


def test_member_malformed_filter_answers_400(world):
    client = client_for("member")
    assert client.get(URL + "?motive=no-such-motive").status_code == 400
    assert client.get("/statistics/motives.csv?confidentiality=huge").status_code == 400


def test_csv_cells_are_never_formulas(db):
    IncidentFactory(organisation__name="=HYPERLINK(1)", summary="x")
    IncidentFactory(organisation=OrganisationFactory(name="=HYPERLINK(1) B"), summary="y")
    org = OrganisationFactory(name="=cmd|calc")
    IncidentFactory(organisation=org)
    IncidentFactory(organisation=org)
    body = client_for("anonymous").get("/statistics/victims.csv").content.decode()
    assert "'=cmd|calc" in body
    assert ",=cmd" not in body


def test_counts_are_cached_per_audience_until_the_catalogue_changes(
    world, django_assert_num_queries
):
    client = client_for("anonymous")
    client.get(URL)
    with django_assert_num_queries(VERSIONS_READ):
        assert client.get(URL).status_code == 200
    with django_assert_num_queries(VERSIONS_READ):
        assert client.get("/statistics/years.csv").status_code == 200
    IncidentFactory(date=datetime.date(2018, 1, 1))
    assert "2018" in numbers(client, "years")


def test_equivalent_queries_share_one_cache_entry(world, django_assert_num_queries):
    client = client_for("anonymous")
    client.get(URL + "?sector=health&year=2021")
    with django_assert_num_queries(VERSIONS_READ):
        assert client.get(URL + "?year=2021&sector=health&sort=oldest").status_code == 200


# One aggregate query per chart function (the CIA chart's fifteen counts are one query),
# whatever the number of incidents and related rows.
@pytest.mark.parametrize("function", counts.PUBLIC + counts.MEMBERS, ids=lambda f: f.__name__)
def test_each_chart_is_one_query(function, db, django_assert_num_queries):
    for size in (1, 4):
        tactic = TacticFactory()
        sector = SectorFactory()
        dataset = Dataset.objects.create(slug=f"dataset-{size}", name=f"Dataset {size}")
        victim = OrganisationFactory()
        for n in range(size + 1):
            day = datetime.date(2015 + n, 1 + n, 1)
            incident = IncidentFactory(
                organisation=victim,
                date=day,
                occurred_on=day,
                disclosed_on=day + datetime.timedelta(days=10 * n),
                sector=sector,
                dataset=dataset,
                external_id=f"{size}-{n}",
                types=["ransomware", "espionage"][: size % 3 + 1],
                motives=[MotiveFactory() for _ in range(size)],
                techniques=[TechniqueFactory(tactics=[tactic]) for _ in range(size)],
                threat_actors=[ThreatActorFactory() for _ in range(size)],
            )
            CIAPostureFactory(incident=incident)
        with django_assert_num_queries(1):
            charts = function(
                Incident.objects.published().filter(sector=sector), {"sector": sector.slug}
            )
        assert charts and all(chart.rows for chart in charts)


# Queries of a first (uncached, never counted) statistics page, after the viewer's own:
# the filter form's choices: victim countries, sectors, incident types, years with
# incidents (members add motives, tactics, actor types, actor countries); its roll-up (none
# yet); one per public chart function (7, 3 of the incident types and 4 of the disclosure
# lag); members add one per members' chart function (9); the roll-up stored. On
# PostgreSQL without Redis, the count's lock is an advisory lock: taken and given back
# (portal.locks).
LOCK = 2 if connection.vendor == "postgresql" else 0
PAGE_QUERIES = {
    "anonymous": VERSIONS_READ + 4 + 1 + 7 + 3 + 4 + 1 + LOCK,
    "member": VERSIONS_READ + 8 + 1 + 7 + 3 + 4 + 9 + 3 + 1 + LOCK,
}


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_page_query_count_is_constant(kind, db, django_assert_num_queries):
    client = client_for(kind)
    for size in (1, 5):
        for _ in range(size):
            IncidentFactory(
                sector=SectorFactory(),
                types=["ransomware"],
                motives=[MotiveFactory()],
                techniques=[TechniqueFactory(tactics=[TacticFactory()])],
                threat_actors=[ThreatActorFactory()],
            )
        StatisticsRollup.objects.all().delete()
        with django_assert_num_queries(PAGE_QUERIES[kind]):
            assert client.get(URL).status_code == 200


def test_site_navigation_and_browse_link_to_statistics(world):
    client = client_for("anonymous")
    assert f'href="{reverse("incidents:statistics")}"' in client.get("/").content.decode()
    assert f'href="{reverse("incidents:statistics")}"' in client.get("/browse/").content.decode()


def test_log_scale_axis_is_labelled_compactly():
    from incidents.statistics.charts import Chart, Row, columns

    chart = Chart(
        "records-total",
        "t",
        "c",
        "Year",
        ("Records",),
        (Row("2020", (5_000,)), Row("2021", (12_900_000_000,))),
        layout="columns",
        log_scale=True,
    )
    drawing = columns(chart, "/incidents/")
    assert drawing["top_label"] == "12.9B"
    assert [line["label"] for line in drawing["gridlines"]] == ["1K", "1M"]
    small, large = drawing["items"]
    assert 0 < float(small["height"]) < float(large["height"])


def month_chart(first: datetime.date, count: int):
    from incidents.statistics.charts import Chart, Row

    rows, year, month = [], first.year, first.month
    for _ in range(count):
        start = datetime.date(year, month, 1)
        rows.append(Row(f"{start:%b %Y}", (1,), "", f"{start:%Y-%m}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Chart("months", "t", "c", "Month", ("Incidents",), tuple(rows), layout="columns")


def axis_labels(chart):
    from incidents.statistics.charts import columns

    return [
        (i, c["tick_label"])
        for i, c in enumerate(columns(chart, "/incidents/")["items"])
        if c["tick"]
    ]


def test_a_long_month_axis_is_labelled_by_year_at_each_january():
    # 60 months from May 2020: "Mar 2021"-long labels every ten columns overlapped on a
    # phone; the years, at their Januaries, fit.
    labels = axis_labels(month_chart(datetime.date(2020, 5, 1), 60))
    assert labels == [(8, "2021"), (20, "2022"), (32, "2023"), (44, "2024"), (56, "2025")]


def test_a_long_month_axis_keeps_at_most_six_year_labels():
    labels = axis_labels(month_chart(datetime.date(2001, 1, 1), 12 * 14))
    assert 2 <= len(labels) <= 6
    assert all(re.fullmatch(r"\d{4}", label) for _, label in labels)
    assert all(i % 12 == 0 for i, _ in labels)  # Januaries only


def test_a_short_month_axis_names_at_most_three_months():
    labels = axis_labels(month_chart(datetime.date(2022, 3, 1), 10))  # one January only
    assert labels == [(0, "Mar 2022"), (4, "Jul 2022"), (8, "Nov 2022")]


def test_a_year_axis_is_labelled_as_before():
    from incidents.statistics.charts import Chart, Row

    rows = tuple(Row(str(y), (1,), "", str(y)) for y in range(2000, 2012))
    chart = Chart("years", "t", "c", "Year", ("Incidents",), rows, layout="columns")
    assert axis_labels(chart) == [(i, str(2000 + i)) for i in range(0, 12, 2)]


def test_a_heatmap_keeps_whole_labels_and_makes_room_for_them():
    """Issue 25: sector names were cut ("Energy and utilit...") to fit a fixed margin."""
    from django.template.loader import render_to_string

    from incidents.statistics.charts import HEAD_CHAR_PX, LABEL_CHAR_PX, Chart, Row, heatmap

    heads = ("Energy and utilities", "Transportation and logistics", "IT")
    rows = (
        Row("Government and public administration", (1, 0, 2)),
        Row("Insider", (0, 1, 0)),
    )
    chart = Chart("who", "Who", "c", "Actor type", heads, rows, layout="heatmap")
    drawing = heatmap(chart, "/incidents/")
    assert [label["label"] for label in drawing["labels"]] == [row.label for row in rows]
    assert drawing["label_x"] >= len(rows[0].label) * LABEL_CHAR_PX
    header = drawing["labels"][0]["y"] - 15 - 4  # the first row's top (cell_h / 2 + 4)
    assert header >= len(heads[1]) * HEAD_CHAR_PX
    svg = render_to_string(
        "incidents/statistics/_chart.html",
        {"item": {"chart": chart, "drawing": drawing, "finder_url": "/incidents/"}},
    )
    for label in [*heads, rows[0].label]:
        assert f">{label}</text>" in svg
    assert "…" not in svg


def test_attack_matrix_counts_techniques_under_each_tactic(world):
    response = client_for("member").get("/statistics/attack-matrix.csv")
    assert response.status_code == 200
    assert rows_of(response) == [
        ["entry", "T1566", "T1566 Phishing Technique", "2"],
        ["harm", "T1486", "T1486 Encrypt Technique", "1"],
    ]


LAYER_FIELDS = {"name", "versions", "domain", "description", "techniques", "gradient"}
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")


def test_navigator_layer_follows_format_4_5_and_loads_back(world):
    Dataset.objects.create(slug="mitre-attack-enterprise", name="MITRE ATT&CK", version="18.1")
    response = client_for("member").get("/statistics/attack-layer.json?sector=health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    layer = json.loads(response.content)
    assert set(layer) >= LAYER_FIELDS
    assert layer["versions"] == {"layer": "4.5", "navigator": "5.1.0", "attack": "18"}
    assert layer["domain"] == "enterprise-attack"
    for technique in layer["techniques"]:
        assert TECHNIQUE_ID.match(technique["techniqueID"])
        assert isinstance(technique["score"], int) and isinstance(technique["comment"], str)
        assert isinstance(technique["enabled"], bool)
    loaded = {(t["techniqueID"], t["tactic"]): t["score"] for t in layer["techniques"]}
    assert loaded == {("T1566", "entry"): 2, ("T1486", "harm"): 1}
    gradient = layer["gradient"]
    assert len(gradient["colors"]) >= 2 and gradient["minValue"] < gradient["maxValue"] == 2
    assert all(re.match(r"^#[0-9a-f]{6}$", c) for c in gradient["colors"])
    assert layer["legendItems"] == [
        {"label": "1 incident", "color": "#0072b2"},
        {"label": "2 incidents", "color": "#004a75"},
    ]
    assert "sector=health" in layer["name"]


def test_navigator_layer_of_a_filtered_set(world):
    layer = json.loads(client_for("member").get("/statistics/attack-layer.json?year=2021").content)
    assert [(t["techniqueID"], t["score"]) for t in layer["techniques"]] == [("T1566", 1)]
    assert client_for("member").get("/statistics/attack-layer.json?year=x").status_code == 400


def test_heat_levels_and_legend():
    from incidents.statistics.charts import heat_legend, heat_level

    assert [heat_level(v, 100) for v in (0, 1, 4, 16, 36, 64, 100)] == [0, 1, 1, 2, 3, 4, 5]
    assert heat_legend(100) == [(1, "1–4"), (2, "5–16"), (3, "17–36"), (4, "37–64"), (5, "65–100")]
    assert heat_legend(1) == [(5, "1")]


def test_records_per_year_total_and_median_on_either_database(db):
    """PostgreSQL computes the median in the database, SQLite in Python: one answer."""
    from incidents.statistics.counts.public import records_by_year

    for year, values in ((2019, [1, 2]), (2020, [1, 2, 10]), (2021, [5, 8, 9, 1000])):
        for n in values:
            IncidentFactory(date=datetime.date(year, 3, 1), records_affected=n)
    IncidentFactory(date=datetime.date(2021, 4, 1), records_affected=None)
    by_year = records_by_year(Incident.objects.filter(status="published"))
    assert by_year == {2019: (3, 1.5, 2), 2020: (13, 2, 3), 2021: (1022, 8.5, 4)}
