"""The whole public catalogue as one file, for anyone (docs/exports.md, "The whole public
catalogue"): every published incident's public record, written by the job queue with the
public export's own writer (``build.pieces``: same columns, licence notice, formula
neutralisation), kept in private storage and served as a file.

A file records the catalogue's versions (``incidents.caching``) from before its rows were
read. It is served while no withdrawal happened since (a newer catalogue may hold more, the
file never shows what stopped being public: an unpublished incident, a renamed victim); a
file behind the catalogue asks the queue for a new one, at most once every
``PUBLIC_SNAPSHOT_INTERVAL`` seconds. No quota: nothing is counted per download.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django_tasks import task

from portal import db_router, versions

from .. import caching, filters
from ..models import PublicSnapshot
from . import build
from .jobs import storage

logger = logging.getLogger(__name__)

FORMATS = tuple(PublicSnapshot.Format.values)
# A build at a million incidents takes a minute or two; a lock older than this is a dead one.
BUILD_LOCK_SECONDS = 30 * 60
ATTEMPTS = 3


def servable(fmt: str) -> PublicSnapshot | None:
    """The newest file of ``fmt`` written since the last withdrawal, if any (read from the
    primary: a lagging replica could name a file a newer one has replaced)."""
    with db_router.primary():
        return (
            PublicSnapshot.objects.filter(format=fmt, withdrawal_version=versions.withdrawal())
            .order_by("-built_at")
            .first()
        )


def is_current(snapshot: PublicSnapshot) -> bool:
    return snapshot.catalogue_version == versions.catalogue()


def request_build(fmt: str, servable_file: PublicSnapshot | None) -> None:
    """Ask the queue for a new file of ``fmt``: when the servable one (``servable_file``) is
    older than ``PUBLIC_SNAPSHOT_INTERVAL`` seconds, at most once in that time; when there
    is none, at most once a minute (a task finding a file being written leaves it alone)."""
    if servable_file is not None:
        age = (timezone.now() - servable_file.built_at).total_seconds()
        if age < settings.PUBLIC_SNAPSHOT_INTERVAL:
            return
        marker, seconds = f"snapshot:asked:{fmt}", settings.PUBLIC_SNAPSHOT_INTERVAL
    else:
        marker, seconds = f"snapshot:asked:{fmt}:{versions.withdrawal()}", 60
    caching.enqueue_once(marker, seconds, build_public_snapshot, fmt)


def build_now(fmt: str) -> PublicSnapshot | None:
    """Write a file of ``fmt`` for the catalogue as it is now (the queue's task, and
    ``manage.py build_public_snapshots``); None if another process is writing one."""
    return caching.once(
        f"snapshot:building:{fmt}", lambda: _build_servable(fmt), hold=BUILD_LOCK_SECONDS
    )


@task()
def build_public_snapshot(fmt: str) -> None:
    """The queue's task: ``build_now`` (public fields only, the same for everyone; skipped
    while another is being written)."""
    build_now(fmt)


def _build_servable(fmt: str) -> PublicSnapshot:
    """A file written again while a withdrawal during its writing left it unservable (at
    most ``ATTEMPTS`` times); the older files are deleted once one is servable. Read from the
    primary: a lagging replica would put into a file stamped with today's versions an
    incident withdrawn before them."""
    with db_router.primary():
        for _ in range(ATTEMPTS):
            made = _build(fmt)
            if made.withdrawal_version == versions.withdrawal():
                _delete_older(made)
                break
    return made


def _build(fmt: str) -> PublicSnapshot:
    started = time.monotonic()
    # Read before the rows: a change committed while they are read makes the file older
    # than the catalogue (or, for a withdrawal, unservable), never newer.
    now = versions.current()
    stamped = {"catalogue_version": now.catalogue, "withdrawal_version": now.withdrawal}
    filterset = filters.for_viewer(None, AnonymousUser(), member=False)
    incidents, params, sort = filters.matching(filterset, member=False)
    tally: dict = {}
    stamp = timezone.now()
    name = f"snapshots/incidents-public-{stamp:%Y%m%d-%H%M%S-%f}.{fmt}"
    saved_name, size = build.save(
        build.pieces(
            fmt,
            incidents,
            rows=incidents.order_by().count(),
            sort=sort,
            params=params,
            member=False,
            base_url=settings.SITE_URL,
            tally=tally,
        ),
        storage(),
        name,
    )
    snapshot = PublicSnapshot.objects.create(
        format=fmt,
        file_name=saved_name,
        rows=tally["rows"],
        size=size,
        built_at=timezone.now(),
        seconds=round(time.monotonic() - started, 3),
        **stamped,
    )
    logger.info("Public snapshot %s: %s rows, %s bytes", fmt, snapshot.rows, size)
    return snapshot


def _delete_older(snapshot: PublicSnapshot) -> None:
    """Every older file of the format (a download under way keeps its open file)."""
    older = PublicSnapshot.objects.filter(format=snapshot.format, built_at__lt=snapshot.built_at)
    for old in older:
        storage().delete(old.file_name)
    older.delete()


def file_name(snapshot: PublicSnapshot) -> str:
    """The name a download is saved under."""
    return f"incidents-public-{snapshot.built_at:%Y%m%d}.{snapshot.format}"
