"""One mailbox, one identity (issue 21, items 2 and 3): addresses are read as mailboxes
(accounts.addresses) at sign-up, at an email change, in team invitations and in trial
fingerprints; trials are once per person and per team, team trials included."""

import importlib
import logging
import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts import addresses
from accounts.access import is_member
from accounts.models import Plan, Subscription, Team, TeamInvitation, TeamSeat, Trial, TrialClaim
from accounts.selfserve import account_data, trials
from accounts.teams import services
from tests.accounts.test_teams import client_of, fresh, verified
from tests.factories import TeamFactory, UserFactory, seat_for

PASSWORD = "Blue-Kestrel-4812"
TEAM_URL = "/accounts/team/"
TRIAL_URL = reverse("accounts:start_trial")


@pytest.fixture(autouse=True)
def _clean(db):
    cache.clear()  # allauth's rate limits live in the cache, which outlives a test


def sign_up(email):
    return Client().post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# -- item 3: one mailbox, several spellings ---------------------------------------------------


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("trialp1@ｅxample.com", "trialp1@example.com"),  # fullwidth e
        ("TRIALP1@ＥＸＡＭＰＬＥ．ＣＯＭ", "trialp1@example.com"),
        ("idn1@bücher.example", "idn1@xn--bcher-kva.example"),
        ("idn1@XN--BCHER-KVA.example", "idn1@xn--bcher-kva.example"),
        ('"trialp1"@example.com', "trialp1@example.com"),
        ('"trial\\p1"@example.com', "trialp1@example.com"),
        ('"a b"@example.com', '"a b"@example.com'),  # the quotes are needed: kept
        ("A.b+x@ＧoogleMail.com", "ab@gmail.com"),
        ("a.b@example.org.", "a.b@example.org"),
    ],
)
def test_every_spelling_of_a_mailbox_is_one_address(address, mailbox):
    assert addresses.mailbox(address) == mailbox
    assert trials.email_fingerprint(address) == trials.email_fingerprint(mailbox)


SPELLINGS = [
    ("trialp1@example.com", "trialp1@ｅxample.com"),
    ("trialp1@ｅxample.com", "trialp1@example.com"),
    ("idn1@bücher.example", "idn1@xn--bcher-kva.example"),
    ("idn1@xn--bcher-kva.example", "idn1@bücher.example"),
    ("trialp1@example.com", '"trialp1"@example.com'),
    ("trialp1@example.com", "trialp1+second@example.com"),
    ("trial.p1@gmail.com", "trialp1@googlemail.com"),
]


@pytest.mark.parametrize(("first", "second"), SPELLINGS)
def test_signing_up_again_with_another_spelling_makes_no_second_account(mailoutbox, first, second):
    assert sign_up(first).status_code == 302
    [account] = get_user_model().objects.all()
    stored = account.email
    assert stored.isascii()  # the form it is stored and written to
    mailoutbox.clear()
    cache.clear()  # allauth emails an address once in 3 minutes: these are later
    response = sign_up(second)
    # allauth's own answer to a taken address (enumeration prevention): the same page, and
    # an "account exists" email to the mailbox, never a second account.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert list(get_user_model().objects.values_list("pk", flat=True)) == [account.pk]
    assert EmailAddress.objects.count() == 1
    assert [m.to for m in mailoutbox] == [[stored]]
    assert "already" in mailoutbox[0].body.lower()


def _confirmation_path(message):
    paths = [urlsplit(u).path for u in re.findall(r"https?://\S+", message.body)]
    [path] = [p for p in paths if "/confirm-email/" in p]
    return path


@pytest.mark.parametrize(("first", "second"), SPELLINGS)
def test_another_account_cannot_verify_another_spelling_of_a_held_address(
    mailoutbox, first, second
):
    holder = verified(addresses.clean(first))  # as sign-up stores it
    other = verified("other@example.net")
    client = client_of(other)
    client.post(reverse("account_email"), {"email": second, "action_add": ""})
    for message in mailoutbox:
        client.post(_confirmation_path(message))
    keys = {
        addresses.mailbox(e)
        for e in EmailAddress.objects.filter(user=other, verified=True).values_list(
            "email", flat=True
        )
    }
    assert keys == {"other@example.net"}
    assert EmailAddress.objects.get(user=holder).verified


def test_one_person_adding_another_spelling_of_their_own_address_is_told_so(db):
    user = verified("ada@example.org")
    response = client_of(user).post(
        reverse("account_email"), {"email": "ada@ｅxample.org", "action_add": ""}
    )
    assert response.status_code == 200
    assert "already" in response.content.decode()
    assert EmailAddress.objects.filter(user=user).count() == 1


def log_in(email):
    client = Client()
    client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    return client.session.get(SESSION_KEY)


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("idn1@bücher.example", "idn1@bücher.example"),  # stored as xn--bcher-kva
        ("idn1@bücher.example", "IDN1@xn--bcher-kva.example"),
        ("trialp1@example.com", "trialp1@ｅxample.com"),
        ("trialp1@example.com", '"trialp1"@example.com'),
    ],
)
def test_one_logs_in_with_any_spelling_of_the_address(stored, typed):
    user = with_password(verified(addresses.clean(stored)))
    assert log_in(typed) == str(user.pk)


def test_an_address_stored_before_the_rule_still_logs_in_as_typed_then(db):
    legacy = with_password(verified("idn1@bücher.example"))  # stored as typed, before
    assert log_in("idn1@bücher.example") == str(legacy.pk)
    assert log_in("idn1@xn--bcher-kva.example") == str(legacy.pk)


def test_accounts_that_shared_a_mailbox_before_each_log_in_with_their_own_address(db):
    first = with_password(verified("ada@example.org"))
    second = with_password(verified("ada+work@example.org"))
    assert log_in("ada+work@example.org") == str(second.pk)
    assert log_in("ada@example.org") == str(first.pk)


# -- item 3 in team invitations -----------------------------------------------------------------


@pytest.fixture
def team(db):
    return TeamFactory(
        subscription=True, name="Blue Team", seats=5, owner__email="owner@example.org"
    )


def invite(owner, email):
    return client_of(owner).post(TEAM_URL, {"action": "invite", "email": email}, follow=True)


def join_path(message):
    return re.search(r"https?://[^/\s]+(/accounts/team/join/[^/\s]+/)", message.body).group(1)


@pytest.mark.parametrize(
    "spelling", ['"colleague"@example.org', "colleague@ｅxample.org", "Colleague+x@example.org"]
)
def test_a_seat_holder_is_not_invited_again_under_another_spelling(team, spelling):
    seat_for(team, verified("colleague@example.org"))
    response = invite(team.owner, spelling)
    assert "already holds a seat" in response.content.decode()
    assert not TeamInvitation.objects.exists()


def test_an_invitation_is_sent_to_the_clean_address_and_joined_with_its_verified_spelling(
    team, mailoutbox
):
    invite(team.owner, "Colleague@ｅxample.org")
    [message] = mailoutbox
    assert message.to == ["colleague@example.org"]
    assert TeamInvitation.objects.get().email == "colleague@example.org"
    colleague = verified("colleague+work@example.org")
    response = client_of(colleague).post(join_path(message))
    assert response.status_code == 302
    assert TeamSeat.objects.filter(team=team, user=colleague).exists()


def test_inviting_another_spelling_again_replaces_the_first_link(team, mailoutbox):
    invite(team.owner, "colleague@example.org")
    invite(team.owner, '"colleague"@ｅxample.org')
    first, second = TeamInvitation.objects.order_by("pk")
    assert first.revoked_at is not None and second.revoked_at is None


# -- item 3: the migration reports the accounts that share a mailbox ---------------------------


def test_the_migration_reports_accounts_sharing_a_mailbox_and_changes_none(db, caplog):
    from accounts.models import SharedMailbox

    migration = importlib.import_module(
        "accounts.migrations.0015_claim_team_trials_report_shared_mailboxes"
    )
    plain = verified("trialp1@example.com")
    wide = verified("trialp1@ｅxample.com")
    idn = verified("idn1@bücher.example")
    puny = UserFactory(email="idn1@xn--bcher-kva.example")
    alone = verified("grace@example.org")
    before = list(get_user_model().objects.order_by("pk").values_list("pk", "email"))
    with caplog.at_level(logging.WARNING, logger="accounts.addresses"):
        migration.report_shared_mailboxes(apps, None)
        migration.report_shared_mailboxes(apps, None)  # again: nothing twice
    assert list(get_user_model().objects.order_by("pk").values_list("pk", "email")) == before
    assert EmailAddress.objects.count() == 4
    assert sorted(SharedMailbox.objects.values_list("mailbox", "user_id", "address")) == sorted(
        [
            ("trialp1@example.com", plain.pk, "trialp1@example.com"),
            ("trialp1@example.com", wide.pk, "trialp1@ｅxample.com"),
            ("idn1@xn--bcher-kva.example", idn.pk, "idn1@bücher.example"),
            ("idn1@xn--bcher-kva.example", puny.pk, "idn1@xn--bcher-kva.example"),
        ]
    )
    assert not SharedMailbox.objects.filter(user=alone).exists()
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert f"{plain.pk}, {wide.pk}" in warned and "Shared mailboxes" in warned
    staff = UserFactory(is_staff=True, is_superuser=True)
    page = client_of(staff).get(reverse("admin:accounts_sharedmailbox_changelist"))
    assert page.status_code == 200 and "trialp1@ｅxample.com" in page.content.decode()


def test_the_migration_cleans_addresses_no_one_else_shares(db, mailoutbox):
    migration = importlib.import_module(
        "accounts.migrations.0015_claim_team_trials_report_shared_mailboxes"
    )
    wide = verified("trialp1@ｅxample.com")  # stored as typed, before the rule
    quoted = verified('"Grace"@Example.org')
    shared = [verified("idn1@bücher.example"), verified("idn1@xn--bcher-kva.example")]
    migration.report_shared_mailboxes(apps, None)
    migration.clean_stored_addresses(apps, None)
    assert fresh(wide).email == "trialp1@example.com"
    assert EmailAddress.objects.get(user=wide).email == "trialp1@example.com"
    assert EmailAddress.objects.get(user=wide).verified
    assert EmailAddress.objects.get(user=quoted).email == "grace@example.org"
    assert [EmailAddress.objects.get(user=u).email for u in shared] == [
        "idn1@bücher.example",
        "idn1@xn--bcher-kva.example",
    ]  # left for staff, as reported
    # Sign-up now finds the cleaned address under any spelling.
    sign_up("trialp1@example.com")
    assert get_user_model().objects.filter(email__istartswith="trialp1").count() == 1


def test_the_migration_claims_past_trials_under_the_new_reading(db):
    migration = importlib.import_module(
        "accounts.migrations.0015_claim_team_trials_report_shared_mailboxes"
    )
    personal = verified("trialp1@ｅxample.com")
    trials.start_trial(personal, Plan.objects.filter(trial_days__gt=0, seats=1).first())
    owner = verified("owner@bücher.example")
    trials.start_trial(owner, Plan.objects.get(slug="team"))
    TrialClaim.objects.all().delete()
    migration.claim_past_trials(apps, None)
    migration.claim_past_trials(apps, None)
    assert set(TrialClaim.objects.values_list("fingerprint", "kind")) == {
        (trials.email_fingerprint("trialp1@example.com"), "personal"),
        (trials.email_fingerprint("owner@xn--bcher-kva.example"), "team"),
    }


# -- item 3 in personal trials -----------------------------------------------------------------


@pytest.fixture
def personal_plan(db):
    return Plan.objects.filter(is_public=True, trial_days__gt=0, seats=1).first()


@pytest.mark.parametrize(("first", "second"), SPELLINGS)
def test_no_second_personal_trial_under_another_spelling(personal_plan, first, second):
    user = verified(first)
    client_of(user).post(TRIAL_URL, {"plan": personal_plan.slug})
    assert is_member(fresh(user))
    account_data.delete_account(user)
    again = verified(second)
    response = client_of(again).post(TRIAL_URL, {"plan": personal_plan.slug}, follow=True)
    assert "already had your free trial" in response.content.decode()
    assert not Subscription.objects.filter(user=again).exists()


# -- item 2: team trials, once per person too ---------------------------------------------------


def start_team_trial(user):
    return client_of(user).post(TRIAL_URL, {"plan": "team"}, follow=True)


@pytest.mark.parametrize("again", ["owner@example.org", "Owner+round2@example.org"])
def test_a_team_trial_owner_who_deletes_the_account_gets_no_second_team_trial(db, again):
    owner = verified("owner@example.org")
    start_team_trial(owner)
    assert Trial.objects.filter(team__owner=owner).exists()
    account_data.delete_account(owner)
    assert not Trial.objects.exists()  # the team and its trial went with the account
    returning = verified(again)
    response = start_team_trial(returning)
    assert "already started a team's free trial" in " ".join(messages_of(response))
    assert not Subscription.objects.filter(user=returning).exists()
    assert not Team.objects.filter(owner=returning).exists()


def test_a_race_past_the_check_still_gives_one_team_trial_per_person(db, monkeypatch):
    """Two accounts of one mailbox (from before the rule) both pass the check; the claim's
    unique index refuses the second and says why."""
    first = verified("owner@example.org")
    second = verified("Owner+two@example.org")
    trials.start_trial(first, Plan.objects.get(slug="team"))
    monkeypatch.setattr(trials, "team_refusal", lambda user: "")
    with pytest.raises(trials.TrialRefused, match="one per team and per person"):
        trials.start_trial(second, Plan.objects.get(slug="team"))
    assert Trial.objects.count() == 1
    assert not Team.objects.filter(owner=second).exists()


def test_a_past_team_trials_owner_who_handed_the_team_on_gets_no_second(db):
    owner = verified("owner@example.org")
    start_team_trial(owner)
    team = Team.objects.get(owner=owner)
    colleague = seat_for(team, verified("next@example.org"))
    services.transfer(team, TeamSeat.objects.get(user=colleague).pk)
    Subscription.objects.filter(team=team).update(status=Subscription.Status.EXPIRED)
    response = start_team_trial(owner)
    assert "already started a team's free trial" in " ".join(messages_of(response))
    assert not Team.objects.filter(owner=owner).exists()


def test_a_member_through_a_seat_is_refused_a_team_trial_of_their_own(team):
    colleague = seat_for(team, verified("colleague@example.org"))
    assert is_member(fresh(colleague))
    response = start_team_trial(colleague)
    text = " ".join(messages_of(response))
    assert "You hold a seat on Blue Team, whose membership covers you" in text
    assert not Team.objects.filter(owner=colleague).exists()
    assert Trial.objects.count() == 0


def test_a_seat_on_a_lapsed_team_does_not_stand_in_the_way(team):
    colleague = seat_for(team, verified("colleague@example.org"))
    Subscription.objects.filter(team=team).update(status=Subscription.Status.EXPIRED)
    start_team_trial(colleague)
    assert Trial.objects.filter(team__owner=colleague).exists()


def test_one_personal_and_one_team_trial_per_person(personal_plan):
    user = verified("ada@example.org")
    client_of(user).post(TRIAL_URL, {"plan": personal_plan.slug})
    start_team_trial(user)
    assert Trial.objects.filter(user=user).exists()
    assert Trial.objects.filter(team__owner=user).exists()
    assert set(TrialClaim.objects.values_list("kind", flat=True)) == {"personal", "team"}
