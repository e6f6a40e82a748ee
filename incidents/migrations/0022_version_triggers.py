"""Triggers that change portal's versions (portal.versions) in the writer's transaction.

Every table of catalogue data changes the "catalogue" version on any insert, update or
delete (and truncate, on PostgreSQL); an incident whose status or victim changes, or is
deleted, and a victim renamed, moved to another country or deleted, also change the
"withdrawal" version. A version's new value is random (a rolled-back value is never
reused). tests/test_versions.py checks that every catalogue table has its triggers; a
later migration that creates one ends with ``catalogue_tables(...)`` below.

SQLite: row triggers (SQLite has no statement triggers; it has one writer at a time).
PostgreSQL: statement triggers, BEFORE the statement, so a writer takes the version row's
lock before any row of the catalogue and concurrent catalogue writers queue rather than
deadlock; the withdrawal triggers are row triggers, to compare old and new values.
"""

from django.db import migrations

# Catalogue data: what pages, counts, feeds and files are computed from. Not: saved
# searches and their alerts, export jobs, roll-ups and snapshots (computed from it).
CATALOGUE_TABLES = [
    "incidents_dataset",
    "incidents_sector",
    "incidents_motive",
    "incidents_actortype",
    "incidents_tactic",
    "incidents_technique",
    "incidents_technique_tactics",
    "incidents_software",
    "incidents_threatactor",
    "incidents_threatactor_techniques",
    "incidents_threatactor_software",
    "incidents_organisation",
    "incidents_organisationalias",
    "incidents_organisationredirect",
    "incidents_incident",
    "incidents_incident_motives",
    "incidents_incident_threat_actors",
    "incidents_incident_techniques",
    "incidents_ciaposture",
    "incidents_source",
]

# (table, columns whose change withdraws, on update)
WITHDRAWING = [
    ("incidents_incident", ["status", "organisation_id"]),
    ("incidents_organisation", ["name", "country"]),
]

# An UPDATE, never an upsert: SQLite applies the conflict clause of the statement that
# fired the trigger (the m2m API's INSERT OR IGNORE) to the trigger's own statements. A
# missing row (a flushed test database) is made again by its first reader.
SQLITE_SET = (
    "UPDATE portal_version SET value = abs(random() % 4611686018427387904), "
    "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE name = '{name}';"
)


SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def sqlite_catalogue(table):
    return [
        f"CREATE TRIGGER version_{table}_{event.lower()} AFTER {event} ON {table} "
        f"BEGIN {SQLITE_SET.format(name='catalogue')} END"
        for event in SQLITE_EVENTS
    ]


def sqlite_forward():
    statements = []
    for table in CATALOGUE_TABLES:
        statements += sqlite_catalogue(table)
    for table, columns in WITHDRAWING:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        statements.append(
            f"CREATE TRIGGER withdrawal_{table}_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} WHEN {changed} BEGIN {SQLITE_SET.format(name='withdrawal')} END"
        )
        statements.append(
            f"CREATE TRIGGER withdrawal_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN {SQLITE_SET.format(name='withdrawal')} END"
        )
    return statements


def sqlite_backward():
    names = [f"version_{t}_{e}" for t in CATALOGUE_TABLES for e in ("insert", "update", "delete")]
    names += [f"withdrawal_{t}_{e}" for t, _ in WITHDRAWING for e in ("update", "delete")]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION portal_version_change() RETURNS trigger AS $$
BEGIN
  UPDATE portal_version
  SET value = floor(random() * 4611686018427387903)::bigint, changed_at = clock_timestamp()
  WHERE name = TG_ARGV[0];
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def postgresql_catalogue(table):
    return [
        f"CREATE TRIGGER version_change BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION portal_version_change('catalogue')"
    ]


def postgresql_forward():
    statements = [PG_FUNCTION]
    for table in CATALOGUE_TABLES:
        statements += postgresql_catalogue(table)
    for table, columns in WITHDRAWING:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        statements.append(
            f"CREATE TRIGGER withdrawal_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
            f"FOR EACH ROW WHEN ({changed}) "
            f"EXECUTE FUNCTION portal_version_change('withdrawal')"
        )
        statements.append(
            f"CREATE TRIGGER withdrawal_delete AFTER DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION portal_version_change('withdrawal')"
        )
    return statements


def postgresql_backward():
    statements = [f"DROP TRIGGER IF EXISTS version_change ON {t}" for t in CATALOGUE_TABLES]
    for table, _ in WITHDRAWING:
        statements.append(f"DROP TRIGGER IF EXISTS withdrawal_update ON {table}")
        statements.append(f"DROP TRIGGER IF EXISTS withdrawal_delete ON {table}")
    statements.append("DROP FUNCTION IF EXISTS portal_version_change()")
    return statements


def run(statements_for):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for statement in statements_for.get(vendor, list)():
            schema_editor.execute(statement, params=None)

    return operation


forward = run({"sqlite": sqlite_forward, "postgresql": postgresql_forward})
backward = run({"sqlite": sqlite_backward, "postgresql": postgresql_backward})


def catalogue_tables(*tables):
    """The operation a later migration ends with when it creates tables of catalogue data:
    their version triggers, as this migration gives the tables it lists.

        VERSIONS = importlib.import_module("incidents.migrations.0022_version_triggers")
        operations = [migrations.CreateModel(...), VERSIONS.catalogue_tables("incidents_x")]
    """

    def create(apps, schema_editor):
        make = {"sqlite": sqlite_catalogue, "postgresql": postgresql_catalogue}
        for table in tables:
            for statement in make[schema_editor.connection.vendor](table):
                schema_editor.execute(statement, params=None)

    def drop(apps, schema_editor):
        for table in tables:
            if schema_editor.connection.vendor == "sqlite":
                names = [f"version_{table}_{event.lower()}" for event in SQLITE_EVENTS]
                statements = [f"DROP TRIGGER IF EXISTS {name}" for name in names]
            else:
                statements = [f"DROP TRIGGER IF EXISTS version_change ON {table}"]
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return migrations.RunPython(create, drop)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0021_export_job_charged_on"),
        ("portal", "0003_version"),
    ]

    operations = [migrations.RunPython(forward, backward)]
