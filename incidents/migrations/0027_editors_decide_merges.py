"""Editors decide the importers' merge candidates (one event or two) and see each
dataset's record of an incident."""

from django.db import migrations

CODENAMES = ["view_mergecandidate", "change_mergecandidate", "view_incidentrecord"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    app_config = apps.get_app_config("incidents")
    app_config.models_module = True
    create_contenttypes(app_config, verbosity=0, apps=apps)
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Editors").first()
    if group:
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="incidents", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0026_dataset_records")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
