"""Django's SQLite backend, keeping a table's triggers when a migration remakes it.

SQLite cannot alter most columns or constraints in place: Django copies the table into a
new one and drops the old, and its triggers go with it. The portal's versions and gated
counts are kept by triggers (incidents/migrations/0022 and 0023), so any later AddField
or AlterField on a catalogue table would silently stop them on SQLite. The triggers that
were on the table are created again, as they were, once the new one is in place; a
trigger that names a column the migration removes is the migration's to drop first.
PostgreSQL alters tables in place and keeps its triggers.
"""

from django.db.backends.sqlite3 import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _remake_table(self, model, create_field=None, delete_field=None, alter_fields=None):
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [model._meta.db_table],
            )
            triggers = [sql for (sql,) in cursor.fetchall()]
        super()._remake_table(
            model, create_field=create_field, delete_field=delete_field, alter_fields=alter_fields
        )
        for sql in triggers:
            self.execute(sql, params=None)


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
