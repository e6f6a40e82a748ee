"""Two-factor authentication (required for staff, optional for members) and the rate limits
on signing in, signing up and password resets."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import SubscriptionFactory, UserFactory, totp_code

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _clean(db):
    cache.clear()  # allauth keeps rate limits and used codes in the cache


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def log_in(client, user, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


def test_staff_without_an_authenticator_must_set_one_up_first():
    staff = verified(UserFactory(is_staff=True, is_superuser=True, totp=False))
    client = Client()
    response = log_in(client, staff)
    assert client.session[SESSION_KEY] == str(staff.pk)
    for path in ["/", "/incidents/", "/admin/", "/admin/accounts/subscription/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == reverse("mfa_activate_totp")
    # Setting up an authenticator asks for the password again (allauth), then shows it.
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert "Staff accounts must use two-factor authentication" in response.content.decode()
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.request["PATH_INFO"] == reverse("mfa_activate_totp")
    assert "Authenticator" in response.content.decode()
    assert client.post(reverse("account_logout")).status_code == 302


def test_staff_sign_in_takes_a_second_step_and_a_wrong_code_fails():
    staff = verified(UserFactory(is_staff=True, is_superuser=True))
    client = Client()
    response = log_in(client, staff)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert SESSION_KEY not in client.session  # the password alone does not sign in

    wrong = "000000" if totp_code(staff.totp_secret) != "000000" else "111111"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert response.status_code == 200
    assert SESSION_KEY not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(staff.totp_secret)})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(staff.pk)
    assert client.get("/admin/").status_code == 200


def test_admin_login_goes_through_the_site_login():
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_members_may_opt_in_and_are_not_forced():
    member = verified(SubscriptionFactory().user)
    client = Client()
    log_in(client, member)
    assert client.get("/incidents/").status_code == 200
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    assert not Authenticator.objects.filter(user=member).exists()


def test_repeated_failed_logins_for_one_account_are_refused_even_with_the_right_password():
    user = verified(UserFactory())
    client = Client()
    for _ in range(5):
        response = log_in(client, user, password="wrong-password")
        assert response.status_code == 200
    response = log_in(client, user)
    assert SESSION_KEY not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_login_attempts_per_address_end_in_a_styled_429():
    client = Client()
    statuses = [
        client.post(reverse("account_login"), {"login": f"x{i}@example.org", "password": "x"})
        for i in range(31)
    ]
    assert [r.status_code for r in statuses[:30]] == [200] * 30
    assert statuses[30].status_code == 429
    body = statuses[30].content.decode()
    assert "Too many attempts" in body
    assert "Traceback" not in body


def test_failed_logins_per_address_end_in_the_forms_error_not_a_429():
    """docs/operations.md, "Security": past the failed log-in limits the form says so
    (allauth's error, status 200); every other limit ends in the styled 429 page."""
    users = [verified(UserFactory()) for _ in range(11)]
    client = Client()
    for user in users[:10]:
        assert log_in(client, user, password="wrong-password").status_code == 200
    response = log_in(client, users[10])
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    body = response.content.decode()
    assert "Too many failed login attempts" in body
    assert "Too many attempts" not in body


@pytest.mark.parametrize(
    ("url_name", "data", "limit"),
    [
        ("account_reset_password", {"email": "someone@example.org"}, 5),
        ("account_signup", {"email": "x@example.org", "password1": "a", "password2": "b"}, 20),
    ],
)
def test_other_limits_end_in_the_styled_429_page(url_name, data, limit):
    client = Client()
    for _ in range(limit):
        client.post(reverse(url_name), data)
    response = client.post(reverse(url_name), data)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many attempts" in body
    assert "Cyber Incident Portal" in body
    assert "Traceback" not in body


def test_password_reset_requests_are_limited_per_email():
    user = verified(UserFactory())
    client = Client()
    statuses = [
        client.post(reverse("account_reset_password"), {"email": user.email}).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429


def test_signups_are_limited_per_address():
    client = Client()
    statuses = [
        client.post(
            reverse("account_signup"),
            {
                "email": f"new{i}@example.org",
                "password1": "Blue-Kestrel-4812",
                "password2": "Blue-Kestrel-4812",
            },
        ).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [302] * 20
    assert statuses[20] == 429
