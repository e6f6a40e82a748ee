"""Query counts are pinned and do not grow with the number of related rows.

Queries per request, for a logged-in member:
  1 session, 2 user, 3 is_member (subscription exists), then the page's own, one of them the
  catalogue's versions (tests.conftest.VERSIONS_READ).
Anonymous visitors without a session skip the first three.
"""

import pytest
from django.db import connection
from django.urls import reverse

from tests.conftest import VERSIONS_READ, client_for, new_catalogue_version
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    IncidentTypeFactory,
    MotiveFactory,
    OrganisationFactory,
    SourceFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

MEMBER_OVERHEAD = 3


def populate(size):
    """An organisation with incidents that each have ``size`` related rows of every kind."""
    org = OrganisationFactory()
    actors = [ThreatActorFactory() for _ in range(size)]
    tactics = [TacticFactory() for _ in range(size)]
    incidents = []
    for _ in range(size):
        incident = IncidentFactory(
            organisation=org,
            types=[IncidentTypeFactory() for _ in range(size)],
            motives=[MotiveFactory() for _ in range(size)],
            techniques=[TechniqueFactory(tactics=tactics) for _ in range(size)],
            threat_actors=actors,
        )
        CIAPostureFactory(incident=incident)
        for _ in range(size):
            SourceFactory(incident=incident)
        incidents.append(incident)
    return org, incidents, actors


def urls(org, incidents, actors):
    return {
        "list": reverse("incidents:incident_list"),
        "incident": incidents[0].get_absolute_url(),
        "organisation": org.get_absolute_url(),
        "organisations": reverse("incidents:organisation_list"),
        "actor": actors[0].get_absolute_url(),
        "actors": reverse("incidents:actor_list"),
        "home": reverse("home"),
        "browse": reverse("incidents:browse"),
    }


LOCK = 2 if connection.vendor == "postgresql" else 0

# Page queries (after the viewer's own), with what they are:
EXPECTED = {
    # count for the paginator; the rows with their gated counts as subqueries; the rows'
    # incident types (one prefetch); the filter menus' choices (cached until the catalogue
    # changes): victim countries, sectors, incident types, years with incidents; members add
    # motives, tactics, actor types, actor countries, the techniques in use (the technique
    # box's suggestions), and the rows' motives, techniques and actors (one prefetch each),
    # and the rows they may still export today (portal.counters, in the database without
    # Redis); on PostgreSQL without Redis, the page's single-flight lock is an advisory
    # lock, taken and given back (portal.locks)
    "list": {"anonymous": 7 + LOCK, "member": 16 + LOCK},
    # the incident with organisation/sector; sources; its types; each dataset's record of
    # it (with the dataset); related incidents of the victim and their types
    # members add: motives; techniques; their tactics; actors (with type)
    "incident": {"anonymous": 6, "member": 10},
    # the organisation with its visible-incident count; the spellings sources used;
    # paginator count; rows; the timeline's incidents (two or more: a recurring victim)
    "organisation": {"anonymous": 5, "member": 5},
    # paginator count; organisations with counts
    "organisations": {"anonymous": 2, "member": 2},
    # the actor with its incident count (and whether each members' field holds a value);
    # members add: its techniques (their tactics: none here, ATT&CK relates none); its
    # software; paginator count; incident rows and their types; the timeline's incidents;
    # the techniques its incidents used, with their counts; their tactics
    "actor": {"anonymous": 1, "member": 9},
    # every visible actor's name (sorted in Python); the page's actors with counts
    "actors": {"anonymous": 2, "member": 2},
    # three public totals; the latest incidents and their types; incidents by type (the
    # links counted; the types named)
    "home": {"anonymous": 7, "member": 7},
    # incidents by country; by sector; by type (the links counted; the types named); by
    # year (the sectors' names are one more query when some incident has a sector; these
    # have none)
    "browse": {"anonymous": 5, "member": 5},
}


# Pages rendered for each request, never cached: they read no version.
UNCACHED = {"actor"}

# Exact where the count is a gate: a page whose anonymous count is below the members' would
# show an extra query for anonymous visitors if it started fetching members' data for them.
# Elsewhere a maximum: one more query there would be slower, not a leak.
EXACT = {(page, "anonymous") for page, n in EXPECTED.items() if n["anonymous"] < n["member"]}


@pytest.mark.parametrize("page", list(EXPECTED))
@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_query_count_is_constant(
    page, kind, db, django_assert_num_queries, django_assert_max_num_queries
):
    # Two incidents at least: one victim's single incident draws no timeline (one query
    # fewer on its page by design, not because related rows were counted).
    small = urls(*populate(2))
    large = urls(*populate(4))
    client = client_for(kind)
    expected = EXPECTED[page][kind] + (MEMBER_OVERHEAD if kind == "member" else 0)
    expected += 0 if page in UNCACHED else VERSIONS_READ
    assert_queries = (
        django_assert_num_queries if (page, kind) in EXACT else django_assert_max_num_queries
    )
    counts = []
    for url in (small[page], large[page]):
        new_catalogue_version()  # measure the rendering, not a cached page (incidents.caching)
        with assert_queries(expected) as captured:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], "the count grows with the number of related rows"


def test_the_gated_pages_are_pinned_exactly():
    assert {("list", "anonymous"), ("incident", "anonymous"), ("actor", "anonymous")} == EXACT


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_a_cached_list_page_costs_only_the_viewer_lookup_and_the_versions(
    kind, db, django_assert_max_num_queries
):
    urls(*populate(2))
    client = client_for(kind)
    client.get(reverse("incidents:incident_list"))
    # A member's page shows the rows they may still export today (portal.counters).
    overhead = MEMBER_OVERHEAD + 1 if kind == "member" else 0
    with django_assert_max_num_queries(VERSIONS_READ + overhead):
        assert client.get(reverse("incidents:incident_list")).status_code == 200
