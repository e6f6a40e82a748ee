"""Send catalogue reads to the read replica when one is configured (DATABASE_REPLICA_URL),
and keep the window after a catalogue write during which they stay on the primary.

Only the catalogue (incidents: public data that changes rarely) is read from the replica,
and not within REPLICA_LAG_SECONDS of a catalogue write. Accounts, subscriptions, sessions
and allauth stay on the primary: a replica lags a little, and who is a member, or whether
someone just logged in, must never be read from the past.

The window is read from the catalogue version's last change (portal.versions), which the
database's triggers record at each catalogue statement and the writer path again at its
commit. Settings name the router by its dotted path and Django loads it lazily, after the
apps: importing portal.versions (and its model) here is safe.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

from . import versions

REPLICA = "replica"
REPLICA_APPS = {"incidents"}

# How far a read replica may lag behind: catalogue reads stay on the primary this long
# after a write, so no page is cached from data older than the write.
REPLICA_LAG_SECONDS = 15


_on_primary: ContextVar[bool] = ContextVar("catalogue_reads_on_primary", default=False)


@contextmanager
def primary():
    """Read the catalogue from the primary in this block: for work stamped with the
    catalogue's versions as they are now (statistics roll-ups, the whole-catalogue files),
    which a lagging replica would stamp with data from before the latest write."""
    token = _on_primary.set(True)
    try:
        yield
    finally:
        _on_primary.reset(token)


def recently_written() -> bool:
    """A catalogue write within REPLICA_LAG_SECONDS (portal.versions: read once per request)."""
    return versions.changed_within(REPLICA_LAG_SECONDS)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label not in REPLICA_APPS:
            return "default"
        # Inside a transaction (an import, an admin save) reads must see its own writes;
        # just after a write the replica may still lag, and a page cached from it would
        # outlive the change.
        if _on_primary.get() or connections["default"].in_atomic_block or recently_written():
            return "default"
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
