"""Django's SQLite backend, keeping a table's triggers when a migration remakes it.

SQLite cannot alter most columns or constraints in place: Django copies the table into a
new one and drops the old, and its triggers go with it. The portal's versions and gated
counts are kept by triggers (incidents/migrations/0022 and 0023), so any later AddField
or AlterField on a catalogue table would silently stop them on SQLite. The triggers that
were on the table are created again, as they were, once the new one is in place; a
trigger that names a column the migration removes is the migration's to drop first.

Triggers on other tables that name the remade one (the gated counts' triggers on the link
tables update ``incidents_incident``) are dropped while it is remade and created again
after: SQLite checks every trigger that names a table when it renames one into its place,
and refuses while the old table is gone.
PostgreSQL alters tables in place and keeps its triggers.
"""

import re

from django.db.backends.sqlite3 import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _remake_table(self, model, create_field=None, delete_field=None, alter_fields=None):
        table = model._meta.db_table
        names_table = re.compile(rf"(?<![\w$]){re.escape(table)}(?![\w$])", re.IGNORECASE)
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            )
            rows = cursor.fetchall()
        own = [sql for _name, on, sql in rows if on == table]
        others = [(name, sql) for name, on, sql in rows if on != table and names_table.search(sql)]
        for name, _sql in others:
            self.execute(f"DROP TRIGGER {self.quote_name(name)}", params=None)
        super()._remake_table(
            model, create_field=create_field, delete_field=delete_field, alter_fields=alter_fields
        )
        for sql in [*own, *(sql for _name, sql in others)]:
            self.execute(sql, params=None)


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
