"""Reading the incident finder's pages in tests."""

import html as html_lib
import re
from urllib.parse import parse_qsl

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from incidents.filters import MemberFinderForm, PublicFinderForm

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="PostgreSQL full-text search (trigger-kept search_vector, websearch syntax, ranking, "
    "headlines, pg_trgm); SQLite runs the documented plain-word fallback instead",
)
RAW_SCRIPT_RE = re.compile(r"<script(?!\s+src=\"/static/)", re.IGNORECASE)
ROWS_RE = re.compile(r'<ol class="incident-list">(.*?)</ol>', re.S)
ROW_LINK_RE = re.compile(r'<li class="incident-row">.*?<a href="/incidents/([^/"]+)/"', re.S)
PUBLIC_NAMES = list(PublicFinderForm.base_fields)
MEMBER_NAMES = list(MemberFinderForm.base_fields)
CSRF_RE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
QUERY_LINK_RE = re.compile(r'href="\?([^"]*)"')
CONTROL_RE = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.IGNORECASE)
CHIP_RE = re.compile(
    r'<li><span>([^<]*)</span> <a href="\?([^"]*)" aria-label="Remove ([^"]*)">', re.S
)
LEAD_RE = re.compile(r'<p class="lead">(.*?)</p>', re.S)
SORTED_BY = {
    "relevance": "Sorted by relevance.",
    "newest": "Sorted by newest first.",
    "oldest": "Sorted by oldest first.",
    "records": "Sorted by records affected.",
    "lag": "Sorted by longest disclosure lag.",
    "lag-shortest": "Sorted by shortest disclosure lag.",
}


def list_url():
    return reverse("incidents:incident_list")


def fetch(client, params=None, *, cached=False):
    """GET the incident list. The finder's HTML is cached per audience and canonical query
    (incidents.caching); unless ``cached``, start cold so that this request renders it."""
    if not cached:
        cache.clear()
    return client.get(list_url(), params or {})


def slugs_on(response):
    """The slugs of the incidents listed on the page, in page order."""
    listing = ROWS_RE.search(response.content.decode())
    return ROW_LINK_RE.findall(listing.group(1)) if listing else []


def found(response, world):
    """The letters (A, B, ...) of the incidents on the page, in page order."""
    assert response.status_code == 200, response.status_code
    return "".join(world.by_slug[slug] for slug in slugs_on(response))


def sorted_by(response):
    lead = LEAD_RE.search(response.content.decode()).group(1)
    return next(sort for sort, text in SORTED_BY.items() if text in lead)


# The notice a non-member gets when the link they opened holds members' filters.
IGNORED_NOTICE_RE = re.compile(
    r'<div class="notice members-filters-ignored" role="status">.*?</div>'
)


def body(response):
    """The page without the per-render masked CSRF tokens."""
    return CSRF_RE.sub(r"\1-\2", response.content.decode())


def ignored_notice(response):
    """The members' filters notice on the page, or None."""
    match = IGNORED_NOTICE_RE.search(response.content.decode())
    return match.group(0) if match else None


def body_without_notice(response):
    return IGNORED_NOTICE_RE.sub("", body(response))


def query_links(response):
    """Every "?..." link on the page, parsed into a list of (key, value) pairs."""
    return [
        parse_qsl(html_lib.unescape(m), keep_blank_values=True)
        for m in QUERY_LINK_RE.findall(response.content.decode())
    ]


def applied(response):
    """[(label, shown value, remove-link params)] of the applied-filter chips."""
    chips = []
    for span, link, label in CHIP_RE.findall(response.content.decode()):
        label = html_lib.unescape(label)
        shown = html_lib.unescape(span).removeprefix(label + ": ")
        chips.append((label, shown, dict(parse_qsl(html_lib.unescape(link), True))))
    return chips


def chips(response):
    """{label: remove-link params} of the applied-filter chips."""
    return {label: rest for label, _shown, rest in applied(response)}


def next_link(response):
    match = re.search(r'rel="next" href="\?([^"]*)"', response.content.decode())
    return html_lib.unescape(match.group(1)) if match else None
