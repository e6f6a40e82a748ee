"""Bad input to the finder: a clear 400 with form errors, or a 404; never a 5xx, never
reflected raw. NUL bytes are dropped (portal.middleware.StripNulMiddleware)."""

import html as html_lib

import pytest
from django.core.cache import cache
from django.test import Client

from incidents.models import Incident
from tests.incidents.pages import (
    LEAD_RE,
    RAW_SCRIPT_RE,
    body,
    chips,
    fetch,
    found,
    list_url,
)

DATE_ERROR = "Enter a valid date: a year (2020), a month (2020-11) or a day (2020-11-20)."

# 6. Bad input: a clear 400 with form errors, or a 404; never a 5xx, never reflected raw.


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2021-02-30"}, DATE_ERROR),
        ({"date_to": "yesterday"}, DATE_ERROR),
        ({"date_from": "<script>alert(1)</script>"}, DATE_ERROR),
        ({"date_from": "2021-13"}, DATE_ERROR),
        ({"date_to": "Smarch 2021"}, DATE_ERROR),
        ({"date_to": "21"}, DATE_ERROR),
        ({"year": "1800"}, "Select a valid choice."),
        ({"year": "abc"}, "Select a valid choice."),
        ({"country": "XX"}, "Select a valid choice."),
        ({"country": "<script>alert(1)</script>"}, "Select a valid choice."),
        ({"sector": "no-such-sector"}, "Select a valid choice."),
        ({"records_min": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"records_max": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"records_min": "abc"}, "Enter a number."),
        ({"records_min": "NaN"}, "Enter a number."),
        ({"records_max": "Infinity"}, "Enter a number."),
    ],
)
def test_invalid_public_filters_are_a_clear_400(audience_viewer, world, params, message):
    kind, client, member = audience_viewer
    response = fetch(client, {"country": "DE", **params})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters are not valid" in html
    assert html_lib.escape(message) in html
    assert 'class="field-errors" role="alert"' in html
    assert not RAW_SCRIPT_RE.search(html)
    assert 'class="incident-row"' not in html


@pytest.mark.parametrize("params", [{"sort": "random"}, {"sort": "-date"}])
def test_invalid_sort_is_a_400_without_5xx(audience_viewer, world, params):
    kind, client, member = audience_viewer
    response = fetch(client, {"country": "DE", **params})
    assert response.status_code == 400
    assert "Some filters are not valid" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "random"}, "Select a valid choice."),
    ],
)
def test_invalid_sort_or_hidden_filter_explains_the_problem(member_client, world, params, message):
    response = fetch(member_client, params)
    assert response.status_code == 400
    html = response.content.decode()
    assert html_lib.escape(message) in html


@pytest.mark.parametrize(
    "params",
    [
        {"motive": "no-such-motive"},
        {"tactic": "TA0001"},
        {"actor_type": "<script>alert(1)</script>"},
        {"actor_country": "XX"},
        {"confidentiality": "extreme"},
        {"integrity": "HIGH"},
        {"technique": "T1566.001.001.001"},  # longer than an ATT&CK ID
    ],
)
def test_invalid_members_filters_are_a_clear_400_for_members(member_client, world, params):
    response = fetch(member_client, params)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters are not valid" in html
    assert 'class="field-errors" role="alert"' in html
    assert not RAW_SCRIPT_RE.search(html)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page": "abc"}, 404),
        ({"page": str(10**9)}, 404),
        ({"page": "2"}, 404),
        ({"page": "0"}, 404),
        ({"page": "<script>alert(1)</script>"}, 404),
        ({"page": "1"}, 200),
        ({"q": "zqxjvkw", "page": "1"}, 200),  # an empty result still has a page 1
        ({"q": "zqxjvkw", "page": "2"}, 404),
    ],
)
def test_bad_page_numbers(audience_viewer, world, params, status):
    kind, client, member = audience_viewer
    response = fetch(client, {"country": "DE", **params})
    assert response.status_code == status
    assert not RAW_SCRIPT_RE.search(response.content.decode())


@pytest.mark.parametrize("page", ["²", "¹", "1²"])
def test_unicode_superscript_page_number_is_a_404(world, page):
    response = fetch(Client(raise_request_exception=False), {"page": page})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("after", "status"),
    [
        ("abc", 404),
        ("2021-13-01.1", 404),
        ("2021-02-30.1", 404),
        ("0000-01-01.1", 404),
        ("2021-05-17", 404),
        ("2021-05-17.", 404),
        ("2021-05-17.1" + "0" * 30, 404),
        ("<script>alert(1)</script>", 404),
        ("2030-01-01.1", 200),
        ("0001-01-01.1", 200),
        ("9999-12-31.999999999999999999", 200),
    ],
)
def test_bad_cursors(audience_viewer, world, after, status):
    kind, client, member = audience_viewer
    response = fetch(client, {"after": after})
    assert response.status_code == status
    assert not RAW_SCRIPT_RE.search(response.content.decode())


@pytest.mark.parametrize(
    "params",
    [
        {"records_min": "1\x00"},
        {"organisation": "acme\x00"},
        {"actor": "grey\x00heron"},
        {"availability": "\x00"},
        {"technique": "T15\x0066"},
        {"sort": "old\x00est"},
        {"page": "1\x00"},
        {"after": "2021-05-17.1\x00"},
        {"q": "\x00Mitsu\x00bishi\x00"},
        {"coun\x00try": "JP"},
    ],
)
def test_a_nul_byte_is_as_if_absent(audience_viewer, world, params):
    """One answer for a NUL byte in any parameter's name or value: the page without it
    (portal.middleware.StripNulMiddleware)."""
    kind, client, member = audience_viewer
    without = {k.replace("\x00", ""): v.replace("\x00", "") for k, v in params.items()}
    response = fetch(client, {"country": "DE", **params})
    assert response.status_code == 200
    assert body(response) == body(fetch(client, {"country": "DE", **without}))


def test_cursor_keeps_filters_and_order(audience_viewer, world):
    kind, client, member = audience_viewer
    after_a = f"2021-05-17.{world.a.pk}"
    assert found(fetch(client, {"country": "DE", "after": after_a}), world) == "C"
    assert found(fetch(client, {"after": after_a}), world) == "CDB"
    oldest = fetch(client, {"sort": "oldest", "after": f"2020-01-01.{world.d.pk}"})
    assert found(oldest, world) == "CAF"
    # A cursor only makes sense for date orders.
    assert fetch(client, {"sort": "records", "after": after_a}).status_code == 404
    assert fetch(client, {"q": "acme", "after": after_a}).status_code == 404


@pytest.mark.parametrize(
    "q",
    [
        "x" * 10_000,
        "ransomware " * 1000,
        '"data breach',
        'data breach"',
        '"""',
        "'",
        "''; DROP TABLE incidents_incident; --",
        "1' OR '1'='1",
        "acme%' OR 1=1 --",
        "%",
        "_",
        "\\",
        "\\%",
        "a:* & b | !c",
        "!(ransomware)",
        "<->",
        "-",
        "--",
        "or",
        "-acme",
        "ransomware:*",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "</title><script>alert(1)</script>",
        "&lt;script&gt;",
        "\u202e\u0000\u200b",
        "😀 emoji ransomware",
    ],
)
def test_hostile_text_queries(audience_viewer, world, q):
    kind, client, member = audience_viewer
    response = fetch(client, {"q": q})
    assert response.status_code == 200
    html = response.content.decode()
    assert not RAW_SCRIPT_RE.search(html)
    assert "<img src=x" not in html
    assert "</title><script>" not in html
    assert Incident.objects.count() == 5


@pytest.mark.parametrize("q", ["%", "_", "%%", "\\", "'"])
def test_like_wildcards_in_the_query_are_literal(audience_viewer, world, q):
    kind, client, member = audience_viewer
    assert found(fetch(client, {"q": q}), world) == ""


def test_a_10kb_query_is_cut_to_a_sane_length(audience_viewer, world):
    kind, client, member = audience_viewer
    response = fetch(client, {"q": "acme " * 2000})
    assert response.status_code == 200
    assert found(response, world) == "FA"
    lead = LEAD_RE.search(response.content.decode()).group(1)
    assert len(lead) < 400  # the echoed query is cut to MAX_QUERY_LENGTH
    assert all(len(str(rest)) < 1200 for rest in chips(response).values())


def test_html_in_the_query_is_echoed_escaped(audience_viewer, world):
    kind, client, member = audience_viewer
    q = '<b onmouseover="x">acme</b>'
    html = fetch(client, {"q": q}).content.decode()
    assert q not in html
    assert html_lib.escape(q) in html  # in the title, the lead, the search box and the chip


def test_unknown_parameters_are_ignored(audience_viewer, world):
    kind, client, member = audience_viewer
    plain = fetch(client, {"country": "DE"})
    noisy = client.get(
        list_url(), {"country": "DE", "utm_source": "x", "<script>": "1", "q[]": "acme"}
    )
    assert body(noisy) == body(plain)


def test_repeated_parameters_take_one_value(audience_viewer, world):
    kind, client, member = audience_viewer
    cache.clear()
    response = client.get(list_url() + "?country=FR&country=DE&country=")
    assert response.status_code in (200, 400)
    cache.clear()
    response = client.get(list_url() + "?country=FR&country=JP")
    assert found(response, world) in ("B", "D")


def test_records_beyond_the_integer_range_are_not_an_error(audience_viewer, world):
    kind, client, member = audience_viewer
    huge = fetch(client, {"records_min": "9" * 40})
    assert huge.status_code == 400  # beyond the column's range: explained, not ignored
    assert "less than or equal to" in huge.content.decode()
    exponent = fetch(client, {"records_min": "1e400"})
    assert exponent.status_code == 400 or found(exponent, world) == ""
    assert found(fetch(client, {"records_min": "4999.5"}), world) == "AD"
    assert found(fetch(client, {"records_max": str(2**63 - 1)}), world) == "FACD"


@pytest.mark.parametrize("records_max", [str(2**63), "9" * 40])
def test_records_max_beyond_the_integer_range_is_explained(anonymous_client, world, records_max):
    """Django drops an out-of-range lookup silently (unknown counts would slip in): refuse it."""
    response = fetch(anonymous_client, {"records_max": records_max})
    assert response.status_code == 400
    assert "less than or equal to" in response.content.decode()
