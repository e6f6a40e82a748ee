"""The catalogue's versions (portal.versions): database rows that triggers change in the
writer's own transaction, whatever the writer (a model save, a bulk update, raw SQL, the
m2m API), on every table of catalogue data."""

import datetime

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import override_settings

from portal import versions
from portal.models import Version
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SourceFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

# Tables of the incidents app that are not catalogue data: computed from it, or a member's.
NOT_CATALOGUE = {
    "incidents_exportjob",
    "incidents_statisticsrollup",
    "incidents_savedsearch",
    "incidents_newincident",
    "incidents_alertmatch",
    "incidents_publicsnapshot",
    "incidents_watch",  # a member's watch list (their own data, like saved searches)
    # Staff's queue of pairs that may be one event: no public page or cache reads it.
    "incidents_mergecandidate",
}


def incidents_tables():
    models = apps.get_app_config("incidents").get_models(include_auto_created=True)
    return {model._meta.db_table for model in models}


def tables_with_version_triggers():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'version_%'"
            )
        else:
            cursor.execute(
                "SELECT DISTINCT event_object_table FROM information_schema.triggers "
                "WHERE trigger_name = 'version_change'"
            )
        return {row[0] for row in cursor.fetchall()}


def test_every_catalogue_table_has_its_triggers(db):
    catalogue = incidents_tables() - NOT_CATALOGUE
    # A new model is catalogue data until someone says otherwise, and its migration ends
    # with 0022's catalogue_tables(...).
    assert tables_with_version_triggers() == catalogue


def bumps(write, *names):
    """Run ``write()`` and return which of ``names``' versions it changed."""
    before = versions.current()
    write()
    after = versions.current()
    return {name for name in names if getattr(before, name) != getattr(after, name)}


BOTH = ("catalogue", "withdrawal")


def test_a_save_a_bulk_update_and_raw_sql_all_change_the_catalogue_version(db):
    incident = IncidentFactory(summary="One.")
    Incident = type(incident)

    def save():
        incident.summary = "Two."
        incident.save()

    def bulk():
        Incident.objects.filter(pk=incident.pk).update(summary="Three.")

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE incidents_incident SET summary = 'Four.' WHERE id = %s", [incident.pk]
            )

    for write in (save, bulk, raw):
        assert bumps(write, *BOTH) == {"catalogue"}, write.__name__


def test_every_kind_of_catalogue_row_changes_the_catalogue_version(db):
    incident = IncidentFactory()
    motive, actor, technique = MotiveFactory(), ThreatActorFactory(), TechniqueFactory()
    writes = [
        lambda: incident.motives.add(motive),
        lambda: incident.motives.remove(motive),
        lambda: incident.threat_actors.set([actor]),
        lambda: incident.techniques.add(technique),
        lambda: incident.techniques.clear(),
        lambda: SourceFactory(incident=incident),
        lambda: type(actor).objects.filter(pk=actor.pk).update(name="Renamed actor"),
        lambda: motive.delete(),
    ]
    for i, write in enumerate(writes):
        assert bumps(write, *BOTH) == {"catalogue"}, i


def test_what_takes_something_out_of_view_changes_the_withdrawal_version(db):
    incident = IncidentFactory()
    Incident = type(incident)
    other = OrganisationFactory()
    withdrawing = [
        lambda: Incident.objects.filter(pk=incident.pk).update(status="draft"),
        lambda: Incident.objects.filter(pk=incident.pk).update(status="published"),
        lambda: Incident.objects.filter(pk=incident.pk).update(organisation=other),
        lambda: type(other).objects.filter(pk=other.pk).update(name="Renamed victim"),
        lambda: type(other).objects.filter(pk=other.pk).update(country="FR"),
        lambda: Incident.objects.filter(pk=incident.pk).delete(),
    ]
    for i, write in enumerate(withdrawing):
        assert bumps(write, *BOTH) == {"catalogue", "withdrawal"}, i


def test_an_edit_that_keeps_everything_in_view_withdraws_nothing(db):
    incident = IncidentFactory()
    assert bumps(lambda: type(incident).objects.update(summary="Edited."), *BOTH) == {"catalogue"}
    org = incident.organisation
    assert bumps(lambda: type(org).objects.update(website="https://x.test"), *BOTH) == {"catalogue"}


def test_a_rolled_back_write_leaves_the_version_as_it_was(db):
    incident = IncidentFactory()
    before = versions.current()
    with pytest.raises(RuntimeError), transaction.atomic():
        type(incident).objects.update(status="draft")
        # Seen inside the transaction (the tests read the versions at every call).
        assert versions.current().withdrawal != before.withdrawal
        raise RuntimeError
    assert versions.current() == before


def test_the_tables_that_are_not_catalogue_data_change_nothing(db):
    from tests.factories import UserFactory

    user = UserFactory()
    SavedSearch = apps.get_model("incidents", "SavedSearch")
    assert (
        bumps(lambda: SavedSearch.objects.create(user=user, name="Mine", query="q=x"), *BOTH)
        == set()
    )


def test_versions_are_read_once_per_request_and_kept_a_moment_per_process(
    db, django_assert_num_queries
):
    with versions.one_read(), django_assert_num_queries(1):
        versions.catalogue(), versions.withdrawal(), versions.changed_within(15)
    with override_settings(VERSION_SECONDS=60):
        versions.forget()
        with django_assert_num_queries(1):
            first = versions.current()
            assert versions.current() is first  # kept by this process
        SourceFactory()
        assert versions.current() == first  # another process's write: seen within a minute
        versions.committed()  # what the writer path does when it commits
        assert versions.current() != first


def test_missing_rows_are_made_again(db):
    Version.objects.all().delete()  # a flushed database
    current = versions.current()
    assert Version.objects.count() == len(versions.NAMES)
    assert versions.current() == current


def test_the_last_change_is_recorded_for_the_replicas_lag_window(db):
    Version.objects.update(changed_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert not versions.changed_within(15)
    IncidentFactory()
    assert versions.changed_within(15)


def test_the_writer_paths_commit_restarts_the_lag_window(db, django_capture_on_commit_callbacks):
    """A transaction may commit long after its last catalogue statement: the replica's lag
    window runs from the commit, not from the statement the triggers stamped."""
    from incidents import services

    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    with django_capture_on_commit_callbacks(execute=True), services.catalogue_write():
        IncidentFactory()
        Version.objects.update(changed_at=long_ago)  # as if the statement were long ago
    assert versions.changed_within(15)
