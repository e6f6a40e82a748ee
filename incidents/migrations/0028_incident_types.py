"""Incident types: the coarse kind of attack (ransomware, data breach, DDoS, ...), public,
one or more per incident (DESIGN.md: "incident type").

- The model and the link table, with their version triggers (catalogue data).
- The ten types, as they were when this migration was written (frozen here: the
  migration must not change when rules.INCIDENT_TYPES does; services.ensure_taxonomy
  adds later ones).
- PostgreSQL's search vector (migration 0006) also holds the spellings sources used for the
  victim (weight A, with its name) and the incident's types (weight B, with the summary),
  so a search for "ransomware" finds an incident typed ransomware whose text never says
  it, on the GIN index. Triggers keep it: an alias or a type link written, a type renamed.
  Only incidents whose victim has another spelling are re-indexed here.
"""

import importlib

from django.db import migrations, models

VERSIONS = importlib.import_module("incidents.migrations.0022_version_triggers")

TYPES = [
    ("ransomware", "Ransomware",
     "Malware that encrypts or steals the victim's data and a demand for payment to "
     "restore or not publish it."),
    ("data-breach", "Data breach",
     "Data confirmed as disclosed to someone not entitled to it: stolen, leaked or exposed."),
    ("ddos", "Denial of service (DDoS)",
     "A service made unavailable by flooding it with traffic or requests."),
    ("wiper", "Wiper or destructive attack",
     "Data or systems deliberately destroyed or made unusable, without a way back."),
    ("espionage", "Espionage",
     "Intrusion to gather secrets: state, political, military or commercial intelligence."),
    ("defacement", "Defacement",
     "A website or public account altered to show the attacker's message."),
    ("bec", "Business email compromise (BEC)",
     "Email from a compromised or impersonated account used to divert payments or data."),
    ("supply-chain", "Supply chain",
     "An attack that reached its victims through a supplier's software, service or access."),
    ("insider-misuse", "Insider misuse",
     "Staff or partners abusing the access they were trusted with."),
    ("error", "Error or misconfiguration",
     "An accident: data sent to the wrong people, published by mistake or left exposed by a "
     "misconfigured system."),
]  # fmt: skip


def create_types(apps, schema_editor):
    IncidentType = apps.get_model("incidents", "IncidentType")
    for position, (slug, name, description) in enumerate(TYPES, 1):
        IncidentType.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )


def delete_types(apps, schema_editor):
    apps.get_model("incidents", "IncidentType").objects.filter(
        slug__in=[slug for slug, _, _ in TYPES]
    ).delete()


SEARCH_VECTOR = """
CREATE OR REPLACE FUNCTION incidents_incident_search_vector() RETURNS trigger AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('english', coalesce(
      (SELECT o.name || ' ' || coalesce(
                string_agg(a.name, ' ' ORDER BY a.name) FILTER (WHERE a.name <> o.name), '')
       FROM incidents_organisation o
       LEFT JOIN incidents_organisationalias a ON a.organisation_id = o.id
       WHERE o.id = NEW.organisation_id GROUP BY o.name), '')), 'A') ||
    setweight(to_tsvector('english', coalesce(NEW.summary, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(
      (SELECT string_agg(t.name || ' ' || replace(t.slug, '-', ' '), ' ' ORDER BY t.position)
       FROM incidents_incident_types it
       JOIN incidents_incidenttype t ON t.id = it.incidenttype_id
       WHERE it.incident_id = NEW.id), '')), 'B') ||
    setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
  RETURN NEW;
END $$ LANGUAGE plpgsql;

-- A spelling of a victim written or removed: its incidents are indexed again.
CREATE OR REPLACE FUNCTION incidents_alias_search() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE incidents_incident SET summary = summary
    WHERE organisation_id IN (SELECT organisation_id FROM new_rows);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE incidents_incident SET summary = summary
    WHERE organisation_id IN (SELECT organisation_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER alias_search_insert AFTER INSERT ON incidents_organisationalias
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION incidents_alias_search();
CREATE TRIGGER alias_search_update AFTER UPDATE ON incidents_organisationalias
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION incidents_alias_search();
CREATE TRIGGER alias_search_delete AFTER DELETE ON incidents_organisationalias
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION incidents_alias_search();

-- A type linked to or unlinked from incidents: they are indexed again (once per statement).
CREATE OR REPLACE FUNCTION incidents_type_link_search() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE incidents_incident SET summary = summary
    WHERE id IN (SELECT incident_id FROM new_rows);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE incidents_incident SET summary = summary
    WHERE id IN (SELECT incident_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER type_link_search_insert AFTER INSERT ON incidents_incident_types
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION incidents_type_link_search();
CREATE TRIGGER type_link_search_update AFTER UPDATE ON incidents_incident_types
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION incidents_type_link_search();
CREATE TRIGGER type_link_search_delete AFTER DELETE ON incidents_incident_types
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION incidents_type_link_search();

-- A type renamed: its incidents are indexed again.
CREATE OR REPLACE FUNCTION incidents_type_renamed() RETURNS trigger AS $$
BEGIN
  UPDATE incidents_incident SET summary = summary
  WHERE id IN (SELECT incident_id FROM incidents_incident_types WHERE incidenttype_id = NEW.id);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER type_name_update AFTER UPDATE OF name, slug ON incidents_incidenttype
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.slug IS DISTINCT FROM NEW.slug)
  EXECUTE FUNCTION incidents_type_renamed();

-- Incidents whose victim has another spelling than its name (types: none linked yet).
UPDATE incidents_incident SET summary = summary
WHERE organisation_id IN (
  SELECT a.organisation_id FROM incidents_organisationalias a
  JOIN incidents_organisation o ON o.id = a.organisation_id WHERE a.name <> o.name);
"""

# Migration 0006's function, as it was.
SEARCH_VECTOR_BACKWARD = """
DROP TRIGGER IF EXISTS type_name_update ON incidents_incidenttype;
DROP FUNCTION IF EXISTS incidents_type_renamed();
DROP TRIGGER IF EXISTS type_link_search_insert ON incidents_incident_types;
DROP TRIGGER IF EXISTS type_link_search_update ON incidents_incident_types;
DROP TRIGGER IF EXISTS type_link_search_delete ON incidents_incident_types;
DROP FUNCTION IF EXISTS incidents_type_link_search();
DROP TRIGGER IF EXISTS alias_search_insert ON incidents_organisationalias;
DROP TRIGGER IF EXISTS alias_search_update ON incidents_organisationalias;
DROP TRIGGER IF EXISTS alias_search_delete ON incidents_organisationalias;
DROP FUNCTION IF EXISTS incidents_alias_search();

CREATE OR REPLACE FUNCTION incidents_incident_search_vector() RETURNS trigger AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('english', coalesce(
      (SELECT name FROM incidents_organisation WHERE id = NEW.organisation_id), '')), 'A') ||
    setweight(to_tsvector('english', coalesce(NEW.summary, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
  RETURN NEW;
END $$ LANGUAGE plpgsql;

UPDATE incidents_incident SET summary = summary
WHERE organisation_id IN (
  SELECT a.organisation_id FROM incidents_organisationalias a
  JOIN incidents_organisation o ON o.id = a.organisation_id WHERE a.name <> o.name);
"""


def search_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_VECTOR, params=None)


def search_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_VECTOR_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0027_editors_decide_merges"),
    ]

    operations = [
        migrations.CreateModel(
            name="IncidentType",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(max_length=60, unique=True)),
                ("name", models.CharField(max_length=100, unique=True)),
                ("description", models.TextField(blank=True)),
                (
                    "position",
                    models.PositiveSmallIntegerField(
                        default=0,
                        help_text="Where the type comes in lists, menus and charts (lowest first)",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "name"],
                "abstract": False,
            },
        ),
        migrations.AddField(
            model_name="incident",
            name="types",
            field=models.ManyToManyField(
                blank=True,
                related_name="incidents",
                to="incidents.incidenttype",
                verbose_name="incident types",
            ),
        ),
        VERSIONS.catalogue_tables("incidents_incidenttype", "incidents_incident_types"),
        migrations.RunPython(create_types, delete_types),
        migrations.RunPython(search_forward, search_backward),
    ]
