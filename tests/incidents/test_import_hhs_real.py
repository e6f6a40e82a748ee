"""The real HHS OCR breach portal exports after the real VCDB (../shared/data): the counts
docs/importers/hhs.md publishes, a second run that changes nothing, and merged incidents
that carry both sources. Skipped with a clear reason when the shared data is absent; the
imports run once per module in a transaction rolled back at its end."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from incidents.models import Incident, IncidentRecord, MergeCandidate, Organisation

SHARED = Path(settings.BASE_DIR).parent / "shared" / "data"
VCDB_FILE = SHARED / "vcdb" / "vcdb_validated.jsonl"
HHS = SHARED / "hhs-breaches"
FILES = [HHS / "hhs_breach_archive.csv", HHS / "hhs_breach_under_investigation.csv"]

pytestmark = pytest.mark.skipif(
    not (VCDB_FILE.exists() and all(f.exists() for f in FILES)),
    reason=f"the real VCDB and HHS files are not on this machine ({SHARED}); "
    "copy ../shared/data beside the project to run the integration test",
)


def run(command, *paths):
    out = StringIO()
    call_command(command, *map(str, paths), publish=True, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def imported(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            run("import_veris", VCDB_FILE)
            out = run("import_hhs", *FILES)
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield out
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.mark.django_db
def test_counts_on_the_real_files(imported):
    last = imported.splitlines()[-1]
    assert last == (
        "3920 created, 206 merged into other datasets' incidents, 0 updated, 0 unchanged, "
        "0 skipped, 2110 not cyber incidents."
    )
    assert MergeCandidate.objects.count() == 246
    assert IncidentRecord.objects.filter(dataset__slug="hhs-ocr").count() == 4126


@pytest.mark.django_db
def test_a_merged_incident_has_both_sources(imported):
    incident = Incident.objects.get(
        dataset__slug="vcdb", organisation__name="Partnership HealthPlan of California"
    )
    record = incident.records.get(dataset__slug="hhs-ocr")
    assert record.values["individuals_affected"] == 854913
    assert incident.records_affected == 850000
    assert incident.sources.filter(url__contains="ocrportal.hhs.gov").exists()


@pytest.mark.django_db
def test_same_named_victims_in_different_states_are_apart(imported):
    states = Organisation.objects.filter(name="Methodist Hospital").values_list("state", flat=True)
    assert sorted(states) == ["KY", "TN", "TX"]


@pytest.mark.django_db
def test_a_second_run_changes_nothing(imported):
    out = run("import_hhs", *FILES)
    assert out.splitlines()[-1].startswith(
        "0 created, 0 merged into other datasets' incidents, 0 updated, 4126 unchanged"
    )
