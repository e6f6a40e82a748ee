"""The HHS OCR breach portal importer on rows drawn from the real exports (tests/data/hhs/):
reading and mapping (pure), then ``import_hhs`` end to end: what is a cyber incident,
several filings of one event, the open case that reaches the archive, merges with VCDB's
incidents and candidates for staff, idempotency, staff edits, and bad input."""

import csv
import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from incidents import rules, services
from incidents.importers.hhs import (
    HeaderError,
    RawRow,
    RowError,
    not_cyber,
    parse_row,
    read_rows,
)
from incidents.importers.hhs.resolve import KnownIncident, days_apart, records_agree
from incidents.models import (
    Dataset,
    Incident,
    IncidentRecord,
    MergeCandidate,
    Organisation,
    Source,
)
from tests.factories import UserFactory

DATA = Path(__file__).resolve().parent.parent / "data" / "hhs"
ARCHIVE = DATA / "archive.csv"
OPEN = DATA / "under_investigation.csv"
VCDB = DATA / "vcdb.jsonl"
HEADER = [
    "Name of Covered Entity", "State", "Covered Entity Type", "Individuals Affected",
    "Breach Submission Date", "Type of Breach", "Location of Breached Information",
    "Business Associate Present", "Web Description",
]  # fmt: skip
TODAY = datetime.date(2026, 12, 8)


def row(**values):
    """A raw row of the archive: Bay Oral Surgery's case, with ``values`` replaced."""
    base = dict(
        zip(
            HEADER,
            [
                "Bay Oral Surgery & Implant Center", "WI", "Healthcare Provider", "13055",
                "04/26/2024", "Hacking/IT Incident", "Email", "No", "The covered entity (CE)...",
            ],
            strict=True,
        )
    )  # fmt: skip
    base.update({k.replace("_", " "): v for k, v in values.items()})
    return RawRow("archive.csv", 2, base)


def write_csv(path, rows, header=HEADER):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def real_rows(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def import_hhs(*paths, **options):
    out = StringIO()
    call_command("import_hhs", *map(str, paths), stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def import_vcdb():
    call_command("import_veris", str(VCDB), publish=True, stdout=StringIO(), stderr=StringIO())


def hhs_record(name_start):
    return IncidentRecord.objects.select_related("incident").get(
        dataset__slug="hhs-ocr", values__name__startswith=name_start
    )


# Which cases are cyber incidents


@pytest.mark.parametrize(
    "types, locations, imported",
    [
        (["Hacking/IT Incident"], ["Paper/Films"], True),
        (["Hacking/IT Incident", "Theft"], ["Laptop"], True),
        (["Unauthorized Access/Disclosure"], ["Email"], True),
        (["Unauthorized Access/Disclosure"], ["Network Server", "Other"], True),
        (["Unauthorized Access/Disclosure"], ["Electronic Medical Record"], True),
        (["Unauthorized Access/Disclosure"], ["Paper/Films"], False),
        (["Unauthorized Access/Disclosure"], ["Desktop Computer"], False),
        (["Theft"], ["Laptop"], False),
        (["Loss"], ["Email"], False),
        (["Improper Disposal"], ["Paper/Films"], False),
        (["Other"], ["Network Server"], False),
    ],
)
def test_which_cases_are_cyber_incidents(types, locations, imported):
    assert (not_cyber(types, locations) == "") is imported


def test_a_theft_is_counted_not_imported():
    assert parse_row(row(Type_of_Breach="Theft", Location_of_Breached_Information="Laptop")) == (
        "Theft"
    )


# Mapping one row


def test_a_case_maps_to_victim_state_sector_records_and_date():
    case = parse_row(row(), today=TODAY)
    assert case.victim == "Bay Oral Surgery & Implant Center"
    assert case.state == "WI"
    assert case.sector == "healthcare"
    assert case.records_affected == 13055
    assert case.submitted == datetime.date(2024, 4, 26)
    assert case.locations == ("Email",)
    assert case.business_associate is False
    assert case.summary == "The covered entity (CE)..."
    assert case.external_id == "WI:2024-04-26:bayoralsurgeryandimplantcenter"


@pytest.mark.parametrize(
    "entity_type, sector",
    [
        ("Healthcare Provider", "healthcare"),
        ("Health Plan", "finance"),
        ("Healthcare Clearing House", "healthcare"),
        ("Business Associate", None),
        ("", None),
    ],
)
def test_entity_type_maps_to_a_sector(entity_type, sector):
    assert parse_row(row(Covered_Entity_Type=entity_type), today=TODAY).sector == sector


def test_a_dba_name_shows_the_trade_name_and_matches_both():
    case = parse_row(row(Name_of_Covered_Entity="MHNU Corporation d/b/a Medical Home Network"))
    assert case.victim == "Medical Home Network"
    assert {"medicalhomenetwork", "mhnu"} <= case.keys


def test_entity_suffixes_do_not_tell_victims_apart():
    assert rules.organisation_key("CVS Caremark, L.L.C.") == rules.organisation_key("CVS Caremark")
    assert rules.organisation_key("Smith Dental, P.C.") == rules.organisation_key("Smith Dental")
    assert rules.organisation_key("Foo PLLC") == rules.organisation_key("Foo")


def test_ocr_description_is_kept_untouched_but_for_control_characters():
    text = "The CE reported...\nStaff were retrained.  Twice."
    assert parse_row(row(Web_Description=text + "\x00\n")).summary == text


@pytest.mark.parametrize(
    "values, column",
    [
        ({"Name_of_Covered_Entity": "   "}, "Name of Covered Entity"),
        ({"Individuals_Affected": "many"}, "Individuals Affected"),
        ({"Breach_Submission_Date": "2024-13-45"}, "Breach Submission Date"),
        ({"Breach_Submission_Date": ""}, "Breach Submission Date"),
    ],
)
def test_a_row_that_cannot_be_read_names_its_column(values, column):
    with pytest.raises(RowError) as exc:
        parse_row(row(**values))
    assert exc.value.column == column


@pytest.mark.parametrize(
    "values, reason",
    [
        ({"Breach_Submission_Date": "01/01/2099"}, "in the future"),
        ({"Individuals_Affected": "-5"}, "negative"),
        ({"Individuals_Affected": "1000000001"}, "over 1,000,000,000"),
    ],
)
def test_implausible_values_keep_the_incident_a_draft(values, reason):
    case = parse_row(row(**values), today=TODAY)
    assert any(reason in r for r in case.draft_reasons)


# Reading the files


def test_rows_know_their_line_across_multi_line_descriptions(tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        [
            [
                "A",
                "WI",
                "Healthcare Provider",
                "1",
                "04/26/2024",
                "Theft",
                "Laptop",
                "No",
                "x\ny\nz",
            ],
            ["B", "WI", "Healthcare Provider", "1", "04/26/2024", "Theft", "Laptop", "No", ""],
        ],
    )
    assert [(r.where, r.values["Name of Covered Entity"]) for r in read_rows([path])] == [
        ("a.csv:2", "A"),
        ("a.csv:5", "B"),
    ]


def test_a_short_row_is_reported_with_its_line_and_column(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["A", "WI", "Healthcare Provider"]])
    (raw,) = read_rows([path])
    assert raw.values is None
    assert (raw.where, raw.column) == ("a.csv:2", "Individuals Affected")


def test_an_unknown_header_is_refused(tmp_path):
    path = write_csv(tmp_path / "a.csv", [], header=[*HEADER[:-1], "Notes"])
    with pytest.raises(HeaderError, match="unknown column.*'Notes'"):
        list(read_rows([path]))


# Resolution rules


def test_date_window_and_records_agreement():
    submitted = datetime.date(2018, 4, 17)
    incident = KnownIncident(1, 1, datetime.date(2018, 1, 2), "day", 30000)
    assert days_apart(incident, submitted) == 105
    year = KnownIncident(1, 1, datetime.date(2015, 1, 1), "year", None)
    assert days_apart(year, submitted) is None  # over two years before the filing
    assert records_agree(30000, 29528) == "close"
    assert records_agree(100, 200) == "differ"
    assert records_agree(None, 5) == "unknown"


# The command, end to end


@pytest.mark.django_db
def test_import_counts_skips_and_is_idempotent():
    out = import_hhs(ARCHIVE, OPEN, publish=True)
    assert "12 created" in out
    assert "Theft: 2" in out and "Loss: 1" in out and "Improper Disposal: 1" in out
    assert Incident.objects.filter(dataset__slug="hhs-ocr").count() == 12
    assert not Incident.objects.filter(organisation__name__icontains="Mayfield").exists()
    dataset = Dataset.objects.get(slug="hhs-ocr")
    assert "Public domain" in dataset.licence
    tables = _tables()
    out = import_hhs(ARCHIVE, OPEN, publish=True)
    assert "0 created" in out and "12 unchanged" in out
    assert _tables() == tables


def _tables():
    return (
        list(Incident.objects.order_by("pk").values()),
        list(Organisation.objects.order_by("pk").values()),
        list(IncidentRecord.objects.order_by("pk").values()),
        list(Source.objects.order_by("pk").values()),
    )


@pytest.mark.django_db
def test_an_incident_of_hhs_has_its_victim_source_and_record():
    import_hhs(ARCHIVE, publish=True)
    record = hhs_record("MHNU")
    incident = record.incident
    assert incident.organisation.name == "Medical Home Network"
    assert incident.organisation.state == "IL"
    assert incident.organisation.country == "US"
    assert {"MHNU Corporation", "Medical Home Network"} <= set(
        incident.organisation.aliases.values_list("name", flat=True)
    )
    assert incident.date == datetime.date(2024, 4, 16)
    # The submission is the regulator filing: the timeline's disclosed date; no occurred.
    assert (incident.disclosed_on, incident.disclosed_precision) == (incident.date, "day")
    assert incident.occurred_on is None
    assert incident.records_affected == 681
    assert incident.summary.startswith("The business associate (BA), MHNU Corporation")
    assert record.values["business_associate"] is True
    assert record.values["location"] == "Email"
    (source,) = incident.sources.all()
    assert source.url == "https://ocrportal.hhs.gov/ocr/breach/breach_report.jsf"
    assert "MHNU Corporation d/b/a Medical Home Network (IL)" in source.title
    assert "16 Apr 2024" in source.title


@pytest.mark.django_db
def test_several_filings_of_one_event_are_one_incident():
    import_hhs(ARCHIVE)
    record = IncidentRecord.objects.get(
        values__name="Northwood, Inc.", values__submitted="2019-07-16"
    )
    # Two filings on 16 Jul 2019 (583 and 3,881 individuals); the 12 Jul filing is another.
    assert record.incident.records_affected == 583 + 3881
    assert len(record.values["filings"]) == 2
    assert Incident.objects.filter(organisation__name="Northwood, Inc.").count() == 2


@pytest.mark.django_db
def test_a_case_under_investigation_then_archived_is_one_incident_updated():
    import_hhs(OPEN, publish=True)
    record = hhs_record("Highmark")
    assert record.values["status"] == "under investigation"
    assert record.incident.summary == ""
    out = import_hhs(ARCHIVE, OPEN, publish=True)
    assert "1 updated" in out
    record = hhs_record("Highmark")
    assert record.values["status"] == "archive"
    assert record.incident.summary.startswith("Highmark, the covered entity (CE)")
    assert Incident.objects.filter(organisation__name__startswith="Highmark").count() == 1


@pytest.mark.django_db
def test_an_archived_case_under_a_mended_name_updates_its_open_case(tmp_path):
    import_hhs(OPEN)
    before = hhs_record("Texas Retina").incident_id
    (texas,) = [r for r in real_rows(OPEN) if r[0] == "Texas Retina Associates"]
    archived = [*texas[:8], "The covered entity (CE), Texas Retina Associates, reported..."]
    archived[0] = "Texas Retina Associate, P.A."
    import_hhs(write_csv(tmp_path / "hhs_breach_archive.csv", [archived]))
    record = hhs_record("Texas Retina")
    assert record.incident_id == before
    assert record.values["status"] == "archive"
    assert Incident.objects.filter(organisation__name__startswith="Texas Retina").count() == 1


@pytest.mark.django_db
def test_the_same_event_in_vcdb_and_hhs_is_one_incident_with_both_sources(client):
    import_vcdb()
    vcdb_inogen = Incident.objects.get(dataset__slug="vcdb", organisation__name="Inogen")
    out = import_hhs(ARCHIVE, OPEN, publish=True)
    assert "merged" in out
    data = client.get(reverse("data_sources")).content.decode()
    assert "+ 1 also reported by another dataset" in data  # Inogen
    record = hhs_record("Inogen")
    assert record.incident_id == vcdb_inogen.pk
    vcdb_inogen.refresh_from_db()
    # VCDB's values stay; HHS's own are on its record.
    assert vcdb_inogen.records_affected == 30000
    assert record.values["individuals_affected"] == 29528
    assert vcdb_inogen.sources.filter(url__contains="ocrportal.hhs.gov").exists()
    assert Organisation.objects.filter(name__startswith="Inogen").count() == 1
    # The merged incident's page shows what each dataset says.
    page = client.get(vcdb_inogen.get_absolute_url()).content.decode()
    assert "What each dataset says" in page
    assert "29,528" in page
    # Idempotent: a second run merges nothing again and creates nothing.
    out = import_hhs(ARCHIVE, OPEN, publish=True)
    assert "0 created, 0 merged" in out


@pytest.mark.django_db
def test_uncertain_pairs_become_merge_candidates_never_merged():
    import_vcdb()
    import_hhs(ARCHIVE, OPEN, publish=True)
    # Sunspire Health: same victim, date in the window, VCDB gives no count.
    sunspire = hhs_record("Sunspire")
    assert sunspire.incident.dataset.slug == "hhs-ocr"
    vcdb_sunspire = Incident.objects.get(dataset__slug="vcdb", organisation__name="Sunspire Health")
    assert sunspire.incident.organisation_id == vcdb_sunspire.organisation_id
    candidate = MergeCandidate.objects.get(incident=vcdb_sunspire)
    assert candidate.duplicate_id == sunspire.incident_id
    assert candidate.evidence["records"] == "unknown"
    # The Texas Department of Aging and Disability Services: a like name, equal counts.
    texas = MergeCandidate.objects.get(incident__organisation__name__contains="Aging")
    assert texas.evidence["name_similarity"] < 100
    assert texas.evidence["records"] == "equal"
    # Asked once: a re-import adds no candidate.
    n = MergeCandidate.objects.count()
    import_hhs(ARCHIVE, OPEN, publish=True)
    assert MergeCandidate.objects.count() == n


@pytest.mark.django_db
def test_staff_merge_a_candidate_and_a_reimport_keeps_it_merged():
    import_vcdb()
    import_hhs(ARCHIVE, OPEN, publish=True)
    candidate = MergeCandidate.objects.get(incident__organisation__name="Sunspire Health")
    duplicate_id = candidate.duplicate_id
    services.merge_incidents(candidate)
    assert not Incident.objects.filter(pk=duplicate_id).exists()
    assert hhs_record("Sunspire").incident_id == candidate.incident_id
    candidate.refresh_from_db()
    assert candidate.status == MergeCandidate.Status.MERGED
    out = import_hhs(ARCHIVE, OPEN, publish=True)
    assert "0 created" in out
    assert hhs_record("Sunspire").incident_id == candidate.incident_id


@pytest.mark.django_db
def test_a_staff_edit_is_never_overwritten(tmp_path):
    import_hhs(ARCHIVE, publish=True)
    incident = hhs_record("Bay Oral").incident
    incident.summary = "Edited by staff."
    incident.save()
    rows = real_rows(ARCHIVE)
    for r in rows:
        if r[0].startswith("Bay Oral"):
            r[3] = "13100"  # OCR revised the count
            r[8] = r[8] + " Updated."
    import_hhs(write_csv(tmp_path / "hhs_breach_archive.csv", rows), publish=True)
    incident.refresh_from_db()
    assert incident.summary == "Edited by staff."
    assert incident.records_affected == 13100
    assert hhs_record("Bay Oral").values["summary"].endswith("Updated.")


# Bad input


@pytest.mark.django_db
def test_a_malformed_row_is_reported_with_file_line_and_column_and_skipped(tmp_path):
    rows = real_rows(ARCHIVE)[:3]
    rows.insert(1, ["Broken Clinic", "WI", "Healthcare Provider"])
    rows.append(["", "WI", "Healthcare Provider", "5", "01/02/2020", "Hacking/IT Incident",
                 "Email", "No", ""])  # fmt: skip
    path = write_csv(tmp_path / "hhs_breach_archive.csv", rows)
    out = import_hhs(path)
    assert "hhs_breach_archive.csv:3: Individuals Affected: 3 columns" in out
    assert "Name of Covered Entity: empty" in out
    assert not Organisation.objects.filter(name="").exists()
    assert "2 skipped" in out


@pytest.mark.django_db
def test_implausible_cases_are_kept_as_drafts(tmp_path):
    rows = real_rows(ARCHIVE)[:1]
    rows[0][3] = "2000000000"
    rows.append([*rows[0][:3], "500", "01/01/2099", *rows[0][5:]])
    import_hhs(write_csv(tmp_path / "hhs_breach_archive.csv", rows), publish=True)
    incidents = Incident.objects.filter(dataset__slug="hhs-ocr")
    assert incidents.count() == 2
    assert set(incidents.values_list("status", flat=True)) == {"draft"}


@pytest.mark.django_db
def test_an_unknown_header_writes_nothing(tmp_path):
    bad = write_csv(tmp_path / "other.csv", [], header=["Name", "When"])
    with pytest.raises(CommandError, match="not an HHS breach portal export"):
        import_hhs(ARCHIVE, bad)
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_strict_rolls_everything_back(tmp_path):
    rows = [*real_rows(ARCHIVE)[:3], ["Broken Clinic", "WI"]]
    with pytest.raises(CommandError, match="rolled back"):
        import_hhs(write_csv(tmp_path / "hhs_breach_archive.csv", rows), strict=True)
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_the_data_sources_page_lists_hhs_with_its_licence(client):
    import_hhs(ARCHIVE, publish=True)
    page = client.get(reverse("data_sources")).content.decode()
    assert "HHS OCR breach portal" in page
    assert "Public domain" in page
    assert "cases to 26 Apr 2024" in page  # the newest submission in the fixture


# Staff decide the merge candidates in the admin


@pytest.fixture
def editor_client(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_an_editor_sees_a_candidate_side_by_side_and_merges_it(editor_client):
    import_vcdb()
    import_hhs(ARCHIVE, OPEN, publish=True)
    candidate = MergeCandidate.objects.get(incident__organisation__name="Sunspire Health")
    changelist = editor_client.get(reverse("admin:incidents_mergecandidate_changelist"))
    assert changelist.status_code == 200
    assert "Sunspire Health ~ Sunspire Health" in changelist.content.decode()
    page = editor_client.get(
        reverse("admin:incidents_mergecandidate_change", args=[candidate.pk])
    ).content.decode()
    assert "Records affected" in page and "6,737" in page  # HHS's count beside VCDB's none
    assert "days_before_submission" in page
    duplicate = candidate.duplicate_id
    response = editor_client.post(
        reverse("admin:incidents_mergecandidate_changelist"),
        {"action": "merge", "_selected_action": [candidate.pk]},
    )
    assert response.status_code == 302
    assert not Incident.objects.filter(pk=duplicate).exists()
    assert hhs_record("Sunspire").incident_id == candidate.incident_id


@pytest.mark.django_db
def test_an_editor_keeps_a_pair_apart_and_it_is_not_asked_again(editor_client):
    import_vcdb()
    import_hhs(ARCHIVE, OPEN, publish=True)
    candidate = MergeCandidate.objects.get(incident__organisation__name="Sunspire Health")
    editor_client.post(
        reverse("admin:incidents_mergecandidate_changelist"),
        {"action": "reject", "_selected_action": [candidate.pk]},
    )
    candidate.refresh_from_db()
    assert candidate.status == MergeCandidate.Status.REJECTED
    import_hhs(ARCHIVE, OPEN, publish=True)
    assert MergeCandidate.objects.filter(incident=candidate.incident).count() == 1
    candidate.refresh_from_db()
    assert candidate.status == MergeCandidate.Status.REJECTED
