"""CompletedEvent moves here from accounts with its table (``accounts_completedevent``, made
by accounts' 0003) and its rows: the state learns the model, the database is left alone.
Its content type (and so its permissions) is relabelled rather than made anew."""

import django.utils.timezone
from django.db import migrations, models


def relabel_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="portal", model="completedevent"):
        ContentType.objects.using(db).filter(app_label="accounts", model="completedevent").update(
            app_label="portal"
        )


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="accounts", model="completedevent"):
        ContentType.objects.using(db).filter(app_label="portal", model="completedevent").update(
            app_label="accounts"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_cache_table"),
        ("accounts", "0003_completed_event"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CompletedEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.CharField(max_length=255)),
                        (
                            "completed_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                    ],
                    options={
                        "db_table": "accounts_completedevent",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("key",), name="completed_event_key_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(relabel_content_type, restore_content_type),
    ]
