"""The pages a paid site needs: about, methodology, contact and corrections, privacy,
terms; canonical and OpenGraph metadata from public fields; citations; staff's Edit link."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    ThreatActorFactory,
    UserFactory,
)

STATIC_PAGES = ["about", "methodology", "privacy", "terms", "contact"]
META_RE = re.compile(r'<meta (?:property|name)="((?:og|twitter):[a-z_]+)" content="([^"]*)">')


@pytest.mark.parametrize("name", STATIC_PAGES)
def test_each_page_is_public_and_linked_from_every_footer(viewer, name):
    kind, client, member = viewer
    response = client.get(reverse(name))
    assert response.status_code == 200
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse(name)}"' in home.split('<footer class="site-footer">')[1]


def meta(html):
    return dict(META_RE.findall(html))


@pytest.fixture
def incident(db):
    return IncidentFactory(
        organisation__name="Acme Rockets",
        summary="Acme Rockets disclosed a breach.",
        motives=[MotiveFactory(name="SecretMotive")],
        threat_actors=[ThreatActorFactory(name="SecretActor")],
    )


def test_incident_metadata_carries_public_fields_only(viewer, incident, settings):
    kind, client, member = viewer
    html = client.get(incident.get_absolute_url()).content.decode()
    tags = meta(html)
    assert tags["og:title"].startswith("Acme Rockets (")  # the incident: victim and date
    assert tags["og:description"] == "Acme Rockets disclosed a breach."
    assert tags["og:type"] == "article"
    url = f"{settings.SITE_URL}{incident.get_absolute_url()}"
    assert tags["og:url"] == url
    assert f'<link rel="canonical" href="{url}">' in html
    head = html.split("</head>")[0]
    assert "SecretMotive" not in head and "SecretActor" not in head


def test_canonical_links_name_the_site_not_the_host_asked_for(incident, settings):
    settings.ALLOWED_HOSTS = ["evil.example", "testserver"]
    html = Client().get(incident.get_absolute_url(), HTTP_HOST="evil.example").content.decode()
    assert "evil.example" not in html


def test_cite_this_incident(viewer, incident, settings):
    kind, client, member = viewer
    html = client.get(incident.get_absolute_url()).content.decode()
    url = f"{settings.SITE_URL}{incident.get_absolute_url()}"
    assert "<summary>Cite this incident</summary>" in html
    assert "Cyber Incident Portal. “Cyber Incident Victim: Acme Rockets" in html
    bibtex = re.search(r'<textarea id="cite-bibtex" readonly rows="7">(.*?)</textarea>', html, re.S)
    text = bibtex.group(1)
    assert text.startswith(f"@misc{{cip-{incident.slug},")
    assert f"howpublished = {{\\url{{{url}}}}}" in text
    assert "SecretMotive" not in text


def editor():
    return UserFactory(is_staff=True, is_superuser=True)


def test_staff_who_may_edit_see_an_edit_link(incident):
    client = Client()
    client.force_login(editor())
    html = client.get(incident.get_absolute_url()).content.decode()
    admin_url = reverse("admin:incidents_incident_change", args=[incident.pk])
    assert f'href="{admin_url}">Edit in the admin</a>' in html
    org_html = client.get(incident.organisation.get_absolute_url()).content.decode()
    org_admin = reverse("admin:incidents_organisation_change", args=[incident.organisation.pk])
    assert f'href="{org_admin}">Edit in the admin</a>' in org_html


@pytest.mark.parametrize("kind", ["anonymous", "registered", "member", "staff"])
def test_no_edit_link_for_anyone_else_even_after_an_editor_filled_the_caches(kind, incident):
    """The article is cached per audience and whole pages for visitors: the link is drawn
    around them, per request, so an editor's visit never puts it in a shared page."""
    editor_client = Client()
    editor_client.force_login(editor())
    anonymous = Client()
    anonymous.get(incident.get_absolute_url())  # a whole page cached for visitors first
    assert "Edit in the admin" in editor_client.get(incident.get_absolute_url()).content.decode()
    for url in (incident.get_absolute_url(), incident.organisation.get_absolute_url()):
        html = client_for(kind).get(url).content.decode()
        assert "Edit in the admin" not in html, (kind, url)
        assert "/admin/incidents/" not in html, (kind, url)


# Contact and corrections ------------------------------------------------------------------

FORM = {
    "topic": "correction",
    "name": "Ada Reader",
    "email": "ada@example.org",
    "page": "https://portal.example/incidents/2024-02-acme/",
    "message": "The date should be March, not February.",
}


def test_a_message_reaches_staff_by_email_through_the_job_queue(db, settings):
    settings.CONTACT_EMAIL = ""
    UserFactory(is_staff=True, email="editor@example.com")
    UserFactory(is_staff=True, email="other-editor@example.com")
    UserFactory(email="member@example.com")
    response = Client().post(reverse("contact"), FORM)
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == [
        "editor@example.com",
        "other-editor@example.com",
    ]
    message = mail.outbox[0]
    assert "A correction to an incident" in message.subject
    assert "Ada Reader <ada@example.org>" in message.body
    assert FORM["page"] in message.body
    assert FORM["message"] in message.body
    followed = Client().get(reverse("contact"))
    assert followed.status_code == 200


def test_contact_email_setting_wins(db, settings):
    settings.CONTACT_EMAIL = "corrections@portal.example"
    UserFactory(is_staff=True, email="editor@example.com")
    Client().post(reverse("contact"), FORM)
    assert [m.to for m in mail.outbox] == [["corrections@portal.example"]]


def test_a_message_with_a_newline_in_the_name_cannot_add_headers(db, settings):
    settings.CONTACT_EMAIL = "corrections@portal.example"
    Client().post(reverse("contact"), {**FORM, "name": "Ada\r\nBcc: victim@example.com"})
    for message in mail.outbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert "victim@example.com" not in message.recipients()


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "not-an-email"},
        {"message": ""},
        {"topic": "flattery"},
        {"page": "javascript:alert(1)"},
        {"message": "x" * 5001},
    ],
)
def test_bad_input_is_a_clear_400_and_sends_nothing(db, changes):
    response = Client().post(reverse("contact"), {**FORM, **changes})
    assert response.status_code == 400
    assert "Please correct the fields marked below." in response.content.decode()
    assert mail.outbox == []


def test_the_form_needs_its_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("contact"), FORM).status_code == 403
    assert mail.outbox == []


def test_messages_are_rate_limited_per_address(db, settings):
    settings.CONTACT_EMAIL = "corrections@portal.example"
    client = Client()
    statuses = [client.post(reverse("contact"), FORM).status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(mail.outbox) == 5


def test_the_topic_can_be_chosen_by_a_link(db):
    html = Client().get(reverse("contact"), {"topic": "correction"}).content.decode()
    assert '<option value="correction" selected>' in html


def test_error_pages_have_no_address_to_share(db):
    """A 404 would otherwise repeat the path asked for (a members' CSV's, say) in its head."""
    html = Client().get("/statistics/cia.csv").content.decode()
    assert 'rel="canonical"' not in html
    assert "og:url" not in html
    assert "/statistics/cia.csv" not in html


@pytest.mark.parametrize("name", ["account_login", "account_signup"])
def test_account_pages_use_the_sites_words(db, name):
    """The header says "Log in" and "Sign up"; allauth's own pages say the same."""
    html = Client().get(reverse(name)).content.decode()
    main = html.split('<main id="main"')[1]
    for other in ("Sign In", "Sign in", "sign in", "Sign Up", "Signup"):
        assert other not in html, other
    assert ("Log in" if name == "account_login" else "Sign up") in main
