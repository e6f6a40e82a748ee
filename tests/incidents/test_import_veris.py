"""The VERIS (VCDB) importer on small hand-written samples (tests/data/veris/).

Unit tests of the pure mapping (``read_records``, ``parse_record``,
``load_technique_map``) come first, then the ``import_veris`` command end to end:
counts, drafts and publishing, idempotency, staff tagging, malformed records,
--strict, --dry-run, provenance and the gating of unattributed actors.
"""

import datetime
import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.importers.veris import (
    MAX_TECHNIQUES_PER_VARIETY,
    RawRecord,
    RecordError,
    SourceRef,
    VerisImporter,
    actor_name,
    load_technique_map,
    parse_record,
    read_records,
)
from incidents.models import (
    CIAPosture,
    Dataset,
    Incident,
    Motive,
    Organisation,
    Source,
    Technique,
    ThreatActor,
)
from tests.factories import (
    IncidentFactory,
    OrganisationFactory,
    TechniqueFactory,
    UserFactory,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "veris"
SAMPLE = DATA / "sample.jsonl"
MAPPING = DATA / "attack-mapping.csv"
SAMPLE_KEYS = [f"SAMPLE-{n:04d}" for n in range(1, 6)]
US = "United States of America"


def record(**overrides):
    """A minimal valid VERIS record, with top-level keys replaced by ``overrides``."""
    data = {
        "incident_id": "TEST-0001",
        "summary": "A test incident.",
        "timeline": {"incident": {"year": 2019, "month": 11, "day": 20}},
        "victim": {"victim_id": "Test Victim", "country": ["US"], "industry": "622110"},
    }
    data.update(overrides)
    return data


def parse(data, key="TEST-0001", where="test.jsonl:1", technique_map=None):
    return parse_record(RawRecord(where, key, data), technique_map)


def victim(**fields):
    return {"victim_id": "Test Victim", "country": ["US"], **fields}


def timeline(**incident):
    return {"incident": incident}


# Victim organisation, country, sector


def test_victim_organisation_and_country():
    parsed = parse(record(victim=victim(victim_id="  Example   Hospital\nTrust ", country=["GB"])))
    assert parsed.victim == "Example Hospital Trust"
    assert parsed.country == parsed.org_country == "GB"


def test_victim_id_given_as_a_list_takes_the_first_name():
    parsed = parse(record(victim=victim(victim_id=["Example Bank", "Example Bank Holdings"])))
    assert parsed.victim == "Example Bank"


@pytest.mark.parametrize("name", [None, "", "   ", "Unknown", "unknown", "Other", "NA", []])
def test_unknown_victim_becomes_an_unidentified_organisation_of_its_country(name):
    data = record(victim={"victim_id": name, "country": ["Unknown", "US"]})
    if name is None:
        del data["victim"]["victim_id"]
    assert parse(data).victim == f"Unidentified organisation ({US})"


def test_unknown_victim_without_a_country():
    parsed = parse(record(victim={"victim_id": "Unknown", "country": ["Unknown"]}))
    assert parsed.victim == "Unidentified organisation (unknown country)"
    assert parsed.country == ""


@pytest.mark.parametrize(
    "value, expected",
    [
        (["GB"], "GB"),
        (["gb"], "GB"),
        ("FR", "FR"),
        (["Unknown", "US"], "US"),
        (["Unknown"], ""),
        (["Other"], ""),
        (["XX"], ""),
        (["USA"], ""),
        ([], ""),
        (None, ""),
    ],
)
def test_country_is_an_iso_code_and_unknown_is_dropped(value, expected):
    parsed = parse(record(victim={"victim_id": "Test Victim", "country": value}))
    assert parsed.country == expected
    assert parsed.org_country == expected


@pytest.mark.parametrize(
    "industry, sector",
    [
        ("622110", "healthcare"),
        ("62", "healthcare"),
        ("517311", "telecommunications"),
        ("517", "telecommunications"),
        ("511110", "media"),
        ("51", "technology"),
        ("541511", "technology"),  # 5415 beats 54
        ("541110", "professional-services"),
        ("928110", "defence"),  # 92811 national security beats 92
        ("928120", "government"),  # international affairs (UNDP, foreign ministries)
        ("923140", "government"),
        ("336411", "manufacturing"),  # aerospace manufacturing (Boeing, DJI)
        ("511210", "technology"),  # software publishers beat 511 publishing
        ("511110", "media"),  # newspapers
        ("519130", "technology"),  # web search portals
        ("48-49", "transportation"),
        ("332710", "manufacturing"),
        ("813940", "non-profit"),  # 813 beats 81
        ("811111", "other-services"),
        ("522110", "finance"),
        ("611310", "education"),
        (622110, "healthcare"),  # a number rather than a string
        ("999999", None),
        ("000", None),
        ("0", None),
        ("Unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_sector_from_naics_longest_prefix(industry, sector):
    parsed = parse(record(victim=victim(industry=industry)))
    assert parsed.sector == sector


# Date precision


def test_date_with_year_only():
    parsed = parse(record(timeline=timeline(year=2012)))
    assert (parsed.date, parsed.precision) == (datetime.date(2012, 1, 1), "year")
    assert parsed.warnings == []


def test_date_with_month():
    parsed = parse(record(timeline=timeline(year=2015, month=3)))
    assert (parsed.date, parsed.precision) == (datetime.date(2015, 3, 1), "month")
    assert parsed.warnings == []


def test_date_with_day():
    parsed = parse(record(timeline=timeline(year=2019, month=11, day=20)))
    assert (parsed.date, parsed.precision) == (datetime.date(2019, 11, 20), "day")


def test_leap_day_is_a_valid_day():
    parsed = parse(record(timeline=timeline(year=2020, month=2, day=29)))
    assert (parsed.date, parsed.precision) == (datetime.date(2020, 2, 29), "day")


@pytest.mark.parametrize("day", [30, 0, 32, "12"])
def test_invalid_day_is_downgraded_to_month_precision_with_a_warning(day):
    parsed = parse(record(timeline=timeline(year=2020, month=2, day=day)))
    assert (parsed.date, parsed.precision) == (datetime.date(2020, 2, 1), "month")
    assert [f for f, _ in parsed.warnings] == ["timeline.incident.day"]
    assert repr(day) in parsed.warnings[0][1]


def test_invalid_month_keeps_year_precision_with_warnings():
    parsed = parse(record(timeline=timeline(year=2018, month=13, day=5)))
    assert (parsed.date, parsed.precision) == (datetime.date(2018, 1, 1), "year")
    assert [f for f, _ in parsed.warnings] == ["timeline.incident.month", "timeline.incident.day"]


def test_day_without_month_keeps_year_precision_with_a_warning():
    parsed = parse(record(timeline=timeline(year=2018, day=5)))
    assert parsed.precision == "year"
    assert [f for f, _ in parsed.warnings] == ["timeline.incident.day"]


@pytest.mark.parametrize(
    "incident_timeline",
    [
        {},
        {"month": 3},
        {"year": None},
        {"year": "2013"},
        {"year": 2013.0},
        {"year": 1899},
        {"year": 10000},
    ],
)
def test_missing_or_out_of_range_year_is_a_record_error(incident_timeline):
    with pytest.raises(RecordError) as exc:
        parse(record(timeline={"incident": incident_timeline}))
    assert exc.value.field == "timeline.incident.year"
    assert "missing or out of range" in exc.value.message


def test_record_without_a_timeline_is_a_record_error():
    data = record()
    del data["timeline"]
    with pytest.raises(RecordError) as exc:
        parse(data)
    assert exc.value.field == "timeline.incident.year"


def test_oldest_year_in_vcdb_is_accepted():
    assert parse(record(timeline=timeline(year=1971))).date == datetime.date(1971, 1, 1)


# Summary, description, sources, records affected


def test_summary_whitespace_is_collapsed():
    parsed = parse(record(summary="  Ransomware   encrypted the\n patient\trecords.  "))
    assert parsed.summary == "Ransomware encrypted the patient records."


def test_long_summary_is_kept_whole_and_never_repeated_in_the_description():
    words = [f"word{n:04d}" for n in range(150)]
    full = " ".join(words)
    assert len(full) > 1000
    parsed = parse(record(summary=full, notes="Analyst notes."))
    assert parsed.summary == full
    assert parsed.description == "Analyst notes."


def test_notes_that_only_repeat_the_summary_are_not_a_description():
    parsed = parse(record(summary="Laptop   stolen.", notes="Laptop stolen.\n"))
    assert parsed.summary == "Laptop stolen."
    assert parsed.description == ""


@pytest.mark.parametrize("summary", [None, "", "   \n "])
def test_empty_summary_stays_empty(summary):
    assert parse(record(summary=summary)).summary == ""


def test_notes_become_the_description():
    parsed = parse(record(notes="  Restored from backups.\nTwo weeks of outage.  "))
    assert parsed.description == "Restored from backups.\nTwo weeks of outage."
    assert parse(record()).description == ""


@pytest.mark.parametrize(
    "reference, urls",
    [
        (
            "https://a.example.org/1;https://b.example.org/2",
            ["https://a.example.org/1", "https://b.example.org/2"],
        ),
        (
            "https://a.example.org/1; https://b.example.org/2 https://c.example.org/3",
            ["https://a.example.org/1", "https://b.example.org/2", "https://c.example.org/3"],
        ),
        (
            "http://a.example.org/x (20140318);http://b.example.org/y?id=7 (20140318)",
            ["http://a.example.org/x", "http://b.example.org/y?id=7"],
        ),
        (
            "https://a.example.org/1; https://a.example.org/1 https://a.example.org/1",
            ["https://a.example.org/1"],
        ),
        (
            ["https://a.example.org/1", "see https://b.example.org/2 and https://a.example.org/1"],
            ["https://a.example.org/1", "https://b.example.org/2"],
        ),
        ("HTTPS://A.example.org/Path", ["https://A.example.org/Path"]),
        # Commas and apostrophes are part of URLs: only ";", spaces and "(date)" separate.
        (
            "http://www.pcmag.com/article2/0,2817,2460049,00.asp",
            ["http://www.pcmag.com/article2/0,2817,2460049,00.asp"],
        ),
        (
            "https://a.example.org/files/Sharapka,%20Oleksiy,%20et%20al.pdf",
            ["https://a.example.org/files/Sharapka,%20Oleksiy,%20et%20al.pdf"],
        ),
        (
            "https://itwire.example.com/haldiram's-sweets.html",
            ["https://itwire.example.com/haldiram's-sweets.html"],
        ),
        # Schemes repaired where obvious.
        ("www.news.gov.hk/en/a.shtml", ["http://www.news.gov.hk/en/a.shtml"]),
        ("oag.ca.gov/system/files/notice.pdf", ["http://oag.ca.gov/system/files/notice.pdf"]),
        ("htp://a.example.org/x", ["http://a.example.org/x"]),
        ("https//a.example.org/x", ["https://a.example.org/x"]),
        ("", []),
        (None, []),
    ],
)
def test_reference_urls_become_sources(reference, urls):
    sources = parse(record(reference=reference)).sources
    assert [s.url for s in sources] == urls
    assert all(not s.citation for s in sources)


@pytest.mark.parametrize(
    "reference", ["Newspaper article, no link", "Federal Trade Commission", "16626"]
)
def test_reference_without_a_url_is_kept_as_its_text(reference):
    assert parse(record(reference=reference)).sources == [SourceRef(citation=reference)]


def test_no_reference_no_sources():
    assert parse(record()).sources == []


def test_records_affected_from_data_total():
    data = record(attribute={"confidentiality": {"data_disclosure": "Yes", "data_total": 1500}})
    parsed = parse(data)
    assert parsed.records_affected == 1500
    assert parsed.warnings == []


def test_zero_records_is_a_value():
    data = record(attribute={"confidentiality": {"data_total": 0}})
    assert parse(data).records_affected == 0


@pytest.mark.parametrize("total", [-5, "many", "1500", 12.5, True, [10]])
def test_negative_or_non_integer_records_are_ignored_with_a_warning(total):
    parsed = parse(record(attribute={"confidentiality": {"data_total": total}}))
    assert parsed.records_affected is None
    assert parsed.warnings == [("attribute.confidentiality.data_total", f"ignored: {total!r}")]


def test_no_data_total_no_records_and_no_warning():
    parsed = parse(record(attribute={"confidentiality": {"data_disclosure": "Yes"}}))
    assert parsed.records_affected is None
    assert parsed.warnings == []


# CIA posture


@pytest.mark.parametrize(
    "disclosure, impact",
    [
        ("Yes", "high"),
        ("Potentially", "medium"),
        ("No", "low"),
        ("Unknown", "unknown"),
        (None, "unknown"),
    ],
)
def test_confidentiality_from_data_disclosure(disclosure, impact):
    conf = {"data_disclosure": disclosure} if disclosure else {}
    c, i, a, notes = parse(record(attribute={"confidentiality": conf})).cia
    assert (c, i, a) == (impact, "none", "none")
    assert notes.startswith(f"Confidentiality: data disclosure {disclosure or 'not stated'}")


def test_confidentiality_notes_list_known_data_varieties():
    conf = {
        "data_disclosure": "Yes",
        "data": [{"variety": "Medical"}, {"variety": "Unknown"}, {"variety": "Personal"}],
    }
    notes = parse(record(attribute={"confidentiality": conf})).cia[3]
    assert notes == "Confidentiality: data disclosure Yes; data: Medical, Personal."


@pytest.mark.parametrize(
    "varieties, impact",
    [
        (["Modify data"], "high"),
        (["Fraudulent transaction"], "high"),
        (["Software installation", "Modify data"], "high"),
        (["Software installation"], "medium"),
        (["Alter behavior"], "medium"),
        (["Unknown"], "unknown"),
        ([], "unknown"),
    ],
)
def test_integrity_from_varieties(varieties, impact):
    c, i, a, notes = parse(record(attribute={"integrity": {"variety": varieties}})).cia
    assert (c, i, a) == ("none", impact, "none")
    known = [v for v in varieties if v != "Unknown"]
    assert notes == (f"Integrity: {', '.join(known)}." if known else "")


@pytest.mark.parametrize(
    "varieties, impact",
    [
        (["Interruption"], "high"),
        (["Destruction"], "high"),
        (["Obscuration"], "high"),
        (["Loss"], "medium"),
        (["Degradation", "Loss"], "medium"),
        (["Degradation"], "low"),
        (["Unknown"], "unknown"),
        (["Other"], "unknown"),
    ],
)
def test_availability_from_varieties(varieties, impact):
    c, i, a, notes = parse(record(attribute={"availability": {"variety": varieties}})).cia
    assert (c, i, a) == ("none", "none", impact)
    known = sorted(set(varieties) - {"Unknown", "Other"})
    assert notes == (f"Availability: {', '.join(known)}." if known else "")


def test_absent_attributes_are_no_impact():
    assert parse(record()).cia == ("none", "none", "none", "")
    assert parse(record(attribute={})).cia == ("none", "none", "none", "")


def test_cia_notes_join_all_three():
    attribute = {
        "confidentiality": {"data_disclosure": "Yes", "data": [{"variety": "Medical"}]},
        "integrity": {"variety": ["Software installation"]},
        "availability": {"variety": ["Obscuration"]},
    }
    assert parse(record(attribute=attribute)).cia == (
        "high",
        "medium",
        "high",
        "Confidentiality: data disclosure Yes; data: Medical. "
        "Integrity: Software installation. Availability: Obscuration.",
    )


# Motives and actors


def test_motives_from_every_actor_category_with_unknown_and_na_dropped():
    actor = {
        "external": {"variety": ["Organized crime"], "motive": ["Financial", "Unknown"]},
        "internal": {"variety": ["End-user"], "motive": ["Grudge", "NA"]},
        "partner": {"motive": ["Convenience"]},
    }
    assert parse(record(actor=actor)).motives == {"financial", "grudge", "convenience"}


def test_only_unknown_motives_give_none():
    actor = {"external": {"variety": ["Activist"], "motive": ["Unknown", "NA"]}}
    assert parse(record(actor=actor)).motives == set()


def test_actor_keys_are_category_variety_country():
    actor = {
        "external": {
            "variety": ["Organized crime", "Unknown"],
            "country": ["RU", "Unknown"],
            "motive": ["Financial"],
        },
        "internal": {"variety": ["End-user"]},
        "partner": {"country": ["Unknown"]},
        "unknown": {"notes": "nothing known"},
    }
    assert parse(record(actor=actor)).actors == {
        ("external", "Organized crime", "RU"),
        ("external", "Unknown", "RU"),
        ("internal", "End-user", ""),
        ("partner", "Unknown", ""),
        ("unknown", "Unknown", ""),
    }


def test_actor_with_several_countries():
    actor = {"external": {"variety": ["Nation-state"], "country": ["CN", "kp"]}}
    assert parse(record(actor=actor)).actors == {
        ("external", "Nation-state", "CN"),
        ("external", "Nation-state", "KP"),
    }


def test_no_actor_section_no_actors():
    parsed = parse(record())
    assert parsed.actors == set()
    assert parsed.motives == set()


@pytest.mark.parametrize(
    "key, name",
    [
        (("external", "Organized crime", "RU"), "Unattributed organized crime (Russia)"),
        (("external", "Nation-state", "CN"), "Unattributed nation-state (China)"),
        (("external", "Unknown", "RU"), "Unattributed external actor (Russia)"),
        (("external", "Activist", ""), "Unattributed activist"),
        (("internal", "End-user", ""), "Unattributed insider: end-user"),
        (("internal", "Unknown", "US"), f"Unattributed insider ({US})"),
        (("partner", "Unknown", ""), "Unattributed partner"),
    ],
)
def test_actor_names(key, name):
    assert actor_name(*key) == name


def test_unknown_category_actor_is_not_called_external():
    # VERIS actor.unknown: not even known to be external, internal or partner.
    name = actor_name("unknown", "Unknown", "")
    assert name.startswith("Unattributed")
    assert "external" not in name.lower()
    assert name != actor_name("external", "Unknown", "")


# Techniques through a VERIS-ATT&CK mapping


@pytest.fixture(scope="module")
def technique_map():
    return load_technique_map(MAPPING)


def test_technique_map_keys_are_lower_case_and_subtechniques_reduced(technique_map):
    assert technique_map["action.malware.variety.ransomware"] == {"T1486", "T1490"}
    # "Action.Social.Variety.Phishing" -> T1566.001 and T1566.002 in the CSV
    assert technique_map["action.social.variety.phishing"] == {"T1566"}
    assert technique_map["action.hacking.vector.web application"] == {"T1190"}
    assert all(key == key.lower() for key in technique_map)
    assert all("." not in t for ids in technique_map.values() for t in ids)


def test_technique_map_drops_varieties_mapping_to_too_many_techniques(technique_map):
    assert MAX_TECHNIQUES_PER_VARIETY == 8, "the sample CSV is written around this limit"
    # 9 distinct techniques: too unspecific.
    assert "action.hacking.variety.brute force" not in technique_map
    # Exactly the limit: kept.
    assert len(technique_map["action.hacking.variety.use of stolen creds"]) == 8
    # 9 rows but only 3 techniques once sub-techniques are reduced: kept.
    assert technique_map["action.malware.variety.export data"] == {"T1041", "T1048", "T1567"}


def test_technique_map_ignores_other_rows(technique_map):
    assert "action.error.variety.misdelivery" not in technique_map  # non_mappable
    assert "action.physical.variety.tampering" not in technique_map  # non_mappable with an id
    assert "action.misuse.variety.privilege abuse" not in technique_map  # no ATT&CK id
    assert not any(key.startswith("attribute.") for key in technique_map)


def test_techniques_from_action_varieties_and_vectors(technique_map):
    action = {
        "malware": {"variety": ["Ransomware"], "vector": ["Email attachment"]},
        "hacking": {"variety": ["Unknown"], "vector": ["Web application"]},
        "social": {"variety": ["phishing"]},  # the record's case does not matter either
    }
    parsed = parse(record(action=action), technique_map=technique_map)
    assert parsed.techniques == {"T1486", "T1490", "T1190", "T1566"}


def test_unknown_and_other_varieties_are_not_mapped(technique_map):
    assert "action.hacking.variety.unknown" in technique_map  # the CSV maps them ...
    action = {"hacking": {"variety": ["Unknown", "Other"]}}
    parsed = parse(record(action=action), technique_map=technique_map)
    assert parsed.techniques == set()  # ... but they say nothing about this incident


def test_too_unspecific_variety_gives_no_technique(technique_map):
    action = {"hacking": {"variety": ["Brute force"]}}
    assert parse(record(action=action), technique_map=technique_map).techniques == set()


def test_no_mapping_no_techniques():
    action = {"malware": {"variety": ["Ransomware"]}}
    assert parse(record(action=action)).techniques == set()


# Reading files


def test_jsonl_keys_come_from_the_source_files_list():
    raws = list(read_records([SAMPLE]))
    assert [r.external_id for r in raws] == SAMPLE_KEYS
    assert [r.where for r in raws] == [f"sample.jsonl:{n}" for n in range(1, 6)]
    # Lines 1 and 5 share an incident_id, as real VCDB records do; their keys differ.
    assert raws[0].data["incident_id"] == raws[4].data["incident_id"]


def test_jsonl_without_source_files_list_falls_back_to_incident_id():
    raws = list(read_records([DATA / "nokeys.jsonl"]))
    assert [r.external_id for r in raws] == ["NOKEYS-0001", "NOKEYS-0002"]
    assert [r.where for r in raws] == ["nokeys.jsonl:1", "nokeys.jsonl:3"], "blank line skipped"


def test_directory_of_json_files_keyed_by_file_name():
    raws = list(read_records([DATA / "dir"]))
    assert sorted(r.external_id for r in raws) == ["DIR-A", "DIR-B", "DIR-C"]
    assert all(r.data is not None for r in raws)
    assert {Path(r.where).name for r in raws} == {"DIR-A.json", "DIR-B.JSON", "DIR-C.json"}


def test_single_json_file(tmp_path):
    path = tmp_path / "ONE-RECORD.json"
    path.write_text(json.dumps(record()))
    (raw,) = read_records([path])
    assert raw.external_id == "ONE-RECORD"
    assert parse_record(raw).victim == "Test Victim"


def test_invalid_json_line_is_reported_with_file_and_line():
    raws = list(read_records([DATA / "broken.jsonl"]))
    assert [r.where for r in raws] == [f"broken.jsonl:{n}" for n in range(1, 5)]
    bad = raws[1]
    assert bad.data is None
    assert bad.external_id == "BROKEN-2"
    assert "not valid JSON" in bad.error
    with pytest.raises(RecordError) as exc:
        parse_record(bad)
    assert "not valid JSON" in exc.value.message


def test_invalid_json_file_is_reported(tmp_path):
    path = tmp_path / "BAD.json"
    path.write_text("{not json")
    (raw,) = read_records([path])
    assert raw.data is None and "not valid JSON" in raw.error


def test_non_object_record_is_a_record_error():
    with pytest.raises(RecordError) as exc:
        parse(["not", "an", "object"])
    assert "JSON object" in exc.value.message


def test_record_without_a_key_is_a_record_error():
    with pytest.raises(RecordError) as exc:
        parse(record(), key="")
    assert exc.value.field == "incident_id"


def test_missing_path_raises():
    with pytest.raises(FileNotFoundError):
        list(read_records([DATA / "no-such-file.jsonl"]))


def test_every_sample_record_parses(technique_map):
    parsed = [parse_record(r, technique_map) for r in read_records([SAMPLE])]
    assert [p.external_id for p in parsed] == SAMPLE_KEYS
    hospital, telecom, defence, retailer, bank = parsed
    assert (hospital.victim, hospital.sector, hospital.precision) == (
        "Example Hospital Trust",
        "healthcare",
        "day",
    )
    assert [s.url for s in hospital.sources] == [
        "https://news.example.org/hospital-ransomware",
        "https://health.example.net/story?id=7",
    ]
    assert hospital.techniques == {"T1486", "T1490", "T1190"}
    assert telecom.victim == f"Unidentified organisation ({US})"
    assert telecom.sector == "telecommunications"
    assert defence.sector == "defence" and defence.country == ""
    assert defence.techniques == {"T1566"}
    assert retailer.sector is None and retailer.country == "US"
    assert retailer.precision == "month"
    stolen_creds = {"T1078", "T1021", "T1133", "T1550", "T1552", "T1555", "T1539", "T1110"}
    assert bank.techniques == stolen_creds


# The import_veris command


def import_veris(*paths, **options):
    out, err = StringIO(), StringIO()
    call_command("import_veris", *map(str, paths), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def incident_counts(out):
    """The per-kind summary line for incidents, e.g. "incident: 1 updated, 4 unchanged"."""
    lines = [line for line in out.splitlines() if line.startswith("incident: ")]
    assert len(lines) == 1, out
    return lines[0]


def counted(created=0, updated=0, unchanged=0, skipped=0):
    numbers = {"created": created, "updated": updated, "unchanged": unchanged, "skipped": skipped}
    return "incident: " + ", ".join(f"{n} {outcome}" for outcome, n in numbers.items() if n)


@pytest.fixture
def techniques(db):
    """The ATT&CK techniques the sample mapping points to (parents only, as ATT&CK has them)."""
    ids = ["T1486", "T1490", "T1190", "T1566", "T1078", "T1021", "T1133", "T1550"]
    ids += ["T1552", "T1555", "T1539", "T1110", "T1041", "T1048", "T1567"]
    made = {attack_id: TechniqueFactory(attack_id=attack_id) for attack_id in ids}
    TechniqueFactory(attack_id="T1566.001", parent=made["T1566"])
    return made


def counts():
    return {
        "incidents": Incident.objects.count(),
        "organisations": Organisation.objects.count(),
        "actors": ThreatActor.objects.count(),
        "sources": Source.objects.count(),
        "postures": CIAPosture.objects.count(),
        "motive links": Incident.motives.through.objects.count(),
        "technique links": Incident.techniques.through.objects.count(),
        "actor links": Incident.threat_actors.through.objects.count(),
        "datasets": Dataset.objects.count(),
    }


def imported(key):
    return Incident.objects.select_related("organisation", "sector", "dataset").get(
        dataset__slug="vcdb", external_id=key
    )


def copy_sample(tmp_path, name="sample"):
    shutil.copy(SAMPLE, tmp_path / f"{name}.jsonl")
    shutil.copy(DATA / "sample.source_files.txt", tmp_path / f"{name}.source_files.txt")
    return tmp_path / f"{name}.jsonl"


def rewrite_line(path, lineno, change):
    lines = path.read_text().splitlines()
    data = json.loads(lines[lineno - 1])
    change(data)
    lines[lineno - 1] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.django_db
def test_first_import_counts_and_arrives_as_drafts(techniques):
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING)
    assert incident_counts(out) == counted(created=5)
    assert "organisation: 5 created" in out
    assert set(Incident.objects.values_list("external_id", flat=True)) == set(SAMPLE_KEYS)
    assert set(Incident.objects.values_list("status", flat=True)) == {"draft"}
    assert not Incident.objects.filter(published_at__isnull=False).exists()
    # Warnings name the file, line and field.
    assert "sample.jsonl:2: attribute.confidentiality.data_total: warning: ignored: -5" in out
    assert "sample.jsonl:4: timeline.incident.day: warning: ignored: 30 not in 2020-2" in out
    assert "sample.jsonl:5: attribute.confidentiality.data_total: warning: ignored: 'many'" in out


@pytest.mark.django_db
def test_every_mapped_field_reaches_the_database(techniques):
    import_veris(SAMPLE, attack_mapping=MAPPING)

    hospital = imported("SAMPLE-0001")
    assert hospital.organisation.name == "Example Hospital Trust"
    assert hospital.organisation.country == "GB"
    assert hospital.organisation.sector.slug == "healthcare"
    assert hospital.country == "GB"
    assert hospital.sector.slug == "healthcare"
    assert (hospital.date, hospital.date_precision) == (datetime.date(2019, 11, 20), "day")
    assert hospital.summary == "Ransomware encrypted the patient records of Example Hospital Trust."
    assert hospital.description == "Restored from backups after two weeks."
    assert hospital.records_affected == 1500
    assert sorted(hospital.sources.values_list("url", "publisher")) == [
        ("https://health.example.net/story?id=7", "health.example.net"),
        ("https://news.example.org/hospital-ransomware", "news.example.org"),
    ]
    posture = hospital.cia_posture
    assert (posture.confidentiality, posture.integrity, posture.availability) == (
        "high",
        "medium",
        "high",
    )
    assert posture.notes == (
        "Confidentiality: data disclosure Yes; data: Medical. "
        "Integrity: Software installation. Availability: Obscuration."
    )
    assert set(hospital.motives.values_list("slug", flat=True)) == {"financial"}
    assert set(hospital.techniques.values_list("attack_id", flat=True)) == {
        "T1486",
        "T1490",
        "T1190",
    }
    (actor,) = hospital.threat_actors.select_related("actor_type")
    assert actor.name == "Unattributed organized crime (Russia)"
    assert actor.is_unattributed
    assert actor.country == "RU"
    assert actor.actor_type.slug == "criminal-group"
    assert actor.dataset.slug == "vcdb"
    # Actor notes may hold members-only facts: never copied into public text.
    assert "named gang" not in hospital.summary + hospital.description

    telecom = imported("SAMPLE-0002")
    assert telecom.organisation.name == f"Unidentified organisation ({US})"
    assert telecom.sector.slug == "telecommunications"
    assert (telecom.date, telecom.date_precision) == (datetime.date(2015, 3, 1), "month")
    assert telecom.summary == ""  # empty in the source: never an invented sentence
    assert telecom.records_affected is None
    assert telecom.cia_posture.confidentiality == "medium"
    assert set(telecom.motives.values_list("slug", flat=True)) == {"grudge"}
    assert [a.name for a in telecom.threat_actors.all()] == ["Unattributed insider: end-user"]
    assert telecom.threat_actors.get().actor_type.slug == "insider"
    assert telecom.techniques.count() == 0

    defence = imported("SAMPLE-0003")
    assert (defence.date, defence.date_precision) == (datetime.date(2012, 1, 1), "year")
    assert defence.sector.slug == "defence"  # 928110 national security
    assert defence.country == ""
    assert (defence.cia_posture.integrity, defence.cia_posture.availability) == (
        "unknown",
        "medium",
    )
    assert set(defence.motives.values_list("slug", flat=True)) == {"espionage"}
    assert [t.attack_id for t in defence.techniques.all()] == ["T1566"]
    nation = defence.threat_actors.get()
    assert (nation.name, nation.actor_type.slug, nation.country) == (
        "Unattributed nation-state (China)",
        "nation-state",
        "CN",
    )

    retailer = imported("SAMPLE-0004")
    assert retailer.sector is None
    assert (retailer.date, retailer.date_precision) == (datetime.date(2020, 2, 1), "month")
    assert (retailer.cia_posture.confidentiality, retailer.cia_posture.availability) == (
        "low",
        "low",
    )
    assert list(retailer.sources.values_list("url", flat=True)) == [
        "https://shop.example.com/notice"
    ]
    assert retailer.threat_actors.get().name == "Unattributed partner"
    assert retailer.techniques.count() == 0  # non_mappable row

    bank = imported("SAMPLE-0005")
    assert bank.organisation.name == "Example Bank"
    assert len(bank.summary) > 1000 and bank.summary.endswith("word0149")
    assert bank.description == "Analyst notes."
    assert bank.cia_posture.confidentiality == "unknown"
    assert bank.techniques.count() == 8
    # One actor row per name: the hospital's organized-crime actor is reused.
    assert actor in bank.threat_actors.all()
    assert ThreatActor.objects.filter(name="Unattributed organized crime (Russia)").count() == 1


@pytest.mark.django_db
def test_deprecated_technique_is_not_linked(techniques):
    Technique.objects.filter(attack_id="T1490").update(is_deprecated=True)
    import_veris(SAMPLE, attack_mapping=MAPPING)
    assert set(imported("SAMPLE-0001").techniques.values_list("attack_id", flat=True)) == {
        "T1486",
        "T1190",
    }


@pytest.mark.django_db
def test_without_a_mapping_no_techniques_are_derived(techniques):
    import_veris(SAMPLE)
    assert Incident.techniques.through.objects.count() == 0


@pytest.mark.django_db
def test_publish_publishes_new_incidents(techniques):
    before = timezone.now()
    import_veris(SAMPLE, publish=True)
    assert set(Incident.objects.values_list("status", flat=True)) == {"published"}
    assert all(i.published_at >= before for i in Incident.objects.all())


@pytest.mark.django_db
def test_reimport_without_publish_never_unpublishes(techniques):
    import_veris(SAMPLE, publish=True)
    published_at = dict(Incident.objects.values_list("external_id", "published_at"))
    out, _ = import_veris(SAMPLE)
    assert incident_counts(out) == counted(unchanged=5)
    assert set(Incident.objects.values_list("status", flat=True)) == {"published"}
    assert dict(Incident.objects.values_list("external_id", "published_at")) == published_at


@pytest.mark.django_db
def test_reimport_with_publish_publishes_drafts(techniques):
    import_veris(SAMPLE)
    out, _ = import_veris(SAMPLE, publish=True)
    assert incident_counts(out) == counted(updated=5)
    assert set(Incident.objects.values_list("status", flat=True)) == {"published"}
    assert not Incident.objects.filter(published_at__isnull=True).exists()


@pytest.mark.django_db
def test_reimport_is_idempotent(techniques):
    import_veris(SAMPLE, attack_mapping=MAPPING, publish=True)
    first = counts()
    snapshot = list(Incident.objects.order_by("pk").values())
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING, publish=True)
    assert incident_counts(out) == counted(unchanged=5)
    assert "organisation:" not in out and "threat actor:" not in out, "nothing new created"
    assert counts() == first
    assert list(Incident.objects.order_by("pk").values()) == snapshot


@pytest.mark.django_db
def test_changed_record_updates_in_place(techniques, tmp_path):
    path = copy_sample(tmp_path)
    import_veris(path, attack_mapping=MAPPING)
    before = imported("SAMPLE-0001")

    def change(data):
        data["summary"] = "Ransomware, updated summary."
        data["attribute"]["confidentiality"]["data_total"] = 2000
        data["attribute"]["availability"]["variety"] = ["Loss"]
        data["reference"] += ";https://news.example.org/follow-up"

    rewrite_line(path, 1, change)
    out, _ = import_veris(path, attack_mapping=MAPPING)
    assert incident_counts(out) == counted(updated=1, unchanged=4)
    after = imported("SAMPLE-0001")
    assert after.pk == before.pk and after.slug == before.slug
    assert after.summary == "Ransomware, updated summary."
    assert after.records_affected == 2000
    assert after.cia_posture.availability == "medium"
    assert after.sources.count() == 3
    assert after.updated_at > before.updated_at
    assert after.imported_at > before.imported_at
    assert Incident.objects.count() == 5
    assert CIAPosture.objects.count() == 5


@pytest.mark.django_db
def test_new_actor_and_motive_in_a_changed_record_are_added(techniques, tmp_path):
    path = copy_sample(tmp_path)
    import_veris(path)

    def change(data):
        data["actor"]["external"]["motive"].append("Espionage")
        data["actor"]["external"]["country"].append("CN")

    rewrite_line(path, 1, change)
    out, _ = import_veris(path)
    assert incident_counts(out) == counted(updated=1, unchanged=4)
    incident = imported("SAMPLE-0001")
    assert set(incident.motives.values_list("slug", flat=True)) == {"financial", "espionage"}
    assert set(incident.threat_actors.values_list("name", flat=True)) == {
        "Unattributed organized crime (Russia)",
        "Unattributed organized crime (China)",
    }


@pytest.mark.django_db
def test_staff_tagging_survives_a_reimport(techniques):
    import_veris(SAMPLE, attack_mapping=MAPPING, publish=True)
    incident = imported("SAMPLE-0002")
    staff_motive = Motive.objects.get(slug="espionage")
    staff_technique = techniques["T1078"]
    incident.motives.add(staff_motive)
    incident.techniques.add(staff_technique)
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING)
    assert incident_counts(out) == counted(unchanged=5)
    incident = imported("SAMPLE-0002")
    assert set(incident.motives.values_list("slug", flat=True)) == {"grudge", "espionage"}
    assert staff_technique in incident.techniques.all()


@pytest.mark.django_db
def test_malformed_records_are_skipped_and_the_rest_imports(techniques):
    out, _ = import_veris(DATA / "broken.jsonl")
    assert incident_counts(out) == counted(created=2, skipped=2)
    assert "broken.jsonl:2: -: not valid JSON" in out
    assert "broken.jsonl:3: timeline.incident.year: missing or out of range: None" in out
    assert set(Incident.objects.values_list("external_id", flat=True)) == {"BROKEN-1", "BROKEN-4"}


@pytest.mark.django_db
def test_strict_rolls_the_whole_batch_back(techniques):
    with pytest.raises(CommandError) as exc:
        import_veris(SAMPLE, DATA / "broken.jsonl", strict=True)
    assert "broken.jsonl:2" in str(exc.value)
    assert "nothing was written" in str(exc.value)
    assert counts() == dict.fromkeys(counts(), 0)


@pytest.mark.django_db
def test_strict_rolls_back_chunks_already_written(techniques, monkeypatch):
    monkeypatch.setattr(VerisImporter, "CHUNK", 1)
    with pytest.raises(CommandError) as exc:
        import_veris(SAMPLE, DATA / "broken.jsonl", strict=True)
    assert "broken.jsonl:2" in str(exc.value)
    assert Incident.objects.count() == 0
    assert Organisation.objects.count() == 0
    assert ThreatActor.objects.count() == 0
    assert Dataset.objects.count() == 0


@pytest.mark.django_db
def test_strict_on_a_clean_batch_imports_it(techniques):
    out, _ = import_veris(SAMPLE, strict=True)
    assert incident_counts(out) == counted(created=5)


@pytest.mark.django_db
def test_strict_failure_keeps_an_earlier_import(techniques):
    import_veris(SAMPLE)
    before = counts()
    with pytest.raises(CommandError):
        import_veris(DATA / "broken.jsonl", strict=True)
    assert counts() == before


@pytest.mark.django_db
def test_duplicate_external_id_in_one_batch_is_reported_and_skipped(techniques):
    out, _ = import_veris(DATA / "duplicates.jsonl")
    assert incident_counts(out) == counted(created=2, skipped=1)
    assert "duplicates.jsonl:3: incident_id: duplicate key 'DUP-0001' in this batch" in out
    assert imported("DUP-0001").summary == "First copy."
    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_duplicate_external_id_with_strict_rolls_back(techniques):
    with pytest.raises(CommandError) as exc:
        import_veris(DATA / "duplicates.jsonl", strict=True)
    assert "DUP-0001" in str(exc.value)
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_same_file_twice_in_one_run_is_a_duplicate(techniques):
    out, _ = import_veris(SAMPLE, SAMPLE)
    assert incident_counts(out) == counted(created=5, skipped=5)
    assert Incident.objects.count() == 5


@pytest.mark.django_db
def test_dry_run_writes_nothing(techniques):
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING, publish=True, dry_run=True)
    assert "Dry run: nothing was written." in out
    assert incident_counts(out) == counted(created=5)
    assert counts() == dict.fromkeys(counts(), 0)


@pytest.mark.django_db
def test_missing_path_is_a_command_error():
    with pytest.raises(CommandError, match="no such file"):
        import_veris(DATA / "no-such-file.jsonl")
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_missing_mapping_is_a_command_error():
    with pytest.raises(CommandError):
        import_veris(SAMPLE, attack_mapping=DATA / "no-such-mapping.csv")
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_directory_import(techniques):
    out, _ = import_veris(DATA / "dir")
    assert incident_counts(out) == counted(created=3)
    assert set(Incident.objects.values_list("external_id", flat=True)) == {
        "DIR-A",
        "DIR-B",
        "DIR-C",
    }
    assert imported("DIR-A").sector.slug == "education"
    out, _ = import_veris(DATA / "dir")
    assert incident_counts(out) == counted(unchanged=3)


@pytest.mark.django_db
def test_jsonl_without_source_files_uses_incident_ids(techniques):
    out, _ = import_veris(DATA / "nokeys.jsonl")
    assert incident_counts(out) == counted(created=2)
    assert imported("NOKEYS-0002").date_precision == "month"


@pytest.mark.django_db
def test_provenance_is_recorded(techniques):
    before = timezone.now()
    import_veris(SAMPLE)
    dataset = Dataset.objects.get(slug="vcdb")
    assert dataset.licence == "CC BY-SA 4.0"
    assert dataset.imported_at >= before
    for key in SAMPLE_KEYS:
        incident = imported(key)
        assert incident.dataset == dataset
        assert incident.external_id == key
        assert incident.imported_at >= before


@pytest.mark.django_db
def test_incident_page_shows_the_dataset_licence_to_anonymous_visitors(client, techniques):
    import_veris(SAMPLE, publish=True)
    response = client.get(imported("SAMPLE-0001").get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "CC BY-SA 4.0" in body
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in body
    assert "VERIS Community Database (VCDB)" in body
    assert "Verizon RISK Team and VCDB contributors" in body
    assert "Example Hospital Trust" in body
    assert ">20 Nov 2019</time>" in body


@pytest.mark.django_db
def test_record_id_is_staff_only_provenance(client, techniques):
    """The VCDB record id (external_id) is shown to staff, not on public pages: the public
    VCDB record it names carries the actors and motives that are members-only here."""
    import_veris(SAMPLE, publish=True)
    incident = imported("SAMPLE-0001")
    assert "SAMPLE-0001" not in client.get(incident.get_absolute_url()).content.decode()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    admin_page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert admin_page.status_code == 200
    assert "SAMPLE-0001" in admin_page.content.decode()
    assert "VERIS Community Database (VCDB)" in admin_page.content.decode()


@pytest.mark.django_db
def test_date_precision_is_shown_as_recorded(client, techniques):
    import_veris(SAMPLE, publish=True)
    for key, shown in [("SAMPLE-0002", "Mar 2015"), ("SAMPLE-0003", "2012")]:
        body = client.get(imported(key).get_absolute_url()).content.decode()
        assert f">{shown}</time>" in body


UNATTRIBUTED = [
    "Unattributed organized crime (Russia)",
    "Unattributed nation-state (China)",
    "Unattributed insider: end-user",
    "Unattributed partner",
    "Unattributed external actor (Russia)",
]


@pytest.mark.django_db
def test_unattributed_actors_never_reach_non_members(non_member_client, techniques):
    import_veris(SAMPLE, attack_mapping=MAPPING, publish=True)
    assert set(UNATTRIBUTED) <= set(ThreatActor.objects.values_list("name", flat=True))
    assert not ThreatActor.objects.filter(is_unattributed=False).exists()
    pages = [imported(key).get_absolute_url() for key in SAMPLE_KEYS]
    pages += ["/actors/", "/incidents/", "/organisations/", "/sitemap.xml", "/incidents/feed/"]
    pages += [o.get_absolute_url() for o in Organisation.objects.all()]
    pages += ["/sitemap-actors.xml", "/sitemap-incidents.xml"]
    for path in pages:
        response = non_member_client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "Unattributed" not in body, path
        assert "/actors/unattributed" not in body, path
    # The actors' locations (Russia, China) are members-only too; the victims are elsewhere.
    hospital = non_member_client.get(imported("SAMPLE-0001").get_absolute_url()).content.decode()
    defence = non_member_client.get(imported("SAMPLE-0003").get_absolute_url()).content.decode()
    assert "Russia" not in hospital and "China" not in defence
    assert "Financial" not in hospital and "Espionage" not in defence
    assert "T1486" not in hospital and "T1566" not in defence
    assert "data disclosure" not in hospital
    assert "1 actor" in hospital and "1 motive" in hospital and "3 techniques" in hospital
    for actor in ThreatActor.objects.all():
        assert non_member_client.get(actor.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_members_see_unattributed_actors(member_client, techniques):
    import_veris(SAMPLE, attack_mapping=MAPPING, publish=True)
    body = member_client.get(imported("SAMPLE-0001").get_absolute_url()).content.decode()
    assert "Unattributed organized crime (Russia)" in body
    assert "Criminal group" in body
    assert "Financial" in body
    assert "T1486" in body
    assert "data disclosure Yes" in body
    actors = member_client.get("/actors/").content.decode()
    for name in UNATTRIBUTED:
        assert name in actors
    for actor in ThreatActor.objects.all():
        response = member_client.get(actor.get_absolute_url())
        assert response.status_code == 200
        assert actor.name in response.content.decode()


@pytest.mark.django_db
def test_draft_imports_are_hidden_from_the_public(client, techniques):
    import_veris(SAMPLE)
    assert client.get(imported("SAMPLE-0001").get_absolute_url()).status_code == 404
    assert "Example Hospital Trust" not in client.get("/incidents/").content.decode()


@pytest.mark.django_db
def test_records_affected_beyond_the_column_range_does_not_break_the_batch(techniques, tmp_path):
    path = copy_sample(tmp_path)
    rewrite_line(
        path, 1, lambda data: data["attribute"]["confidentiality"].update(data_total=10**20)
    )
    out, _ = import_veris(path)
    assert incident_counts(out) == counted(created=5)
    warning = f"sample.jsonl:1: attribute.confidentiality.data_total: warning: ignored: {10**20}"
    assert warning in out
    assert imported("SAMPLE-0001").records_affected is None


def test_records_affected_range_ends_at_the_column_limit():
    largest = 2**63 - 1  # PositiveBigIntegerField
    data = record(attribute={"confidentiality": {"data_total": largest}})
    assert parse(data).records_affected == largest
    data = record(attribute={"confidentiality": {"data_total": largest + 1}})
    parsed = parse(data)
    assert parsed.records_affected is None
    assert [f for f, _ in parsed.warnings] == ["attribute.confidentiality.data_total"]


@pytest.mark.django_db
def test_final_summary_line_counts_incidents(techniques):
    out, _ = import_veris(SAMPLE)
    assert out.splitlines()[-1] == "5 created, 0 updated, 0 unchanged, 0 skipped."
    out, _ = import_veris(SAMPLE, DATA / "broken.jsonl")
    assert out.splitlines()[-1] == "2 created, 0 updated, 5 unchanged, 2 skipped."


@pytest.mark.django_db
def test_victim_names_that_only_differ_in_unicode_case_do_not_crash(techniques, tmp_path):
    path = tmp_path / "turkish.jsonl"
    records = [
        record(incident_id="TR-1", victim=victim(victim_id="İstanbul Example Bank")),
        record(incident_id="TR-2", victim=victim(victim_id="Istanbul Example Bank")),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    # Python's lower() and the database's LOWER() disagree on "İ" (PostgreSQL folds it to
    # "i"): the import must match the database's rule rather than crash on its constraint.
    out, _ = import_veris(path)
    assert incident_counts(out) == counted(created=2)
    for key in ("TR-1", "TR-2"):
        assert imported(key).organisation.name.endswith("stanbul Example Bank")
    out, _ = import_veris(path)
    assert incident_counts(out) == counted(unchanged=2)


@pytest.mark.django_db
def test_organisation_count_in_the_summary_is_what_was_created(techniques, tmp_path):
    path = tmp_path / "turkish.jsonl"
    records = [
        record(incident_id="TR-1", victim=victim(victim_id="İstanbul Example Bank")),
        record(incident_id="TR-2", victim=victim(victim_id="Istanbul Example Bank")),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    out, _ = import_veris(path)
    assert f"organisation: {Organisation.objects.count()} created" in out.splitlines()


@pytest.mark.django_db
def test_existing_organisation_is_matched_case_insensitively(techniques):
    staff_org = OrganisationFactory(name="example hospital trust", country="GB")
    import_veris(SAMPLE)
    assert imported("SAMPLE-0001").organisation == staff_org
    assert Organisation.objects.filter(name__iexact="example hospital trust").count() == 1


@pytest.mark.django_db
def test_imported_slugs_never_collide_with_existing_ones(techniques):
    existing = IncidentFactory(slug="2019-11-example-hospital-trust")
    OrganisationFactory(name="Someone Else", slug="example-hospital-trust")
    import_veris(SAMPLE, publish=True)
    hospital = imported("SAMPLE-0001")
    assert hospital.slug != existing.slug
    assert hospital.slug.startswith("2019-11-example-hospital-trust")
    assert hospital.organisation.slug != "example-hospital-trust"
    assert Incident.objects.get(pk=existing.pk).summary == existing.summary


@pytest.mark.django_db
def test_imported_drafts_never_shape_public_slugs(techniques):
    """A draft imported first must not push a later published incident to "-2" (issue 9.3)."""
    import_veris(SAMPLE)
    draft = imported("SAMPLE-0001")
    assert draft.status == Incident.Status.DRAFT
    assert not draft.slug.startswith("2019-11")
    hand_made = IncidentFactory(
        organisation=draft.organisation, date=draft.date, date_precision=draft.date_precision
    )
    assert hand_made.slug == "2019-11-example-hospital-trust"


@pytest.mark.django_db
def test_publishing_imported_drafts_allocates_their_public_slugs(techniques):
    import_veris(SAMPLE)
    draft_slug = imported("SAMPLE-0001").slug
    import_veris(SAMPLE, publish=True)
    hospital = imported("SAMPLE-0001")
    assert hospital.status == Incident.Status.PUBLISHED
    assert draft_slug != hospital.slug == "2019-11-example-hospital-trust"
    assert Client().get(hospital.get_absolute_url()).status_code == 200


def test_control_characters_are_removed_when_mapping():
    """Issue 9.2: NUL and U+000B from pasted text never reach the catalogue."""
    record = {
        "timeline": {"incident": {"year": 2021}},
        "victim": {"victim_id": "Acme\x00 Corp"},
        "summary": "Line\x0b one.",
        "notes": "First\x0c line\nsecond\x00 line",
        "actor": {"external": {"variety": ["Organized\x0b crime"]}},
        "reference": "https://example.com/a\x00b",
    }
    parsed = parse_record(RawRecord("test", "KEY", record))
    assert (parsed.victim, parsed.summary) == ("Acme Corp", "Line one.")
    assert parsed.description == "First line\nsecond line"
    assert parsed.actors == {("external", "Organized crime", "")}
    assert parsed.sources == [SourceRef(url="https://example.com/ab")]
