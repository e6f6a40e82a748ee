import os

from django.db import migrations


def configure(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    Site.objects.update_or_create(
        pk=1,
        defaults={
            "domain": os.environ.get("DJANGO_SITE_DOMAIN", "127.0.0.1:8000"),
            "name": "Cyber Incident Portal",
        },
    )
    Plan = apps.get_model("accounts", "Plan")
    for slug, name, price, interval, description in [
        ("individual", "Individual", "290.00", "year",
         "Full incident detail, advanced search and exports for one analyst."),
        ("team", "Team", "1490.00", "year", "Everything in Individual for up to ten analysts."),
        ("complimentary", "Complimentary", "0.00", "none",
         "Granted by staff to researchers, journalists and partners."),
    ]:
        Plan.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "price": price, "interval": interval,
                      "description": description, "is_public": slug != "complimentary"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(configure, migrations.RunPython.noop)]
