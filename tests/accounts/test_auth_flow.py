"""Sign-up, verification, log-in, log-out, password reset and the membership page, end to end.

django-allauth through the real URLs: email is the login, and it must be verified before the
first log-in (ACCOUNT_EMAIL_VERIFICATION = "mandatory").
"""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PlanFactory, SubscriptionFactory, UserFactory

EMAIL = "analyst@example.org"
PASSWORD = "Blue-Kestrel-4812"
NEW_PASSWORD = "Amber-Otter-9377"


@pytest.fixture(autouse=True)
def _clean(db):
    # Requested before mailoutbox, so the test case setup does not replace the outbox it returns;
    # allauth keeps rate limits in the cache, which outlives a test.
    cache.clear()


def links_in(message):
    """The paths of the http(s) links in an email body."""
    return [urlsplit(url).path for url in re.findall(r"https?://\S+", message.body)]


def logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


def sign_up(client, email=EMAIL, password=PASSWORD):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password, "password2": password},
    )


def log_in(client, email=EMAIL, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def verified_user(email=EMAIL, password=PASSWORD, **kwargs):
    user = UserFactory(email=email, **kwargs)
    user.set_password(password)
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


def confirmation_path(mailoutbox, email=EMAIL):
    messages = [m for m in mailoutbox if m.to == [email]]
    assert messages, f"no email to {email}"
    paths = [p for p in links_in(messages[0]) if "/confirm-email/" in p]
    assert len(paths) == 1, messages[0].body
    return paths[0]


# Sign-up and verification


def test_sign_up_sends_a_confirmation_email(client, mailoutbox):
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = get_user_model().objects.get(email=EMAIL)
    assert user.check_password(PASSWORD)
    address = EmailAddress.objects.get(user=user)
    assert address.email == EMAIL and not address.verified
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [EMAIL]
    assert mailoutbox[0].subject.startswith("[Incident Portal] ")
    assert confirmation_path(mailoutbox).startswith("/accounts/confirm-email/")
    assert logged_in_user_id(client) is None


def test_sign_up_rejects_mismatched_passwords(client, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not get_user_model().objects.filter(email=EMAIL).exists()
    assert mailoutbox == []


def test_sign_up_rejects_an_email_already_registered(client, mailoutbox):
    verified_user()
    sign_up(client)
    assert get_user_model().objects.filter(email__iexact=EMAIL).count() == 1
    assert logged_in_user_id(client) is None


def test_cannot_log_in_before_confirming(client, mailoutbox):
    sign_up(client)
    browser = Client()
    response = log_in(browser)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert logged_in_user_id(browser) is None
    membership = browser.get(reverse("accounts:membership"))
    assert membership.context["user"].is_authenticated is False


def test_confirming_the_email_then_logging_in(client, mailoutbox):
    sign_up(client)
    path = confirmation_path(mailoutbox)

    browser = Client()  # the link is opened from the mailbox, in another session
    page = browser.get(path)
    assert page.status_code == 200
    assert page.context["confirmation"] is not None
    assert EMAIL in page.content.decode()
    assert EmailAddress.objects.get(email=EMAIL).verified is False  # GET does not confirm

    response = browser.post(path)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email=EMAIL).verified is True

    response = log_in(browser)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:membership")
    user = get_user_model().objects.get(email=EMAIL)
    assert logged_in_user_id(browser) == str(user.pk)
    html = browser.get(reverse("accounts:membership")).content.decode()
    assert EMAIL in html
    assert "You are not a member" in html  # signing up does not make a member


def test_a_forged_confirmation_key_confirms_nothing(client, mailoutbox):
    sign_up(client)
    path = confirmation_path(mailoutbox)
    forged = path.rstrip("/")[:-4] + "abcd/"
    response = Client().post(forged)
    assert response.status_code == 404
    assert EmailAddress.objects.get(email=EMAIL).verified is False


def test_wrong_password_does_not_log_in(client):
    verified_user()
    response = log_in(client, password="not-the-password")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert logged_in_user_id(client) is None


def test_log_out(client):
    user = verified_user()
    log_in(client)
    assert logged_in_user_id(client) == str(user.pk)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert logged_in_user_id(client) is None
    assert client.get(reverse("account_email")).status_code == 302  # back to logged out


# Password reset


def test_password_reset(client, mailoutbox):
    user = verified_user()
    response = client.post(reverse("account_reset_password"), {"email": EMAIL})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [EMAIL]
    [path] = [p for p in links_in(mailoutbox[0]) if "/password/reset/key/" in p]

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["form"] is not None
    assert not form_page.context.get("token_fail")
    set_password_path = form_page.redirect_chain[-1][0]
    response = client.post(
        set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    browser = Client()
    log_in(browser, password=PASSWORD)
    assert logged_in_user_id(browser) is None
    log_in(browser, password=NEW_PASSWORD)
    assert logged_in_user_id(browser) == str(user.pk)


def test_password_reset_link_works_once(client, mailoutbox):
    verified_user()
    client.post(reverse("account_reset_password"), {"email": EMAIL})
    [path] = [p for p in links_in(mailoutbox[0]) if "/password/reset/key/" in p]
    set_password_path = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client().get(path, follow=True)
    assert again.context["token_fail"] is True


def test_password_reset_for_an_unknown_email_reveals_nothing(client, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert all("/password/reset/key/" not in m.body for m in mailoutbox)


# Account pages


def test_email_page_requires_login(client):
    response = client.get(reverse("account_email"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" + reverse("account_email") in response["Location"]


def test_email_page_for_a_logged_in_user(client):
    user = verified_user()
    client.force_login(user)
    response = client.get(reverse("account_email"))
    assert response.status_code == 200
    assert EMAIL in response.content.decode()


@pytest.mark.parametrize(
    "name", ["account_login", "account_signup", "account_reset_password", "accounts:membership"]
)
def test_account_pages_use_the_site_layout(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cyber Incident Portal" in html
    assert 'href="/static/css/site.css"' in html
    assert 'class="site-header"' in html and 'class="site-footer"' in html


def test_logged_in_account_page_uses_the_site_layout(client):
    client.force_login(verified_user())
    html = client.get(reverse("account_change_password")).content.decode()
    assert "Cyber Incident Portal" in html
    assert 'href="/static/css/site.css"' in html


# Membership page


def test_membership_page_for_a_member(client):
    ends = timezone.now() + datetime.timedelta(days=100)
    sub = SubscriptionFactory(plan=PlanFactory(name="Analyst Annual"), ends_at=ends)
    client.force_login(sub.user)
    html = client.get(reverse("accounts:membership")).content.decode()
    assert "You are a member" in html
    assert "You are not a member" not in html
    assert "Analyst Annual" in html
    assert f"until <strong>{ends.day} {ends:%b %Y}</strong>" in html


def test_membership_page_for_an_open_ended_member(client):
    sub = SubscriptionFactory(ends_at=None)
    client.force_login(sub.user)
    html = client.get(reverse("accounts:membership")).content.decode()
    assert "You are a member" in html
    assert "with no end date" in html


def test_membership_page_for_a_registered_non_member(client):
    client.force_login(UserFactory())
    html = client.get(reverse("accounts:membership")).content.decode()
    assert "You are not a member" in html
    assert "You are a member" not in html


def test_membership_page_for_an_expired_member(client):
    now = timezone.now()
    sub = SubscriptionFactory(
        starts_at=now - datetime.timedelta(days=400), ends_at=now - datetime.timedelta(days=35)
    )
    client.force_login(sub.user)
    response = client.get(reverse("accounts:membership"))
    html = response.content.decode()
    assert response.context["is_member"] is False
    assert response.context["subscription"] is None
    assert "You are not a member" in html
    assert "none of your subscriptions is active now" in html
    assert "You are a member" not in html


def test_membership_page_for_anonymous(client):
    response = client.get(reverse("accounts:membership"))
    assert response.status_code == 200
    html = response.content.decode()
    login_link = f'href="{reverse("account_login")}?next={reverse("accounts:membership")}"'
    assert login_link in html
    assert "You are a member" not in html
    assert "You are not a member" not in html


def test_changing_email_needs_confirmation_of_the_new_address(client, mailoutbox):
    user = verified_user()
    client.force_login(user)
    new = "analyst.new@example.org"
    response = client.post(reverse("account_email"), {"action_add": "", "email": new})
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user, email=new).verified is False
    user.refresh_from_db()
    assert user.email == EMAIL  # unchanged until the new address is confirmed

    client.post(confirmation_path(mailoutbox, email=new))
    user.refresh_from_db()
    assert user.email == new
    assert list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [new]
