"""CompletedEvent (the once-per-event record of the job plumbing) now belongs to the portal
app: accounts forgets the model, its table and rows stay (portal's 0002 adopts them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_plan_limit_zero_help"),
        ("portal", "0002_completed_event_from_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CompletedEvent")],
            database_operations=[],
        ),
    ]
