"""Hub pages: a country, sector or year (public counts, charts, latest incidents; members'
charts for members only), and ATT&CK's tactics and techniques (ATT&CK's own knowledge for
everyone; the incidents using them for members only)."""

import datetime
import re

import pytest
from django.core.cache import caches
from django.utils.html import escape

from incidents import browse
from incidents.statistics import counts
from incidents.views import hubs
from tests.conftest import MEMBERS, NON_MEMBERS, VERSIONS_READ, VIEWERS, client_for
from tests.factories import (
    ActorTypeFactory,
    IncidentFactory,
    MotiveFactory,
    SectorFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

# Values only members may read next to the incidents (their names are in no public place
# of these pages: the ATT&CK technique below is public, so it is not listed here).
GATED = ["HubMotiveName", "HubActorTypeName", "Hub Actor", "North Korea", 'id="chart-motives"']
MITRE = "https://attack.mitre.org/"


@pytest.fixture
def world(db):
    tactic = TacticFactory(
        name="Initial Access",
        shortname="initial-access",
        attack_id="TA0001",
        url=MITRE + "tactics/TA0001",
        description="The adversary is trying to get into your network.",
    )
    phishing = TechniqueFactory(
        attack_id="T1566",
        name="Phishing",
        description="Adversaries may send *phishing* messages.",
        tactics=[tactic],
    )
    TechniqueFactory(
        attack_id="T1566.001",
        name="Spearphishing Attachment",
        parent=phishing,
        tactics=[tactic],
    )
    # Not from ATT&CK (no tactic published by MITRE): members only.
    homemade = TechniqueFactory(
        attack_id="T9876", name="HomemadeTechnique", tactics=[TacticFactory(name="HomeTactic")]
    )
    health = SectorFactory(name="Healthcare", slug="healthcare")
    actor = ThreatActorFactory(
        name="Hub Actor",
        country="KP",
        actor_type=ActorTypeFactory(name="HubActorTypeName", slug="hub-type"),
    )
    motive = MotiveFactory(name="HubMotiveName", slug="hub-motive")
    for n, year in enumerate((2019, 2020, 2020)):
        IncidentFactory(
            country="GB",
            sector=health,
            date=datetime.date(year, 3, 1 + n),
            organisation__name=f"GB Victim {year}-{n}",
            motives=[motive],
            techniques=[phishing, homemade],
            threat_actors=[actor],
        )
    IncidentFactory(country="US", date=datetime.date(2021, 5, 1), organisation__name="US Victim")
    IncidentFactory(country="FR", status="draft", organisation__name="Draft Victim")


def assert_nothing_gated(body: bytes, where: str):
    for text in GATED:
        assert text.encode() not in body, f"{text!r} reached a non-member at {where}"


HUBS = ["/countries/GB/", "/sectors/healthcare/", "/years/2020/"]


@pytest.mark.parametrize("kind", VIEWERS)
@pytest.mark.parametrize("url", HUBS)
def test_facet_hubs_show_public_counts_and_latest_incidents_to_everyone(world, kind, url):
    response = client_for(kind).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    total = 2 if url == "/years/2020/" else 3
    assert f"{total} published incidents" in html
    assert html.count('class="incident-row"') == total
    assert "GB Victim 2020-2" in html and "US Victim" not in html and "Draft Victim" not in html
    assert 'id="chart-months"' in html and "/statistics/months.csv?" in html
    # Each bar opens the finder with the hub's filter and the bar's own.
    assert "/incidents/?" in html


@pytest.mark.parametrize("kind", NON_MEMBERS)
@pytest.mark.parametrize("url", HUBS)
def test_facet_hubs_hold_no_gated_value_for_non_members(world, kind, url):
    # Members fill every cache first: nothing of theirs may be served to another audience.
    for member_kind in MEMBERS:
        assert client_for(member_kind).get(url).status_code == 200
    response = client_for(kind).get(url)
    assert_nothing_gated(response.content, url)
    html = response.content.decode()
    assert "Available to members" in html
    for name in hubs.MEMBER_CHARTS:
        assert escape(counts.MEMBER_CHARTS[name]) in html  # named, locked, with no number
        assert f'id="chart-{name}"' not in html


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_see_the_gated_charts_of_a_hub(world, kind):
    html = client_for(kind).get("/countries/GB/").content.decode()
    for name in ("motives", "actor-types", "techniques", "actor-countries"):
        assert f'id="chart-{name}"' in html
    for text in ("HubMotiveName", "HubActorTypeName", "North Korea"):
        assert text in html
    assert "Available to members" not in html
    assert "/incidents/?country=GB&amp;motive=hub-motive" in html


def test_hubs_answer_404_for_what_has_no_hub_and_redirect_lower_case(world, client):
    for url in (
        "/countries/FR/",  # a draft only
        "/countries/ZZ/",
        "/countries/<script>/",
        "/sectors/no-such-sector/",
        "/years/1999/",
        "/years/99999/",
        "/attack/tactics/no-such-tactic/",
        "/attack/techniques/T0000/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
    response = client.get("/countries/gb/")
    assert (response.status_code, response["Location"]) == (301, "/countries/GB/")


@pytest.mark.parametrize("kind", VIEWERS)
def test_technique_hub_shows_attacks_own_knowledge_to_everyone(world, kind):
    html = client_for(kind).get("/attack/techniques/T1566/").content.decode()
    assert "<h1>Phishing" in html and "T1566" in html
    assert "<em>phishing</em>" in html  # ATT&CK's description, as Markdown
    assert f'href="{MITRE}techniques/T1566"' in html and "© The MITRE Corporation" in html
    assert 'href="/attack/tactics/initial-access/"' in html
    assert 'href="/attack/techniques/T1566.001/"' in html
    if kind in MEMBERS:
        assert "3 incidents in the catalogue use this technique" in html
        assert "GB Victim 2019-0" in html and 'id="chart-actor-types"' in html
        assert "HubActorTypeName" in html
    else:
        assert_nothing_gated(html.encode(), "technique hub")
        assert "GB Victim" not in html and "incidents in the catalogue" not in html
        assert "Available to members" in html


@pytest.mark.parametrize("kind", VIEWERS)
def test_tactic_hub_and_attack_index(world, kind):
    client = client_for(kind)
    html = client.get("/attack/tactics/initial-access/").content.decode()
    assert "The adversary is trying to get into your network." in html
    assert 'href="/attack/techniques/T1566/"' in html
    assert ("3 incidents in the catalogue" in html) == (kind in MEMBERS)
    index = client.get("/attack/").content.decode()
    assert 'href="/attack/techniques/T1566/"' in index
    assert 'href="/attack/techniques/T1566.001/"' not in index  # under its parent's hub
    # Techniques not published by MITRE (under no ATT&CK tactic) have hubs for members only.
    assert ("HomemadeTechnique" in index) == (kind in MEMBERS)
    status = client.get("/attack/techniques/T9876/").status_code
    assert status == (200 if kind in MEMBERS else 404)


def test_a_hub_counts_from_its_roll_up_once_counted(world, client, django_assert_max_num_queries):
    assert client.get("/countries/GB/").status_code == 200
    caches["pages"].clear()  # the cached pages, not the roll-up
    browse.by_country()  # the victim countries (the finder's choices too), counted again
    # The versions; the roll-up row; the latest incidents and their types (one query for
    # them all): the charts are not counted again.
    with django_assert_max_num_queries(VERSIONS_READ + 3) as captured:
        assert client.get("/countries/GB/").status_code == 200
    _versions, rollup, latest, types = (q["sql"] for q in captured.captured_queries)
    assert 'FROM "incidents_statisticsrollup"' in rollup
    assert latest.endswith(f"LIMIT {hubs.LATEST}")
    assert 'FROM "incidents_incidenttype"' in types


def test_a_visitors_hub_is_byte_identical_whatever_members_parameters_are_sent(world):
    client = client_for("anonymous")
    probe = "motive=hub-motive&technique=T1566&actor_type=hub-type&confidentiality=high"
    for url in [*HUBS, "/attack/techniques/T1566/", "/attack/tactics/initial-access/"]:
        plain = client.get(url).content
        caches["pages"].clear()  # rendered again, not served from the page cache
        assert client.get(f"{url}?{probe}").content == plain, url


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_hubs_and_the_statistics_page_draw_charts_through_one_include(world, kind):
    client = client_for(kind)
    pages = {}
    for url in ("/countries/GB/", "/statistics/?country=GB"):
        caches["pages"].clear()  # rendered now, so the templates it uses are recorded
        response = client.get(url)
        names = {t.name for t in response.templates}
        assert "incidents/statistics/_chart_grid.html" in names, url
        assert "incidents/statistics/_member_charts.html" in names, url
        pages[url] = response.content.decode()
    # The same chart of the same selection is the same markup on both pages.
    figure = re.compile(r'<figure class="chart[^"]*" id="chart-years".*?</figure>', re.S)
    hub, statistics = (figure.search(html) for html in pages.values())
    assert hub and statistics and hub[0] == statistics[0]


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_the_attack_index_lists_under_each_tactic_what_its_hub_lists(db, kind):
    """The index builds its lists per tactic in one prefetch, without ``techniques_for``'s
    ``tactics__in``: under a tactic the viewer has a hub for, that condition always holds,
    so each list (and its length) must be the tactic hub's."""
    access = TacticFactory(shortname="initial-access", url=MITRE + "tactics/TA0001")
    execution = TacticFactory(shortname="execution", url=MITRE + "tactics/TA0002")
    homemade = TacticFactory(shortname="home-tactic", url="")  # not MITRE's: members only
    both = TechniqueFactory(attack_id="T1001", tactics=[access, execution])
    TechniqueFactory(attack_id="T1002", is_revoked=True, tactics=[access])
    TechniqueFactory(attack_id="T1003", is_deprecated=True, tactics=[execution])
    TechniqueFactory(attack_id="T1004", tactics=[access, homemade])
    TechniqueFactory(attack_id="T1005", tactics=[homemade])
    TechniqueFactory(attack_id="T1001.001", parent=both, tactics=[access])
    client = client_for(kind)
    index = client.get("/attack/").content.decode()
    sections = dict(
        re.findall(r'<section aria-labelledby="tactic-([-a-z]+)">(.*?)</section>', index, re.S)
    )
    technique_link = re.compile(r'href="/attack/techniques/(T[0-9.]+)/"')
    member = kind == "member"
    expected = {"initial-access", "execution"} | ({"home-tactic"} if member else set())
    assert set(sections) == expected
    for shortname, section in sections.items():
        hub = client.get(f"/attack/tactics/{shortname}/").content.decode()
        listed = hub.split('<ul class="technique-list">', 1)[1].split("</ul>", 1)[0]
        assert technique_link.findall(section) == technique_link.findall(listed), shortname
    listed = {s: sorted(technique_link.findall(section)) for s, section in sections.items()}
    if member:
        assert listed == {
            "initial-access": ["T1001", "T1002", "T1004"],
            "execution": ["T1001", "T1003"],
            "home-tactic": ["T1004", "T1005"],
        }
    else:
        assert listed == {"initial-access": ["T1001", "T1004"], "execution": ["T1001"]}
