"""HEAD on the API answers like GET without a body; rate limits per plan (docs/api.md)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts import tokens
from accounts.models import Plan, Subscription
from incidents.api import api
from tests.factories import (
    IncidentFactory,
    OrganisationFactory,
    PlanFactory,
    SubscriptionFactory,
    TeamFactory,
    ThreatActorFactory,
    UserFactory,
    seat_for,
)

from .helpers import api_get, token_for


@pytest.fixture
def catalogue(db):
    incident = IncidentFactory(organisation=OrganisationFactory(name="Some Victim"))
    actor = ThreatActorFactory(name="Some Group")
    incident.threat_actors.add(actor)
    return {"slug": incident.slug, "org": incident.organisation.slug, "actor": actor.slug}


def get_paths(catalogue):
    """Every GET operation of the schema, its path parameters filled in."""
    found = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        if "get" in operations:
            found.append(
                path.replace("{slug}", catalogue["slug"])
                if path.startswith("/api/v1/incidents/")
                else path.replace("{slug}", catalogue["org"])
                if path.startswith("/api/v1/organisations/")
                else path.replace("{slug}", catalogue["actor"])
            )
    return found


@pytest.mark.parametrize("kind", ["anonymous", "member"])
def test_head_answers_like_get_without_a_body(kind, catalogue, settings):
    settings.API_REQUESTS_PER_MINUTE = settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 1000
    token = token_for(kind)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    paths = get_paths(catalogue) + ["/api/v1/openapi.json", "/api/v1/incidents/no-such-one"]
    assert len(paths) >= 9
    for path in paths:
        got = Client().get(path, headers=headers)
        head = Client().head(path, headers=headers)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        for name in ("Content-Type", "ETag", "Cache-Control", "Vary"):
            assert head.get(name) == got.get(name), (path, name)
        assert head["Content-Length"] == str(len(got.content)), path


def test_head_keeps_etags_and_304(catalogue):
    path = f"/api/v1/incidents/{catalogue['slug']}"
    etag = Client().head(path)["ETag"]
    assert etag
    assert Client().head(path, headers={"If-None-Match": etag}).status_code == 304


def test_other_methods_are_405_and_name_head(catalogue):
    response = Client().post("/api/v1/incidents")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("kind", ["anonymous", "member", "signed_in"])
def test_every_address_answers_other_methods_with_405(kind, catalogue):
    """Every /api/v1/ address, the schema and the docs included (they answered OPTIONS and
    TRACE with 200 and POST with the CSRF page), with or without a token or a session:
    405, Allow: GET, HEAD, and the API's JSON error."""
    client = Client(enforce_csrf_checks=True)
    headers = {}
    if kind == "signed_in":
        client.force_login(UserFactory())
    elif token := token_for(kind):
        headers = {"Authorization": f"Bearer {token}"}
    paths = get_paths(catalogue) + [
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/api/v1/",
        "/api/v1/incidents/no-such-one",
    ]
    for path in paths:
        for method in ("OPTIONS", "TRACE", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "FOO"):
            response = client.generic(method, path, headers=headers)
            assert response.status_code == 405, (method, path)
            assert response["Allow"] == "GET, HEAD", (method, path)
            assert response["Content-Type"].startswith("application/json"), (method, path)
            assert response.json() == {"detail": "Method not allowed: use GET or HEAD."}
            assert "private" in response["Cache-Control"], (method, path)


def test_head_counts_against_the_rate_limit(catalogue, settings):
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 2
    assert [Client().head("/api/v1/incidents").status_code for _ in range(3)] == [200, 200, 429]
    assert int(Client().head("/api/v1/incidents")["Retry-After"]) >= 1


# Rate limits per plan -----------------------------------------------------------------


def statuses(token, n):
    return [api_get("/api/v1/organisations", token).status_code for _ in range(n)]


def test_the_plan_sets_a_members_limit(catalogue, settings):
    settings.API_REQUESTS_PER_MINUTE = 5
    individual = PlanFactory(slug="individual-test", api_requests_per_minute=2)
    user = SubscriptionFactory(plan=individual).user
    token = tokens.create(user, "script")[1]
    assert statuses(token, 3) == [200, 200, 429]
    limited = api_get("/api/v1/organisations", token)
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_an_accounts_tokens_share_its_limit(catalogue, settings):
    """Per account, not per token (issue 21, 7): twenty tokens are not twenty times the
    plan's limit. Another account, even on the same team, counts on its own."""
    settings.API_REQUESTS_PER_MINUTE = 3
    team = TeamFactory(subscription=True)
    Plan.objects.filter(slug="team-plan").update(api_requests_per_minute=3)
    holder, colleague = seat_for(team), seat_for(team)
    first, second = (tokens.create(holder, name)[1] for name in ("SIEM", "notebook"))
    assert statuses(first, 2) + statuses(second, 1) == [200, 200, 200]
    assert statuses(first, 1) + statuses(second, 1) == [429, 429]
    assert statuses(tokens.create(colleague, "SIEM")[1], 1) == [200]


def test_a_team_seat_has_the_team_plans_limit(catalogue, settings):
    settings.API_REQUESTS_PER_MINUTE = 1
    team = TeamFactory(subscription=True)
    Plan.objects.filter(slug="team-plan").update(api_requests_per_minute=3)
    token = tokens.create(seat_for(team), "SIEM")[1]
    assert statuses(token, 4) == [200, 200, 200, 429]


def test_without_a_plan_limit_the_default_applies(catalogue, settings):
    settings.API_REQUESTS_PER_MINUTE = 2
    plan_without = SubscriptionFactory(plan=PlanFactory(api_requests_per_minute=None)).user
    assert statuses(tokens.create(plan_without, "a")[1], 3) == [200, 200, 429]
    assert statuses(token_for("registered"), 3) == [200, 200, 429]


def test_a_lapsed_members_token_falls_back_to_the_default(catalogue, settings):
    settings.API_REQUESTS_PER_MINUTE = 1
    user = SubscriptionFactory(plan=PlanFactory(api_requests_per_minute=50)).user
    Subscription.objects.filter(user=user).update(
        ends_at=timezone.now() - datetime.timedelta(days=1)
    )
    assert statuses(tokens.create(user, "old")[1], 2) == [200, 429]


@pytest.mark.django_db
def test_the_seeded_plans_limits():
    """Migration accounts 0009: Individual the default, Team more."""
    limits = dict(Plan.objects.values_list("slug", "api_requests_per_minute"))
    assert limits["individual"] == 120
    assert limits["team"] > limits["individual"]


@pytest.mark.django_db
def test_the_api_tokens_page_shows_the_limit(settings):
    settings.API_REQUESTS_PER_MINUTE = 77
    member = SubscriptionFactory(plan=PlanFactory(name="Team X", api_requests_per_minute=600)).user
    client = Client()
    client.force_login(member)
    html = client.get("/accounts/tokens/").content.decode()
    assert "600 requests a minute for all your tokens together" in html and "Team X" in html
    client.force_login(UserFactory())
    html = client.get("/accounts/tokens/").content.decode()
    assert "77 requests a minute for all your tokens together" in html


def test_a_plan_with_a_limit_of_0_has_every_request_refused(catalogue, settings):
    """0 is a limit (the API turned off for that plan), not "the site's default"."""
    settings.API_REQUESTS_PER_MINUTE = 5
    user = SubscriptionFactory(plan=PlanFactory(name="Reader", api_requests_per_minute=0)).user
    assert tokens.requests_per_minute(user) == 0
    token = tokens.create(user, "script")[1]
    assert statuses(token, 3) == [429, 429, 429]
    client = Client()
    client.force_login(user)
    html = client.get("/accounts/tokens/").content.decode()
    assert (
        "Rate limit: 0 requests a minute for all your tokens together</strong>, on the Reader plan"
    ) in html
