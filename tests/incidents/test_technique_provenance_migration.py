"""Migration 0018: Incident.techniques gets its through model (IncidentTechnique) in place.

Run forward and backward on this database (SQLite or PostgreSQL) with Django's
MigrationExecutor: every link made by the plain many-to-many is kept; links of incidents
from a VERIS dataset become derived, the others reported; going back keeps them too.
Transactional (schema changes), so `make test` runs it in the serial step."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("incidents", "0017_export_jobs")]
AFTER = [("incidents", "0018_technique_provenance")]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def link_rows():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT incident_id, technique_id FROM incidents_incident_techniques ORDER BY id"
        )
        return cursor.fetchall()


@pytest.fixture
def at_0015():
    """The schema before 0018 with three incidents' links: a VCDB incident's, a synthetic
    (benchmark) one's and a staff-made one's. Leaves the database fully migrated."""
    old = migrate(BEFORE)
    yield old
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def make_incidents(apps):
    Dataset = apps.get_model("incidents", "Dataset")
    Organisation = apps.get_model("incidents", "Organisation")
    Incident = apps.get_model("incidents", "Incident")
    Technique = apps.get_model("incidents", "Technique")
    org = Organisation.objects.create(name="Acme", slug="acme", country="DE")
    t1, t2 = (Technique.objects.create(attack_id=a, name=a) for a in ("T1486", "T1566"))
    made = {}
    for key, dataset in (
        ("vcdb", Dataset.objects.create(slug="vcdb", name="VCDB")),
        ("synthetic", Dataset.objects.create(slug="synthetic", name="Synthetic")),
        ("staff", None),
    ):
        incident = Incident.objects.create(
            organisation=org,
            date="2021-05-17",
            slug=f"2021-05-acme-{key}",
            status="draft",
            dataset=dataset,
            external_id=key if dataset else "",
        )
        incident.techniques.add(t1, t2)
        made[key] = incident.pk
    return made


def test_forward_keeps_every_link_and_marks_imported_ones_derived(at_0015):
    made = make_incidents(at_0015)
    before = link_rows()
    assert len(before) == 6

    new = migrate(AFTER)

    assert link_rows() == before, "the same rows, ids and order"
    IncidentTechnique = new.get_model("incidents", "IncidentTechnique")
    provenance = {
        (link.incident_id, link.provenance, link.derived_from)
        for link in IncidentTechnique.objects.all()
    }
    assert provenance == {
        (made["vcdb"], "derived", ""),  # what it was derived from was never recorded
        (made["synthetic"], "reported", ""),
        (made["staff"], "reported", ""),
    }
    # The many-to-many still reads through the kept table.
    Incident = new.get_model("incidents", "Incident")
    assert Incident.objects.get(pk=made["staff"]).techniques.count() == 2


def test_backward_keeps_every_link(at_0015):
    make_incidents(at_0015)
    before = link_rows()
    migrate(AFTER)
    old = migrate(BEFORE)
    assert link_rows() == before
    Incident = old.get_model("incidents", "Incident")
    assert all(i.techniques.count() == 2 for i in Incident.objects.all())
