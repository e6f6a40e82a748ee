"""Send catalogue reads to the read replica when one is configured (DATABASE_REPLICA_URL).

Only the catalogue (incidents: public data that changes rarely) is read from the replica,
and not within REPLICA_LAG_SECONDS of a catalogue write. Accounts, subscriptions, sessions
and allauth stay on the primary: a replica lags a little, and who is a member, or whether
someone just logged in, must never be read from the past.
"""

from django.db import connections

REPLICA = "replica"
REPLICA_APPS = {"incidents"}


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label not in REPLICA_APPS:
            return "default"
        # Inside a transaction (an import, an admin save) reads must see its own writes;
        # just after a write the replica may still lag, and a page cached from it would
        # outlive the change (incidents.caching.recently_written).
        if connections["default"].in_atomic_block or recently_written():
            return "default"
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


def recently_written():
    from incidents.caching import recently_written

    return recently_written()
