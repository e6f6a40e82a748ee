"""Full-text search on PostgreSQL: a trigger-maintained, GIN-indexed search vector,
and trigram matching of victim names. Nothing happens on SQLite (see incidents.search)."""

from django.db import migrations

FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE OR REPLACE FUNCTION incidents_incident_search_vector() RETURNS trigger AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('english', coalesce(
      (SELECT name FROM incidents_organisation WHERE id = NEW.organisation_id), '')), 'A') ||
    setweight(to_tsvector('english', coalesce(NEW.summary, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER incident_search_vector_update
  BEFORE INSERT OR UPDATE OF organisation_id, summary, description ON incidents_incident
  FOR EACH ROW EXECUTE FUNCTION incidents_incident_search_vector();

-- A renamed victim re-indexes its incidents.
CREATE OR REPLACE FUNCTION incidents_organisation_renamed() RETURNS trigger AS $$
BEGIN
  IF NEW.name IS DISTINCT FROM OLD.name THEN
    UPDATE incidents_incident SET summary = summary WHERE organisation_id = NEW.id;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER organisation_name_update
  AFTER UPDATE OF name ON incidents_organisation
  FOR EACH ROW EXECUTE FUNCTION incidents_organisation_renamed();

UPDATE incidents_incident SET summary = summary;

-- incidents.search: text queries.
CREATE INDEX incident_search_vector_gin ON incidents_incident USING gin (search_vector);
-- incidents.search: typo-tolerant victim names (similarity, the % operator).
CREATE INDEX organisation_name_trgm ON incidents_organisation USING gin (name gin_trgm_ops);
"""

BACKWARD = """
DROP INDEX IF EXISTS organisation_name_trgm;
DROP INDEX IF EXISTS incident_search_vector_gin;
DROP TRIGGER IF EXISTS organisation_name_update ON incidents_organisation;
DROP FUNCTION IF EXISTS incidents_organisation_renamed();
DROP TRIGGER IF EXISTS incident_search_vector_update ON incidents_incident;
DROP FUNCTION IF EXISTS incidents_incident_search_vector();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_search_vector")]

    operations = [migrations.RunPython(forward, backward)]
