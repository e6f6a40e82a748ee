"""The "Editors" group: staff who curate the catalogue but cannot touch memberships."""

from django.db import migrations

EDITORS = "Editors"
# model -> actions an editor may take on it
EDITOR_PERMISSIONS = {
    "incident": ["add", "change", "delete", "view"],
    "source": ["add", "change", "delete", "view"],
    "ciaposture": ["add", "change", "delete", "view"],
    "organisation": ["add", "change", "view"],
    "threatactor": ["add", "change", "view"],
    "motive": ["view"],
    "actortype": ["view"],
    "sector": ["view"],
    "tactic": ["view"],
    "technique": ["view"],
}


def create_editors(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    # Permissions are normally created after all migrations; make sure ours exist now.
    app_config = apps.get_app_config("incidents")
    app_config.models_module = True
    create_contenttypes(app_config, verbosity=0, apps=apps)
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS)
    codenames = [f"{action}_{model}" for model, actions in EDITOR_PERMISSIONS.items()
                 for action in actions]
    perms = Permission.objects.filter(content_type__app_label="incidents", codename__in=codenames)
    group.permissions.set(perms)


def remove_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors, remove_editors)]
