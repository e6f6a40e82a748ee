"""Which dataset owns which field (issue 22): a re-import changes a field only while the
incident still holds what that dataset wrote there; staff edits are never overwritten; a
merged incident keeps each dataset's values apart (incidents/importers/owned.py)."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command

from incidents.models import Incident, IncidentRecord


def vcdb_record(summary="A breach.", records=100, day=3):
    return {
        "incident_id": "P-1",
        "summary": summary,
        "timeline": {"incident": {"year": 2019, "month": 1, "day": day}},
        "victim": {"victim_id": "Acme Clinic", "country": ["US"], "state": "OH"},
        "attribute": {"confidentiality": {"data_total": records, "data_disclosure": "Yes"}},
    }


def import_vcdb(tmp_path, record):
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps(record) + "\n")
    call_command("import_veris", str(path), publish=True, stdout=StringIO(), stderr=StringIO())
    return Incident.objects.get(external_id="P-1")


@pytest.mark.django_db
def test_a_vcdb_reimport_changes_what_vcdb_says_but_not_what_staff_edited(tmp_path):
    incident = import_vcdb(tmp_path, vcdb_record())
    incident.summary = "Rewritten by staff."
    incident.save()
    incident = import_vcdb(tmp_path, vcdb_record(summary="VCDB's new summary.", records=120))
    assert incident.summary == "Rewritten by staff."
    assert incident.records_affected == 120  # staff left it: VCDB's to change
    record = IncidentRecord.objects.get(incident=incident, dataset__slug="vcdb")
    assert record.values["wrote"]["records_affected"] == 120


@pytest.mark.django_db
def test_a_staff_edit_to_one_date_keeps_the_whole_timeline(tmp_path):
    incident = import_vcdb(tmp_path, vcdb_record(day=3))
    incident.occurred_on = datetime.date(2019, 1, 1)
    incident.save()
    incident = import_vcdb(tmp_path, vcdb_record(day=9))
    assert incident.occurred_on == datetime.date(2019, 1, 1)
    assert incident.date == datetime.date(2019, 1, 1)


@pytest.mark.django_db
def test_without_staff_edits_a_reimport_follows_the_dataset(tmp_path):
    import_vcdb(tmp_path, vcdb_record(day=3))
    incident = import_vcdb(tmp_path, vcdb_record(summary="Corrected.", day=9))
    assert incident.summary == "Corrected."
    assert incident.occurred_on == datetime.date(2019, 1, 9)


@pytest.mark.django_db
def test_a_vcdb_only_incident_page_shows_no_dataset_records(tmp_path, client):
    incident = import_vcdb(tmp_path, vcdb_record())
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "What each dataset says" not in page
