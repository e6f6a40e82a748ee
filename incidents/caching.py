"""Sharing rendered catalogue pages between viewers of the same kind, never across kinds.

A page part is cached under (audience, catalogue version, key). The audience is
"public" (anyone who is not a member), "member" or "staff" (members who also see
drafts), decided by accounts.access.is_member, so a members' page can never be
served to a non-member; whole pages are cached for "anonymous" visitors only. Any
change to catalogue data bumps the version (signals here; importers call ``bump``
after their bulk writes), so nothing stale is served.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from contextvars import ContextVar

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from accounts.access import is_member, sees_drafts

VERSION_KEY = "incidents:catalogue-version"
PAGE_TIMEOUT = 300


def audience(user) -> str:
    if sees_drafts(user):
        return "staff"
    return "member" if is_member(user) else "public"


def _fresh_version() -> int:
    # Random, not 1: if the version key was evicted, pages cached under an old version
    # must never be found again.
    return secrets.randbits(62)


# Within one request the version is read once (CatalogueVersionMiddleware); elsewhere
# (commands, shells) it is read on every use.
_request_memo: ContextVar[dict | None] = ContextVar("catalogue_version_memo", default=None)


def catalogue_version() -> int:
    memo = _request_memo.get()
    if memo is not None and "version" in memo:
        return memo["version"]
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _fresh_version(), timeout=None)
        version = cache.get(VERSION_KEY)
        if version is None:  # a cache that keeps nothing (Redis down): a version no
            version = _fresh_version()  # page is stored under, once per request
    if memo is not None:
        memo["version"] = version
    return version


def bump(**kwargs):
    """Invalidate every cached catalogue page (after any change to catalogue data).

    At once, so the rest of this request sees its own change, and again when the
    transaction commits: a page another request cached in between, from the data as
    it was before the commit, must not outlive it.
    """
    _new_version()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_new_version)


RECENT_WRITE_KEY = "incidents:recent-write"
# How far a read replica may lag behind: catalogue reads stay on the primary this long
# after a write (portal.db_router), so no page is cached from data older than the write.
REPLICA_LAG_SECONDS = 15


def recently_written() -> bool:
    """A catalogue write committed within REPLICA_LAG_SECONDS (read once per request)."""
    memo = _request_memo.get()
    if memo is not None and "recent-write" in memo:
        return memo["recent-write"]
    recent = cache.get(RECENT_WRITE_KEY) is not None
    if memo is not None:
        memo["recent-write"] = recent
    return recent


def _new_version():
    cache.set(RECENT_WRITE_KEY, 1, timeout=REPLICA_LAG_SECONDS)
    try:
        version = cache.incr(VERSION_KEY)
    except ValueError:
        version = _fresh_version()
        cache.set(VERSION_KEY, version, timeout=None)
    memo = _request_memo.get()
    if memo is not None:
        memo["version"] = version
        memo["recent-write"] = True


class CatalogueVersionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_memo.set({})
        try:
            return self.get_response(request)
        finally:
            _request_memo.reset(token)


def key(kind: str, viewer_audience: str, *parts) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
    return f"incidents:{kind}:{viewer_audience}:{catalogue_version()}:{digest}"


def cached(kind: str, viewer_audience: str, parts, compute, timeout=PAGE_TIMEOUT):
    """``compute()``, shared by every viewer of one audience until the catalogue changes."""
    return cache.get_or_set(key(kind, viewer_audience, *parts), compute, timeout)


_LOCAL_MAX = 256
_local: OrderedDict[str, object] = OrderedDict()
_local_lock = threading.Lock()


def cached_locally(kind: str, viewer_audience: str, parts, compute, timeout=PAGE_TIMEOUT):
    """Like ``cached``, with a copy in this process's memory too: for small values that
    every request needs (a form's choices). The key holds the catalogue version, so a
    change anywhere makes every process read afresh."""
    full_key = key(kind, viewer_audience, *parts)
    with _local_lock:
        if full_key in _local:
            _local.move_to_end(full_key)
            return _local[full_key]
    value = cache.get_or_set(full_key, compute, timeout)
    with _local_lock:
        _local[full_key] = value
        while len(_local) > _LOCAL_MAX:
            _local.popitem(last=False)
    return value


def whole_page(request, kind, parts, render_page):
    """The page's HTML: for anonymous visitors, cached whole (the same bytes for all of them).

    Signed-in viewers' pages carry their name and a CSRF token in the header, and a
    visitor with a message waiting (say, "You have signed out.") must see it: both are
    rendered for the request. ``render_page`` must render from ``parts`` and the audience
    alone (no query string beyond what ``parts`` holds).
    """
    if request.user.is_authenticated or len(get_messages(request)):
        return render_page()
    return cached(f"{kind}-page", "anonymous", parts, render_page)


def connect_signals():
    from . import models

    for model in (
        models.Incident,
        models.Organisation,
        models.ThreatActor,
        models.Source,
        models.CIAPosture,
        models.Motive,
        models.Technique,
        models.Tactic,
        models.Sector,
        models.ActorType,
        models.Dataset,
    ):
        post_save.connect(bump, sender=model, dispatch_uid=f"bump-save-{model.__name__}")
        post_delete.connect(bump, sender=model, dispatch_uid=f"bump-delete-{model.__name__}")
    for through in (
        models.Incident.motives.through,
        models.Incident.techniques.through,
        models.Incident.threat_actors.through,
        models.Technique.tactics.through,
    ):
        m2m_changed.connect(
            _bump_after_m2m, sender=through, dispatch_uid=f"bump-m2m-{through.__name__}"
        )


def _bump_after_m2m(action, **kwargs):
    # m2m_changed fires before and after each add, remove and clear: bump once, after.
    if action.startswith("post_"):
        bump()


class InvalidatesCatalogueCache:
    """For commands that write catalogue data in bulk (no model signals): bump at the end."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        finally:
            bump()
