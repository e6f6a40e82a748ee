"""Property-based: no query string makes the incident list fail or reflect markup.

Random query strings (the real parameter names, ``page`` and ``after``, and random names;
values that are valid, hostile or random unicode, NUL bytes, quotes, %, <, >, very long)
are thrown at the incident list as a non-member and as a member. Every answer is below 500
and nothing from the input comes back as live markup.
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.filters import MemberFinderForm
from tests.conftest import client_for
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

PARAM_NAMES = [*MemberFinderForm.base_fields, "page", "after"]
VALID_VALUES = [
    "2020-01-01",
    "2021-05-17",
    "2021",
    "2020",
    "DE",
    "JP",
    "finance",
    "acme-rockets",
    "100",
    "0",
    "financial",
    "espionage",
    "T1566",
    "T1566.001",
    "t1486",
    "initial-access",
    "grey-heron",
    "nation-state",
    "KP",
    "high",
    "low",
    "newest",
    "oldest",
    "records",
    "relevance",
    "1",
    "2",
    "2021-05-17.1",
    "acme",
    "ransomware",
    "Grey Heron",
]
HOSTILE_VALUES = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "<ScRiPt src=//evil.example></ScRiPt>",
    "'\"><img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "javascript:alert(1)",
    "' OR '1'='1",
    "1; DROP TABLE incidents_incident; --",
    '"unbalanced phrase',
    "a:* & !b | (c <-> d)",
    "%",
    "%%",
    "_",
    "\\",
    "\x00",
    "1\x00",
    "\x00<script>",
    "-",
    "or",
    "-9",
    "1e400",
    "NaN",
    "9" * 40,
    str(10**9),
    "٣",  # a digit int() accepts
    "²",  # a digit int() rejects
    "0001-01-01.1",
    "9999-12-31.999999999999999999",
    "\u202e\u200b",
]
ALPHABET = list("aT1566.0-_ \"'%<>&:*|!()\\/?=#;+\x00é中😀\t\n")

values = st.one_of(
    st.sampled_from(VALID_VALUES),
    st.sampled_from(HOSTILE_VALUES),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(ALPHABET), max_size=60),
    st.tuples(st.sampled_from(VALID_VALUES + HOSTILE_VALUES), st.text(max_size=8)).map("".join),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=3),
    st.tuples(st.text(min_size=1, max_size=4), st.integers(1000, 3000)).map(
        lambda t: t[0] * t[1]  # very long values (4-12 KB)
    ),
)
keys = st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=12))
random_pairs = st.lists(st.tuples(keys, values), max_size=8)
# Mostly valid filters and one odd pair, so that the odd value gets past form validation
# to the code behind it (search, sorting, pagination).
VALID_BY_NAME = {
    "q": ["acme", "ransomware", "Grey Heron", '"acme rockets"', "acme -ransomware", "T1566"],
    "date_from": ["2019-01-01", "2021-05-17"],
    "date_to": ["2022-12-31", "2020-01-01"],
    "year": ["2019", "2021"],
    "country": ["DE"],
    "sector": ["finance"],
    "organisation": ["acme-rockets", "nobody"],
    "records_min": ["0", "150"],
    "records_max": ["1000", "9" * 30],
    "sort": ["newest", "oldest", "records", "relevance"],
    "motive": ["espionage"],
    "technique": ["T1566", "t1566.001"],
    "tactic": ["initial-access"],
    "actor": ["grey-heron"],
    "actor_type": ["nation-state"],
    "actor_country": ["KP"],
    "confidentiality": ["high", "unknown"],
    "integrity": ["low"],
    "availability": ["high"],
    "page": ["1", "2"],
    "after": ["2021-05-17.1", "2030-01-01.999"],
}
valid_pairs = st.sampled_from(sorted(VALID_BY_NAME)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(VALID_BY_NAME[name]))
)
odd_pair = st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), keys), values)
mostly_valid = st.tuples(st.lists(valid_pairs, max_size=4), odd_pair).map(lambda t: [*t[0], t[1]])
queries = st.one_of(random_pairs, mostly_valid)

RAW_SCRIPT_RE = re.compile(r"<script(?!\s+src=\"/static/)", re.IGNORECASE)


def hits_known_page_bug(pairs):
    """?page=² is a known 500 (test_finder.py::test_unicode_superscript_page_number_is_a_404):
    str.isdigit() accepts digits that int() rejects. Left out here so the property keeps
    looking for new failures; the xfail there tracks the bug."""
    pages = [v for k, v in pairs if k == "page"]
    if not pages:
        return False
    raw = pages[-1]
    if len(raw) > 12 or not raw.isdigit():
        return False
    try:
        int(raw)
    except ValueError:
        return True
    return False


@pytest.fixture
def catalogue(db):
    """A few incidents with every kind of public and members-only fact."""
    sector = SectorFactory(name="Finance and insurance", slug="finance")
    tactic = TacticFactory(attack_id="TA0001", shortname="initial-access", name="Initial Access")
    parent = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[tactic])
    child = TechniqueFactory(
        attack_id="T1566.001", name="Spearphishing Attachment", parent=parent, tactics=[tactic]
    )
    actor = ThreatActorFactory(
        name="Grey Heron",
        actor_type=ActorTypeFactory(name="Nation-state", slug="nation-state"),
        country="KP",
        aliases=["Heron Team"],
    )
    motive = MotiveFactory(name="Espionage", slug="espionage")
    acme = OrganisationFactory(name="Acme Rockets", country="DE", sector=sector)
    for i, (technique, summary) in enumerate(
        [
            (parent, "Acme Rockets disclosed a ransomware attack."),
            (child, 'A summary with <script>alert("stored")</script> & "quotes".'),
            (None, "Records 100% exposed; 'quoted' and \\backslashed\\."),
        ]
    ):
        incident = IncidentFactory(
            organisation=acme if i == 0 else OrganisationFactory(),
            date=datetime.date(2019 + i, 5, 17),
            country="DE",
            sector=sector,
            records_affected=None if i == 2 else 100 * (i + 1),
            summary=summary,
            motives=[motive] if technique else [],
            techniques=[technique] if technique else [],
            threat_actors=[actor] if technique else [],
        )
        CIAPostureFactory(incident=incident, availability="high")
    return {"non-member": client_for("anonymous"), "member": client_for("member")}


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the project
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pairs=queries, as_member=st.booleans())
def test_random_query_strings_never_fail(catalogue, pairs, as_member):
    client = catalogue["member" if as_member else "non-member"]
    url = reverse("incidents:incident_list") + "?" + urlencode(pairs)
    cache.clear()  # render every example, do not serve an earlier one
    with transaction.atomic():  # a database error must not poison the examples after it
        response = client.get(url)
    assert response.status_code < 500, url
    html = response.content.decode()
    assert not RAW_SCRIPT_RE.search(html), url
    assert "onerror=alert(1)>" not in html, url
    assert "</title><script>" not in html, url
