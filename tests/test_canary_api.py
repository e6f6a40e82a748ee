"""Canary test of the API (/api/v1/): every gated field of tests.test_canary's planted
incidents, read through every endpoint and every page of every list, with every kind of
caller that is not a member now: no token, a registered non-member's token, an expired
member's token, a member's token after the membership lapsed, a revoked token, a bad
token. None may receive a canary in any byte or header; members' tokens find them.
Gated filters and searches sent by a non-member must not narrow what they get."""

import datetime
import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from accounts import tokens
from accounts.models import Subscription
from incidents.models import Incident, Organisation, ThreatActor
from tests.conftest import NON_MEMBERS, make_viewer
from tests.test_canary import canaries  # noqa: F401 (the fixture)

LISTS = ["/api/v1/incidents", "/api/v1/organisations", "/api/v1/threat-actors"]
# Searches for a gated value (lower case: the canary itself is never echoed back).
GATED_SEARCHES = ["q=canarymotive0a", "q=canaryalias0", "q=canarytechnique0", "q=t9900"]
# What the API never carries to anyone: it names actor locations by code, and has no HTML.
NOT_IN_THE_API = ("Tuvalu", "Nauru", 'class="impact impact-high"')


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.API_REQUESTS_PER_MINUTE = 100_000
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 100_000


def gated_filters() -> str:
    """Every members' filter, each matching the first canary incident (and only it)."""
    incident = Incident.objects.get(techniques__attack_id="T9900")
    actor = incident.threat_actors.select_related("actor_type").get()
    return urlencode(
        {
            "motive": incident.motives.order_by("name").first().slug,
            "technique": "T9900",
            "tactic": "canary-tactic-0",
            "actor": actor.slug,
            "actor_type": actor.actor_type.slug,
            "actor_country": actor.country.code,
            "confidentiality": "high",
            "integrity": "medium",
            "availability": "low",
        }
    )


def caller(kind):
    """The Authorization header of a caller of ``kind`` (None: no header)."""
    if kind == "anonymous":
        return None
    if kind == "bad_token":
        return "Bearer cip_00000000_" + "A" * 43
    if kind in ("revoked_token", "lapsed_member"):
        user = make_viewer("member")
        token, raw = tokens.create(user, kind)
        if kind == "revoked_token":
            tokens.revoke(user, token.pk)
        else:
            Subscription.objects.filter(user=user).update(
                ends_at=timezone.now() - datetime.timedelta(seconds=1)
            )
        return f"Bearer {raw}"
    return f"Bearer {tokens.create(make_viewer(kind), kind)[1]}"


def read_everything(header, *, head=False):
    """{path: response} for every endpoint, every page of every list, every object (and,
    with ``head``, {"HEAD path": response} too: HEAD answers with GET's headers)."""
    client = Client(headers={"Authorization": header} if header else {})
    responses = {}

    def get(path):
        response = client.get(path)
        responses[path] = response
        if head:
            responses[f"HEAD {path}"] = client.head(path)
        return response

    for path in LISTS:
        while path:
            response = get(path)
            path = response.json().get("next") if response.status_code == 200 else None
            if path:
                path = path.removeprefix("http://testserver")
    for slug in Incident.objects.values_list("slug", flat=True):
        get(f"/api/v1/incidents/{slug}")
    for slug in Organisation.objects.values_list("slug", flat=True):
        get(f"/api/v1/organisations/{slug}")
    for slug in ThreatActor.objects.values_list("slug", flat=True):
        get(f"/api/v1/threat-actors/{slug}")
    for path in ("/api/v1/techniques", "/api/v1/statistics", "/api/v1/openapi.json"):
        get(path)
    for query in [gated_filters(), *GATED_SEARCHES]:
        get(f"/api/v1/incidents?{query}")
        get(f"/api/v1/statistics?{query}")
    return responses


def blob(response) -> bytes:
    return response.content + str(response.headers).encode()


KINDS = [*NON_MEMBERS, "lapsed_member", "revoked_token", "bad_token"]


@pytest.mark.parametrize("kind", KINDS)
def test_no_canary_reaches_a_non_member_through_the_api(kind, canaries):  # noqa: F811
    # Members first: whatever they made the API cache (statistics) must stay theirs.
    read_everything(caller("member"))
    responses = read_everything(caller(kind), head=True)
    statuses = {r.status_code for r in responses.values()}
    if kind in ("revoked_token", "bad_token"):
        assert statuses == {200, 401} or statuses == {401}, statuses
        assert all(
            r.status_code == 401
            for p, r in responses.items()
            if p.removeprefix("HEAD ") != "/api/v1/openapi.json"
        )
    else:
        assert max(statuses) < 500 and 200 in statuses
    for path, response in responses.items():
        for canary in canaries["gated"] + canaries["draft"]:
            assert canary.encode() not in blob(response), f"{canary!r} reached {kind} at {path}"


@pytest.mark.parametrize("kind", ["anonymous", "registered", "expired_member", "lapsed_member"])
def test_a_non_members_gated_filters_and_searches_do_not_narrow(kind, canaries):  # noqa: F811
    member = Client(headers={"Authorization": caller("member")})
    client = Client(headers={"Authorization": h} if (h := caller(kind)) else {})
    filtered = gated_filters()
    # The filters narrow a member's list to the one incident they match ...
    narrowed = member.get(f"/api/v1/incidents?{filtered}").json()["results"]
    assert [r["slug"] for r in narrowed] == [
        Incident.objects.get(techniques__attack_id="T9900").slug
    ]
    # ... and leave a non-member's list and statistics as they were.
    everything = client.get("/api/v1/incidents?limit=100").json()
    found = client.get(f"/api/v1/incidents?limit=100&{filtered}").json()
    assert found == everything and found["query"] == {}
    stats = client.get("/api/v1/statistics").json()
    assert client.get(f"/api/v1/statistics?{filtered}").json() == stats
    # A search for a gated word finds nothing for them, as a word found nowhere.
    nothing = client.get("/api/v1/incidents?q=no-such-word-anywhere").json()["results"]
    for query in GATED_SEARCHES:
        assert len(member.get(f"/api/v1/incidents?{query}").json()["results"]) == 1, query
        assert client.get(f"/api/v1/incidents?{query}").json()["results"] == nothing == [], query


@pytest.mark.parametrize("kind", ["member", "staff"])
def test_members_tokens_find_every_canary(kind, canaries):  # noqa: F811
    responses = read_everything(caller(kind))
    everything = b"".join(json.dumps(r.json()).encode() for r in responses.values())
    everything += b"".join(r.content for r in responses.values())
    for canary in canaries["gated"]:
        if canary in NOT_IN_THE_API:
            continue
        assert canary.encode() in everything, f"{kind} never sees {canary!r}"
    draft_seen = all(c.encode() in everything for c in canaries["draft"])
    assert draft_seen == (kind == "staff")
