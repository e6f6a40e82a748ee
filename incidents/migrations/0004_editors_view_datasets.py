from django.db import migrations


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("incidents")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Editors").first()
    if group:
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="incidents", codename="view_dataset")
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0003_provenance")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
