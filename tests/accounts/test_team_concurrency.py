"""Seat limits hold under concurrent joins: two invitees racing for a team's last seat,
each in its own transaction (PostgreSQL; SQLite serialises writers, so the race cannot
happen there)."""

import contextlib
import threading

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.db import connection, connections

from accounts.models import Team, TeamInvitation, TeamSeat, Trial
from accounts.selfserve import trials
from accounts.teams import services
from tests.factories import PlanFactory, TeamFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_invitees_racing_for_the_last_seat_get_one_seat(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    team = TeamFactory(subscription=True, seats=2)  # the owner's seat and one free
    tokens, users = [], []
    for n in range(2):
        user = UserFactory(email=f"racer{n}@example.org")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        invitation = TeamInvitation.objects.create(team=team, email=user.email)
        tokens.append(signing.dumps(invitation.pk, salt=services.INVITATION_SALT))
        users.append(user)

    # Both joins count the seats taken, then wait for each other before taking one: without
    # the team's row lock both would see a free seat. With it, the second waits for the lock
    # while the first waits here; the first gives up waiting, takes the seat and commits.
    counted = threading.Barrier(2, timeout=3)
    seats_taken = services._seats_taken

    def count_then_wait(team):
        taken = seats_taken(team)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait()
        return taken

    monkeypatch.setattr(services, "_seats_taken", count_then_wait)
    start = threading.Barrier(2)
    joined, refused, errors = [], [], []

    def join(token, user):
        try:
            start.wait()
            joined.append(services.accept(token, user))
        except services.TeamError as refusal:
            refused.append(refusal)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=join, args=pair) for pair in zip(tokens, users, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(joined) == 1
    assert [r.status for r in refused] == [409]
    assert "Every seat" in str(refused[0])
    assert TeamSeat.objects.filter(team=team).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_accounts_of_one_mailbox_racing_for_team_trials_get_one(monkeypatch):
    """Issue 21, item 2: both pass the check at once; the owner's claim (unique per address
    and kind) lets one team trial through."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    plan = PlanFactory(slug="team-trial", seats=10, trial_days=14)
    owners = []
    for email in ("owner@example.org", "owner+two@example.org"):  # from before the rule
        user = UserFactory(email=email)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        owners.append(user)
    checked = threading.Barrier(2, timeout=3)
    team_refusal = trials.team_refusal

    def check_then_wait(user):
        reason = team_refusal(user)
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait()
        return reason

    monkeypatch.setattr(trials, "team_refusal", check_then_wait)
    started, refused, errors = [], [], []

    def start(user):
        try:
            started.append(trials.start_trial(user, plan))
        except trials.TrialRefused as refusal:
            refused.append(str(refusal))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start, args=(user,)) for user in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(started) == 1 and len(refused) == 1
    assert "one per team and per person" in refused[0]
    assert Trial.objects.count() == 1 and Team.objects.count() == 1
