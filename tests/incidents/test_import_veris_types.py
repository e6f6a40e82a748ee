"""The VERIS importer's incident types (importers/veris/types.py): each rule on a
hand-written record, the rules as docs/importers/veris.md writes them, and the import
writing them (idempotent, staff types kept)."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from incidents import rules
from incidents.importers.veris import RawRecord, parse_record
from incidents.importers.veris.types import RULES, TYPES, incident_types
from incidents.models import Incident, IncidentType

DATA = Path(__file__).resolve().parent.parent / "data" / "veris"
SAMPLE = DATA / "sample.jsonl"
DOC = Path(settings.BASE_DIR) / "docs" / "importers" / "veris.md"


def record(**sections):
    return {
        "incident_id": "TYPES-1",
        "timeline": {"incident": {"year": 2021}},
        "victim": {"victim_id": "Test Victim", "country": ["US"]},
        **sections,
    }


def malware(*varieties, vector=()):
    return {"malware": {"variety": list(varieties), "vector": list(vector)}}


@pytest.mark.parametrize(
    "data, expected",
    [
        (record(action=malware("Ransomware", "C2")), {"ransomware"}),
        (
            record(attribute={"confidentiality": {"data_disclosure": "Yes"}}),
            {"data-breach"},
        ),
        # Potentially disclosed is not a breach (yet); Unknown says nothing.
        (record(attribute={"confidentiality": {"data_disclosure": "Potentially"}}), set()),
        (record(action={"hacking": {"variety": ["DoS"], "vector": ["Web application"]}}), {"ddos"}),
        (record(action=malware("DoS")), {"ddos"}),
        (record(action=malware("Destroy data")), {"wiper"}),
        (
            record(
                action={"hacking": {"variety": ["Unknown"]}},
                attribute={"availability": {"variety": ["Destruction"]}},
            ),
            {"wiper"},
        ),
        # A laptop destroyed in a fire is not a wiper attack.
        (
            record(
                action={"environmental": {"variety": ["Fire"]}},
                attribute={"availability": {"variety": ["Destruction"]}},
            ),
            set(),
        ),
        # Never from the (members-only) motive alone: the public type would tell it.
        (
            record(actor={"external": {"variety": ["Nation-state"], "motive": ["Espionage"]}}),
            set(),
        ),
        (record(attribute={"integrity": {"variety": ["Defacement"]}}), {"defacement"}),
        (
            record(
                action={"social": {"variety": ["Pretexting"], "vector": ["Email"]}},
                attribute={"integrity": {"variety": ["Fraudulent transaction"]}},
            ),
            {"bec"},
        ),
        # Phishing by phone, or phishing that defrauded nobody, is not BEC.
        (
            record(
                action={"social": {"variety": ["Phishing"], "vector": ["Phone"]}},
                attribute={"integrity": {"variety": ["Fraudulent transaction"]}},
            ),
            set(),
        ),
        (record(action={"social": {"variety": ["Phishing"], "vector": ["Email"]}}), set()),
        (
            record(action={"hacking": {"variety": ["Unknown"], "vector": ["Partner"]}}),
            {"supply-chain"},
        ),
        (record(action=malware("Backdoor", vector=["Software update"])), {"supply-chain"}),
        (record(value_chain={"distribution": {"variety": ["Partner"]}}), {"supply-chain"}),
        (record(action={"misuse": {"variety": ["Privilege abuse"]}}), {"insider-misuse"}),
        (record(action={"error": {"variety": ["Misdelivery"]}}), {"error"}),
        (
            record(
                action={**malware("Ransomware"), "error": {"variety": ["Misconfiguration"]}},
                attribute={"confidentiality": {"data_disclosure": "Yes"}},
            ),
            {"ransomware", "error", "data-breach"},
        ),
        (record(action={"physical": {"variety": ["Theft"]}}), set()),
        (record(), set()),
    ],
)
def test_a_record_implies_its_types(data, expected):
    assert incident_types(data) == expected
    parsed = parse_record(RawRecord("test.jsonl:1", "TYPES-1", data))
    assert parsed.types == expected


@pytest.mark.parametrize(
    "data",
    [
        record(action="hacking"),
        record(action={"malware": ["Ransomware"]}),
        record(action={"malware": {"variety": "Ransomware"}}, attribute=None),
        record(actor={"external": None}, value_chain=[1, 2]),
        record(attribute={"confidentiality": {"data_disclosure": ["Yes", 3, None]}}),
    ],
)
def test_odd_shapes_never_raise(data):
    assert incident_types(data) <= set(TYPES)


def test_a_variety_given_as_a_string_still_counts():
    assert incident_types(record(action={"malware": {"variety": "Ransomware"}})) == {"ransomware"}


def test_every_type_the_rules_give_is_in_the_taxonomy():
    assert set(TYPES) <= set(rules.INCIDENT_TYPES)


def test_no_rule_reads_a_members_value():
    """Motives, actors and the CIA notes are for members: a public type read from them
    alone would publish them."""
    for _slug, conditions in RULES:
        for path, _values in conditions:
            assert not path.startswith("actor"), path


def test_the_documented_table_names_every_rule():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Incident types", 1)[1].split("\n## ", 1)[0]
    for slug, conditions in RULES:
        name = rules.INCIDENT_TYPES[slug][0]
        assert f"| {name} |" in section, name
        for path, values in conditions:
            if path != "action":
                assert f"`{path}`" in section, (slug, path)
            for value in values or ():
                if path != "action":
                    assert re.search(rf"\b{re.escape(value)}\b", section), (slug, value)


# The import writes them


def import_veris(*paths, **options):
    out = StringIO()
    call_command("import_veris", *map(str, paths), stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def types_of(external_id):
    incident = Incident.objects.get(external_id=external_id)
    return set(incident.types.values_list("slug", flat=True))


@pytest.mark.django_db
def test_the_import_links_the_types_and_a_reimport_changes_nothing():
    import_veris(SAMPLE, publish=True)
    # The hospital's ransomware; the telecom's insider misuse (data only potentially out).
    assert types_of("SAMPLE-0001") >= {"ransomware"}
    assert types_of("SAMPLE-0002") == {"insider-misuse"}
    links = sorted(Incident.types.through.objects.values_list("incident_id", "incidenttype_id"))
    out = import_veris(SAMPLE)
    assert "incident: 5 unchanged" in out
    assert (
        sorted(Incident.types.through.objects.values_list("incident_id", "incidenttype_id"))
        == links
    )


@pytest.mark.django_db
def test_a_type_staff_set_survives_a_reimport():
    import_veris(SAMPLE, publish=True)
    incident = Incident.objects.get(external_id="SAMPLE-0002")
    incident.types.add(IncidentType.objects.get(slug="data-breach"))
    import_veris(SAMPLE)
    assert types_of("SAMPLE-0002") == {"insider-misuse", "data-breach"}


@pytest.mark.django_db
def test_the_import_makes_a_missing_type_again():
    IncidentType.objects.filter(slug="insider-misuse").delete()
    import_veris(SAMPLE, publish=True)
    assert types_of("SAMPLE-0002") == {"insider-misuse"}
