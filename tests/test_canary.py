"""Canary test: gated values never reach a non-member, on any page the site exposes.

Unique strings are planted in every members-only field of several incidents.
Each viewer crawls the whole site (every link, feed and sitemap entry, plus
error pages and the admin's login) and no canary may appear in any byte of any
response a non-member receives. Here each non-member crawls with empty caches;
tests/test_canary_members_first.py has members crawl first (they must find every
canary) and fill the caches the non-members then crawl.
"""

import datetime
import re
from collections import Counter, deque
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import override_settings
from django_countries import countries

from incidents.models import Incident, IncidentTechnique
from tests.accounts.test_jobs import DATABASE_QUEUE
from tests.conftest import NON_MEMBERS, client_for
from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SectorFactory,
    SoftwareFactory,
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
# Links found on pages: at most this many query strings per address (filter links multiply:
# every chart bar and chip is one), so the crawl reaches every distinct page before the cap.
QUERY_VARIANTS = 6

RECURRING_VICTIM = "/organisations/plain-victim/"

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
    "/accounts/team/",
    "/accounts/team/join/not-a-token/",
    "/pricing/",
    "/billing/checkout/",
    "/billing/return/",
    "/billing/return/?cancelled=1",
    "/billing/manage/",
    "/billing/stripe/webhook/",
    "/billing/test/checkout/not-a-token/",
    "/billing/test/portal/",
    # A test-mode receipt (by invoice id; its link is on the receipts of a member who paid).
    "/billing/test/receipt/in_test_no-such-invoice/",
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
    # Members-only Navigator layers of one incident and one actor (no link reaches them
    # for a non-member): a real one each and one that does not exist.
    "/incidents/2021-05-linked-victim-0/attack-layer.json",
    "/incidents/no-such-incident/attack-layer.json",
    "/actors/public-actor-name-0/attack-layer.json",
    "/actors/no-such-actor/attack-layer.json",
    "/actors/?q=canaryalias0",
    "/actors/?q=g9909",
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
    # Emailed exports: the account's list, the form's address (POST only), a download link
    # that is not ours (a real job's link for each viewer: tests/incidents/test_export_jobs.py).
    "/accounts/exports/",
    "/incidents/export/email/",
    "/exports/download/not-a-token/",
    # The API (a session cookie is not a token: these read as a visitor; tokens of every
    # kind are crawled in tests.test_canary_api), and the account's API tokens.
    "/api/v1/",
    "/api/v1/docs",
    "/api/v1/openapi.json",
    "/api/v1/incidents",
    "/api/v1/incidents?motive=canary-motive&technique=T9900&q=canaryalias0",
    "/api/v1/incidents/no-such-incident",
    "/api/v1/organisations",
    "/api/v1/organisations/no-such-org",
    "/api/v1/threat-actors",
    "/api/v1/threat-actors/no-such-actor",
    "/api/v1/techniques",
    "/api/v1/statistics?technique=T9900",
    "/accounts/tokens/",
    "/accounts/tokens/0/revoke/",
    # Saved searches: the account page, its forms' addresses, a private feed and an
    # unsubscribe link that do not exist; the public feeds of a search and of gated filters.
    "/accounts/searches/",
    "/accounts/searches/1/",
    "/accounts/searches/1/delete/",
    "/accounts/searches/1/feed/",
    # Watched organisations (their forms POST only; a victim's page links the list).
    "/accounts/watches/",
    "/accounts/watches/alerts/",
    "/accounts/watches/1/remove/",
    "/searches/feed/not-a-token/",
    "/alerts/unsubscribe/not-a-token/",
    "/incidents/feed/?q=canarymotive0a",
    "/incidents/feed/?country=FR",
    "/incidents/feed/?motive=canary-motive&technique=T9900&actor_type=canary-type",
    # Hubs: the country of the canary incidents, the long tail of countries, ATT&CK's own
    # technique used by them, and the canary (not MITRE's) tactics and techniques.
    "/countries/FR/",
    "/browse/countries/",
    "/sectors/no-such-sector/",
    "/sectors/canary-sector/",
    # The incident types (public): the canary incidents' type, a type with no incident, the
    # finder and a feed filtered by one, the API's list.
    "/types/ransomware/",
    "/types/bec/",
    "/types/no-such-type/",
    "/incidents/?type=ransomware&motive=canary-motive",
    "/incidents/feed/?type=ransomware",
    "/api/v1/incident-types",
    "/api/v1/incidents?type=ransomware",
    "/attack/techniques/T1566/",
    "/attack/tactics/initial-access/",
    "/attack/tactics/canary-tactic-0/",
    "/attack/techniques/T9900/",
    "/attack/techniques/T9900.001/",
    # A member's shared link opened by a non-member (a notice, results not narrowed), and
    # the organisations list searched and sorted by incidents.
    "/incidents/?motive=canary-motive&technique=T9900&actor=canary-actor&confidentiality=high",
    "/organisations/?q=canaryalias0",
    "/organisations/?sort=incidents",
    "/contact/?topic=correction",
    # A recurring victim: its page draws its timeline.
    RECURRING_VICTIM,
]
# Channels whose content must have been read (a 200), not just their address reached, in
# every non-member's crawl; signed-in non-members' own pages too.
READ_BY_EVERY_NON_MEMBER = {
    "billing:pricing",
    "incidents:statistics",
    "incidents:statistics_csv",
    "incidents:incident_export",
    "incidents:public_snapshot",
    "incidents:incident_feed",
    "api-v1:list_incidents",
    "api-v1:list_organisations",
    "api-v1:list_threat_actors",
    "api-v1:get_statistics",
    "incidents:browse",
    "incidents:browse_countries",
    "incidents:country_hub",
    "incidents:sector_hub",
    "incidents:year_hub",
    "incidents:type_hub",
    "api-v1:list_incident_types",
    "incidents:attack_index",
    "incidents:tactic_hub",
    "incidents:technique_hub",
    "incidents:organisation_list",
    "incidents:organisation_detail",
    "incidents:actor_detail",
    "about",
    "methodology",
    "contact",
    "privacy",
    "terms",
}
READ_BY_SIGNED_IN_NON_MEMBERS = {
    "accounts:membership",
    "accounts:invoice_request",
    "accounts:start_trial",
    "accounts:my_data",
    "accounts:delete_account",
    "accounts:team",
    "billing:checkout_return",
    "accounts:api_tokens",
    "incidents:saved_searches",
    "incidents:watches",
    "incidents:export_jobs",
}


@pytest.fixture
def canaries(db):
    """Plant canaries in every gated field of three incidents; return them by kind."""
    gated = []
    actor_profile = []  # gated, on the actor's page only (not an incident's data)
    link_texts = []
    # A sector of their own: its hub is public (counts and charts of public facts only).
    sector = SectorFactory(name="Canary Sector", slug="canary-sector")
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
            actor_type_source=f"CanaryTypeSource{n}",
            country_source=f"CanaryCountrySource{n}",
        )
        # What ATT&CK relates to the actor: its techniques (a sub-technique under a parent
        # it does not use itself) and software.
        actor_parent = TechniqueFactory(attack_id=f"T98{n}0", name=f"CanaryActorParent{n}")
        actor.techniques.set(
            [
                TechniqueFactory(
                    attack_id=f"T98{n}0.001",
                    name=f"CanaryActorTechnique{n}",
                    parent=actor_parent,
                    tactics=[tactic],
                )
            ]
        )
        actor.software.set([SoftwareFactory(attack_id=f"S98{n}0", name=f"CanarySoftware{n}")])
        org = OrganisationFactory(name=f"Linked Victim {n}", country="FR")
        incident = IncidentFactory(
            organisation=org,
            country="FR",
            sector=sector,
            types=["ransomware"],  # public, like the sector: its hub lists them
            motives=[
                MotiveFactory(name=f"CanaryMotive{n}a"),
                MotiveFactory(name=f"CanaryMotive{n}b"),
            ],
            techniques=[technique, parent],
            threat_actors=[actor],
        )
        # A technique derived from VERIS through the mapping: what it was derived from is
        # as gated as the technique.
        IncidentTechnique.objects.create(
            incident=incident,
            technique=TechniqueFactory(
                attack_id=f"T99{n}5", name=f"CanaryDerivedTechnique{n}", tactics=[tactic]
            ),
            provenance="derived",
            derived_from=f"action.malware.variety.CanaryDerivedFrom{n}",
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
            f"CanaryDerivedTechnique{n}",
            f"CanaryDerivedFrom{n}",
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
        actor_profile += [
            f"CanaryTypeSource{n}",
            f"CanaryCountrySource{n}",
            f"CanaryActorParent{n}",
            f"CanaryActorTechnique{n}",
            f"T98{n}0",
            f"CanarySoftware{n}",
            f"S98{n}0",
        ]
        link_texts.append((actor.get_absolute_url(), [org.name, incident.slug]))
    # ATT&CK's own tactic and technique (public knowledge, published by MITRE), used by the
    # last canary incident: its hub is public, which incidents use it is not.
    mitre_tactic = TacticFactory(
        name="Initial Access", shortname="initial-access", url="https://attack.mitre.org/"
    )
    mitre_technique = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[mitre_tactic])
    incident.techniques.add(mitre_technique)
    # A recurring victim: two incidents of one actor (no other gated value), so the victim's
    # page draws its timeline for everyone and the actor's page its own for members only.
    timeline_actor = ThreatActorFactory(name="Timeline Actor")
    plain = IncidentFactory(organisation__name="Plain Victim", threat_actors=[timeline_actor])
    assert plain.organisation.get_absolute_url() == RECURRING_VICTIM
    IncidentFactory(
        organisation=plain.organisation,
        date=datetime.date(2019, 1, 1),
        date_precision="year",
        threat_actors=[timeline_actor],
    )
    link_texts.append((timeline_actor.get_absolute_url(), ["Plain Victim", plain.slug]))
    # A draft that only staff may see.
    draft = IncidentFactory(
        status="draft",
        organisation__name="CanaryDraftVictim",
        summary="CanaryDraftSummary",
        threat_actors=[ThreatActorFactory(name="Draft-only Actor")],
    )
    return {
        "gated": sorted(set(gated + actor_profile)),
        "actor_profile": sorted(actor_profile),
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


def crawl(client, *, include_admin, extra=()):
    """GET every page reachable from the seeds (and ``extra``); return {path: response}."""
    seen, responses, variants = set(), {}, Counter()
    seeds = {*EXTRA_URLS, *extra}
    queue = deque([*EXTRA_URLS, *extra])
    while queue and len(responses) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        address, _, query = path.partition("?")
        if query and path not in seeds:
            variants[address] += 1
            if variants[address] > QUERY_VARIANTS:
                continue
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
    # The crawl read a timeline (a recurring victim's, public), so its marks were checked;
    # and the actor's page with none of its own (members only).
    assert b'id="timeline-h"' in responses[RECURRING_VICTIM].body, kind
    assert b'id="timeline-h"' not in responses[canaries["actor_links"][-1][0]].body, kind


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_no_canary_reaches_a_non_member(kind, canaries):
    assert_no_canary_reached(kind, crawl(client_for(kind), include_admin=False), canaries)


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


# Seats on a team (accounts.teams): a seat on an active team is membership; a seat taken
# back, a team whose subscription lapsed, or having bought a team plan without holding a
# seat on it is not. Each crawls with a valid invitation link of their own in the seeds.
TEAM_NON_MEMBERS = ["removed_from_team", "lapsed_team_seat", "buyer_who_left_the_team"]


def team_client(kind):
    """(client, extra seed paths) for a viewer whose membership comes from a team."""
    from django.core import signing

    from accounts.models import Subscription, TeamInvitation, TeamSeat
    from accounts.teams import services
    from tests.factories import TeamFactory, seat_for

    team = TeamFactory(subscription=True)
    user = seat_for(team)
    if kind == "removed_from_team":
        services.remove(team, TeamSeat.objects.get(team=team, user=user).pk)
    elif kind == "lapsed_team_seat":
        Subscription.objects.filter(team=team).update(status=Subscription.Status.EXPIRED)
    elif kind == "buyer_who_left_the_team":
        buyer = team.owner
        services.transfer(team, TeamSeat.objects.get(team=team, user=user).pk)
        services.leave(buyer, team)
        user = buyer
    elif kind != "team_seat":
        raise ValueError(kind)
    invitation = TeamInvitation.objects.create(team=team, email=user.email)
    token = signing.dumps(invitation.pk, salt=services.INVITATION_SALT)
    client = client_for("anonymous")
    client.force_login(user)
    return client, [f"/accounts/team/join/{token}/"]


@pytest.mark.parametrize("kind", TEAM_NON_MEMBERS)
def test_no_canary_reaches_a_team_non_member(kind, canaries):
    # (Caches are kept per audience; a seat holder's is the member audience, whose filled
    # caches tests/test_canary_members_first.py covers.)
    client, extra = team_client(kind)
    responses = crawl(client, include_admin=False, extra=extra)
    assert_no_canary_reached(kind, responses, canaries)
    assert responses["/accounts/team/"].status_code == 200
    assert responses[extra[0]].status_code == 200  # the invitation page itself


def test_a_team_seat_holder_finds_every_canary(canaries):
    client, extra = team_client("team_seat")
    responses = crawl(client, include_admin=False, extra=extra)
    everything = b"".join(r.body for r in responses.values())
    for canary in canaries["gated"]:
        assert canary.encode() in everything, f"a seat holder never sees {canary!r}"
    assert not any(c.encode() in everything for c in canaries["draft"])


@override_settings(TASKS=DATABASE_QUEUE)
@pytest.mark.parametrize("slow", [False, True], ids=["counted-in-request", "recounted-by-queue"])
@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_a_withdrawn_victim_leaves_the_statistics_at_once(kind, slow, canaries):
    """Statistics are served from roll-ups that may be stale after a write (a recount is
    queued; here no worker runs it until told). After an unpublish, a stale count would still
    name the victim, now a draft's, among the recurring victims: it is never served. A key
    that counts fast is counted again in the request; a slow one is left to the queue, and
    until it has run its readers get a notice (503) and no counts."""
    from incidents import services
    from incidents.models import StatisticsRollup
    from tests.accounts.test_jobs import run_queue

    victim = Incident.objects.get(organisation__name="Linked Victim 0").organisation
    IncidentFactory(organisation=victim, country="FR")
    client = client_for(kind)
    pages = ("/statistics/", "/countries/FR/", "/statistics/victims.csv")
    for url in pages:
        assert victim.name in client.get(url).content.decode(), url
    if slow:
        StatisticsRollup.objects.update(seconds=60)
    services.unpublish(Incident.objects.filter(organisation=victim))
    for url in pages:
        response = client.get(url)
        assert response.status_code == (503 if slow else 200), url
        assert victim.name not in response.content.decode(), url
    run_queue()
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert victim.name not in response.content.decode(), url
