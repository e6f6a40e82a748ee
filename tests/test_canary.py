"""Canary test: gated values never reach a non-member, on any page the site exposes.

Unique strings are planted in every members-only field of several incidents.
Each viewer crawls the whole site (every link, feed and sitemap entry, plus
error pages and the admin's login) and no canary may appear in any byte of any
response a non-member receives. Members must find every canary somewhere.
"""

import contextlib
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django_countries import countries

from incidents.models import Incident
from tests.conftest import MEMBERS, NON_MEMBERS, client_for
from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SourceFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

# Countries used only as actor locations in this test (gated).
ACTOR_COUNTRIES = {code: countries.name(code) for code in ("TV", "NR")}

LINK_RE = re.compile(rb"""(?:href|src|action)=["']([^"'#]+)""")
LOC_RE = re.compile(rb"<loc>([^<]+)</loc>")
LOCAL_HOSTS = {"", "testserver", "127.0.0.1:8000"}
MAX_PAGES = 400

EXTRA_URLS = [
    "/",
    "/robots.txt",
    "/favicon.ico",
    "/healthz",
    "/readyz",
    "/sitemap.xml",
    "/incidents/feed/",
    "/admin/",
    "/admin/login/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/membership/",
    "/accounts/trial/",
    "/accounts/invoice/",
    "/accounts/data/",
    "/accounts/delete/",
    "/pricing/",
    "/billing/checkout/",
    "/billing/return/",
    "/billing/return/?cancelled=1",
    "/billing/manage/",
    "/billing/stripe/webhook/",
    "/billing/test/checkout/not-a-token/",
    "/billing/test/portal/",
    "/no-such-page/",
    "/incidents/no-such-incident/",
    "/organisations/no-such-org/",
    "/organisations/?q=canaryalias0",
    "/organisations/?q=Victim&letter=V",
    "/admin/incidents/dataset/report/",
    "/actors/no-such-actor/",
    "/incidents/?page=abc",
    "/incidents/?page=999999",
    "/actors/?page=0",
    "/statistics/",
    "/statistics/?motive=canary-motive&technique=T9900&actor_type=canary-type&confidentiality=high",
    "/statistics/no-such-chart.csv",
    "/statistics/motives.csv",
    "/statistics/motives-by-year.csv",
    "/statistics/techniques.csv",
    "/statistics/tactics.csv",
    "/statistics/actor-types.csv",
    "/statistics/actor-countries.csv",
    "/statistics/cia.csv",
    "/statistics/actor-type-sector.csv",
    "/statistics/attack-matrix.csv",
    "/statistics/attack-layer.json",
    "/statistics/attack-layer.json?technique=T9900",
    # A search for a gated value (in lower case: the page echoes the query), on every
    # channel that takes the finder's query.
    "/statistics/?q=canaryalias0",
    "/statistics/years.csv?q=canarymotive0a",
    "/incidents/?q=canarytechnique0",
    "/incidents/export.csv",
    "/incidents/export.json",
    "/incidents/export.stix.json",
    "/incidents/export.csv?q=canarymotive0a",
    "/incidents/export.json?q=canaryalias0",
    "/incidents/export.json?motive=canary-motive&technique=T9900&actor_type=canary-type",
    "/incidents/export.stix.json?q=canarytechnique0",
]
# Channels whose content must have been read (a 200), not just their address reached, in
# every non-member's crawl; signed-in non-members' own pages too.
READ_BY_EVERY_NON_MEMBER = {
    "billing:pricing",
    "incidents:statistics",
    "incidents:statistics_csv",
    "incidents:incident_export",
    "incidents:incident_feed",
}
READ_BY_SIGNED_IN_NON_MEMBERS = {
    "accounts:membership",
    "accounts:invoice_request",
    "accounts:start_trial",
    "accounts:my_data",
    "accounts:delete_account",
    "billing:checkout_return",
}


@pytest.fixture
def canaries(db):
    """Plant canaries in every gated field of three incidents; return them by kind."""
    gated = []
    link_texts = []
    for n in range(3):
        tactic = TacticFactory(name=f"CanaryTactic{n}", shortname=f"canary-tactic-{n}")
        parent = TechniqueFactory(attack_id=f"T99{n}0", name=f"CanaryParentTechnique{n}")
        technique = TechniqueFactory(
            attack_id=f"T99{n}0.00{n + 1}",
            name=f"CanaryTechnique{n}",
            parent=parent,
            tactics=[tactic],
        )
        country = list(ACTOR_COUNTRIES)[n % 2]
        actor = ThreatActorFactory(
            name=f"Public Actor Name {n}",
            aliases=[f"CanaryAlias{n}"],
            actor_type=ActorTypeFactory(name=f"CanaryActorType{n}"),
            country=country,
            description=f"CanaryActorDescription{n}",
            attack_id=f"G99{n}9",
        )
        org = OrganisationFactory(name=f"Linked Victim {n}", country="FR")
        incident = IncidentFactory(
            organisation=org,
            country="FR",
            motives=[
                MotiveFactory(name=f"CanaryMotive{n}a"),
                MotiveFactory(name=f"CanaryMotive{n}b"),
            ],
            techniques=[technique, parent],
            threat_actors=[actor],
        )
        CIAPostureFactory(
            incident=incident,
            confidentiality="high",
            integrity="medium",
            availability="low",
            notes=f"CanaryCiaNotes{n}",
        )
        SourceFactory(incident=incident)
        gated += [
            f"CanaryTactic{n}",
            f"T99{n}0",
            f"CanaryParentTechnique{n}",
            f"CanaryTechnique{n}",
            f"CanaryAlias{n}",
            f"CanaryActorType{n}",
            f"CanaryActorDescription{n}",
            f"G99{n}9",
            f"CanaryMotive{n}a",
            f"CanaryMotive{n}b",
            f"CanaryCiaNotes{n}",
            ACTOR_COUNTRIES[country],
            # Impact levels render with these classes, for members only.
            'class="impact impact-high"',
        ]
        link_texts.append((actor.get_absolute_url(), [org.name, incident.slug]))
    # A victim with no actor, and a draft that only staff may see.
    IncidentFactory(organisation__name="Plain Victim")
    draft = IncidentFactory(
        status="draft",
        organisation__name="CanaryDraftVictim",
        summary="CanaryDraftSummary",
        threat_actors=[ThreatActorFactory(name="Draft-only Actor")],
    )
    return {
        "gated": sorted(set(gated)),
        "actor_links": link_texts,
        "draft": ["CanaryDraftVictim", "CanaryDraftSummary", draft.slug, "Draft-only Actor"],
    }


def local_path(url, base):
    absolute = urljoin("http://testserver" + base, url.decode() if isinstance(url, bytes) else url)
    parts = urlsplit(absolute)
    if parts.netloc not in LOCAL_HOSTS:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.path.startswith("/static/"):
        return None
    return path


def crawl(client, *, include_admin):
    """GET every page reachable from the seeds; return {path: response}."""
    seen, responses = set(), {}
    queue = deque(EXTRA_URLS)
    while queue and len(responses) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        if path.startswith("/admin/") and not include_admin and path not in EXTRA_URLS:
            continue
        if path.startswith("/accounts/logout"):
            continue
        response = client.get(path)
        responses[path] = response
        body = b"".join(response) if response.streaming else response.content
        response.body = body
        if response.status_code in (301, 302) and response.has_header("Location"):
            target = local_path(response["Location"], path)
            if target:
                queue.append(target)
        for match in LINK_RE.findall(body) + LOC_RE.findall(body):
            target = local_path(match.replace(b"&amp;", b"&"), path)
            if target and target not in seen:
                queue.append(target)
    return responses


def assert_no_canary_reached(kind, responses, canaries):
    assert len(responses) > 20, sorted(responses)
    for path, response in responses.items():
        assert response.status_code < 500, path
        blob = response.body + str(response.headers).encode()
        for canary in canaries["gated"] + canaries["draft"]:
            assert canary.encode() not in blob, f"{canary!r} leaked to {kind} at {path}"
    for actor_path, linked in canaries["actor_links"]:
        body = responses[actor_path].body
        for text in linked:
            assert text.encode() not in body, f"actor page {actor_path} reveals {text!r}"


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_no_canary_reaches_a_non_member(kind, canaries):
    assert_no_canary_reached(kind, crawl(client_for(kind), include_admin=False), canaries)


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_no_canary_reaches_a_non_member_after_members_filled_the_caches(kind, canaries):
    """Staff and a member crawl first, so every page, fragment, count and choice list is
    cached for their audiences; nothing of theirs may be served to a non-member."""
    for member_kind in ("staff", "member"):
        crawl(client_for(member_kind), include_admin=False)
    assert_no_canary_reached(kind, crawl(client_for(kind), include_admin=False), canaries)


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_find_every_canary(kind, canaries):
    responses = crawl(client_for(kind), include_admin=False)
    everything = b"".join(r.body for r in responses.values())
    for canary in canaries["gated"]:
        assert canary.encode() in everything, f"{kind} never sees {canary!r}"
    for actor_path, linked in canaries["actor_links"]:
        for text in linked:
            assert text.encode() in responses[actor_path].body
    draft_seen = all(c.encode() in everything for c in canaries["draft"])
    assert draft_seen == (kind == "staff")
    # A response holding a gated value must never be kept by a shared (proxy) cache.
    for path, response in responses.items():
        if any(c.encode() in response.body for c in canaries["gated"]):
            cache_control = response.get("Cache-Control", "")
            assert "private" in cache_control or "no-store" in cache_control, path
            assert "Cookie" in response.get("Vary", ""), path


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_server_error_page_reveals_nothing(kind, canaries, monkeypatch):
    """A crash after the gated data was loaded still shows only the fixed 500 page."""
    from incidents import presenters

    def crash(incident):
        raise RuntimeError(f"boom {incident.pk} CanaryInTheException")

    monkeypatch.setattr(presenters, "incident_public", crash)
    client = client_for(kind)
    client.raise_request_exception = False
    incident = Incident.objects.exclude(cia_posture=None).published().first()
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 500
    assert b"Server error" in response.content
    for text in [*canaries["gated"], "CanaryInTheException", "Traceback", "RuntimeError"]:
        assert text.encode() not in response.content


def _named_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            if p.app_name in ("admin",) or "allauth" in str(p.urlconf_name):
                continue
            yield from _named_patterns(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + p.name


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_crawl_covers_every_page_of_the_site(kind, canaries):
    """Every non-member's canary crawl must reach every named page of the portal itself,
    and read (a 200) every channel that could carry catalogue data."""
    responses = crawl(client_for(kind), include_admin=False)
    reached, read = set(), set()
    for path, response in responses.items():
        with contextlib.suppress(Resolver404):
            name = resolve(path.split("?")[0]).view_name
            reached.add(name)
            if response.status_code == 200:
                read.add(name)
    expected = set(_named_patterns())
    assert expected - reached == set()
    must_read = READ_BY_EVERY_NON_MEMBER
    if kind != "anonymous":
        must_read = must_read | READ_BY_SIGNED_IN_NON_MEMBERS
    assert must_read - read == set()
