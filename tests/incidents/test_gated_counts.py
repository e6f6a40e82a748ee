"""The gated counts kept as columns (Incident.motive_count, technique_count, actor_count,
migration 0023's triggers) agree with the links, counted again by
incidents.denormalised, after writes through every route a writer may take."""

import importlib
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from incidents.denormalised import gated_count_mismatches
from incidents.models import Incident, IncidentTechnique
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    TechniqueFactory,
    ThreatActorFactory,
    UserFactory,
)
from tests.test_admin import change_form_payload, change_url, client_for

MIGRATION = importlib.import_module("incidents.migrations.0023_gated_count_columns")
MotiveLink = Incident.motives.through
ActorLink = Incident.threat_actors.through


def counts(incident):
    incident.refresh_from_db(fields=["motive_count", "technique_count", "actor_count"])
    return (incident.motive_count, incident.technique_count, incident.actor_count)


def assert_agree(step):
    assert gated_count_mismatches() == [], step


@pytest.fixture
def world(db):
    motives = [MotiveFactory() for _ in range(4)]
    techniques = [TechniqueFactory() for _ in range(4)]
    actors = [ThreatActorFactory() for _ in range(3)]
    a = IncidentFactory(motives=motives[:2], techniques=techniques[:1], threat_actors=actors[:1])
    b = IncidentFactory()
    return a, b, motives, techniques, actors


def test_the_counts_follow_every_writer(world):
    a, b, (m1, m2, m3, m4), (t1, t2, t3, t4), (x1, x2, x3) = world
    assert counts(a) == (2, 1, 1) and counts(b) == (0, 0, 0)
    assert_agree("factory")

    # The m2m API, both sides.
    a.motives.add(m3)
    assert counts(a)[0] == 3
    a.motives.remove(m1)
    assert counts(a)[0] == 2
    a.motives.set([m1])
    assert counts(a)[0] == 1
    a.motives.clear()
    assert counts(a)[0] == 0
    m2.incidents.add(a, b)
    assert counts(a)[0] == counts(b)[0] == 1
    a.techniques.add(t2, t3)
    a.techniques.remove(t1)
    assert counts(a)[1] == 2
    a.techniques.set([t4])
    assert counts(a)[1] == 1
    a.threat_actors.add(x2, x3)
    assert counts(a)[2] == 3
    a.threat_actors.set([x3])
    x3.incidents.add(b)
    assert counts(a)[2] == counts(b)[2] == 1
    b.threat_actors.clear()
    assert counts(b)[2] == 0
    assert_agree("m2m API")

    # bulk_create of link rows: one statement for several incidents.
    MotiveLink.objects.bulk_create(
        [MotiveLink(incident=a, motive=m3), MotiveLink(incident=a, motive=m4)]
        + [MotiveLink(incident=b, motive=m) for m in (m1, m3)]
    )
    IncidentTechnique.objects.bulk_create(
        [IncidentTechnique(incident=b, technique=t) for t in (t1, t2, t3)]
    )
    ActorLink.objects.bulk_create([ActorLink(incident=b, threatactor=x) for x in (x1, x2)])
    assert counts(a) == (3, 1, 1) and counts(b) == (3, 3, 2)
    assert_agree("bulk_create")

    # A link saved as a model, then moved to another incident, by save() and by update().
    link = IncidentTechnique.objects.create(
        incident=a, technique=TechniqueFactory(), provenance="derived"
    )
    assert counts(a)[1] == 2
    link.incident = b
    link.save()
    assert (counts(a)[1], counts(b)[1]) == (1, 4)
    IncidentTechnique.objects.filter(pk=link.pk).update(incident=a)
    MotiveLink.objects.filter(incident=b, motive=m1).update(incident=a)
    assert counts(a)[:2] == (4, 2) and counts(b)[:2] == (2, 3)
    IncidentTechnique.objects.filter(pk=link.pk).update(provenance="reported")
    assert counts(a)[1] == 2
    assert_agree("save and update of links")

    # Queryset deletes of link rows.
    MotiveLink.objects.filter(incident=a, motive__in=[m3, m4]).delete()
    IncidentTechnique.objects.filter(incident=b, technique=t2).delete()
    assert counts(a)[0] == 2 and counts(b)[1] == 2
    assert_agree("queryset delete")

    # Raw SQL.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents_incident_threat_actors (incident_id, threatactor_id) "
            "VALUES (%s, %s)",
            [a.pk, x1.pk],
        )
    assert counts(a)[2] == 2
    assert_agree("raw SQL")

    # A save of an instance read before its links changed writes its old counts: the
    # row keeps its links' counts. So does a direct write of the columns.
    held = Incident.objects.get(pk=a.pk)
    a.motives.add(m4)
    held.summary = "Edited while a motive was added."
    held.save()
    assert counts(a)[0] == 3
    Incident.objects.filter(pk=a.pk).update(motive_count=7, actor_count=0)
    assert counts(a) == (3, 2, 2)
    assert Incident.objects.create(organisation=a.organisation, date=a.date, motive_count=5)
    assert_agree("stale save, direct writes, an incident created with counts")

    # Deleting what the links point at cascades to the links.
    m2.delete()
    t4.delete()
    x3.delete()
    assert counts(a) == (2, 1, 1) and counts(b) == (1, 2, 2)
    assert_agree("deleted motive, technique and actor")

    # Deleting an incident deletes its links; the other keeps its counts.
    b.delete()
    assert counts(a) == (2, 1, 1)
    assert_agree("deleted incident")


def test_a_sub_technique_counts_as_a_technique_of_its_own(world):
    a, _b, _motives, (parent, *_), _actors = world
    child = TechniqueFactory(parent=parent, attack_id=f"{parent.attack_id}.001")
    a.techniques.add(child)
    assert counts(a)[1] == 2  # as the subqueries counted: every link
    child.delete()
    assert counts(a)[1] == 1
    assert_agree("sub-technique")


def test_admin_change_form_keeps_the_counts(world):
    a, _b, (m1, m2, m3, _m4), (t1, t2, _t3, _t4), (x1, x2, x3) = world
    client = client_for(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(change_url(a))
    data = change_form_payload(page)
    data["motives"] = [str(m.pk) for m in (m1, m2, m3)]
    data["threat_actors"] = [str(x.pk) for x in (x2, x3)]
    formset = next(
        inline.formset
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is IncidentTechnique
    )
    existing = next(form for form in formset.forms if form.instance.pk)
    data[f"{existing.prefix}-DELETE"] = "on"
    extra = next(form for form in formset.forms if not form.instance.pk)
    data[f"{extra.prefix}-technique"] = str(t2.pk)
    data[f"{extra.prefix}-provenance"] = "reported"

    response = client.post(change_url(a), data)
    errors = response.context and response.context["adminform"].form.errors
    assert response.status_code == 302, errors
    assert list(a.techniques.all()) == [t2]
    assert counts(a) == (3, 1, 2)
    assert_agree("admin change form")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncating_a_link_table_recounts(world):
    a, *_ = world
    with connection.cursor() as cursor:
        # The links' deferred foreign-key checks are pending in the test's transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE incidents_incident_motives")
    assert counts(a) == (0, 1, 1)
    assert_agree("TRUNCATE")


def _created_triggers(statements):
    return {re.search(r"CREATE TRIGGER (\w+)", s)[1] for s in statements if "CREATE TRIGGER" in s}


def installed_triggers():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall()}


def test_every_trigger_of_the_migration_is_installed(db):
    """Including after the later migrations that remake incidents_incident on SQLite
    (portal.sqlite keeps a remade table's triggers)."""
    statements = (
        MIGRATION.PG_FORWARD if connection.vendor == "postgresql" else MIGRATION.SQLITE_FORWARD
    )
    expected = _created_triggers(statements)
    assert len(expected) >= 10
    assert expected - installed_triggers() == set()


def test_check_denormalised_finds_and_repairs_a_count_the_triggers_missed(world):
    a, *_ = world
    m = MotiveFactory()
    trigger = "incident_motives_inserted"
    with connection.cursor() as cursor:
        # Rolled back with the test's transaction, like everything else here.
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER {trigger} ON incidents_incident_motives")
        else:
            cursor.execute(f"DROP TRIGGER {trigger}")
    a.motives.add(m)
    assert counts(a)[0] == 2  # what the triggers would have made 3
    [mismatch] = gated_count_mismatches()
    assert (mismatch.incident_id, mismatch.column, mismatch.stored, mismatch.counted) == (
        a.pk,
        "motive_count",
        2,
        3,
    )
    with pytest.raises(CommandError, match="1 incidents have gated counts"):
        call_command("check_denormalised")

    call_command("check_denormalised", "--repair")
    assert counts(a)[0] == 3
    call_command("check_denormalised")  # agrees now: no error
