"""portal.sqlite: a migration that remakes a table keeps the table's triggers."""

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL alters in place"),
]


def triggers_on(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
        )
        return {name for (name,) in cursor.fetchall()}


@isolate_apps("incidents")
def test_a_remade_table_keeps_its_triggers():
    class Thing(models.Model):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "incidents"
            db_table = "test_remade_thing"

        def __str__(self):
            return self.name

    with connection.schema_editor() as editor:
        editor.create_model(Thing)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TRIGGER test_remade_thing_named AFTER INSERT ON test_remade_thing "
                "BEGIN UPDATE test_remade_thing SET name = 'x' || NEW.name "
                "WHERE id = NEW.id; END"
            )
        # A NOT NULL column with a default: SQLite cannot add it in place.
        added = models.IntegerField(default=0)
        added.set_attributes_from_name("added")
        with connection.schema_editor() as editor:
            editor.add_field(Thing, added)
        assert triggers_on("test_remade_thing") == {"test_remade_thing_named"}
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO test_remade_thing (name, added) VALUES ('a', 1)")
            cursor.execute("SELECT name FROM test_remade_thing")
            assert cursor.fetchall() == [("xa",)]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Thing)


@isolate_apps("incidents")
def test_a_trigger_on_another_table_that_names_the_remade_one_is_kept():
    """The gated counts' triggers on the link tables update the incident: SQLite refuses
    to rename the new table into place while such a trigger names the dropped one."""

    class Parent(models.Model):
        n = models.IntegerField(default=0)

        class Meta:
            app_label = "incidents"
            db_table = "test_remade_parent"

        def __str__(self):
            return str(self.n)

    class Child(models.Model):
        parent_id = models.IntegerField()

        class Meta:
            app_label = "incidents"
            db_table = "test_remade_child"

        def __str__(self):
            return str(self.parent_id)

    with connection.schema_editor() as editor:
        editor.create_model(Parent)
        editor.create_model(Child)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TRIGGER test_remade_child_counted AFTER INSERT ON test_remade_child "
                "BEGIN UPDATE test_remade_parent SET n = n + 1 WHERE id = NEW.parent_id; END"
            )
        added = models.IntegerField(default=0)
        added.set_attributes_from_name("added")
        with connection.schema_editor() as editor:
            editor.add_field(Parent, added)
        assert triggers_on("test_remade_child") == {"test_remade_child_counted"}
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO test_remade_parent (n, added) VALUES (0, 1)")
            cursor.execute("INSERT INTO test_remade_child (parent_id) VALUES (1)")
            cursor.execute("SELECT n FROM test_remade_parent")
            assert cursor.fetchall() == [(1,)]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Child)
            editor.delete_model(Parent)
