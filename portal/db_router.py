"""Send catalogue reads to the read replica when one is configured (DATABASE_REPLICA_URL).

Only the catalogue (incidents: public data that changes rarely) is read from the replica.
Accounts, subscriptions, sessions and allauth stay on the primary: a replica lags a little,
and who is a member, or whether someone just logged in, must never be read from the past.
"""

REPLICA = "replica"
REPLICA_APPS = {"incidents"}


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
