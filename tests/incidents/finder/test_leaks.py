"""Leak-proofing the finder: members' filters and gated text do nothing for non-members
(every non-member viewer), and its cached HTML never crosses audiences."""

import html as html_lib
from urllib.parse import quote_plus

import pytest
from django.core.cache import cache

from incidents.filters import MEMBER_ONLY_FILTERS
from incidents.models import Incident
from incidents.views import LOCKED_FILTER_LABELS
from tests.conftest import client_for
from tests.factories import IncidentFactory, OrganisationFactory
from tests.incidents.finder.world import NEWEST
from tests.incidents.pages import (
    CONTROL_RE,
    MEMBER_NAMES,
    PUBLIC_NAMES,
    body,
    body_without_notice,
    fetch,
    found,
    ignored_notice,
    postgres_only,
    slugs_on,
)

# 4. Leak-proofing: members' filters and gated text do nothing for non-members.

# A value for every members-only parameter that narrows the results for a member.
NARROWING = {
    "motive": "financial",
    "technique": "T1566",
    "tactic": "impact",
    "actor": "grey-heron",
    "actor_type": "criminal-group",
    "actor_country": "KP",
    "confidentiality": "high",
    "integrity": "medium",
    "availability": "high",
}
BASES = [
    {},
    {"country": "DE"},
    {"sort": "records", "records_min": "0"},
    {"q": "acme"},
    {"page": "1"},
    {"after": "2030-01-01.1", "sort": "oldest"},
]


def test_every_members_filter_has_a_narrowing_value():
    assert set(NARROWING) == set(MEMBER_ONLY_FILTERS)
    assert set(MEMBER_ONLY_FILTERS) == set(MEMBER_NAMES) - set(PUBLIC_NAMES)


@pytest.mark.parametrize("name", MEMBER_ONLY_FILTERS)
def test_narrowing_values_narrow_for_members(member_client, world, name):
    everything = found(fetch(member_client), world)
    narrowed = found(fetch(member_client, {name: NARROWING[name]}), world)
    assert narrowed and len(narrowed) < len(everything)
    by_de = found(fetch(member_client, {"country": "DE", name: NARROWING[name]}), world)
    assert by_de != "FAC"  # narrows within a public filter too


def assert_only_the_notice_differs(with_it, without, where):
    """The page with members' filters is the page without them plus a notice that names
    no value (so it cannot tell whether a value exists, or what it would match)."""
    notice = ignored_notice(with_it)
    assert notice is not None, where
    assert ignored_notice(without) is None, where
    assert body_without_notice(with_it) == body(without), where
    assert notice == NOTICE, where


# The notice, the same whatever the members' parameters (rendered by the first test to ask).
NOTICE = (
    '<div class="notice members-filters-ignored" role="status"><p><strong>Some filters in '
    "this link are for members</strong>, so they are not applied: these results are not "
    'narrowed by them. <a href="/accounts/login/">Log in</a> as a member and open the link '
    'again, or <a href="/pricing/">become a member</a>.</p></div>'
)


@pytest.mark.parametrize("name", MEMBER_ONLY_FILTERS)
def test_members_filters_are_ignored_for_non_members(non_member_client, world, name):
    for base in BASES:
        without = fetch(non_member_client, base)
        with_it = fetch(non_member_client, {**base, name: NARROWING[name]})
        assert without.status_code == with_it.status_code == 200, base
        assert_only_the_notice_differs(with_it, without, (name, base))


def test_all_members_filters_at_once_are_ignored_for_non_members(non_member_client, world):
    for base in BASES:
        without = fetch(non_member_client, base)
        with_them = fetch(non_member_client, {**base, **NARROWING})
        assert_only_the_notice_differs(with_them, without, base)


def test_the_notice_is_not_shared_with_visitors_who_sent_no_members_filter(anonymous_client, world):
    """Whole pages are cached for anonymous visitors: the notice is part of the key."""
    cache.clear()
    with_it = anonymous_client.get("/incidents/", {"country": "DE", "motive": "financial"})
    assert ignored_notice(with_it) is not None
    again = anonymous_client.get("/incidents/", {"country": "DE"})
    assert ignored_notice(again) is None


def test_members_get_no_notice(member_client, world):
    assert ignored_notice(fetch(member_client, {"motive": "financial"})) is None


@pytest.mark.parametrize(
    "value", ["nonsense", "", "\x00", "<script>alert(1)</script>", "x" * 5000, "T1566.001.002"]
)
def test_invalid_members_values_are_ignored_for_non_members(non_member_client, world, value):
    """Not even an error message: a 400 for motive=nonsense would show the parameter counts.
    The notice is the same for valid and invalid values (and absent for empty ones)."""
    without = fetch(non_member_client, {"country": "DE"})
    for name in MEMBER_ONLY_FILTERS:
        with_it = fetch(non_member_client, {"country": "DE", name: value})
        if value.strip("\x00"):
            assert_only_the_notice_differs(with_it, without, name)
        else:
            assert body(with_it) == body(without), name


GATED_QUERIES = [
    "Grey Heron",  # an actor's name
    "Heron Team",  # an actor's alias
    "Lynx Crew",
    "T1486",  # a technique ID
    "T1566",
    "Data Encrypted for Impact",  # a technique name
    "Espionage",  # a motive
    "financial",
]
NONSENSE = "zqxjvkwpf"


def _without_echo(response, *texts):
    """The page with the echoed query (escaped or URL-encoded) replaced by a placeholder; the
    other ``texts`` too (a word the page shows anyway: "Espionage" is also a public incident
    type, in the finder's menu)."""
    page = body(response)
    for text in texts:
        for form in {html_lib.escape(text), quote_plus(text), text}:
            page = page.replace(form, "@@QUERY@@")
    return page


@pytest.mark.parametrize("q", GATED_QUERIES)
def test_text_search_never_matches_gated_text_for_non_members(non_member_client, world, q):
    gated = fetch(non_member_client, {"q": q})
    assert found(gated, world) == ""
    nonsense = fetch(non_member_client, {"q": NONSENSE})
    assert _without_echo(gated, q) == _without_echo(nonsense, NONSENSE, q)
    # Combined with a filter, and sorted: still nothing.
    combined = fetch(non_member_client, {"q": q, "country": "DE", "sort": "oldest"})
    assert found(combined, world) == ""


@pytest.mark.parametrize("q", GATED_QUERIES)
def test_text_search_matches_gated_text_for_members(member_client, world, q):
    assert found(fetch(member_client, {"q": q}), world) != ""


def test_members_filters_are_locked_for_non_members(non_member_client, world):
    response = fetch(non_member_client)
    html = response.content.decode()
    assert "Available to members" in html
    for label in LOCKED_FILTER_LABELS:
        assert f"<li>{html_lib.escape(label)}</li>" in html
    controls = set(CONTROL_RE.findall(html))
    assert controls & set(MEMBER_ONLY_FILTERS) == set()
    assert set(PUBLIC_NAMES) <= controls
    # (The locked labels are derived from MemberFinderForm, one per members' filter.)


def test_members_filters_are_controls_for_members(member_client, world):
    html = fetch(member_client).content.decode()
    controls = set(CONTROL_RE.findall(html))
    assert set(MEMBER_NAMES) <= controls
    assert "Available to members" not in html
    # The members' choice lists are filled in.
    assert '<option value="espionage">Espionage</option>' in html
    assert '<option value="KP">North Korea</option>' in html


def test_cached_finder_is_never_shared_across_audiences(world):
    """The finder's HTML is cached per audience: a members' render never reaches anyone else,
    whichever request comes first."""
    staff, member, anonymous = client_for("staff"), client_for("member"), client_for("anonymous")
    IncidentFactory(status="draft", organisation=OrganisationFactory(name="Hidden Draft Org"))
    cache.clear()
    for params in ({"q": "Grey Heron"}, {"motive": "financial"}, {}):
        seen_by_staff = body(fetch(staff, params, cached=True))
        seen_by_member = body(fetch(member, params, cached=True))
        seen_by_anonymous = fetch(anonymous, params, cached=True)
        html = seen_by_anonymous.content.decode()
        assert "Available to members" in html
        assert not set(CONTROL_RE.findall(html)) & set(MEMBER_ONLY_FILTERS)
        assert ("Hidden Draft Org" in seen_by_staff) == (not params)
        assert "Hidden Draft Org" not in seen_by_member
        assert "Hidden Draft Org" not in html
        expected = "" if params.get("q") else NEWEST
        assert found(seen_by_anonymous, world) == expected, params
    cache.clear()
    fetch(anonymous, {"q": "Grey Heron"}, cached=True)
    assert found(fetch(member, {"q": "Grey Heron"}, cached=True), world) == "DB"


def test_cached_finder_follows_changes_to_the_catalogue(world):
    anonymous, member = client_for("anonymous"), client_for("member")
    cache.clear()
    assert found(fetch(anonymous, {"q": "quokka"}, cached=True), world) == ""
    f = Incident.objects.get(pk=world.f.pk)  # a copy: the module's world stays as built
    f.summary = "Acme Rockets found a quokka in the server room."
    f.save()
    assert found(fetch(anonymous, {"q": "quokka"}, cached=True), world) == "F"
    assert found(fetch(member, {"motive": "espionage"}, cached=True), world) == "DB"
    f.motives.add(world.b.motives.get())
    assert found(fetch(member, {"motive": "espionage"}, cached=True), world) == "FDB"


def test_imported_incidents_are_found_at_once(world):
    """The importer's path (bulk_create): new incidents are searchable, on either database,
    and no cached finder page hides them."""
    from incidents.importers.veris import RawRecord, VerisImporter, parse_record

    anonymous = client_for("anonymous")
    cache.clear()
    assert found(fetch(anonymous, {"q": "platypus"}, cached=True), world) == ""
    raw = RawRecord(
        "test.jsonl:1",
        "TEST-0001",
        {
            "incident_id": "TEST-0001",
            "summary": "A platypus breeding database was exposed.",
            "timeline": {"incident": {"year": 2019, "month": 11, "day": 20}},
            "victim": {"victim_id": "Wombat Zoo", "country": ["GB"], "industry": "712130"},
        },
    )
    VerisImporter(publish=True).run([parse_record(raw)])
    response = fetch(anonymous, {"q": "platypus"}, cached=True)
    assert slugs_on(response) == [Incident.objects.get(external_id="TEST-0001").slug]
    assert len(slugs_on(fetch(anonymous, {"q": "wombat zoo"}, cached=True))) == 1


@postgres_only
def test_gated_text_never_matches_for_non_members_with_postgres_search(non_member_client, world):
    for q in GATED_QUERIES:
        assert found(fetch(non_member_client, {"q": q}), world) == "", q
