"""The versions' table (portal.versions) and its rows; their triggers are made by the
migrations of the apps whose tables change them (incidents 0022)."""

import secrets

from django.db import migrations, models
from django.utils import timezone


def create_rows(apps, schema_editor):
    Version = apps.get_model("portal", "Version")
    for name in ("catalogue", "withdrawal"):
        Version.objects.using(schema_editor.connection.alias).get_or_create(
            name=name, defaults={"value": secrets.randbits(62), "changed_at": timezone.now()}
        )


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_completed_event_from_accounts")]
    operations = [
        migrations.CreateModel(
            name="Version",
            fields=[
                ("name", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
                ("changed_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(create_rows, migrations.RunPython.noop),
    ]
