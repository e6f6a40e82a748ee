"""Descriptions are Markdown, rendered through a sanitiser: nobody can plant script in them."""

import pytest
from django.test import Client

from incidents.markup import render_markdown
from tests.factories import IncidentFactory, ThreatActorFactory, UserFactory

HOSTILE = (
    "Intro with **bold** and a [report](https://example.com/r).\n\n"
    "<script>alert('x')</script>\n\n"
    '<img src=x onerror="alert(1)"> <a href="javascript:alert(2)">click</a> '
    '<a href="https://example.com" onclick="alert(3)">ok</a>\n\n'
    "<style>body{display:none}</style><iframe src='https://evil.example'></iframe>\n\n"
    "# Big heading\n\n- one\n- two\n"
)


def assert_harmless(html):
    lowered = html.lower()
    for marker in ("<script", "alert(", "onerror", "onclick", "javascript:", "<style", "<iframe",
                   "<img", "<h1", "<h2"):  # fmt: skip
        assert marker not in lowered, marker


def test_markdown_is_rendered_and_hostile_markup_removed():
    html = render_markdown(HOSTILE)
    assert_harmless(html)
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com/r"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    assert "<h3>Big heading</h3>" in html
    assert "<li>one</li>" in html


@pytest.mark.django_db
def test_incident_page_shows_sanitised_description():
    incident = IncidentFactory(description=HOSTILE)
    body = Client().get(incident.get_absolute_url()).content.decode()
    assert "<strong>bold</strong>" in body
    description = body.split('id="description-h"', 1)[1].split("</section>", 1)[0]
    assert_harmless(description)


@pytest.mark.django_db
def test_actor_page_shows_sanitised_description_to_members():
    actor = ThreatActorFactory(description=HOSTILE)
    incident = IncidentFactory()
    incident.threat_actors.add(actor)
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    body = client.get(actor.get_absolute_url()).content.decode()
    assert "<strong>bold</strong>" in body
    assert "alert(" not in body
