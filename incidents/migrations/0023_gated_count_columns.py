"""The gated counts as columns on the incident (motive_count, technique_count, actor_count):
every list, page, export and API record shows them, and counting each incident's links
with three correlated subqueries cost query building and query time on each of them.

Database triggers keep them, so no writer can forget: the m2m API, an admin inline,
bulk_create, a cascade from a deleted motive, technique or actor, an importer or raw SQL.

- On the link tables: a write that adds, removes or moves links recounts the incidents it
  touched (PostgreSQL: once per statement, from its transition tables, so a bulk_create or
  a COPY of many links recounts each incident once; SQLite: per row).
- On the incident: whatever an INSERT or an UPDATE of the count columns says, the row gets
  its links' counts (a save() of an instance read before a link changed writes its old
  counts: Django writes every column). On PostgreSQL the recount runs after the row lock
  is taken, in a fresh snapshot, so two transactions linking to one incident at once
  both count.

What is counted is what the subqueries counted: every link row (one per motive, technique,
sub-technique or actor; the link tables are unique per pair), whatever the linked row.
incidents.denormalised recounts them (manage.py check_denormalised, and the tests).

On SQLite a migration that remakes incidents_incident (most AlterField, AddField with a
default, AddConstraint on it, as this one does) dropped every trigger on it with the old
table: this one creates 0022's version triggers on it again (and again when reversed).
The portal's SQLite backend (portal/sqlite) now keeps them, so later migrations need not.
"""

import importlib

from django.db import migrations, models

VERSIONS = importlib.import_module("incidents.migrations.0022_version_triggers")

# Each link table and the incident column that counts its rows (frozen here: the
# migration must not change when the models do).
LINKS = (
    ("incidents_incident_motives", "motive_count"),
    ("incidents_incident_techniques", "technique_count"),
    ("incidents_incident_threat_actors", "actor_count"),
)


def _counts_of(incident_id):
    """column -> the SQL that counts that incident's links."""
    return {
        column: f"(SELECT count(*) FROM {table} WHERE incident_id = {incident_id})"  # noqa: S608
        for table, column in LINKS
    }


COUNT_COLUMNS = ", ".join(column for _, column in LINKS)

# PostgreSQL

_PG_RECOUNT_NEW = "\n".join(
    f"  NEW.{column} := {count};" for column, count in _counts_of("NEW.id").items()
)
# Writing an incident's counts makes incident_gated_counts count them again.
_PG_TOUCH = "UPDATE incidents_incident SET motive_count = motive_count WHERE id IN"

PG_FORWARD = [
    f"""
CREATE FUNCTION incidents_incident_gated_counts() RETURNS trigger AS $$
BEGIN
{_PG_RECOUNT_NEW}
  RETURN NEW;
END $$ LANGUAGE plpgsql;
""",
    f"""
CREATE TRIGGER incident_gated_counts
  BEFORE INSERT OR UPDATE OF {COUNT_COLUMNS} ON incidents_incident
  FOR EACH ROW EXECUTE FUNCTION incidents_incident_gated_counts();
""",
    f"""
CREATE FUNCTION incidents_links_recount() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_PG_TOUCH} (SELECT incident_id FROM new_links);
  ELSIF TG_OP = 'DELETE' THEN
    {_PG_TOUCH} (SELECT incident_id FROM old_links);
  ELSIF TG_OP = 'UPDATE' THEN
    {_PG_TOUCH} (SELECT incident_id FROM old_links UNION SELECT incident_id FROM new_links);
  ELSE  -- TRUNCATE: every incident that had links of any kind
    {_PG_TOUCH} (SELECT id FROM incidents_incident
      WHERE motive_count > 0 OR technique_count > 0 OR actor_count > 0);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
""",
]
for _table, _column in LINKS:
    _name = _table.removeprefix("incidents_")
    PG_FORWARD += [
        f"CREATE TRIGGER {_name}_inserted AFTER INSERT ON {_table} "
        "REFERENCING NEW TABLE AS new_links "
        "FOR EACH STATEMENT EXECUTE FUNCTION incidents_links_recount();",
        f"CREATE TRIGGER {_name}_deleted AFTER DELETE ON {_table} "
        "REFERENCING OLD TABLE AS old_links "
        "FOR EACH STATEMENT EXECUTE FUNCTION incidents_links_recount();",
        f"CREATE TRIGGER {_name}_updated AFTER UPDATE ON {_table} "
        "REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links "
        "FOR EACH STATEMENT EXECUTE FUNCTION incidents_links_recount();",
        f"CREATE TRIGGER {_name}_truncated AFTER TRUNCATE ON {_table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION incidents_links_recount();",
    ]

PG_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {_table.removeprefix('incidents_')}_{event} ON {_table};"
    for _table, _ in LINKS
    for event in ("inserted", "deleted", "updated", "truncated")
] + [
    "DROP FUNCTION IF EXISTS incidents_links_recount();",
    "DROP TRIGGER IF EXISTS incident_gated_counts ON incidents_incident;",
    "DROP FUNCTION IF EXISTS incidents_incident_gated_counts();",
]

# SQLite: row triggers; a trigger cannot change NEW, so the incident's are AFTER triggers
# that rewrite the row when it disagrees with its links (and then agree: no loop).


def _sqlite_recount_incident(event):
    counts = _counts_of("NEW.id")
    differs = " OR ".join(f"NEW.{column} IS NOT {count}" for column, count in counts.items())
    sets = ", ".join(f"{column} = {count}" for column, count in counts.items())
    return (
        f"CREATE TRIGGER incident_gated_counts_{event[0]} AFTER {event[1]} ON incidents_incident "
        f"WHEN {differs} "
        f"BEGIN UPDATE incidents_incident SET {sets} WHERE id = NEW.id; END;"
    )


INCIDENT_SQLITE = [
    _sqlite_recount_incident(("inserted", "INSERT")),
    _sqlite_recount_incident(("written", f"UPDATE OF {COUNT_COLUMNS}")),
]


def _sqlite_recount_link(table, column, row):
    count = _counts_of(f"{row}.incident_id")[column]
    return f"UPDATE incidents_incident SET {column} = {count} WHERE id = {row}.incident_id;"


SQLITE_FORWARD = list(INCIDENT_SQLITE)
for _table, _column in LINKS:
    _name = _table.removeprefix("incidents_")
    SQLITE_FORWARD += [
        f"CREATE TRIGGER {_name}_inserted AFTER INSERT ON {_table} "
        f"BEGIN {_sqlite_recount_link(_table, _column, 'NEW')} END;",
        f"CREATE TRIGGER {_name}_deleted AFTER DELETE ON {_table} "
        f"BEGIN {_sqlite_recount_link(_table, _column, 'OLD')} END;",
        f"CREATE TRIGGER {_name}_updated AFTER UPDATE OF incident_id ON {_table} "
        f"BEGIN {_sqlite_recount_link(_table, _column, 'OLD')} "
        f"{_sqlite_recount_link(_table, _column, 'NEW')} END;",
    ]

SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {_table.removeprefix('incidents_')}_{event};"
    for _table, _ in LINKS
    for event in ("inserted", "deleted", "updated")
] + [
    "DROP TRIGGER IF EXISTS incident_gated_counts_inserted;",
    "DROP TRIGGER IF EXISTS incident_gated_counts_written;",
]

# Both: the incidents that have links get their counts (every other one has 0).
_BACKFILL_SETS = ", ".join(
    f"{column} = {count}" for column, count in _counts_of("incidents_incident.id").items()
)
_LINKED = " UNION ".join(f"SELECT incident_id FROM {table}" for table, _ in LINKS)
BACKFILL = f"UPDATE incidents_incident SET {_BACKFILL_SETS} WHERE id IN ({_LINKED})"  # noqa: S608

TRIGGERS = {
    "postgresql": (PG_FORWARD, PG_BACKWARD),
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
}


def restore_version_triggers(apps, schema_editor):
    """SQLite: remaking incidents_incident (the fields and the constraint, either way)
    dropped migration 0022's triggers on it."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in VERSIONS.sqlite_forward():
            if " ON incidents_incident " in statement:
                # Since portal.sqlite keeps a remade table's triggers, they may be there.
                statement = statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1)
                schema_editor.execute(statement, params=None)


def install(apps, schema_editor):
    forward, _ = TRIGGERS[schema_editor.connection.vendor]
    # Triggers first: a link written while this runs is counted by one or the other.
    for statement in forward:
        schema_editor.execute(statement, params=None)
    schema_editor.execute(BACKFILL, params=None)


def uninstall(apps, schema_editor):
    _, backward = TRIGGERS[schema_editor.connection.vendor]
    for statement in backward:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0022_version_triggers"),
    ]

    operations = [
        # Reversed last: after the fields go, which remakes the table once more.
        migrations.RunPython(migrations.RunPython.noop, restore_version_triggers),
        migrations.AddField(
            model_name="incident",
            name="actor_count",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="incident",
            name="motive_count",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="incident",
            name="technique_count",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("actor_count__gte", 0), ("motive_count__gte", 0), ("technique_count__gte", 0)
                ),
                name="incident_gated_counts_not_negative",
            ),
        ),
        # After the fields: on SQLite each of them remakes the table, dropping its triggers.
        migrations.RunPython(restore_version_triggers, migrations.RunPython.noop),
        migrations.RunPython(install, uninstall),
    ]
