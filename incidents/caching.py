"""Sharing rendered catalogue pages between viewers of the same kind, never across kinds.

A page part is cached under (audience, catalogue version, key). The audience is
"public" (anyone who is not a member), "member" or "staff" (members who also see
drafts), decided by accounts.access.is_member, so a members' page can never be
served to a non-member; whole pages are cached for "anonymous" visitors only. Any
change to catalogue data bumps the version (signals here; bulk writers write inside
services.catalogue_write, which bumps on commit), so nothing stale is served.

Two stores (settings.CACHES): "pages" holds pages, fragments and counts (Redis, or
this process's memory); "default" is shared by every process and never filled with
pages (rate limits, used two-factor codes). The catalogue version lives where every
process reads it: beside the pages when they are in Redis, in "default" otherwise, so
a process-local page cache is still never stale.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpResponse
from django.template.loader import render_to_string

from accounts.access import is_member, sees_drafts

from . import db_router

logger = logging.getLogger(__name__)

VERSION_KEY = "incidents:catalogue-version"
WITHDRAWAL_KEY = "incidents:withdrawal-version"
PAGE_TIMEOUT = 300


def pages():
    return caches["pages"]


def shared_state():
    """The store every process reads: the catalogue version and the replica-lag window."""
    page_cache = caches["pages"]
    return page_cache if isinstance(page_cache, RedisCache) else caches["default"]


def audience(user) -> str:
    if sees_drafts(user):
        return "staff"
    return "member" if is_member(user) else "public"


def _fresh_version() -> int:
    # Random, never a counter: a version is never used twice, even if the key was
    # evicted or two writers bumped at once (a database cache's incr is not atomic).
    return secrets.randbits(62)


# Within one request the version is read once (CatalogueVersionMiddleware); elsewhere
# (commands, shells) it is read on every use.
_request_memo: ContextVar[dict | None] = ContextVar("catalogue_version_memo", default=None)


def request_memo() -> dict | None:
    return _request_memo.get()


def catalogue_version() -> int:
    return _shared_version(VERSION_KEY, "version")


def withdrawal_version() -> int:
    """Changes whenever something visible may have stopped being visible (``withdraw``):
    what was counted before may then name or count what a viewer must no longer see."""
    return _shared_version(WITHDRAWAL_KEY, "withdrawal")


def _shared_version(key: str, memo_name: str) -> int:
    memo = _request_memo.get()
    if memo is not None and memo_name in memo:
        return memo[memo_name]
    state = shared_state()
    version = state.get(key)
    if version is None:
        state.add(key, _fresh_version(), timeout=None)
        version = state.get(key)
        if version is None:  # a cache that keeps nothing (Redis down): a version no
            version = _fresh_version()  # page is stored under, once per request
    if memo is not None:
        memo[memo_name] = version
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


def _new_version():
    db_router.mark_written()
    _set_version(VERSION_KEY, "version")


def withdraw(**kwargs):
    """Something visible may have stopped being visible: an incident unpublished or deleted,
    a victim renamed, deleted or left without its incidents. Counts made before (the
    statistics roll-ups) may no longer be shown, even briefly, to anyone. Now and again on
    commit, as ``bump``; a catalogue write that withdraws calls both. On commit, the roll-ups
    too slow to count in a request are queued for a recount."""
    _set_version(WITHDRAWAL_KEY, "withdrawal")
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _set_version(WITHDRAWAL_KEY, "withdrawal"))
    # Robust: the write has committed; a queue that cannot be reached now is reached by the
    # first reader of each of those roll-ups.
    transaction.on_commit(_queue_slow_recounts, robust=True)


def _queue_slow_recounts():
    from .statistics import rollups

    rollups.queue_slow_recounts()


def _set_version(key: str, memo_name: str):
    version = _fresh_version()
    shared_state().set(key, version, timeout=None)
    memo = _request_memo.get()
    if memo is not None:
        memo[memo_name] = version


@contextmanager
def one_version():
    """Read the catalogue version at most once in this block, as in a request: for work
    outside requests that runs many finder queries (the alert matcher)."""
    token = _request_memo.set({})
    try:
        yield
    finally:
        _request_memo.reset(token)


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
    return pages().get_or_set(key(kind, viewer_audience, *parts), compute, timeout)


def cached_once(kind: str, viewer_audience: str, parts, compute, timeout=PAGE_TIMEOUT):
    """Like ``cached``, for a ``compute()`` that takes seconds (a count over a million
    incidents), computed ``once`` however many ask at the same time: a popular link would
    otherwise start one count per reader."""
    full_key = key(kind, viewer_audience, *parts)
    value = pages().get(full_key)
    if value is not None:
        return value

    def compute_and_keep():
        value = compute()
        pages().set(full_key, value, timeout)
        return value

    return once(f"{full_key}:computing", compute_and_keep, lambda: pages().get(full_key))


def once(lock: str, compute, ready=None, *, hold: int = 0):
    """``compute()``, unless another process holds ``lock`` (is computing the same thing):
    then poll ``ready()`` for its result, up to ``ONCE_WAIT`` seconds (below the web
    server's timeout; then compute too: a computation that died must not stall every
    reader), or, with no ``ready``, None at once (the job queue skips work under way).
    The lock lapses after ``hold`` seconds (default ``ONCE_LOCK``), in case its holder died."""
    mine = pages().add(lock, 1, hold or ONCE_LOCK)
    if not mine:
        if ready is None:
            return None
        deadline = time.monotonic() + ONCE_WAIT
        while time.monotonic() < deadline:
            _sleep(ONCE_STEP)
            value = ready()
            if value is not None:
                return value
    try:
        return compute()
    finally:
        if mine:
            pages().delete(lock)


def enqueue_once(marker: str, seconds: int, task, *args):
    """``task.enqueue(*args)``, unless ``marker`` was set within ``seconds`` (one queued at a
    time, however many readers ask). The task's result; None when not enqueued: asked for
    already, the shared cache unavailable (it could not tell, and every request would queue
    one), or the queue unreachable (logged; the marker is cleared, so the next reader asks)."""
    store = pages()
    if not store.add(marker, 1, seconds):
        return None
    if getattr(store, "is_down", lambda: False)():
        return None
    try:
        return task.enqueue(*args)
    except Exception:
        store.delete(marker)
        logger.exception("Could not enqueue %s%r", task.name, args)
        return None


ONCE_LOCK = 120  # the longest computation (a count at a million incidents, under load)
ONCE_WAIT = 20
ONCE_STEP = 0.2
_sleep = time.sleep  # tests replace it to play the other process


def cached_for(kind: str, viewer_audience: str, parts, compute):
    """Like ``cached``, for ``compute()`` returning ``(value, seconds to keep it)``; returns
    the pair (a page built from stale statistics is kept briefly: statistics.rollups)."""
    full_key = key(kind, viewer_audience, *parts)
    pair = pages().get(full_key)
    if pair is None:
        pair = compute()
        pages().set(full_key, pair, pair[1])
    return pair


class ProcessMemory:
    """This process's memory of at most ``size`` values, least recently used forgotten
    first; safe to share between threads. For values every request needs, kept under
    keys that change when what they are computed from changes."""

    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_or_set(self, key, compute):
        """The value remembered under ``key``, else ``compute()``, remembered."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value


_local = ProcessMemory(256)


def cached_locally(kind: str, viewer_audience: str, parts, compute, timeout=PAGE_TIMEOUT):
    """Like ``cached``, with a copy in this process's memory too: for small values that
    every request needs (a form's choices). The key holds the catalogue version, so a
    change anywhere makes every process read afresh."""
    full_key = key(kind, viewer_audience, *parts)
    return _local.get_or_set(full_key, lambda: pages().get_or_set(full_key, compute, timeout))


# Names a shared fragment may never hold: each is one viewer's (their identity, their
# CSRF token, their permissions), and the fragment is served to many viewers.
VIEWER_NAMES = frozenset({"request", "user", "csrf_token", "perms"})


class ViewerDataInSharedFragment(ValueError):
    pass


def render_shared(template_name: str, context: dict, **flags) -> str:
    """Render a fragment that many viewers share, without the request.

    No context processor runs, so nothing of the viewer's reaches the template but
    ``flags``: the per-viewer differences the caller names (and puts in the cache key),
    such as ``signed_in=True``. The context and flags may not carry the request, the
    user, a CSRF token or permissions.
    """
    refused = VIEWER_NAMES.intersection(context).union(VIEWER_NAMES.intersection(flags))
    if refused:
        raise ViewerDataInSharedFragment(
            f"A shared fragment ({template_name}) must not hold {', '.join(sorted(refused))}."
        )
    return render_to_string(template_name, {**context, **flags})


class WholePage:
    """A page's HTML cached whole for anonymous visitors (the same bytes for all of them).

    Signed-in viewers' pages carry their name and a CSRF token in the header, and a
    visitor with a message waiting (say, "You have signed out.") must see it: their
    pages are rendered for the request every time. ``parts`` must hold everything the
    page is rendered from besides the catalogue (the canonical query, the slug)::

        page = WholePage(request, "incident", [slug])
        if page.html is not None:
            return page.response()
        ...
        return page.render("incidents/incident_detail.html", context)
    """

    def __init__(self, request, kind: str, parts):
        self.request = request
        self.shared = not (request.user.is_authenticated or len(get_messages(request)))
        self.key = key(f"{kind}-page", "anonymous", *parts) if self.shared else None
        self.html = pages().get(self.key) if self.shared else None

    def response(self) -> HttpResponse:
        return HttpResponse(self.html)

    def render(
        self, template_name: str, context: dict, status: int = 200, timeout: int = PAGE_TIMEOUT
    ) -> HttpResponse:
        html = render_to_string(template_name, context, self.request)
        # A page that used the visitor's CSRF token is theirs alone: never stored.
        if self.shared and status == 200 and not self.request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            pages().set(self.key, html, timeout)
        return HttpResponse(html, status=status)


def unavailable(response: HttpResponse, retry_after: int | None) -> HttpResponse:
    """``response`` as a 503 with ``Retry-After``, kept by no cache, when ``retry_after`` is
    set: a page whose main part cannot be given just now (statistics being recounted), so
    crawlers come back rather than index it; ``response`` as it is otherwise."""
    if retry_after is not None:
        response.status_code = 503
        response["Retry-After"] = str(retry_after)
        response["Cache-Control"] = "no-store"
        # Expected and temporary, not a server error: kept out of django.request's ERROR
        # log (which alerting reads); the request log line still shows the 503.
        response._has_been_logged = True
    return response


# The shape of ViewerPage's stored shell: bumped when it changes, since old and new workers
# share the cache during a rolling deploy (a worker must never read a shape it cannot use).
SHELL_FORMAT = 2

# base.html's parts that are one viewer's: who is signed in (with their CSRF token) and
# their messages. ViewerPage renders them for each request around a shared page.
VIEWER_PARTS = {"account": "includes/_account_nav.html", "messages": "includes/_messages.html"}


class ViewerPage(WholePage):
    """A page that is the same for every viewer of one audience but for base.html's
    viewer parts (VIEWER_PARTS).

    Anonymous visitors with no message waiting get the whole page (``WholePage``).
    Anyone else gets the page of their audience, rendered once with ``render_shared``
    (no request: the viewer's parts left as marked slots) and cached like the context
    it is rendered from, and only their own parts rendered for their request. A member's
    statistics page is ~300 KB: rendering it around the viewer's header, or reading its
    context, on every request was what a member's page cost (docs/performance.md)::

        page = ViewerPage(request, "statistics", [query])
        if page.html is not None:
            return page.response()
        return page.render_for("incidents/statistics/statistics.html", audience, context)

    ``context()`` returns (the page's context, seconds it may be kept); it is called once
    per audience, ``parts`` and catalogue version while cached, and holds nothing of a
    viewer's (render_shared refuses it). A context with ``retry_after`` (seconds) is a page
    that cannot be given whole just now (its statistics are being recounted): ``unavailable``.
    """

    def __init__(self, request, kind: str, parts):
        super().__init__(request, kind, parts)
        self.kind = kind
        self.parts = list(parts)

    def render_for(self, template_name: str, viewer_audience: str, context) -> HttpResponse:
        if self.shared:
            page_context, timeout = cached_for(
                f"{self.kind}-context", viewer_audience, self.parts, context
            )
            retry_after = page_context.get("retry_after")
            status = 200 if retry_after is None else 503
            return unavailable(
                self.render(template_name, page_context, status=status, timeout=timeout),
                retry_after,
            )
        path = self.request.path
        (pieces, retry_after), _timeout = cached_for(
            f"{self.kind}-shell-{SHELL_FORMAT}",
            viewer_audience,
            [*self.parts, path],
            lambda: self._shell(template_name, viewer_audience, context, path),
        )
        response = HttpResponse(b"".join(self._filled(pieces)))
        return unavailable(response, retry_after)

    def _shell(self, template_name, viewer_audience, context, path):
        """The page with a slot for each viewer part: (text, part name, text, ...) as
        bytes and names, with the context's ``retry_after``; and how long it may be kept."""
        page_context, timeout = cached_for(
            f"{self.kind}-context", viewer_audience, self.parts, context
        )
        # base.html marks each slot <!--viewer-part-TOKEN:name-->, with a token no
        # catalogue text can hold, so only its slots are filled.
        token = secrets.token_hex(16)
        mark = f"<!--viewer-part-{token}:"
        html = render_shared(
            template_name,
            page_context,
            viewer_slot=token,
            page_path=path,
            site_url=settings.SITE_URL,
        )
        first, *rest = html.split(mark)
        pieces = [first.encode()]
        for piece in rest:
            name, text = piece.split("-->", 1)
            pieces += [name, text.encode()]
        return (tuple(pieces), page_context.get("retry_after")), timeout

    def _filled(self, pieces):
        for i, piece in enumerate(pieces):
            if i % 2:
                yield render_to_string(VIEWER_PARTS[piece], None, self.request).encode()
            else:
                yield piece


def connect_signals():
    from . import models

    for model in (
        models.Incident,
        models.Organisation,
        models.ThreatActor,
        models.Source,
        models.CIAPosture,
        # Incident.techniques' through model: the admin's inline saves its rows one by one
        # (incident.techniques.add()/set() send m2m_changed, below).
        models.IncidentTechnique,
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

    pre_save.connect(_note_withdrawal, sender=models.Incident, dispatch_uid="withdraw-incident")
    pre_save.connect(
        _note_withdrawal, sender=models.Organisation, dispatch_uid="withdraw-organisation"
    )
    post_save.connect(_withdraw_noted, sender=models.Incident, dispatch_uid="withdrawn-incident")
    post_save.connect(
        _withdraw_noted, sender=models.Organisation, dispatch_uid="withdrawn-organisation"
    )
    for model in (models.Incident, models.Organisation):
        post_delete.connect(
            withdraw, sender=model, dispatch_uid=f"withdraw-delete-{model.__name__}"
        )


# What a saved change to an existing row may take away from the public: an incident leaving
# the published ones or its victim (who may have no other published incident), a victim's
# name or country.
_WITHDRAWING_FIELDS = {
    "Incident": ("status", "organisation_id"),
    "Organisation": ("name", "country"),
}


def _note_withdrawal(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    fields = _WITHDRAWING_FIELDS[sender.__name__]
    before = sender._base_manager.filter(pk=instance.pk).values(*fields).first()
    instance._withdraws = before is not None and any(
        before[name] != getattr(instance, name) for name in fields
    )


def _withdraw_noted(sender, instance, **kwargs):
    if getattr(instance, "_withdraws", False):
        instance._withdraws = False
        withdraw()


def _bump_after_m2m(action, **kwargs):
    # m2m_changed fires before and after each add, remove and clear: bump once, after.
    if action.startswith("post_"):
        bump()
