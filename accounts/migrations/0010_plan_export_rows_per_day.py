from django.db import migrations, models


def seeded_plans_export_rows(apps, schema_editor):
    """The seeded plans' daily export quotas (staff change them in the admin): Individual
    the site's default, Team more (its members export for shared tools)."""
    Plan = apps.get_model("accounts", "Plan")
    Plan.objects.filter(slug="individual", export_rows_per_day=None).update(
        export_rows_per_day=100_000
    )
    Plan.objects.filter(slug="team", export_rows_per_day=None).update(
        export_rows_per_day=500_000
    )


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0009_plan_api_rate_limit"),
    ]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="export_rows_per_day",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Rows each of its members may export a day (empty: the site's default)",
                null=True,
            ),
        ),
        migrations.RunPython(seeded_plans_export_rows, migrations.RunPython.noop),
    ]
