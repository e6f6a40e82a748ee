"""The canary crawl of tests/test_canary.py with the caches full: staff and a member crawl
first (they must find every canary; only staff the drafts) and so fill every page, fragment,
count and choice list cached for their audiences. Then each non-member crawls the same
caches: nothing of the members' may be served to them, and their crawl must reach every
named page of the portal and read every channel that could carry catalogue data.

One test, not one per viewer: the members' crawls are what fills the caches, and crawling
them once for all non-members keeps this file at five crawls instead of fourteen.
"""

import contextlib

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from tests.conftest import NON_MEMBERS, client_for
from tests.test_canary import (
    READ_BY_EVERY_NON_MEMBER,
    READ_BY_SIGNED_IN_NON_MEMBERS,
    assert_no_canary_reached,
    canaries,  # noqa: F401 (the fixture)
    crawl,
)


def assert_members_find_every_canary(kind, responses, canaries):  # noqa: F811
    everything = b"".join(r.body for r in responses.values())
    for canary in canaries["gated"]:
        assert canary.encode() in everything, f"{kind} never sees {canary!r}"
    for actor_path, linked in canaries["actor_links"]:
        for text in linked:
            assert text.encode() in responses[actor_path].body, (kind, actor_path, text)
    # The actor of two incidents: members read its timeline.
    assert b'id="timeline-h"' in responses[canaries["actor_links"][-1][0]].body, kind
    draft_seen = all(c.encode() in everything for c in canaries["draft"])
    assert draft_seen == (kind == "staff"), kind
    # A response holding a gated value must never be kept by a shared (proxy) cache.
    for path, response in responses.items():
        if any(c.encode() in response.body for c in canaries["gated"]):
            cache_control = response.get("Cache-Control", "")
            assert "private" in cache_control or "no-store" in cache_control, (kind, path)
            assert "Cookie" in response.get("Vary", ""), (kind, path)


def named_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            if p.app_name in ("admin",) or "allauth" in str(p.urlconf_name):
                continue
            yield from named_patterns(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + p.name


def assert_crawl_covers_every_page(kind, responses):
    reached, read = set(), set()
    for path, response in responses.items():
        with contextlib.suppress(Resolver404):
            name = resolve(path.split("?")[0]).view_name
            reached.add(name)
            if response.status_code == 200:
                read.add(name)
    assert set(named_patterns()) - reached == set(), kind
    must_read = READ_BY_EVERY_NON_MEMBER
    if kind != "anonymous":
        must_read = must_read | READ_BY_SIGNED_IN_NON_MEMBERS
    assert must_read - read == set(), kind


def test_members_crawl_first_then_no_canary_reaches_a_non_member(canaries, settings):  # noqa: F811
    # The three non-members crawl from one address within a minute: the API's limit per
    # address (tested in tests/incidents/api) would answer their later requests with 429s.
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 10_000
    for kind in ("staff", "member"):
        responses = crawl(client_for(kind), include_admin=False)
        assert_members_find_every_canary(kind, responses, canaries)
    for kind in NON_MEMBERS:
        responses = crawl(client_for(kind), include_admin=False)
        assert_no_canary_reached(kind, responses, canaries)
        assert_crawl_covers_every_page(kind, responses)
