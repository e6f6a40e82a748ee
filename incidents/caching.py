"""Sharing rendered catalogue pages between viewers of the same kind, never across kinds.

A page part is cached under (audience, catalogue version, key). The audience is
"public" (anyone who is not a member), "member" or "staff" (members who also see
drafts), decided by accounts.access.is_member, so a members' page can never be
served to a non-member; whole pages are cached for "anonymous" visitors only. The
catalogue version (portal.versions) is a database row that triggers change in every
catalogue writer's transaction, so nothing stale is served and no writer can forget.

Two stores (settings.CACHES): "pages" holds pages, fragments and counts (Redis, or
this process's memory); "default" is shared by every process and never filled with
pages (rate limits, used two-factor codes).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.http import HttpResponse
from django.template.loader import render_to_string

from accounts.access import is_member, sees_drafts
from portal import locks, versions

logger = logging.getLogger(__name__)

PAGE_TIMEOUT = 300


def pages():
    return caches["pages"]


def audience(user) -> str:
    if sees_drafts(user):
        return "staff"
    return "member" if is_member(user) else "public"


def key(kind: str, viewer_audience: str, *parts) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
    return f"incidents:{kind}:{viewer_audience}:{versions.catalogue()}:{digest}"


def cached(
    kind: str,
    viewer_audience: str,
    parts,
    compute,
    timeout=PAGE_TIMEOUT,
    *,
    single_flight: bool = False,
    local: bool = False,
):
    """``compute()``, shared by every viewer of one audience until the catalogue changes.

    - ``timeout``: seconds, or a function of the value that says how long to keep it (a
      page built from stale statistics is kept briefly: statistics.rollups);
    - ``single_flight``: for a ``compute()`` that takes seconds (a count over a million
      incidents): computed ``once`` however many ask at the same time, the others wait for
      its value, as a popular link would otherwise start one count per reader;
    - ``local``: kept in this process's memory (the "local" cache) instead of the shared
      one, for small values every request needs (a form's choices, a checked query): no
      round trip to Redis; each process computes them once per catalogue version.
    """
    full_key = key(kind, viewer_audience, *parts)
    store = caches["local"] if local else pages()
    value = store.get(full_key)
    if value is None:

        def compute_and_keep():
            value = compute()
            store.add(full_key, value, timeout(value) if callable(timeout) else timeout)
            return value

        # A store that keeps nothing (PAGES_CACHE_OFF) could never hand the value on.
        if single_flight and not isinstance(store, DummyCache):
            value = once(f"{full_key}:computing", compute_and_keep, lambda: store.get(full_key))
        else:
            value = compute_and_keep()
    return value


def once(lock: str, compute, ready=None, *, hold: int = 0):
    """``compute()``, unless another process holds ``lock`` (is computing the same thing):
    then poll ``ready()`` for its result, up to ``ONCE_WAIT`` seconds (below the web
    server's timeout; then compute too: a computation that died must not stall every
    reader), or, with no ``ready``, None at once (the job queue skips work under way).
    The lock (``portal.locks.held``) lapses after ``hold`` seconds (default ``ONCE_LOCK``)
    where it can outlive a holder that died (Redis)."""
    with locks.held(lock, hold or ONCE_LOCK) as mine:
        if mine:
            return compute()
    if ready is None:
        return None
    deadline = time.monotonic() + ONCE_WAIT
    while time.monotonic() < deadline:
        _sleep(ONCE_STEP)
        value = ready()
        if value is not None:
            return value
    return compute()


def enqueue_once(marker: str, seconds: int, task, *args):
    """``task.enqueue(*args)``, unless ``marker`` was claimed within ``seconds`` (one queued
    at a time, however many readers ask; ``portal.locks.claim``, ended early by
    ``locks.unclaim`` when the work is done). The task's result; None when not enqueued:
    asked for already, the shared cache unavailable (it could not tell, and every request
    would queue one), or the queue unreachable (logged; the claim is ended, so the next
    reader asks)."""
    if not locks.claim(marker, seconds):
        return None
    try:
        return task.enqueue(*args)
    except Exception:
        locks.unclaim(marker)
        logger.exception("Could not enqueue %s%r", task.name, args)
        return None


ONCE_LOCK = 120  # the longest computation (a count at a million incidents, under load)
ONCE_WAIT = 20
ONCE_STEP = 0.2
_sleep = time.sleep  # tests replace it to play the other process


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


# base.html's parts that are one viewer's: who is signed in (with their CSRF token) and
# their messages. ViewerPage renders them for each request around a shared page.
VIEWER_PARTS = {"account": "includes/_account_nav.html", "messages": "includes/_messages.html"}


def _kept_for(pair) -> int:
    """A (value, seconds to keep it) pair's seconds."""
    return pair[1]


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
            page_context, timeout = cached(
                f"{self.kind}-context", viewer_audience, self.parts, context, _kept_for
            )
            retry_after = page_context.get("retry_after")
            status = 200 if retry_after is None else 503
            return unavailable(
                self.render(template_name, page_context, status=status, timeout=timeout),
                retry_after,
            )
        path = self.request.path
        (pieces, retry_after), _timeout = cached(
            f"{self.kind}-shell",
            viewer_audience,
            [*self.parts, path],
            lambda: self._shell(template_name, viewer_audience, context, path),
            _kept_for,
        )
        response = HttpResponse(b"".join(self._filled(pieces)))
        return unavailable(response, retry_after)

    def _shell(self, template_name, viewer_audience, context, path):
        """The page with a slot for each viewer part: (text, part name, text, ...) as
        bytes and names, with the context's ``retry_after``; and how long it may be kept."""
        page_context, timeout = cached(
            f"{self.kind}-context", viewer_audience, self.parts, context, _kept_for
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
