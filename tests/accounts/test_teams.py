"""Teams (issue 11, item 3): buying a team plan, invitations by signed, expiring, single-use
links, seats, removal, transfer, leaving, and every refusal as a clear page. Whether a seat
makes a member is specified in tests/accounts/test_access.py."""

import datetime
import html
import json
import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts import addresses
from accounts.access import is_member
from accounts.models import InvoiceRequest, Plan, Subscription, Team, TeamInvitation, TeamSeat
from accounts.selfserve import invoices, overview
from accounts.teams import services
from portal import counters
from tests.accounts.billing_helpers import SECRET, event, sign, subscription
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    PlanFactory,
    SubscriptionFactory,
    TeamFactory,
    UserFactory,
    seat_for,
)

PASSWORD = "a-long-team-password-2026"
TEAM_URL = "/accounts/team/"
HOUR = datetime.timedelta(hours=1)
JOIN_RE = re.compile(r"https?://[^/\s]+(/accounts/team/join/[^/\s]+/)")


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def verified(email, **kwargs):
    user = UserFactory(email=email, **kwargs)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team(db):
    return TeamFactory(
        subscription=True, name="Blue Team", seats=3, owner__email="owner@example.org"
    )


@pytest.fixture
def owner_client(team):
    return client_of(team.owner)


def invite(owner_client, email, mailoutbox):
    """The owner invites ``email``; returns the join path from the email sent."""
    response = owner_client.post(TEAM_URL, {"action": "invite", "email": email})
    assert response.status_code == 302, response.content.decode()
    message = [m for m in mailoutbox if m.to == [addresses.clean(email)]][-1]
    return JOIN_RE.search(message.body).group(1)


# -- buying a team plan -----------------------------------------------------------------------


@pytest.fixture
def team_plan(db):
    return Plan.objects.get(slug="team")  # seeded by the migrations, on sale with ten seats


def test_the_seeded_team_plan_is_for_sale_with_ten_seats(team_plan):
    assert team_plan.is_for_sale and team_plan.seats == 10 and team_plan.is_team_plan
    assert team_plan.trial_days > 0


def test_buying_the_team_plan_in_test_mode_makes_the_buyer_owner_of_a_team(
    settings, team_plan, mailoutbox
):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    buyer = verified("buyer@example.org")
    client = client_of(buyer)
    assert "Team" in client.get("/pricing/").content.decode()
    response = client.post("/billing/checkout/", {"plan": "team", "interval": "year"})
    assert response["Location"].startswith("/billing/test/checkout/")
    client.post(response["Location"])
    team = Team.objects.get(owner=buyer)
    assert team.seats == 10
    assert list(team.seat_rows.values_list("user", flat=True)) == [buyer.pk]
    sub = Subscription.objects.get(user=buyer)
    assert sub.team == team and sub.source == Subscription.Source.PAYMENT
    assert is_member(fresh(buyer)) is True
    done = client.get("/billing/return/").content.decode()
    assert "Your team is a member" in done and "Invite your colleagues" in done
    page = client.get(TEAM_URL).content.decode()
    assert "1</strong> of <strong>10</strong> seats used" in page
    # A paid team buys no second team plan; the personal plan stays on offer.
    again = client.post("/billing/checkout/", {"plan": "team", "interval": "year"})
    assert again["Location"] == TEAM_URL
    assert Subscription.objects.count() == 1


def test_a_team_plan_paid_through_stripes_webhook_is_the_buyers_team(client, settings, team_plan):
    """The Stripe backend's path: Checkout, then the signed webhook events."""
    from accounts.models import BillingCustomer

    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_SECRET_KEY = ""
    Plan.objects.filter(pk=team_plan.pk).update(stripe_yearly_price_id="price_team_year")
    buyer = UserFactory()
    BillingCustomer.objects.create(user=buyer, stripe_customer_id="cus_team")
    now = int(time.time())
    evt = event(
        "customer.subscription.created",
        subscription(
            "sub_team",
            "cus_team",
            "price_team_year",
            start=now,
            period_end=now + 86400 * 365,
            interval="year",
        ),
    )
    payload = json.dumps(evt).encode()
    response = client.post(
        "/billing/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 200, response.content
    team = Team.objects.get(owner=buyer)
    assert Subscription.objects.get(stripe_subscription_id="sub_team").team == team
    colleague = seat_for(team)
    assert is_member(fresh(colleague)) is True


def test_invoice_paid_for_a_team_plan_gives_the_seats_invoiced(team_plan):
    buyer = UserFactory()
    request = InvoiceRequest.objects.create(
        user=buyer,
        plan=team_plan,
        seats=25,
        company_name="Example Research GmbH",
        billing_address="Somewhere 1",
        country="DE",
    )
    sub = invoices.mark_paid(request.pk, UserFactory(is_staff=True))
    assert sub.team.owner == buyer and sub.team.seats == 25


def test_a_team_trial_once_per_team(settings, team_plan):
    owner = verified("trial-owner@example.org")
    client = client_of(owner)
    response = client.post("/accounts/trial/", {"plan": "team"})
    assert response["Location"] == TEAM_URL
    team = Team.objects.get(owner=owner)
    sub = Subscription.objects.get(team=team)
    assert sub.status == Subscription.Status.TRIALING
    assert is_member(fresh(seat_for(team))) is True
    # The trial is the team's, not the owner's own: their personal trial is still there.
    from accounts.selfserve.trials import has_had_trial

    assert has_had_trial(owner) is False
    Subscription.objects.filter(pk=sub.pk).update(status=Subscription.Status.EXPIRED)
    client.post("/accounts/trial/", {"plan": "team"})
    assert Subscription.objects.filter(team=team).count() == 1
    messages = [str(m) for m in client.get(TEAM_URL).context["messages"]]
    assert any("one per team" in m for m in messages)


# -- the team page ----------------------------------------------------------------------------


def test_team_page_for_the_owner(owner_client, team, django_assert_max_num_queries):
    seat_for(team, UserFactory(email="colleague@example.org"))
    # 1 session, 2 user, 3 the owned team, 4 its subscription, 5 seats with users,
    # 6 open invitations, 7 is_member for the site header.
    with django_assert_max_num_queries(7):
        response = owner_client.get(TEAM_URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Blue Team" in body
    assert "2</strong> of <strong>3</strong> seats used, <strong>1</strong> free" in body
    assert "colleague@example.org" in body


def test_team_page_for_someone_without_a_team_offers_the_team_plan(db):
    response = client_of(UserFactory()).get(TEAM_URL)
    assert response.status_code == 200
    assert "You are not on a team" in response.content.decode()


def test_team_page_needs_a_login(client, db):
    response = client.get(TEAM_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_every_form_needs_the_csrf_token(team, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    assert client.post(TEAM_URL, {"action": "invite", "email": "x@example.org"}).status_code == 403
    token = signing.dumps(1, salt=services.INVITATION_SALT)
    assert client.post(f"/accounts/team/join/{token}/").status_code == 403
    assert not TeamInvitation.objects.exists()


# -- invitations ------------------------------------------------------------------------------


def test_invitation_email_is_queued_with_a_plain_text_part_and_no_gated_data(
    owner_client, mailoutbox, team
):
    CIAPostureFactory(incident=IncidentFactory(), notes="CanaryCIANote")
    path = invite(owner_client, "new@example.org", mailoutbox)
    [message] = mailoutbox
    assert message.to == ["new@example.org"]
    assert "Blue Team" in message.subject and "owner@example.org" in message.subject
    assert message.content_subtype == "plain" and "Blue Team" in message.body
    assert "CanaryCIANote" not in message.body
    assert path.startswith("/accounts/team/join/")
    assert TeamInvitation.objects.get().email == "new@example.org"


def test_invitation_to_a_newcomer_signs_up_with_the_address_verified(
    client, owner_client, mailoutbox, team
):
    path = invite(owner_client, "newcomer@example.org", mailoutbox)
    page = client.get(path)
    assert page.status_code == 200
    assert "Create an account with newcomer@example.org" in page.content.decode()
    signup = reverse("account_signup")
    assert "newcomer@example.org" in client.get(signup).content.decode()  # filled in
    response = client.post(
        f"{signup}?next={path}",
        {"email": "newcomer@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="newcomer@example.org")
    assert EmailAddress.objects.get(user=user).verified is True  # no confirmation email needed
    assert client.session.get(SESSION_KEY) == str(user.pk)
    assert is_member(fresh(user)) is False  # not before joining
    joined = client.post(path)
    assert joined["Location"] == TEAM_URL
    assert TeamSeat.objects.filter(team=team, user=user).exists()
    assert is_member(fresh(user)) is True


def test_signing_up_with_another_address_from_an_invitation_is_not_verified(
    client, owner_client, mailoutbox, team
):
    path = invite(owner_client, "invited@example.org", mailoutbox)
    client.get(path)
    client.post(
        reverse("account_signup"),
        {"email": "someone-else@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert EmailAddress.objects.get(email="someone-else@example.org").verified is False


def test_an_existing_account_with_the_invited_address_joins(owner_client, mailoutbox, team):
    colleague = verified("colleague@example.org")
    path = invite(owner_client, "Colleague@Example.org", mailoutbox)
    client = client_of(colleague)
    assert "Join Blue Team" in client.get(path).content.decode()
    assert client.post(path)["Location"] == TEAM_URL
    assert is_member(fresh(colleague)) is True
    assert "owner@example.org" in client.get(TEAM_URL).content.decode()


def test_a_link_used_twice_gives_no_second_seat(owner_client, mailoutbox, team):
    path = invite(owner_client, "twice@example.org", mailoutbox)
    first = verified("twice@example.org")
    assert client_of(first).post(path).status_code == 302
    again = client_of(first).post(path)
    assert again.status_code == 410
    assert "used already" in again.content.decode()
    assert TeamSeat.objects.filter(team=team).count() == 2


def test_an_expired_link_is_refused(owner_client, mailoutbox, team, monkeypatch):
    path = invite(owner_client, "late@example.org", mailoutbox)
    later = time.time() + services.INVITATION_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client_of(verified("late@example.org")).post(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not TeamSeat.objects.filter(user__email="late@example.org").exists()


def test_a_link_opened_by_another_address_is_refused(owner_client, mailoutbox, team):
    path = invite(owner_client, "right@example.org", mailoutbox)
    wrong = verified("wrong@example.org")
    unverified = UserFactory(email="right2@example.org")
    EmailAddress.objects.create(user=unverified, email="right@example.org", verified=False)
    for user in (wrong, unverified):
        response = client_of(user).post(path)
        assert response.status_code == 403
        assert "another email address" in response.content.decode()
    assert TeamSeat.objects.filter(team=team).count() == 1
    assert TeamInvitation.objects.get().accepted_at is None  # still usable by its addressee


@pytest.mark.parametrize("forged", ["garbage", "other-salt"])
def test_a_forged_or_mangled_link_is_a_clear_page(client, db, forged):
    token = "not-a-token" if forged == "garbage" else signing.dumps(1, salt="another.salt")
    for response in (
        client.get(f"/accounts/team/join/{token}/"),
        client.post(f"/accounts/team/join/{token}/"),
    ):
        assert response.status_code == 404
        assert "not valid" in response.content.decode()


def test_a_link_with_a_nul_byte_is_a_404(client, db):
    assert client.get("/accounts/team/join/%00/").status_code == 404


def test_a_withdrawn_invitation_is_refused(owner_client, mailoutbox, team):
    path = invite(owner_client, "withdrawn@example.org", mailoutbox)
    invitation = TeamInvitation.objects.get()
    owner_client.post(TEAM_URL, {"action": "revoke", "invitation": invitation.pk})
    response = client_of(verified("withdrawn@example.org")).post(path)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_no_seat_when_the_seats_are_full(owner_client, mailoutbox, team):
    path = invite(owner_client, "last@example.org", mailoutbox)
    seat_for(team)
    seat_for(team)  # 3 of 3
    response = client_of(verified("last@example.org")).post(path)
    assert response.status_code == 409
    assert "Every seat" in response.content.decode()
    refused = owner_client.post(TEAM_URL, {"action": "invite", "email": "more@example.org"})
    assert refused.status_code == 400
    assert TeamInvitation.objects.count() == 1


def test_no_seat_on_a_lapsed_team(owner_client, mailoutbox, team):
    path = invite(owner_client, "lapsed@example.org", mailoutbox)
    Subscription.objects.filter(team=team).update(status=Subscription.Status.EXPIRED)
    response = client_of(verified("lapsed@example.org")).post(path)
    assert response.status_code == 409
    assert not TeamSeat.objects.filter(user__email="lapsed@example.org").exists()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b@example.org", "x" * 300 + "@e.org"])
def test_a_bad_address_is_a_400_with_the_form(owner_client, team, email):
    response = owner_client.post(TEAM_URL, {"action": "invite", "email": email})
    assert response.status_code == 400
    assert "form-errors" in response.content.decode()
    assert not TeamInvitation.objects.exists()


def test_inviting_someone_already_on_the_team_is_refused(owner_client, team):
    seat_for(team, UserFactory(email="here@example.org"))
    response = owner_client.post(TEAM_URL, {"action": "invite", "email": "HERE@example.org"})
    assert response.status_code == 400
    assert "already holds a seat" in response.content.decode()


def test_invitations_are_rate_limited(owner_client, team, settings):
    team.seats = 500
    team.save()
    statuses = [
        owner_client.post(TEAM_URL, {"action": "invite", "email": f"p{n}@example.org"}).status_code
        for n in range(21)
    ]
    assert statuses == [302] * 20 + [429]
    assert TeamInvitation.objects.count() == 20


# -- removal, leaving, transfer -----------------------------------------------------------------


def test_removed_colleague_loses_access_on_the_next_request(owner_client, team):
    colleague = seat_for(team)
    client = client_of(colleague)
    incident = IncidentFactory()
    CIAPostureFactory(incident=incident, notes="SeatOnlyCIANote")
    assert "SeatOnlyCIANote" in client.get(incident.get_absolute_url()).content.decode()
    seat = TeamSeat.objects.get(user=colleague)
    assert (
        owner_client.post(
            TEAM_URL, {"action": "remove", "seat": seat.pk, "confirm": "yes"}
        ).status_code
        == 302
    )
    assert "SeatOnlyCIANote" not in client.get(incident.get_absolute_url()).content.decode()
    assert is_member(fresh(colleague)) is False


def test_the_owner_cannot_remove_their_own_seat_or_leave(owner_client, team):
    seat = TeamSeat.objects.get(user=team.owner)
    owner_client.post(TEAM_URL, {"action": "remove", "seat": seat.pk})
    owner_client.post(TEAM_URL, {"action": "leave"})
    assert TeamSeat.objects.filter(user=team.owner).exists()


@pytest.mark.parametrize("seat", ["", "abc", "-1", "999999", "1" * 40])
def test_removing_or_transferring_a_seat_not_on_the_team_changes_nothing(owner_client, team, seat):
    other = seat_for(TeamFactory(subscription=False))
    for action in ("remove", "transfer"):
        value = str(TeamSeat.objects.get(user=other).pk) if seat == "999999" else seat
        response = owner_client.post(TEAM_URL, {"action": action, "seat": value})
        assert response.status_code == 400
    assert TeamSeat.objects.count() == 3
    assert Team.objects.get(pk=team.pk).owner == team.owner


def test_someone_who_does_not_own_the_team_cannot_change_it(team):
    colleague = seat_for(team)
    client = client_of(colleague)
    owner_seat = TeamSeat.objects.get(user=team.owner)
    for action in ("remove", "transfer", "invite", "rename"):
        client.post(TEAM_URL, {"action": action, "seat": owner_seat.pk, "email": "x@e.org"})
    assert Team.objects.get(pk=team.pk).owner == team.owner
    assert TeamSeat.objects.filter(team=team).count() == 2
    assert not TeamInvitation.objects.exists()


def test_a_colleague_leaves(team):
    colleague = seat_for(team)
    client = client_of(colleague)
    assert "Leave the team" in client.get(TEAM_URL).content.decode()
    assert client.post(TEAM_URL, {"action": "leave", "confirm": "yes"}).status_code == 302
    assert is_member(fresh(colleague)) is False


def test_transfer_of_ownership(owner_client, team):
    colleague = seat_for(team, UserFactory(email="next-owner@example.org"))
    seat = TeamSeat.objects.get(user=colleague)
    assert (
        owner_client.post(
            TEAM_URL, {"action": "transfer", "seat": seat.pk, "confirm": "yes"}
        ).status_code
        == 302
    )
    assert Team.objects.get(pk=team.pk).owner == colleague
    # The new owner manages it; the old one keeps a seat and may now leave.
    assert "Send the invitation" in client_of(colleague).get(TEAM_URL).content.decode()
    assert owner_client.post(TEAM_URL, {"action": "leave", "confirm": "yes"}).status_code == 302
    assert not TeamSeat.objects.filter(user=team.owner).exists()


def test_transfer_to_someone_owning_another_team_is_refused(owner_client, team):
    other_owner = TeamFactory().owner
    seat = TeamSeat.objects.create(team=team, user=other_owner)
    response = owner_client.post(
        TEAM_URL, {"action": "transfer", "seat": seat.pk, "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "owns another team" in response.content.decode()
    assert Team.objects.get(pk=team.pk).owner == team.owner


def test_rename(owner_client, team):
    owner_client.post(TEAM_URL, {"action": "rename", "name": "  Red   Team "})
    assert Team.objects.get(pk=team.pk).name == "Red Team"
    assert owner_client.post(TEAM_URL, {"action": "rename", "name": "   "}).status_code == 400


# -- my data, the overview, the admin ---------------------------------------------------------


def test_my_data_lists_team_seats(team):
    colleague = seat_for(team)
    data = json.loads(client_of(colleague).post("/accounts/data/").content)
    assert data["team_seats"] == [
        {
            "team": "Blue Team",
            "owner": False,
            "seats_on_team": 3,
            "joined_at": TeamSeat.objects.get(user=colleague).joined_at.isoformat(),
        }
    ]
    owner_data = json.loads(client_of(team.owner).post("/accounts/data/").content)
    assert owner_data["team_seats"][0]["owner"] is True


def test_overview_counts_seat_holders_and_team_seats_used(team):
    seat_for(team)
    TeamFactory(name="Lapsed team")  # no subscription: not listed
    built = overview.build()
    assert [(t.name, t.used, t.seats) for t in built.teams] == [("Blue Team", 2, 3)]
    assert built.members == 2  # the owner and the colleague


def test_staff_see_teams_in_the_admin_and_the_overview(team):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = client_of(staff)
    assert "Blue Team" in client.get("/admin/accounts/team/").content.decode()
    change = client.get(f"/admin/accounts/team/{team.pk}/change/")
    assert change.status_code == 200
    assert "Team seats" in change.content.decode()  # the seat holders, inline
    body = client.get("/admin/accounts/membershipoverview/").content.decode()
    assert "Team seats used" in body and "Blue Team" in body


def test_a_plan_must_have_a_seat(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PlanFactory(slug="no-seats", seats=0)


def test_inviting_an_address_again_replaces_its_link(owner_client, mailoutbox, team):
    first = invite(owner_client, "again@example.org", mailoutbox)
    second = invite(owner_client, "Again@example.org", mailoutbox)
    client = client_of(verified("again@example.org"))
    assert client.post(first).status_code == 410
    assert client.post(second).status_code == 302
    page = owner_client.get(TEAM_URL).content.decode()
    assert "Invitations waiting" not in page


def test_switching_plan_in_the_customer_portal_moves_the_subscription(client, settings, team_plan):
    """Team plan → personal plan: the seats stop counting, the buyer keeps their access as
    their own; and back: the buyer's team again."""
    from accounts.models import BillingCustomer

    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_SECRET_KEY = ""
    Plan.objects.filter(pk=team_plan.pk).update(stripe_yearly_price_id="price_team_year")
    PlanFactory(
        slug="solo", is_for_sale=True, yearly_price=290, stripe_yearly_price_id="price_solo"
    )
    buyer = UserFactory()
    BillingCustomer.objects.create(user=buyer, stripe_customer_id="cus_switch")
    now = int(time.time())

    def deliver(price, created):
        obj = subscription(
            "sub_switch", "cus_switch", price, start=now, period_end=now + 86400 * 365
        )
        payload = json.dumps(event("customer.subscription.updated", obj, created=created)).encode()
        response = client.post(
            "/billing/stripe/webhook/",
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )
        assert response.status_code == 200

    deliver("price_team_year", now)
    team = Team.objects.get(owner=buyer)
    colleague = seat_for(team)
    assert is_member(fresh(colleague)) is True
    deliver("price_solo", now + 1)
    assert Subscription.objects.get().team is None
    assert is_member(fresh(colleague)) is False
    assert is_member(fresh(buyer)) is True
    deliver("price_team_year", now + 2)
    assert Subscription.objects.get().team == team
    assert is_member(fresh(colleague)) is True


# -- issue 21, item 7: the payer's seat; the team's name and its owner in invitations ----------


def post_invite(owner, email):
    return client_of(owner).post(TEAM_URL, {"action": "invite", "email": email}, follow=True)


def test_the_new_owner_cannot_remove_the_seat_of_whoever_pays(team):
    buyer = team.owner
    colleague = seat_for(team, verified("next-owner@example.org"))
    services.transfer(team, TeamSeat.objects.get(user=colleague).pk)
    new_owner = client_of(colleague)
    page = new_owner.get(TEAM_URL).content.decode()
    assert "Their subscription pays for the team: their seat cannot be removed" in page
    assert f'visually-hidden"> {buyer.email}</span></button>' not in page  # no Remove button
    assert f'visually-hidden">: {buyer.email}</span></button>' in page  # Make owner stays
    seat = TeamSeat.objects.get(user=buyer)
    response = new_owner.post(TEAM_URL, {"action": "remove", "seat": seat.pk, "confirm": "yes"})
    assert response.status_code == 400
    assert "pays for the team's membership" in html.unescape(response.content.decode())
    assert TeamSeat.objects.filter(pk=seat.pk).exists() and is_member(fresh(buyer))
    # Once that subscription has ended, the seat is the owner's to give to someone else.
    Subscription.objects.filter(team=team).update(status=Subscription.Status.EXPIRED)
    SubscriptionFactory(user=colleague, plan=Plan.objects.get(slug="team"), team=team)
    assert (
        new_owner.post(
            TEAM_URL, {"action": "remove", "seat": seat.pk, "confirm": "yes"}
        ).status_code
        == 302
    )
    assert not TeamSeat.objects.filter(pk=seat.pk).exists()


@pytest.mark.parametrize(
    "name",
    [
        "Reset your bank password at bank.example",
        "https://evil.example/login",
        "www.bank",
        "Call security@bank.example",
        "bank．example",  # a fullwidth dot
        "bücher.example",
        "Team\u202eelpmaxe",  # a right-to-left override
    ],
)
def test_a_team_name_is_plain_words_only(team, name):
    response = client_of(team.owner).post(TEAM_URL, {"action": "rename", "name": name})
    assert response.status_code == 400
    assert "plain words for the team's name, without a web or email address" in (
        html.unescape(response.content.decode())
    )
    assert Team.objects.get(pk=team.pk).name == "Blue Team"


@pytest.mark.parametrize("name", ["St. Pauli SOC", "Müller & Söhne – Tier 2", "Acme Inc."])
def test_plain_names_are_kept(team, name):
    assert (
        client_of(team.owner).post(TEAM_URL, {"action": "rename", "name": name}).status_code == 302
    )
    assert Team.objects.get(pk=team.pk).name == name


def test_a_new_teams_name_carries_no_address(db):
    owner = verified("owner@bank.example")
    client_of(owner).post(reverse("accounts:start_trial"), {"plan": "team"})
    name = Team.objects.get(owner=owner).name
    assert "bank" not in name and "@" not in name


def test_the_invitation_names_the_inviters_verified_address(team, mailoutbox):
    owner = team.owner
    owner.email = "security@bank.example"  # changed on the account, never verified
    owner.save()
    EmailAddress.objects.create(user=owner, email="security@bank.example", verified=False)
    post_invite(owner, "new@example.org")
    [message] = mailoutbox
    assert "owner@example.org" in message.subject and "owner@example.org" in message.body
    assert "bank" not in message.subject + message.body
    assert "the address the team's owner has verified" in message.body


def test_an_owner_without_a_verified_address_sends_no_invitation(team, mailoutbox):
    EmailAddress.objects.filter(user=team.owner).update(verified=False)
    response = post_invite(team.owner, "new@example.org")
    assert "Verify your email address first" in response.content.decode()
    assert mailoutbox == [] and not TeamInvitation.objects.exists()


def test_a_name_from_before_the_check_stays_out_of_invitations(team, mailoutbox):
    Team.objects.filter(pk=team.pk).update(name="Reset your password at bank.example")
    post_invite(team.owner, "new@example.org")
    [message] = mailoutbox
    assert "bank" not in message.subject + message.body
    assert "invites you to their team" in message.subject


def test_invitations_are_capped_per_day_as_well_as_per_hour(team, mailoutbox, monkeypatch):
    now = counters.clock()
    monkeypatch.setattr(counters, "clock", lambda: now)
    for n in range(services.INVITATIONS_PER_DAY):  # today's 50, under 20 in each hour
        services.invite(team, f"p{n}@example.org", team.owner)
    assert len(mailoutbox) == services.INVITATIONS_PER_DAY
    mailoutbox.clear()
    response = client_of(team.owner).post(TEAM_URL, {"action": "invite", "email": "x@example.org"})
    assert response.status_code == 429
    assert "50 invitations today (UTC)" in response.content.decode()
    assert mailoutbox == []
    # The next UTC day counts afresh.
    monkeypatch.setattr(counters, "clock", lambda: now + counters.DAY)
    response = client_of(team.owner).post(TEAM_URL, {"action": "invite", "email": "x@example.org"})
    assert response.status_code == 302 and len(mailoutbox) == 1
