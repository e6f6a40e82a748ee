"""The versions every cached answer is keyed by, kept in the database.

Three rows of ``portal.Version``:

- ``catalogue`` changes with any change to catalogue data (a cached page is stored under
  the version it was computed at, so a change makes every cached page unreachable);
- ``withdrawal`` changes when something visible may have stopped being visible (an
  incident unpublished, moved or deleted; a victim renamed or deleted): what was counted
  before (the statistics roll-ups, the whole-catalogue files) may not be shown again;
- ``membership`` changes with any change to what decides who is a member (plans,
  subscriptions, team seats): each user's membership is cached under it (accounts.access).

Database triggers change them, in the writer's own transaction, on every table that
holds catalogue data (incidents/migrations/0022_version_triggers.py) or membership data
(accounts/migrations/0017_membership_version_triggers.py: on PostgreSQL at the writer's
commit, see there why): a bulk update, a
raw SQL statement, an admin inline or an importer cannot forget, and a cache outage
cannot lose a change. A version is a random number, never a counter: a value rolled
back with its transaction is never used again.

Readers read the rows in one query, at most once per request (``VersionMiddleware``) or
per ``one_read()`` block, and a process re-uses what it read for up to
``settings.VERSION_SECONDS`` (one second; 0 in the tests) before reading again. The
process that wrote forgets at once, and the replica's lag window restarts at the commit
(``committed()``, called by the writer path). Until then a writer may read the versions
its process kept: what it caches inside its transaction goes under an older key, which
its commit makes unreachable, never under a newer one.
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from .models import Version

CATALOGUE = "catalogue"
WITHDRAWAL = "withdrawal"
MEMBERSHIP = "membership"
NAMES = (CATALOGUE, WITHDRAWAL, MEMBERSHIP)


@dataclass(frozen=True)
class Versions:
    catalogue: int
    withdrawal: int
    membership: int
    changed_at: datetime  # when catalogue data last changed (committed or not)


_request: ContextVar[list | None] = ContextVar("portal_versions_request", default=None)
_process: tuple[Versions, float] | None = None
_lock = threading.Lock()


def current() -> Versions:
    """The versions as the database has them now, or as this request or this process
    read them a moment ago (see the module docstring)."""
    global _process
    memo = _request.get()
    if memo:
        return memo[0]
    kept = _process
    if kept is not None and time.monotonic() - kept[1] < settings.VERSION_SECONDS:
        versions = kept[0]
    else:
        versions = _read()
        with _lock:
            _process = (versions, time.monotonic())
    if memo is not None:
        memo.append(versions)
    return versions


def catalogue() -> int:
    return current().catalogue


def withdrawal() -> int:
    return current().withdrawal


def membership() -> int:
    return current().membership


def changed_within(seconds: float) -> bool:
    """Whether catalogue data changed in the last ``seconds``."""
    return current().changed_at >= timezone.now() - timedelta(seconds=seconds)


def committed() -> None:
    """A catalogue writer's transaction committed: the replica's lag window starts now (the
    triggers stamped ``changed_at`` at its last statement, which may be long before its
    commit), and this process reads the versions afresh."""
    Version.objects.using(DEFAULT_DB_ALIAS).filter(name=CATALOGUE).update(changed_at=timezone.now())
    forget()


def forget() -> None:
    """This process (and request) reads the versions from the database next time: after a
    write of its own, so the writer sees its change at once."""
    global _process
    with _lock:
        _process = None
    memo = _request.get()
    if memo:
        memo.clear()


def _read() -> Versions:
    rows = dict(_rows())
    if len(rows) < len(NAMES):  # a database flushed by the tests, or restored without them
        Version.objects.using(DEFAULT_DB_ALIAS).bulk_create(
            [
                Version(name=name, value=secrets.randbits(62), changed_at=timezone.now())
                for name in NAMES
                if name not in rows
            ],
            ignore_conflicts=True,
        )
        rows = dict(_rows())
    catalogue_value, changed_at = rows[CATALOGUE]
    return Versions(catalogue_value, rows[WITHDRAWAL][0], rows[MEMBERSHIP][0], changed_at)


def _rows():
    # Always the primary: a replica's versions would be as old as its data.
    for name, value, changed_at in Version.objects.using(DEFAULT_DB_ALIAS).values_list(
        "name", "value", "changed_at"
    ):
        yield name, (value, changed_at)


@contextmanager
def one_read():
    """Read the versions at most once in this block, as a request does: for work outside
    requests that asks many times (the alert matcher)."""
    token = _request.set([])
    try:
        yield
    finally:
        _request.reset(token)


class VersionMiddleware:
    """The versions are read at most once per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set([])
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
