"""Bad input gets a clear 4xx page, never a 500, and is never reflected unescaped."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from portal.middleware import StripNulMiddleware
from tests.factories import IncidentFactory, ThreatActorFactory

LISTS = ["incidents:incident_list", "incidents:organisation_list", "incidents:actor_list"]


@pytest.fixture
def client(db):
    IncidentFactory(threat_actors=[ThreatActorFactory()])
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("abc", "That page number is not valid."),
        ("1.5", "That page number is not valid."),
        ("0", "This list has 1 page(s)."),
        ("-1", ("This list has 1 page(s).", "That page number is not valid.")),
        ("999999", "This list has 1 page(s)."),
        ("9" * 40, "That page number is not valid."),
        ("<script>alert(1)</script>", "That page number is not valid."),
    ],
)
def test_bad_page_numbers_are_a_clear_404(client, name, page, message):
    response = client.get(reverse(name), {"page": page})
    assert response.status_code == 404
    html = response.content.decode()
    messages = message if isinstance(message, tuple) else (message,)
    assert any(m in html for m in messages)
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize("name", LISTS)
def test_nul_bytes_in_a_page_number_are_stripped(client, name):
    """portal.middleware.StripNulMiddleware reads "1\\x00" as "1" (tests/test_nul_bytes.py)."""
    assert client.get(reverse(name), {"page": "1\x00"}).status_code == 200
    assert client.get(reverse(name), {"page": "\x002"}).status_code == 404


@pytest.mark.parametrize("name", LISTS)
def test_a_nul_byte_in_a_parameter_is_as_if_absent(client, name):
    """portal.middleware.StripNulMiddleware: one answer, the page without the NUL byte."""
    with_nul = client.get(reverse(name), {"page": "1\x00"})
    assert with_nul.status_code == 200
    assert with_nul.content == client.get(reverse(name), {"page": "1"}).content


def test_nul_bytes_are_dropped_from_names_and_values_of_get_and_post(rf):
    seen = {}

    def view(request):
        seen.update(get=list(request.GET.lists()), post=list(request.POST.lists()))
        return HttpResponse()

    request = rf.post("/?q=ac%00me&co%00untry=DE&country=FR", {"no\x00te": ["a\x00", "b"]})
    StripNulMiddleware(view)(request)
    assert seen == {
        "get": [("q", ["acme"]), ("country", ["DE", "FR"])],
        "post": [("note", ["a", "b"])],
    }


def test_parameters_without_nul_bytes_are_left_as_they_are(rf):
    request = rf.get("/?q=acme&q=rockets")
    original = request.GET
    StripNulMiddleware(lambda r: HttpResponse())(request)
    assert request.GET is original


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/no-such-incident/",
        "/organisations/nobody/",
        "/actors/nobody/",
        "/incidents/%E2%98%83/",
        "/incidents/" + "a" * 2000 + "/",
        "/incidents/<script>/",
    ],
)
def test_unknown_objects_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html
    assert "<script>" not in html.split("</header>")[1]


def test_very_long_query_string_is_not_an_error(client):
    response = client.get(reverse("incidents:incident_list") + "?q=" + "x" * 10_000)
    assert response.status_code == 200


def test_too_many_parameters_is_a_clear_400(client):
    query = "&".join(f"f{i}=1" for i in range(1500))
    response = client.get(reverse("incidents:incident_list") + "?" + query)
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_error_pages_use_the_site_layout(client):
    html = client.get("/nothing-here/").content.decode()
    assert "Cyber Incident Portal" in html
    assert "Traceback" not in html


def test_failed_csrf_check_is_a_styled_403(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_login"), {"login": "a@example.org", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Form expired" in html
    assert "Cyber Incident Portal" in html


def test_site_domain_follows_the_environment(db, settings):
    from django.contrib.sites.models import Site

    from accounts.apps import sync_site

    settings.SITE_DOMAIN = "incidents.example.com"
    sync_site(sender=None)
    assert Site.objects.get_current().domain == "incidents.example.com"
    response = Client().get("/sitemap.xml")
    assert b"incidents.example.com" in response.content


@pytest.mark.parametrize(
    "url_name",
    [
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_logout",
        "account_email",
        "account_change_password",
        "account_reauthenticate",
        "mfa_activate_totp",
        "mfa_authenticate",
        "admin:incidents_incident_add",
        "admin:accounts_subscription_add",
    ],
)
def test_every_form_refuses_a_post_without_its_csrf_token(db, url_name):
    from tests.factories import UserFactory

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(reverse(url_name), {"anything": "x"})
    assert response.status_code == 403, url_name
    assert "Form expired" in response.content.decode()
