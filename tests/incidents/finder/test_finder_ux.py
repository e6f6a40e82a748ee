"""The finder as a reader uses it (issue 14): one truthful sort state, years with
incidents, dates typed as a year, a month or a day, and members' technique box by name."""

import datetime
import re

import pytest

from incidents.filter_fields import parse_loose_date
from tests.factories import IncidentFactory
from tests.incidents.pages import applied, fetch, found, sorted_by

SORT_SELECT_RE = re.compile(r'<select name="sort" id="id_sort">(.*?)</select>', re.S)
OPTION_RE = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')
YEAR_SELECT_RE = re.compile(r'<select name="year"[^>]*>(.*?)</select>', re.S)


def sort_menu(response):
    """[(value, label, selected)] of the sort menu."""
    menu = SORT_SELECT_RE.search(response.content.decode()).group(1)
    return [(v, label, bool(s)) for v, s, label in OPTION_RE.findall(menu)]


def selected_sort(response):
    return [label for _v, label, selected in sort_menu(response) if selected]


def year_menu(response):
    menu = YEAR_SELECT_RE.search(response.content.decode()).group(1)
    return [(v, bool(s)) for v, s, _label in OPTION_RE.findall(menu)]


def test_the_sort_menu_shows_the_order_the_results_are_in(audience_viewer, world):
    kind, client, member = audience_viewer
    plain = fetch(client)
    assert sorted_by(plain) == "newest"
    assert selected_sort(plain) == ["Newest first"]
    # Relevance is offered with a search only.
    assert "Relevance" not in [label for _v, label, _s in sort_menu(plain)]

    searched = fetch(client, {"q": "acme"})
    assert sorted_by(searched) == "relevance"
    assert selected_sort(searched) == ["Relevance"]
    # The default is the empty value: a form submitted with a new search and the menu
    # untouched asks for no order, so the search ranks by relevance.
    assert sort_menu(searched)[0] == ("", "Relevance", True)
    assert sort_menu(plain)[0] == ("", "Newest first", True)
    assert ("newest", "Newest first", False) in sort_menu(searched)

    chosen = fetch(client, {"q": "acme", "sort": "oldest"})
    assert selected_sort(chosen) == ["Oldest first"]
    assert sorted_by(chosen) == "oldest"
    explicit_newest = fetch(client, {"q": "acme", "sort": "newest"})
    assert selected_sort(explicit_newest) == ["Newest first"]
    assert sorted_by(explicit_newest) == "newest"


def test_a_form_sent_with_the_default_sort_and_a_new_search_ranks_by_relevance(
    anonymous_client, world
):
    response = fetch(anonymous_client, {"q": "acme", "sort": ""})
    assert sorted_by(response) == "relevance"
    assert selected_sort(response) == ["Relevance"]


def test_the_year_menu_lists_only_years_with_published_incidents(audience_viewer, world):
    kind, client, member = audience_viewer
    IncidentFactory(organisation=world.acme, date=datetime.date(2011, 6, 1), status="draft")
    years = [v for v, _s in year_menu(fetch(client))]
    # A draft's year is not listed, even for staff (the menu is one public list).
    assert years == ["", "2022", "2021", "2020", "2019"]


def test_an_applied_year_without_incidents_is_shown_selected(anonymous_client, world):
    response = fetch(anonymous_client, {"year": "1999"})
    assert found(response, world) == ""
    assert ("1999", True) in year_menu(response)
    assert fetch(anonymous_client, {"year": str(datetime.date.today().year + 2)}).status_code == 400


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2020", datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)),
        ("2020-02", datetime.date(2020, 2, 1), datetime.date(2020, 2, 29)),
        ("2020-12", datetime.date(2020, 12, 1), datetime.date(2020, 12, 31)),
        ("2020-11-20", datetime.date(2020, 11, 20), datetime.date(2020, 11, 20)),
        ("2020/11/20", datetime.date(2020, 11, 20), datetime.date(2020, 11, 20)),
        ("Nov 2020", datetime.date(2020, 11, 1), datetime.date(2020, 11, 30)),
        ("20 Nov 2020", datetime.date(2020, 11, 20), datetime.date(2020, 11, 20)),
        ("22 April 2025", datetime.date(2025, 4, 22), datetime.date(2025, 4, 22)),
    ],
)
def test_dates_are_read_as_people_write_them(text, start, end):
    assert parse_loose_date(text, end=False) == start
    assert parse_loose_date(text, end=True) == end


@pytest.mark.parametrize("text", ["20", "2020-13", "2021-02-30", "Smarch 2020", "11/20/2020", "x"])
def test_dates_that_are_none_of_these_are_refused(text):
    assert parse_loose_date(text, end=False) is None


def test_a_year_or_month_filters_the_whole_period(audience_viewer, world):
    kind, client, member = audience_viewer
    # C is 10 Mar 2020, D is "2020" (1 Jan), B is Nov 2019.
    assert found(fetch(client, {"date_from": "2020-03"}), world) == "FAC"
    assert found(fetch(client, {"date_to": "2019"}), world) == "B"
    assert found(fetch(client, {"date_from": "Nov 2019", "date_to": "Jan 2020"}), world) == "DB"
    # Links carry the date in ISO form.
    shown = {label: value for label, value, _ in applied(fetch(client, {"date_to": "2019"}))}
    assert shown["To"] == "2019-12-31"


def test_date_fields_say_what_they_accept(anonymous_client, world):
    html = fetch(anonymous_client).content.decode()
    assert 'id="id_date_from_helptext"' in html
    assert 'aria-describedby="id_date_from_helptext"' in html
    assert "A year (2020), a month (2020-11) or a day (2020-11-20)" in html
    assert 'type="date"' not in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Phishing", "DB"), ("phishing", "DB"), ("T1566 Phishing", "DB"), ("T1486", "A")],
)
def test_members_find_a_technique_by_name(member_client, world, value, expected):
    assert found(fetch(member_client, {"technique": value}), world) == expected


def test_an_unknown_technique_name_is_a_clear_400(member_client, world):
    response = fetch(member_client, {"technique": "Phishy business"})
    assert response.status_code == 400
    assert (
        "Enter an ATT&amp;CK technique ID (T1566) or a technique name" in response.content.decode()
    )


def test_the_technique_chip_names_the_technique(member_client, world):
    shown = {
        label: value for label, value, _ in applied(fetch(member_client, {"technique": "Phishing"}))
    }
    assert shown["ATT&CK technique"] == "T1566 Phishing"


def test_members_technique_box_suggests_the_techniques_in_use(member_client, world):
    html = fetch(member_client).content.decode()
    assert 'list="technique-options"' in html
    datalist = re.search(r'<datalist id="technique-options">(.*?)</datalist>', html).group(1)
    assert '<option value="T1566.001">Phishing: Spearphishing Attachment</option>' in datalist
    assert '<option value="T1486">Data Encrypted for Impact</option>' in datalist


def test_non_members_get_no_technique_suggestions(non_member_client, world):
    html = fetch(non_member_client).content.decode()
    assert "technique-options" not in html
    assert "Spearphishing" not in html


def test_the_filters_fold_on_narrow_screens_without_javascript(anonymous_client, world):
    """The filters sit in a <details> (open on wide screens by CSS or filters.js); the
    search box and the sort stay outside it, and an invalid form opens it."""
    html = fetch(anonymous_client).content.decode()
    panel = html.index('<details class="filter-panel" id="filter-panel">')
    assert html.index('name="q"') < panel
    assert html.index('name="sort"') < panel
    assert html.index('name="country"') > panel
    invalid = fetch(anonymous_client, {"records_min": "-1"}).content.decode()
    assert '<details class="filter-panel" id="filter-panel" open>' in invalid
    applied_count = fetch(anonymous_client, {"country": "DE", "q": "acme"}).content.decode()
    assert "<summary>Filters (1 applied)</summary>" in applied_count
