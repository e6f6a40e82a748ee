"""Reading the incident finder's pages in tests."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="PostgreSQL full-text search (trigger-kept search_vector, websearch syntax, ranking, "
    "headlines, pg_trgm); SQLite runs the documented plain-word fallback instead",
)
RAW_SCRIPT_RE = re.compile(r"<script(?!\s+src=\"/static/)", re.IGNORECASE)
ROWS_RE = re.compile(r'<ol class="incident-list">(.*?)</ol>', re.S)
ROW_LINK_RE = re.compile(r'<li class="incident-row">.*?<a href="/incidents/([^/"]+)/"', re.S)


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
