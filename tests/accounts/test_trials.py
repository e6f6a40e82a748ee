"""Free trials: once per person (also in the database), only with a verified email, no card;
they end by themselves; one reminder per trial, however often the command runs."""

import datetime
import threading

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import addresses
from accounts.access import is_member
from accounts.models import Subscription, Trial
from accounts.selfserve import trials
from tests.factories import PlanFactory, SubscriptionFactory, UserFactory

DAY = datetime.timedelta(days=1)


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def fresh(user):
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def plan(db):
    return PlanFactory(slug="analyst", name="Analyst", trial_days=14)


@pytest.fixture
def reader(db):
    return verified(UserFactory())


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


URL = reverse("accounts:start_trial")


def start(client, slug="analyst"):
    return client.post(URL, {"plan": slug}, follow=True)


def test_a_verified_reader_starts_a_trial_and_is_a_member(reader, plan):
    response = start(client_for(reader))
    assert response.status_code == 200
    assert "Your free trial of Analyst has started" in response.content.decode()
    subscription = Subscription.objects.get(user=reader)
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.source == Subscription.Source.TRIAL
    assert subscription.ends_at - subscription.starts_at == 14 * DAY
    assert Trial.objects.get(user=reader).subscription == subscription
    assert is_member(fresh(reader))


START_BUTTON = "Start my free trial of Analyst (14 days)"


@pytest.mark.parametrize("name", ["accounts:membership", "accounts:start_trial"])
def test_the_membership_and_trial_pages_offer_the_trial(reader, plan, name):
    body = client_for(reader).get(reverse(name)).content.decode()
    assert f'action="{URL}"' in body
    assert 'name="plan" value="analyst"' in body
    assert START_BUTTON in body


def test_the_seeded_individual_plan_has_a_trial(db):
    from accounts.models import Plan

    assert Plan.objects.get(slug="individual").trial_days == 14


def test_the_pages_say_why_there_is_no_trial(db, plan):
    unverified = client_for(UserFactory())
    for name in ["accounts:membership", "accounts:start_trial"]:
        body = unverified.get(reverse(name)).content.decode()
        assert START_BUTTON not in body
        assert "Verify your email address first" in body


def test_anonymous_is_sent_to_sign_in_first(db, plan):
    body = Client().get(reverse("accounts:membership")).content.decode()
    assert START_BUTTON not in body
    assert f'href="{URL}"' in body
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_without_trial_plans_nothing_is_offered(reader, plan):
    from accounts.models import Plan

    Plan.objects.update(trial_days=0)
    body = client_for(reader).get(reverse("accounts:membership")).content.decode()
    assert URL not in body
    assert "No free trial is on offer" in client_for(reader).get(URL).content.decode()


def test_a_second_trial_is_refused_with_a_clear_message(reader, plan):
    client = client_for(reader)
    start(client)
    Subscription.objects.filter(user=reader).update(
        starts_at=timezone.now() - 20 * DAY, ends_at=timezone.now() - 6 * DAY
    )
    assert not is_member(fresh(reader))
    other_plan = PlanFactory(slug="team-trial", trial_days=30)
    response = start(client, other_plan.slug)
    assert "You have already had your free trial: there is one per person." in (
        response.content.decode()
    )
    assert Subscription.objects.filter(user=reader).count() == 1


def test_an_earlier_trial_subscription_counts_as_the_trial(reader, plan):
    SubscriptionFactory(
        user=reader,
        plan=plan,
        source=Subscription.Source.TRIAL,
        status=Subscription.Status.EXPIRED,
        starts_at=timezone.now() - 60 * DAY,
        ends_at=timezone.now() - 30 * DAY,
    )
    response = start(client_for(reader))
    assert "already had your free trial" in response.content.decode()
    assert not Trial.objects.exists()


def test_the_database_holds_one_trial_per_person(reader, plan):
    trials.start_trial(reader, plan)
    with pytest.raises(IntegrityError), transaction.atomic():
        Trial.objects.create(user=reader, plan=plan, ends_at=timezone.now() + DAY)


def test_a_race_past_the_check_still_gives_one_trial(reader, plan, monkeypatch):
    """Two requests both pass the "had a trial?" check; the unique index refuses the second
    and the reader reads why."""
    trials.start_trial(reader, plan)
    Subscription.objects.filter(user=reader).update(
        starts_at=timezone.now() - 20 * DAY, ends_at=timezone.now() - 6 * DAY
    )
    monkeypatch.setattr(trials, "has_had_trial", lambda user: False)
    with pytest.raises(trials.TrialRefused, match="one per person"):
        trials.start_trial(fresh(reader), plan)
    assert Subscription.objects.filter(user=reader).count() == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_trial_starts_make_one_trial():
    plan = PlanFactory(slug="analyst", trial_days=14)
    reader = verified(UserFactory())
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt():
        try:
            barrier.wait()
            trials.start_trial(fresh(reader), plan)
            outcomes.append("started")
        except trials.TrialRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert Trial.objects.count() == 1
    assert Subscription.objects.filter(user=reader).count() == 1


def test_an_unverified_reader_cannot_start_a_trial(db, plan):
    reader = UserFactory()
    response = start(client_for(reader))
    assert "Verify your email address first" in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_member_does_not_need_a_trial(db, plan):
    member = verified(SubscriptionFactory().user)
    response = start(client_for(member))
    assert "You are a member already." in response.content.decode()
    assert not Trial.objects.exists()


@pytest.mark.parametrize("slug", ["nope", "no-trial", "hidden"])
def test_a_plan_without_a_trial_is_404(reader, plan, slug):
    PlanFactory(slug="no-trial", trial_days=0)
    PlanFactory(slug="hidden", trial_days=14, is_public=False)
    response = client_for(reader).post(URL, {"plan": slug})
    assert response.status_code == 404
    assert client_for(reader).post(URL).status_code == 404
    assert not Subscription.objects.exists()


def test_starting_a_trial_needs_post_csrf_and_a_sign_in(reader, plan):
    assert client_for(reader).get(URL).status_code == 200
    assert Client().post(URL, {"plan": "analyst"})["Location"].startswith(reverse("account_login"))
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(reader)
    assert csrf_client.post(URL, {"plan": "analyst"}).status_code == 403
    assert not Subscription.objects.exists()


def test_trial_starts_are_rate_limited(reader, plan):
    client = client_for(reader)
    statuses = [client.post(URL, {"plan": "analyst"}).status_code for _ in range(11)]
    assert statuses == [302] * 10 + [429]


# The end of a trial, and its reminder


def trial_ending_in(delta, **user):
    now = timezone.now()
    return SubscriptionFactory(
        user=verified(UserFactory(**user)),
        status=Subscription.Status.TRIALING,
        source=Subscription.Source.TRIAL,
        starts_at=now - 14 * DAY + delta,
        ends_at=now + delta,
    )


def test_a_trial_ends_by_itself(db):
    ended = trial_ending_in(-datetime.timedelta(seconds=1))
    assert not is_member(fresh(ended.user))
    call_command("run_membership_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115
    ended.refresh_from_db()
    assert ended.status == Subscription.Status.EXPIRED


def test_one_reminder_per_trial_however_often_the_command_runs(db):
    soon = trial_ending_in(2 * DAY)
    later = trial_ending_in(5 * DAY)
    ended = trial_ending_in(-DAY)
    paid = SubscriptionFactory(ends_at=timezone.now() + DAY)
    for _ in range(3):
        call_command("run_membership_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115
    reminders = [m for m in mail.outbox if "Your free trial ends on" in m.subject]
    assert [m.to for m in reminders] == [[soon.user.email]]
    assert "nothing is charged" in reminders[0].body
    # The trial that ended yesterday is told so, once (accounts.billing.notices).
    [ended_mail] = [m for m in mail.outbox if m not in reminders]
    assert ended_mail.to == [ended.user.email]
    assert "Your free trial of" in ended_mail.body and "has ended" in ended_mail.body
    recipients = str([m.to for m in mail.outbox])
    assert later.user.email not in recipients
    assert paid.user.email not in recipients


def test_a_trial_is_reminded_when_it_comes_within_three_days(db):
    later = trial_ending_in(5 * DAY)
    assert trials.send_reminders() == 0
    assert trials.send_reminders(now=timezone.now() + 3 * DAY) == 1
    assert trials.send_reminders(now=timezone.now() + 4 * DAY) == 0
    assert [m.to for m in mail.outbox] == [[later.user.email]]


# Once per person, also after the account is deleted (accounts.models.TrialClaim)


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("Ada.Lovelace@Example.org", "ada.lovelace@example.org"),
        ("ada+trial2@example.org", "ada@example.org"),
        ("A.d.a+x@GoogleMail.com", "ada@gmail.com"),
        ("a.da@gmail.com", "ada@gmail.com"),
        ("a.da@example.org", "a.da@example.org"),  # dots matter outside Gmail
        ("  ada@example.org ", "ada@example.org"),
    ],
)
def test_one_mailbox_is_one_address(address, normalised):
    assert addresses.mailbox(address) == normalised


def test_the_fingerprint_is_a_keyed_hash_not_the_address(settings):
    fingerprint = trials.email_fingerprint("ada@example.org")
    assert len(fingerprint) == 64 and "ada" not in fingerprint
    assert trials.email_fingerprint("ADA+x@example.org") == fingerprint
    settings.SECRET_KEY = "another-secret-key-of-the-portal-" * 2
    assert trials.email_fingerprint("ada@example.org") != fingerprint


def _signed_up(email):
    return verified(UserFactory(email=email))


@pytest.mark.parametrize(
    "again",
    ["ada.lovelace@gmail.com", "Ada.Lovelace+second@gmail.com", "adalovelace@googlemail.com"],
)
def test_a_deleted_account_signed_up_again_gets_no_second_trial(plan, again):
    first = _signed_up("ada.lovelace@gmail.com")
    assert start(client_for(first)).status_code == 200
    assert is_member(fresh(first))
    first.delete()  # as account deletion does (accounts.selfserve.account_data)
    assert not Trial.objects.exists()
    second = _signed_up(again)
    response = start(client_for(second))
    assert "already had your free trial" in response.content.decode()
    assert not is_member(fresh(second))
    assert not Subscription.objects.filter(user=second).exists()


def test_someone_else_still_gets_a_trial(plan):
    assert start(client_for(_signed_up("ada@example.org"))).status_code == 200
    other = _signed_up("grace@example.org")
    start(client_for(other))
    assert is_member(fresh(other))


def test_account_deletion_keeps_only_the_fingerprint(plan):
    from accounts.models import TrialClaim
    from accounts.selfserve import account_data

    user = _signed_up("ada@example.org")
    start(client_for(user))
    account_data.delete_account(user)
    [claim] = TrialClaim.objects.all()
    assert claim.fingerprint == trials.email_fingerprint("ada@example.org")
    assert "ada" not in str(TrialClaim.objects.values().get())


def test_the_migration_claims_the_trials_taken_before_claims_existed(plan):
    import importlib

    from django.apps import apps

    from accounts.models import TrialClaim

    migration = importlib.import_module("accounts.migrations.0006_trial_claim")
    user = _signed_up("Ada+old@example.org")
    trials.start_trial(user, plan)
    EmailAddress.objects.create(user=user, email="ada@work.example", verified=False)
    TrialClaim.objects.all().delete()
    migration.claim_past_trials(apps, None)
    migration.claim_past_trials(apps, None)  # again: nothing twice
    assert set(TrialClaim.objects.values_list("fingerprint", flat=True)) == {
        trials.email_fingerprint("ada@example.org"),
        trials.email_fingerprint("ada@work.example"),
    }
