"""Incident.techniques gets an explicit through model, IncidentTechnique, that says how the
catalogue knows each technique: reported by a source, or derived by the VERIS importer
through the VERIS-to-ATT&CK mapping (and from which VERIS enumerations).

The table Django made for the plain many-to-many (incidents_incident_techniques: id,
incident_id, technique_id, unique together) is kept in place with every row: the first
step only tells Django's state that the table is now IncidentTechnique's; then the two
columns are added.

Existing rows: before this migration only the VERIS importer linked techniques to the
incidents of a dataset (staff and the demo data tag incidents that have none; the
benchmark's synthetic dataset writes its own made-up links), so the links of an incident
from a dataset other than "synthetic" are marked derived, and every other link reported.
What a derived link was derived from was not recorded then: ``derived_from`` stays empty
(pages say "derived from VERIS") until the next import of that dataset with
--attack-mapping fills it in. Staff may mark any of them reported in the admin.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "incidents_incident_techniques"
# The benchmark's made-up incidents (bench.management.commands.generate_incidents).
SYNTHETIC_DATASET = "synthetic"


def mark_imported_links_derived(apps, schema_editor):
    IncidentTechnique = apps.get_model("incidents", "IncidentTechnique")
    IncidentTechnique.objects.using(schema_editor.connection.alias).filter(
        incident__dataset__isnull=False
    ).exclude(incident__dataset__slug=SYNTHETIC_DATASET).update(provenance="derived")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0017_export_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table exists: only the state learns that it is IncidentTechnique's.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="IncidentTechnique",
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
                        (
                            "incident",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="technique_links",
                                to="incidents.incident",
                            ),
                        ),
                        (
                            "technique",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="incident_links",
                                to="incidents.technique",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "technique",
                        "db_table": TABLE,
                        "unique_together": {("incident", "technique")},
                    },
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="techniques",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="incidents",
                        through="incidents.IncidentTechnique",
                        to="incidents.technique",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="incidenttechnique",
            name="provenance",
            field=models.CharField(
                choices=[("reported", "Reported"), ("derived", "Derived from VERIS")],
                default="reported",
                help_text="Reported by a source, or derived from the VERIS record through the "
                "mapping",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="incidenttechnique",
            name="derived_from",
            field=models.CharField(
                blank=True,
                default="",
                help_text='The VERIS enumerations that mapped to it, "; "-separated '
                '("action.malware.variety.Ransomware"); empty for a reported technique',
                max_length=1000,
            ),
        ),
        migrations.RunPython(mark_imported_links_derived, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="incidenttechnique",
            constraint=models.CheckConstraint(
                condition=models.Q(("provenance__in", ["reported", "derived"])),
                name="incidenttechnique_provenance_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="incidenttechnique",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("provenance", "derived"), ("derived_from", ""), _connector="OR"
                ),
                name="incidenttechnique_reported_not_derived",
            ),
        ),
    ]
