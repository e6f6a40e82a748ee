"""The incident finder: public and members' filters, every filter at once, sorting,
pagination, links and full-text search over the finder's catalogue (world.py here).

Results here depend on the viewer only through its audience (tests.conftest.AUDIENCES):
the tests run once per audience. Leak-proofing is in test_leaks.py, bad input in
test_bad_input.py.
"""

import datetime
import html as html_lib

import pytest
from django.test import Client

from incidents.filters import PublicFinderForm
from tests.conftest import MEMBERS, NON_MEMBERS
from tests.factories import IncidentFactory, OrganisationFactory
from tests.incidents.finder.world import NEWEST
from tests.incidents.pages import (
    LEAD_RE,
    MEMBER_NAMES,
    PUBLIC_NAMES,
    applied,
    body,
    chips,
    fetch,
    found,
    next_link,
    postgres_only,
    query_links,
    slugs_on,
    sorted_by,
)

# 1. Public filters: each narrows, they combine, sorts, links.


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, NEWEST),
        ({"date_from": "2020-01-01"}, "FACD"),
        ({"date_to": "2020-12-31"}, "CDB"),
        ({"date_from": "2020-01-01", "date_to": "2020-12-31"}, "CD"),
        ({"date_from": "2021-05-17", "date_to": "2021-05-17"}, "A"),
        ({"year": "2020"}, "CD"),
        ({"year": "2019"}, "B"),
        ({"year": "2023"}, ""),
        ({"country": "DE"}, "FAC"),
        ({"country": "JP"}, "D"),
        ({"sector": "finance"}, "FAC"),
        ({"sector": "healthcare"}, "B"),
        ({"organisation": "acme-rockets"}, "FA"),
        ({"organisation": "no-such-victim"}, ""),
        ({"records_min": "100"}, "ACD"),
        ({"records_max": "1000"}, "FC"),
        ({"records_min": "100", "records_max": "10000"}, "AC"),
        ({"records_min": "5000", "records_max": "5000"}, "A"),
        ({"country": "DE", "year": "2021"}, "A"),
        ({"sector": "finance", "records_min": "100"}, "AC"),
        ({"country": "DE", "date_to": "2021-12-31", "records_max": "200"}, "C"),
        ({"organisation": "acme-rockets", "year": "2022"}, "F"),
        ({"country": "FR", "sector": "finance"}, ""),
        # The timeline: the disclosure lag (A 60 days, D 30), the status (D suspected).
        ({"lag_min": "31"}, "A"),
        ({"lag_max": "30"}, "D"),
        ({"lag_min": "30", "lag_max": "60"}, "AD"),
        ({"lag_min": "61"}, ""),
        ({"confirmation": "suspected"}, "D"),
        ({"confirmation": "confirmed"}, "FACB"),
        ({"confirmation": "near-miss"}, ""),
        # The incident type is public: it narrows for every viewer.
        ({"type": "ransomware"}, "A"),
        ({"type": "data-breach"}, "DB"),
        ({"type": "data-breach", "country": "JP"}, "D"),
        ({"type": "wiper"}, ""),
    ],
)
def test_each_public_filter_narrows_and_they_combine(audience_viewer, world, params, expected):
    kind, client, member = audience_viewer
    assert found(fetch(client, params), world) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ransomware", "A"),
        ("RANSOMWARE", "A"),
        # The text of C; the type (data breach) of B and D, whose text never says it.
        ("breach", "BCD"),
        ("error", "B"),  # only its type, "Error or misconfiguration"
        ("ransomware error", ""),  # every word: A's type and text, B's type
        ("Acme", "FA"),
        ("acme rockets", "FA"),
        ("Acme second", "F"),
        ("Acme -second", "A"),
        ("patient exposed", "B"),
        ("Mitsubishi", "D"),
        ("Borealis", "B"),  # the victim's name alone
        ("payroll", "A"),  # the description
        ("zqxjvkw", ""),
    ],
)
def test_text_search_with_plain_words_on_either_database(audience_viewer, world, q, expected):
    """Plain words find the same incidents on SQLite and on PostgreSQL."""
    kind, client, member = audience_viewer
    response = fetch(client, {"q": q})
    assert sorted(found(response, world)) == sorted(expected)
    assert sorted_by(response) == "relevance"


def test_plain_word_is_not_matched_inside_another_word(anonymous_client, world):
    response = fetch(anonymous_client, {"q": "port"})
    assert found(response, world) == ""


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, "FACDB"),
        ("newest", "FACDB"),
        ("oldest", "BDCAF"),
        ("records", "DACFB"),  # most records first, the unknown count last
        ("lag", "ADFCB"),  # longest disclosure lag first, the unknown lags last
        ("lag-shortest", "DAFCB"),
    ],
)
def test_sorts(audience_viewer, world, sort, expected):
    kind, client, member = audience_viewer
    params = {"sort": sort} if sort else {}
    response = fetch(client, params)
    assert found(response, world) == expected
    assert sorted_by(response) == (sort or "newest")


def test_records_sort_puts_unknown_counts_last_within_a_filter(audience_viewer, world):
    kind, client, member = audience_viewer
    unknown = IncidentFactory(
        organisation=world.acme, records_affected=None, date=datetime.date(2023, 1, 1)
    )
    response = fetch(client, {"sort": "records", "organisation": "acme-rockets"})
    assert slugs_on(response) == [world.a.slug, world.f.slug, unknown.slug]


def test_relevance_is_the_default_sort_with_a_query_only(audience_viewer, world):
    kind, client, member = audience_viewer
    with_q = fetch(client, {"q": "acme"})
    assert sorted_by(with_q) == "relevance"
    assert "Sort" not in chips(with_q)  # the default is not an applied filter
    without_q = fetch(client)
    assert sorted_by(without_q) == "newest"
    # An explicit sort wins over relevance, and stays in the links (it is not the default).
    oldest = fetch(client, {"q": "acme", "sort": "oldest"})
    assert found(oldest, world) == "AF"
    assert chips(oldest) == {"Search": {"sort": "oldest"}, "Sort": {"q": "acme"}}
    # Relevance without a query falls back to newest first.
    assert found(fetch(client, {"sort": "relevance"}), world) == NEWEST


def test_filters_sort_and_page_live_in_the_query_string(audience_viewer, world):
    """Every view is a plain GET: the same URL gives the same page, with no session state."""
    kind, client, member = audience_viewer
    for i in range(30):
        IncidentFactory(
            organisation=world.acme,
            country="DE",
            date=datetime.date(2018, 1, 1) + datetime.timedelta(days=i),
            records_affected=i,
        )
    params = {"country": "DE", "sort": "oldest", "page": "2"}
    first = fetch(client, params)
    second = fetch(Client(), params)  # a fresh visitor with the shared link
    assert first.status_code == second.status_code == 200
    assert slugs_on(first) == slugs_on(second)
    assert len(slugs_on(first)) == 33 - 25  # the 30 extra, A, C and F; page 2
    assert "<span>Page 2 of 2</span>" in first.content.decode()


def test_pagination_keeps_the_filters(audience_viewer, world):
    kind, client, member = audience_viewer
    extra = [
        IncidentFactory(
            organisation=world.acme,
            country="DE",
            date=datetime.date(2018, 1, 1) + datetime.timedelta(days=i),
            records_affected=100 + i,
        )
        for i in range(30)
    ]
    params = {"country": "DE", "records_min": "100", "sort": "oldest", "utm_source": "x"}
    page1 = fetch(client, params)
    assert page1.status_code == 200
    html = page1.content.decode()
    assert "32 incidents, filtered." in html  # the 30 extra, A and C
    assert 'rel="next" href="?country=DE&amp;records_min=100&amp;sort=oldest&amp;page=2"' in html
    page2 = fetch(client, {**params, "page": "2"})
    html2 = page2.content.decode()
    assert 'rel="prev" href="?country=DE&amp;records_min=100&amp;sort=oldest&amp;page=1"' in html2
    assert 'rel="next"' not in html2
    seen = slugs_on(page1) + slugs_on(page2)
    expected = [i.slug for i in extra] + [world.c.slug, world.a.slug]  # oldest first
    assert seen == expected
    assert fetch(client, {**params, "page": "3"}).status_code == 404


ALL_PUBLIC = {
    "q": "Acme",
    "date_from": "2020-01-01",
    "date_to": "2022-12-31",
    "year": "2021",
    "country": "DE",
    "sector": "finance",
    "organisation": "acme-rockets",
    "records_min": "100",
    "records_max": "10000",
    "sort": "oldest",
}


def test_each_applied_filter_has_a_remove_link_that_drops_only_it(audience_viewer, world):
    kind, client, member = audience_viewer
    response = fetch(client, ALL_PUBLIC)
    assert found(response, world) == "A"
    links = chips(response)
    labels = {name: PublicFinderForm.base_fields[name].label for name in ALL_PUBLIC}
    assert set(links) == set(labels.values())
    html = response.content.decode()
    for name, label in labels.items():
        rest = {k: v for k, v in ALL_PUBLIC.items() if k != name}
        assert links[label] == rest, name
        assert f'aria-label="Remove {html_lib.escape(label)}"' in html
        # Following the link applies every other filter.
        assert fetch(client, rest).status_code == 200
    # Shown values are readable: choice labels, not codes.
    shown = {label: value for label, value, _ in applied(response)}
    assert shown["Sector"] == "Finance and insurance"
    assert shown["Victim country"] == "Germany"
    assert shown["Sort"] == "Oldest first"


def test_removing_the_query_falls_back_to_newest(audience_viewer, world):
    kind, client, member = audience_viewer
    response = fetch(client, {"q": "Acme", "country": "DE"})
    assert chips(response)["Search"] == {"country": "DE"}
    assert found(fetch(client, chips(response)["Search"]), world) == "FAC"


@pytest.mark.parametrize("kind", NON_MEMBERS + MEMBERS)
def test_links_are_canonical(world, client_of, kind):
    """Links carry cleaned values only: no unknown parameters, and for non-members none of
    the members' parameters; cleaned values are re-encoded (dates ISO, whitespace trimmed)."""
    client = client_of(kind)
    member = kind in MEMBERS
    for _ in range(30):
        IncidentFactory(organisation=world.acme, country="DE", date=datetime.date(2018, 1, 1))
    params = {
        "q": "  acme\x00   rockets  ",
        "country": "DE",
        "records_min": "0",
        "utm_source": "newsletter",
        "foo": "<b>bar</b>",
        "sort": "newest",
    }
    if not member:
        params.update(motive="financial", technique="T1486", actor="copper-lynx")
    response = fetch(client, params)
    assert response.status_code == 200
    allowed = set(MEMBER_NAMES if member else PUBLIC_NAMES) | {"page", "after"}
    links = query_links(response)
    assert links, "expected chips and pagination links"
    for pairs in links:
        keys = [k for k, _ in pairs]
        assert set(keys) <= allowed, pairs
        assert len(keys) == len(set(keys)), pairs
        values = dict(pairs)
        if "q" in values:
            assert values["q"] == "acme rockets"
    html = response.content.decode()
    for unknown in ("utm_source", "newsletter", "foo=", "&lt;b&gt;bar"):
        assert unknown not in html
    if not member:
        for value in ("financial", "T1486", "copper-lynx"):
            assert value not in html
    assert next_link(response) == "q=acme+rockets&country=DE&records_min=0&sort=newest&page=2"


# 2. Every filter at once (STYLE.md's TestAllFiltersAtOnce).

ALL_MEMBER_ONLY = {
    "motive": "espionage",
    "technique": "T1566",
    "tactic": "initial-access",
    "actor": "grey-heron",
    "actor_type": "nation-state",
    "actor_country": "KP",
    "confidentiality": "medium",
    "integrity": "medium",
    "availability": "low",
}


def _all_public_for_d(world):
    return {
        "q": "Mitsubishi",
        "date_from": "2020-01-01",
        "date_to": "2020-12-31",
        "year": "2020",
        "country": "JP",
        "sector": "manufacturing",
        "type": "data-breach",
        "organisation": world.mitsubishi.slug,
        "records_min": "1000000",
        "records_max": "3000000",
        "lag_min": "30",
        "lag_max": "30",
        "confirmation": "suspected",
        "sort": "oldest",
    }


def _with_nul(params, where):
    if where == "end":
        return {k: v + "\x00" for k, v in params.items()}
    if where == "start":
        return {k: "\x00" + v for k, v in params.items()}
    return {k: v[: len(v) // 2] + "\x00" + v[len(v) // 2 :] for k, v in params.items()}


class TestAllFiltersAtOnce:
    def test_every_public_filter_at_once_as_a_non_member(self, anonymous_client, world):
        params = _all_public_for_d(world)
        assert set(params) == set(PUBLIC_NAMES), "a new public filter belongs in this test"
        response = fetch(anonymous_client, params)
        assert found(response, world) == "D"
        assert len(applied(response)) == len(params)

    def test_every_filter_at_once_as_a_member(self, member_client, world):
        params = {**_all_public_for_d(world), **ALL_MEMBER_ONLY}
        assert set(params) == set(MEMBER_NAMES), "a new members' filter belongs in this test"
        response = fetch(member_client, params)
        assert found(response, world) == "D"
        assert len(applied(response)) == len(params)

    # NUL bytes are dropped from every parameter (portal.middleware.StripNulMiddleware): a
    # value with one gives the page of the same value without it.

    @pytest.mark.parametrize("where", ["start", "middle", "end"])
    def test_nul_bytes_in_every_value_as_a_non_member(self, non_member_client, world, where):
        params = {**_all_public_for_d(world), **ALL_MEMBER_ONLY}
        response = fetch(non_member_client, _with_nul(params, where))
        assert response.status_code == 200
        assert found(response, world) == "D"
        assert body(response) == body(fetch(non_member_client, params))

    @pytest.mark.parametrize("where", ["start", "middle", "end"])
    def test_nul_bytes_in_every_value_as_a_member(self, member_client, world, where):
        params = {**_all_public_for_d(world), **ALL_MEMBER_ONLY}
        response = fetch(member_client, _with_nul(params, where))
        assert response.status_code == 200
        assert found(response, world) == "D"
        assert body(response) == body(fetch(member_client, params))

    def test_nul_bytes_are_stripped_from_the_text_query(self, audience_viewer, world):
        kind, client, member = audience_viewer
        response = fetch(client, {"q": "Mitsu\x00bishi\x00"})
        assert found(response, world) == "D"
        lead = LEAD_RE.search(response.content.decode()).group(1)
        assert "matching “Mitsubishi”" in lead
        assert chips(response) == {"Search": {}}


# 3. Members' filters, for members.


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"motive": "financial"}, "AC"),
        ({"motive": "espionage"}, "DB"),
        # A technique also finds incidents tagged only with one of its sub-techniques.
        ({"technique": "T1566"}, "DB"),
        ({"technique": "t1566"}, "DB"),
        ({"technique": " T1566 "}, "DB"),
        ({"technique": "T1566.001"}, "B"),
        ({"technique": "T1486"}, "A"),
        ({"technique": "T156"}, ""),  # not a prefix match on the ID
        ({"technique": "T9999"}, ""),
        ({"tactic": "initial-access"}, "DB"),
        ({"tactic": "impact"}, "A"),
        ({"actor": "grey-heron"}, "DB"),
        ({"actor": "copper-lynx"}, "A"),
        ({"actor": "nobody"}, ""),
        ({"actor_type": "nation-state"}, "DB"),
        ({"actor_type": "criminal-group"}, "A"),
        ({"actor_country": "KP"}, "DB"),
        ({"actor_country": "RU"}, "A"),
        ({"confidentiality": "high"}, "AB"),
        ({"confidentiality": "medium"}, "D"),
        ({"integrity": "medium"}, "D"),
        ({"integrity": "none"}, "B"),
        ({"availability": "high"}, "A"),
        ({"availability": "low"}, "D"),
        # Combined with each other and with public filters.
        ({"motive": "espionage", "country": "JP"}, "D"),
        ({"availability": "high", "sector": "finance"}, "A"),
        ({"technique": "T1566", "year": "2019"}, "B"),
        ({"motive": "financial", "country": "DE", "records_min": "1000"}, "A"),
        ({"actor": "grey-heron", "confidentiality": "high"}, "B"),
        ({"tactic": "initial-access", "actor_type": "criminal-group"}, ""),
        ({"motive": "financial", "sort": "oldest"}, "CA"),
        ({"actor_country": "KP", "sort": "records"}, "DB"),
        ({"motive": "financial", "q": "bank"}, "C"),
    ],
)
def test_members_filters_for_members(member_client, world, params, expected):
    assert found(fetch(member_client, params), world) == expected


def test_members_filter_chips_and_links(member_client, world):
    params = {"motive": "espionage", "availability": "low", "country": "JP"}
    response = fetch(member_client, params)
    assert found(response, world) == "D"
    shown = {label: value for label, value, _ in applied(response)}
    assert shown == {
        "Motive": "Espionage",
        "Availability impact": "Low",
        "Victim country": "Japan",
    }
    assert chips(response)["Motive"] == {"availability": "low", "country": "JP"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Grey Heron", "DB"),
        ("Heron Team", "DB"),  # an alias
        ("Copper Lynx", "A"),
        ("T1486", "A"),
        ("t1566", "DB"),  # a technique ID finds its sub-techniques too
        ("Data Encrypted for Impact", "A"),  # a technique name
        ("Espionage", "DB"),  # a motive
    ],
)
def test_members_text_search_matches_gated_values(member_client, world, q, expected):
    assert sorted(found(fetch(member_client, {"q": q}), world)) == sorted(expected)


# 5. PostgreSQL full-text search.


def _org(name):
    return OrganisationFactory(name=name, country="DE")


@postgres_only
class TestPostgresSearchInTheWorld:
    """Full-text search over the module's catalogue; the tests that need a catalogue of
    their own are in tests/incidents/test_search_postgres.py."""

    def test_typo_tolerant_victim_names(self, anonymous_client, world):
        response = fetch(anonymous_client, {"q": "Mitsubshi Electric"})
        assert found(response, world) == "D"
        assert found(fetch(anonymous_client, {"q": "Borealsi Health"}), world) == "B"

    def test_exclusion_wins_over_typo_tolerance(self, anonymous_client, world):
        motors = IncidentFactory(
            organisation=_org("Mitsubishi Motors"), summary="Dealer portal defaced."
        )
        response = fetch(anonymous_client, {"q": "mitsubishi -electric"})
        assert slugs_on(response) == [motors.slug]
