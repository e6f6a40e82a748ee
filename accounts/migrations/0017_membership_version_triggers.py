"""Triggers that change the "membership" version (portal.versions) whenever what decides
who is a member changes: a plan, a subscription, a team seat (accounts.access caches each
user's membership under that version). Any insert, update or delete, by any writer (the
ORM, a bulk update, the admin, raw SQL), and a truncate on PostgreSQL. A version's new
value is random (a rolled-back value is never reused).

Not on users or teams: ``is_active`` and ``is_staff`` are read from the request's own user
object before any cache is asked, and a team is only reached through its seats and its
subscriptions (deleting a team deletes its seats and clears its subscriptions' team, which
fires these triggers).

SQLite: row triggers, as in incidents 0022 (one writer at a time; an UPDATE, never an
upsert).

PostgreSQL: a constraint trigger, AFTER each row, DEFERRABLE INITIALLY DEFERRED, so the
version row is written at the writer's commit, after every lock its transaction took. The
billing code locks subscriptions (``select_for_update``) and then writes them: a trigger
that updated the one shared version row in the middle of such a transaction would let two
of them deadlock (T1 locks subscription X; T2 locks Y and writes it, so holds the version
row; T1 writes X and waits for the version row; T2 locks X and waits for T1). At commit
nothing else waits but the foreign-key checks Django's constraints also defer to the commit
(a key-share lock on each referenced row): those queued after this trigger (a row inserted
or re-pointed after the transaction's first membership write) could still wait for a
transaction that then waits for the version row, a much narrower case, which PostgreSQL's
deadlock detector would end by failing one of the two. tests/accounts/test_membership_cache
runs the first case with two threads on PostgreSQL.
The version still changes in the writer's transaction, visible together with its data. The
first row of a transaction changes it, the others see a transaction-local mark and do
nothing (a bulk update of a thousand subscriptions writes the version row once). A reader
inside a transaction does not use the cache (accounts.access): it may see its own writes,
which the version reflects only at commit.
"""

import secrets

from django.db import migrations
from django.utils import timezone

TABLES = ["accounts_plan", "accounts_subscription", "accounts_teamseat"]
EVENTS = ("insert", "update", "delete")

SQLITE_SET = (
    "UPDATE portal_version SET value = abs(random() % 4611686018427387904), "
    "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE name = 'membership';"
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION portal_membership_change() RETURNS trigger AS $$
BEGIN
  IF current_setting('portal.membership_changed', true) = 'yes' THEN
    RETURN NULL;  -- this transaction changed it already
  END IF;
  PERFORM set_config('portal.membership_changed', 'yes', true);  -- until the transaction ends
  UPDATE portal_version
  SET value = floor(random() * 4611686018427387903)::bigint, changed_at = clock_timestamp()
  WHERE name = 'membership';
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def sqlite_forward():
    return [
        f"CREATE TRIGGER membership_{table}_{event} AFTER {event.upper()} ON {table} "
        f"BEGIN {SQLITE_SET} END"
        for table in TABLES
        for event in EVENTS
    ]


def sqlite_backward():
    return [
        f"DROP TRIGGER IF EXISTS membership_{table}_{event}" for table in TABLES for event in EVENTS
    ]


def postgresql_forward():
    statements = [PG_FUNCTION]
    for table in TABLES:
        statements.append(
            f"CREATE CONSTRAINT TRIGGER membership_change AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION portal_membership_change()"
        )
        # A constraint trigger cannot fire on TRUNCATE, which locks the whole table anyway.
        statements.append(
            f"CREATE TRIGGER membership_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION portal_membership_change()"
        )
    return statements


def postgresql_backward():
    statements = []
    for table in TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS membership_change ON {table}")
        statements.append(f"DROP TRIGGER IF EXISTS membership_truncate ON {table}")
    statements.append("DROP FUNCTION IF EXISTS portal_membership_change()")
    return statements


def run(statements_for):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for statement in statements_for.get(vendor, list)():
            schema_editor.execute(statement, params=None)

    return operation


def create_row(apps, schema_editor):
    Version = apps.get_model("portal", "Version")
    Version.objects.using(schema_editor.connection.alias).get_or_create(
        name="membership",
        defaults={"value": secrets.randbits(62), "changed_at": timezone.now()},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_plan_api_limit_per_account"),
        ("portal", "0004_counter"),
    ]

    operations = [
        migrations.RunPython(create_row, migrations.RunPython.noop),
        migrations.RunPython(
            run({"sqlite": sqlite_forward, "postgresql": postgresql_forward}),
            run({"sqlite": sqlite_backward, "postgresql": postgresql_backward}),
        ),
    ]
