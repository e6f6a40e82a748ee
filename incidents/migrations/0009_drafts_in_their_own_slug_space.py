"""Never-published drafts move to the drafts' own slug space (incidents.services).

Before, a draft took a date-and-victim slug, and the next published incident for that
victim and month became "...-2": a public suffix that told visitors a hidden incident
existed. A draft that was never published has never had a public address, so nothing
public breaks; its public slug is allocated when it is first published.
"""

import re
import secrets

from django.db import migrations

DRAFT_SLUG = re.compile(r"draft-[0-9a-f]{12}\Z")


def move_drafts(apps, schema_editor):
    Incident = apps.get_model("incidents", "Incident")
    drafts = Incident.objects.filter(status="draft", published_at__isnull=True)
    for pk, slug in drafts.values_list("pk", "slug").iterator():
        if not DRAFT_SLUG.match(slug):
            Incident.objects.filter(pk=pk).update(slug=f"draft-{secrets.token_hex(6)}")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0008_description_is_markdown")]

    operations = [migrations.RunPython(move_drafts, migrations.RunPython.noop)]
