"""Canary test of the channels a GET crawl cannot reach: downloads and forms a viewer posts
(their data, an invoice request, the test-mode checkout and portal), every account email
(billing, invoice, trial, the periodic renewal and access-ended notices), and searches for a
gated value (whether they narrow a non-member's statistics or export).

The canaries of tests.test_canary are planted in every members-only field; no response to
a non-member and no account email may hold one.
"""

import datetime
import json

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.access import is_member
from accounts.billing import notices
from accounts.models import InvoiceRequest, Subscription
from accounts.selfserve import invoices, trials
from tests.conftest import NON_MEMBERS, client_for, make_viewer
from tests.factories import PlanFactory, UserFactory
from tests.test_canary import canaries  # noqa: F401 (the fixture)

SIGNED_IN_NON_MEMBERS = [k for k in NON_MEMBERS if k != "anonymous"]
INVOICE = {
    "interval": "year",
    "company_name": "Example Research GmbH",
    "billing_address": "Hauptstraße 1\n10115 Berlin",
    "country": "DE",
    "vat_id": "DE 123 456 789",
    "billing_email": "accounts@example.de",
    "purchase_order": "PO-42",
}


@pytest.fixture
def test_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def plan(db):
    return PlanFactory(
        slug="analyst",
        name="Analyst",
        is_for_sale=True,
        price=290,
        monthly_price=29,
        yearly_price=290,
        trial_days=14,
    )


def body_of(response) -> bytes:
    body = b"".join(response) if response.streaming else response.content
    return body + str(response.headers).encode()


def assert_no_canary(blob: bytes, canaries, where):  # noqa: F811
    for canary in canaries["gated"] + canaries["draft"]:
        assert canary.encode() not in blob, f"{canary!r} reached a non-member at {where}"


def mail_blob(message) -> bytes:
    parts = [message.subject, message.body, *(c for c, _ in getattr(message, "alternatives", []))]
    return "\n".join(str(p) for p in parts).encode()


@pytest.mark.parametrize("kind", SIGNED_IN_NON_MEMBERS)
def test_posted_channels_and_account_emails_carry_no_canary(kind, canaries, plan, test_mode):  # noqa: F811
    user = make_viewer(kind)
    client = Client()
    client.force_login(user)
    seen = {}

    def get(path, **kwargs):
        response = client.get(path, **kwargs)
        seen[f"GET {path}"] = response
        return response

    def post(path, data=None):
        response = client.post(path, data or {})
        seen[f"POST {path}"] = response
        return response

    # Their data: the page and the download.
    get("/accounts/data/")
    download = post("/accounts/data/")
    assert download.status_code == 200
    assert json.loads(download.content)["account"]["email"] == user.email
    # An invoice request, its acknowledgement email, and the page listing it.
    assert post("/accounts/invoice/?plan=analyst", INVOICE).status_code == 302
    get("/accounts/invoice/")
    # The test-mode checkout page and portal, before paying.
    start = post("/billing/checkout/", {"plan": "analyst", "interval": "year"})
    assert start.status_code == 302
    checkout_url = start["Location"]
    assert get(checkout_url).status_code == 200
    assert get("/billing/test/portal/").status_code == 200
    get("/accounts/membership/")
    assert not is_member(type(user).objects.get(pk=user.pk))
    for where, response in seen.items():
        assert response.status_code < 500, where
        assert_no_canary(body_of(response), canaries, where)

    # Every account email, whatever the recipient is when it is sent: the welcome after the
    # test-mode payment, payment failed, access ended, the invoice paid, the trial ending.
    assert client.post(checkout_url).status_code == 302
    client.post("/billing/test/portal/", {"action": "fail_renewal"})
    client.post("/billing/test/portal/", {"action": "end_period"})
    invoices.mark_paid(InvoiceRequest.objects.get(user=user).pk, UserFactory(is_staff=True))
    trial_user = UserFactory()
    EmailAddress.objects.create(
        user=trial_user, email=trial_user.email, primary=True, verified=True
    )
    trial = trials.start_trial(trial_user, plan)
    assert trials.send_reminders(now=trial.ends_at - datetime.timedelta(days=1)) == 1
    # The periodic notices: a renewal seven days ahead, a trial's end.
    renewing = Subscription.objects.filter(user=user, source=Subscription.Source.INVOICE).get()
    renewing.source, renewing.stripe_subscription_id = Subscription.Source.PAYMENT, "sub_canary"
    renewing.save()
    assert notices.send_renewal_reminders(now=renewing.ends_at - datetime.timedelta(days=2)) == 1
    Subscription.objects.filter(pk=trial.pk).update(
        starts_at=timezone.now() - datetime.timedelta(days=14),
        ends_at=timezone.now() - datetime.timedelta(hours=1),
    )
    assert notices.send_access_ended() >= 1
    subjects = [m.subject.split("] ", 1)[-1] for m in mail.outbox]
    for expected in (
        "Your invoice request for Analyst",
        "Welcome: your membership is active",
        "Your membership payment failed",
        "Your membership has ended",
        "Your membership is active",
        "Your free trial ends on",
        "Your membership renews on",
    ):
        assert any(s.startswith(expected) for s in subjects), (expected, subjects)
    assert any("Your free trial of Analyst" in m.body for m in mail.outbox)
    for message in mail.outbox:
        assert_no_canary(mail_blob(message), canaries, f"the email {message.subject!r}")


# Searches for a gated value (lower case: the canary itself is never echoed back).
GATED_WORDS = ["canarymotive0a", "canaryalias0", "canarytechnique0", "t9900"]


def _years(client, query):
    response = client.get("/statistics/years.csv?" + query)
    assert response.status_code == 200, query
    return response.content


def _exported(client, query):
    response = client.get("/incidents/export.json?" + query)
    assert response.status_code == 200, query
    return [i["slug"] for i in json.loads(b"".join(response))["incidents"]]


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_a_search_for_a_gated_value_never_narrows_a_non_members_statistics_or_export(
    kind,
    canaries,  # noqa: F811
):
    member = client_for("member")
    client = client_for(kind)
    nothing = _years(client, "q=no-such-word-anywhere")
    for word in GATED_WORDS:
        # It narrows a member's selection to the incident it is linked to ...
        assert len(_exported(member, f"q={word}")) == 1, word
        # ... and matches nothing of a non-member's: the same as a word found nowhere.
        assert _exported(client, f"q={word}") == [], word
        assert _years(client, f"q={word}") == nothing, word
        # Excluding it leaves a non-member's selection as it was.
        assert _exported(client, f"q=linked+-{word}") == _exported(client, "q=linked"), word
        assert _years(client, f"q=linked+-{word}") == _years(client, "q=linked"), word


def test_saved_searches_alerts_and_private_feeds_carry_no_canary_to_a_lapsed_member(
    canaries,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """An expired member kept the searches they saved as a member, for gated words, with
    alerts on: a new incident linked to the canaries is published. They get no email, and
    their private feed, saved searches page and unsubscribe page show no canary; a member
    with the same search gets the alert (so the channel was exercised)."""
    from incidents import alerts, services
    from incidents.models import Incident, Motive, SavedSearch
    from tests.factories import IncidentFactory

    lapsed, member = make_viewer("expired_member"), make_viewer("member")
    query = "q=canarymotive0a"
    for owner in (lapsed, member):
        SavedSearch.objects.create(user=owner, name="Watch", query=query, alerts="immediate")
    draft = IncidentFactory(
        status="draft",
        organisation__name="Newly Published Victim",
        motives=[Motive.objects.get(name="CanaryMotive0a")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(Incident.objects.filter(pk=draft.pk))
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert "Newly Published Victim" in mail.outbox[0].body
    assert_no_canary(mail_blob(mail.outbox[0]), canaries, "a member's alert (public fields)")

    client = Client()
    client.force_login(lapsed)
    saved = SavedSearch.objects.get(user=lapsed)
    token = alerts.unsubscribe_token(saved)
    for path in (
        saved.feed_url(),
        "/accounts/searches/",
        f"/alerts/unsubscribe/{token}/",
        "/incidents/?" + query,
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_canary(body_of(response), canaries, path)
    assert b"Newly Published Victim" not in client.get(saved.feed_url()).content
    assert (
        client.post(
            "/accounts/searches/", {"name": "x", "alerts": "daily", "query": query}
        ).status_code
        == 403
    )


def test_team_pages_and_the_invitation_email_carry_no_canary(canaries):  # noqa: F811
    """The invitation email goes to someone who is no member yet; the invitee's join page,
    a removed colleague's and a lapsed team owner's team pages are a non-member's too."""
    from accounts.models import TeamSeat
    from accounts.teams import services
    from tests.factories import TeamFactory, seat_for

    team = TeamFactory(subscription=True, name="Canary-free Team")
    owner = Client()
    owner.force_login(team.owner)
    assert (
        owner.post("/accounts/team/", {"action": "invite", "email": "new@example.org"}).status_code
        == 302
    )
    [message] = mail.outbox
    assert_no_canary(mail_blob(message), canaries, "the team invitation email")
    join_path = message.body.split("/accounts/team/join/")[1].split("/")[0]
    invitee = UserFactory(email="new@example.org")
    EmailAddress.objects.create(user=invitee, email=invitee.email, primary=True, verified=True)
    removed = seat_for(team)
    services.remove(team, TeamSeat.objects.get(user=removed).pk)
    lapsed = TeamFactory(subscription=True, subscription__status=Subscription.Status.EXPIRED)
    for user, paths in [
        (invitee, [f"/accounts/team/join/{join_path}/", "/accounts/team/"]),
        (removed, ["/accounts/team/", "/accounts/data/"]),
        (lapsed.owner, ["/accounts/team/"]),
    ]:
        client = Client()
        client.force_login(user)
        assert not is_member(type(user).objects.get(pk=user.pk))
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            assert_no_canary(body_of(response), canaries, f"{path} for {user.email}")
        response = client.post("/accounts/team/", {"action": "invite", "email": "x@example.org"})
        assert response.status_code < 500
        assert_no_canary(body_of(response), canaries, f"POST /accounts/team/ by {user.email}")
        assert_no_canary(client.post("/accounts/data/").content, canaries, "their data")
