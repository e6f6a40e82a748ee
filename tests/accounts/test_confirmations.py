"""Destructive actions ask first (issue 25): removing a seat, handing a team over, leaving it,
revoking an API token and deleting a saved search answer a page of their own (no JavaScript
needed) that says what will happen; nothing changes until that page's button posts again
with ``confirm=yes``."""

import re

import pytest
from django.test import Client

from accounts import tokens
from accounts.models import Team, TeamSeat
from incidents.models import SavedSearch
from tests.factories import SubscriptionFactory, TeamFactory, UserFactory, seat_for

TEAM_URL = "/accounts/team/"


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def confirm_page(response):
    """(title, the hidden fields posted again, the confirm button's classes) of the page."""
    assert response.status_code == 200
    html = response.content.decode()
    form = html[html.index('<form method="post"', html.index("confirm-step")) :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields.pop("csrfmiddlewaretoken", None)
    button = re.search(r'<button type="submit" class="([^"]+)"', form).group(1)
    title = re.search(r"<h1>(.*?)</h1>", html).group(1)
    return title, fields, button


@pytest.fixture
def team(db):
    return TeamFactory(subscription=True, seats=3, owner__email="owner@example.org")


@pytest.fixture
def colleague_seat(team):
    return TeamSeat.objects.get(user=seat_for(team, UserFactory(email="pat@example.org")))


def test_removing_a_seat_asks_first(team, colleague_seat):
    owner = client_of(team.owner)
    asked = owner.post(TEAM_URL, {"action": "remove", "seat": colleague_seat.pk})
    title, fields, button = confirm_page(asked)
    assert title == "Remove pat@example.org from the team?"
    assert fields == {"action": "remove", "seat": str(colleague_seat.pk), "confirm": "yes"}
    assert "button-danger" in button.split()
    assert TeamSeat.objects.filter(pk=colleague_seat.pk).exists()  # nothing changed yet

    done = owner.post(TEAM_URL, fields)
    assert done.status_code == 302
    assert not TeamSeat.objects.filter(pk=colleague_seat.pk).exists()


def test_making_someone_owner_asks_first(team, colleague_seat):
    owner = client_of(team.owner)
    asked = owner.post(TEAM_URL, {"action": "transfer", "seat": colleague_seat.pk})
    title, fields, _ = confirm_page(asked)
    assert title == "Make pat@example.org the team&#x27;s owner?"
    assert Team.objects.get(pk=team.pk).owner == team.owner
    owner.post(TEAM_URL, fields)
    assert Team.objects.get(pk=team.pk).owner == colleague_seat.user


def test_leaving_a_team_asks_first(team, colleague_seat):
    colleague = client_of(colleague_seat.user)
    title, fields, _ = confirm_page(colleague.post(TEAM_URL, {"action": "leave"}))
    assert title == "Leave the team?"
    assert TeamSeat.objects.filter(pk=colleague_seat.pk).exists()
    colleague.post(TEAM_URL, fields)
    assert not TeamSeat.objects.filter(pk=colleague_seat.pk).exists()


def test_the_seat_buttons_are_styled_as_destructive(team, colleague_seat):
    html = client_of(team.owner).get(TEAM_URL).content.decode()
    for value in ("remove", "transfer"):
        button = re.search(
            rf'<button type="submit" name="action" value="{value}" class="([^"]+)"', html
        )
        assert "button-danger-outline" in button.group(1).split()


def test_revoking_a_token_asks_first(db):
    user = UserFactory()
    token, raw = tokens.create(user, "laptop script")
    client = client_of(user)
    title, fields, _ = confirm_page(client.post(f"/accounts/tokens/{token.pk}/revoke/"))
    assert title == "Revoke the token “laptop script”?"
    assert tokens.resolve(raw) is not None
    client.post(f"/accounts/tokens/{token.pk}/revoke/", fields)
    assert tokens.resolve(raw) is None


def test_another_users_token_gets_no_question(db):
    token, raw = tokens.create(UserFactory(), "theirs")
    response = client_of(UserFactory()).post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert b"no such active token" in response.content
    assert tokens.resolve(raw) is not None


def test_deleting_a_saved_search_asks_first(db):
    member = SubscriptionFactory().user
    saved = SavedSearch.objects.create(user=member, name="Ransomware in France", query="q=x")
    client = client_of(member)
    path = f"/accounts/searches/{saved.pk}/delete/"
    title, fields, _ = confirm_page(client.post(path))
    assert title == "Delete the saved search “Ransomware in France”?"
    assert SavedSearch.objects.filter(pk=saved.pk).exists()
    assert client.post(path, fields).status_code == 302
    assert not SavedSearch.objects.filter(pk=saved.pk).exists()


def test_someone_elses_saved_search_is_a_404_not_a_question(db):
    saved = SavedSearch.objects.create(user=UserFactory(), name="Theirs", query="q=x")
    response = client_of(UserFactory()).post(f"/accounts/searches/{saved.pk}/delete/")
    assert response.status_code == 404
    assert "Theirs" not in response.content.decode()
