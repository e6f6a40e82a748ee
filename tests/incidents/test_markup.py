"""Descriptions are Markdown, rendered through a sanitiser: nobody can plant script in them."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from incidents.markup import ALLOWED_TAGS, render_markdown
from tests.factories import IncidentFactory, ThreatActorFactory, UserFactory

HOSTILE = (
    "Intro with **bold** and a [report](https://example.com/r).\n\n"
    "<script>alert('x')</script>\n\n"
    '<img src=x onerror="alert(1)"> <a href="javascript:alert(2)">click</a> '
    '<a href="https://example.com" onclick="alert(3)">ok</a>\n\n'
    "<style>body{display:none}</style><iframe src='https://evil.example'></iframe>\n\n"
    "[md link](javascript:alert(4)) [data](data:text/html,<b>x</b>) ![pixel](https://t.example/p.png)\n\n"
    "# Big heading\n\n- one\n- two\n"
)


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html):
    parser = Elements()
    parser.feed(html)
    return parser.found


def assert_harmless(html):
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, tag
        assert not [name for name in attrs if name.startswith("on") or name == "style"], attrs
        href = attrs.get("href") or ""
        assert href.startswith(("https://", "http://", "mailto:")) or not href, href


def test_markdown_is_rendered_and_hostile_markup_removed():
    html = render_markdown(HOSTILE)
    assert_harmless(html)
    tags = [tag for tag, _ in elements(html)]
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com/r"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    assert "<h3>Big heading</h3>" in html
    assert "<li>one</li>" in html
    # Raw HTML is shown as text, escaped.
    assert "&lt;script&gt;" in html


def test_plain_text_keeps_its_line_breaks_and_angle_brackets():
    html = render_markdown("Actor: <unknown>\nVector: email & web")
    assert html == "<p>Actor: &lt;unknown&gt;<br>\nVector: email &amp; web</p>"


@pytest.mark.django_db
def test_incident_page_shows_sanitised_description():
    incident = IncidentFactory(description=HOSTILE)
    body = Client().get(incident.get_absolute_url()).content.decode()
    assert "<strong>bold</strong>" in body
    description = body.split('id="description-h"', 1)[1].split("</section>", 1)[0]
    assert_harmless(description.split(">", 1)[1])


@pytest.mark.django_db
def test_actor_page_shows_sanitised_description_to_members():
    actor = ThreatActorFactory(description=HOSTILE)
    incident = IncidentFactory()
    incident.threat_actors.add(actor)
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    body = client.get(actor.get_absolute_url()).content.decode()
    assert "<strong>bold</strong>" in body
    for tag, attrs in elements(body):
        assert tag not in ("iframe", "style", "object", "embed"), tag
        if tag in ("script", "img"):
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        assert not [name for name in attrs if name.startswith("on")], attrs
        assert not (attrs.get("href") or "").startswith(("javascript:", "data:"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`a<b`", "<p><code>a&lt;b</code></p>"),
        ("Run `x && y > z` first", "<p>Run <code>x &amp;&amp; y &gt; z</code> first</p>"),
        ("    if a < b & c:", "<pre><code>if a &lt; b &amp; c:\n</code></pre>"),
        ("`&lt;`", "<p><code>&amp;lt;</code></p>"),
    ],
)
def test_code_is_escaped_once(text, expected):
    assert render_markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Character references are read as Markdown reads them: the characters, as text.
        ("&lt;b&gt; &amp; &#60;script&#62;", "<p>&lt;b&gt; &amp; &lt;script&gt;</p>"),
        (
            "<https://example.com> <a@example.com>",
            ("<p>&lt;https://example.com&gt; &lt;a@example.com&gt;</p>"),
        ),
        (
            "<b>bold?</b>\n\n<div>\n*x*\n</div>",
            (
                "<p>&lt;b&gt;bold?&lt;/b&gt;</p>\n<p>&lt;div&gt;<br>\n<em>x</em><br>\n&lt;/div&gt;</p>"
            ),
        ),
    ],
)
def test_entities_autolinks_and_raw_html_are_text(text, expected):
    assert render_markdown(text) == expected


def test_character_references_cannot_smuggle_a_link_scheme():
    html = render_markdown("[a](jav&#x61;script:alert(1)) [b](&#106;avascript:alert(2))")
    assert_harmless(html)
    assert "javascript" not in html.lower()
