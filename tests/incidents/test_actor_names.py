"""The names VERIS records give their actors (incidents.importers.veris.actor_names): one
actor per name however it is spelt, merged with the ATT&CK group it names; names that are
not one actor or not an attacker are reported, not created; a named actor keeps the type and
location its record gives."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from incidents.importers.veris import (
    ACTOR_TYPES,
    RawRecord,
    VerisImporter,
    parse_record,
    read_records,
)
from incidents.importers.veris.actor_names import group_spellings, name_keys, read_name, read_names
from incidents.models import ATTACK_DATASET, Dataset, Incident, ThreatActor
from tests.factories import ThreatActorFactory


def reading(name, category="external", varieties=("Organized crime",), motives=("Financial",)):
    return read_name(name, category=category, varieties=varieties, motives=motives)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("APT 18", "APT18"),
        ("Carbanak Gang", "Carbanak"),
        ("Winnti", "Winnti Group"),
        ("TontoTeam", "Tonto Team"),
        ("MustangPanda", "Mustang Panda"),
        ("TheDarkOverlord", "Dark Overlord"),
        ("The DarkOverlord", "The Dark Overlord"),
        ("TheDarkOverlord (TDO)", "Dark Overlord"),
        ("Shiny Hunters", "ShinyHunters"),
        ("the CLOP ransomware group", "CLOP"),
        ("hive group", "Hive"),
        ("Anon Ghost", "AnonGhost"),
        ("Anonomous", "Anonymous"),
        ("LAPSUS$", "Lapsus$"),
    ],
)
def test_spellings_of_one_actor_share_a_key(a, b):
    assert name_keys(a) & name_keys(b)


@pytest.mark.parametrize(("a", "b"), [("Guccifer", "Guccifer 2.0"), ("APT1", "APT18")])
def test_different_actors_share_none(a, b):
    assert not name_keys(a) & name_keys(b)


@pytest.mark.parametrize(
    ("given", "name", "aliases"),
    [
        ("Fancy Bear, APT 28", "Fancy Bear", ("APT 28",)),
        ("CactusPete/TontoTeam/KarmaPanda", "CactusPete", ("TontoTeam", "KarmaPanda")),
        ("TheDarkOverlord (TDO)", "TheDarkOverlord", ("TDO",)),
        ("Zebrocy (subset of Sofacy)", "Zebrocy", ()),  # a remark, not another name
        ("Cameron Thomas Crowley aka 'vigilance'", "Cameron Thomas Crowley", ("vigilance",)),
        ("attacker known as Netwalker", "Netwalker", ()),
        (" APT1", "APT1", ()),
    ],
)
def test_one_actor_with_the_other_names_the_field_gives(given, name, aliases):
    result = reading(given)
    assert (result.name, result.aliases, result.problem) == (name, aliases, "")


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("'xS', 'Yoshioka' and 'Yui'", "not one actor: it names several"),
        ("Barrington, Christopher Jacquette and Lawrence Secrease", "it names several"),
        ("Gery Halon, Ziv Orenstein", "it names several people"),
        ("(@bozkurthackers", "stray punctuation"),
        ("‘THE0TIME", "stray punctuation"),
        ("posted on the web by a user using the name of Maxim Gorki", "a sentence"),
        ("6A323CB8-6DC7-433C-A0F7-3D4850194425", "not a name"),
        ("---", "not a name"),
    ],
)
def test_names_that_are_not_one_actor_are_a_problem(given, problem):
    result = reading(given)
    assert problem in result.problem and not result.name


@pytest.mark.parametrize(
    ("given", "category", "varieties", "motives"),
    [
        ("Experian", "partner", ["Unknown"], ["Financial"]),  # the victim's vendor
        ("Chris Vickery", "external", ["Other"], ["Other"]),  # the researcher who found it
        ("Tane Rogers", "external", ["Customer"], ["Unknown", "NA"]),  # no motive: no attack
        ("Human Rights Campaign", "external", ["Activist"], ["Ideology"]),  # reviewed
    ],
)
def test_people_and_firms_that_are_not_attackers(given, category, varieties, motives):
    result = read_name(given, category=category, varieties=varieties, motives=motives)
    assert result.problem.startswith("not a threat actor") and not result.name


def record(key, name, *, varieties=("Organized crime",), country=("Unknown",), category="external"):
    actor = {"variety": list(varieties), "country": list(country), "motive": ["Financial"]}
    actor["name"] = name
    return RawRecord(
        f"names.jsonl:{key}",
        key,
        {
            "incident_id": key,
            "summary": f"Incident {key}.",
            "timeline": {"incident": {"year": 2020, "month": 5}},
            "victim": {"victim_id": f"Victim {key}", "country": ["US"]},
            "actor": {category: actor},
        },
    )


RECORDS = [
    record("N-01", "APT 18", varieties=("Unknown", "Nation-state"), country=("Unknown", "CN")),
    record("N-02", "Fancy Bear, APT 28", varieties=("Unknown", "Activist")),
    record("N-03", "Carbanak Gang"),
    record("N-04", "TheDarkOverlord"),
    record("N-05", "The Dark Overlord"),
    record("N-06", "Dark Overlord"),
    record("N-07", "The DarkOverlord"),
    record("N-08", "TheDarkOverlord (TDO)"),
    record("N-09", "ShinyHunters"),
    record("N-10", "Shiny Hunters"),
    record("N-11", "AnonGhost", varieties=("Unknown", "Activist"), country=("Unknown", "TR")),
    record("N-12", "Anonomous", varieties=("Unknown", "Activist")),
    record("N-13", "Anonymous", varieties=("Activist",)),
    record("N-14", "'xS', 'Yoshioka' and 'Yui'"),
    record("N-15", "Experian", category="partner"),
]


@pytest.fixture
def imported(db):
    attack = Dataset.objects.create(slug=ATTACK_DATASET, name="MITRE ATT&CK")
    for name, attack_id, aliases in [
        ("APT18", "G0026", ["TG-0416", "Dynamite Panda"]),
        ("APT28", "G0007", ["Sofacy", "Fancy Bear"]),
        ("Carbanak", "G0008", ["Anunak"]),
    ]:
        ThreatActorFactory(
            name=name,
            attack_id=attack_id,
            aliases=aliases,
            dataset=attack,
            external_id=attack_id,
            country="",
            actor_type=None,
        )
    importer = VerisImporter(publish=True)
    importer.run(parse_record(r) for r in RECORDS)
    return importer.report


def actors_of(key):
    incident = Incident.objects.get(dataset__slug="vcdb", external_id=key)
    return sorted(a.name for a in incident.threat_actors.filter(is_unattributed=False))


def test_named_actors_merge_with_attack_groups_by_name_and_alias(imported):
    assert actors_of("N-01") == ["APT18"]
    assert actors_of("N-02") == ["APT28"]
    assert actors_of("N-03") == ["Carbanak"]
    # An ATT&CK group keeps its own profile: the record does not retype it.
    assert ThreatActor.objects.get(name="APT18").actor_type is None


def test_spellings_across_records_make_one_actor(imported):
    overlord = ThreatActor.objects.get(name="The Dark Overlord")
    for key in ["N-04", "N-05", "N-06", "N-07", "N-08"]:
        assert actors_of(key) == ["The Dark Overlord"]
    assert set(overlord.aliases) >= {"TheDarkOverlord", "Dark Overlord", "TDO"}
    assert actors_of("N-09") == actors_of("N-10") == ["ShinyHunters"]
    assert actors_of("N-12") == actors_of("N-13") == ["Anonymous"]
    assert not ThreatActor.objects.filter(name__iexact="Anonomous").exists()


def test_a_named_actor_keeps_the_type_and_location_its_record_gives(imported):
    ghost = ThreatActor.objects.get(name="AnonGhost")
    assert (ghost.actor_type.slug, ghost.country) == ("hacktivist", "TR")  # not "Unknown"
    assert ghost.actor_type_source.startswith("VERIS Community Database")


def test_names_that_are_not_one_actor_are_reported_not_created(imported):
    assert actors_of("N-14") == [] and actors_of("N-15") == []
    assert not ThreatActor.objects.filter(name__icontains="Yoshioka").exists()
    assert not ThreatActor.objects.filter(name="Experian").exists()
    problems = [str(p) for p in imported.problems]
    assert any("N-14" in p and "not one actor: it names several" in p for p in problems)
    assert any("N-15" in p and "not a threat actor" in p for p in problems)
    assert imported.counts[("named actor", "not created")] == 2
    assert imported.counts[("named actor", "matched")] == 3


def test_reimport_finds_the_same_actors(imported):
    before = ThreatActor.objects.count()
    VerisImporter(publish=True).run(parse_record(r) for r in RECORDS)
    assert ThreatActor.objects.count() == before
    assert actors_of("N-04") == ["The Dark Overlord"]


def test_catalogue_report_lists_the_names_not_created(imported):
    out = StringIO()
    call_command("catalogue_report", stdout=out)
    text = out.getvalue()
    assert "Actor names the last imports did not make actors of" in text
    assert "'xS', 'Yoshioka' and 'Yui'" in text and "Experian" in text


# On the real files (skipped without ../shared/data): the counts docs/importers/veris.md gives.

SHARED = Path(settings.BASE_DIR).parent / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "vcdb").is_dir(), reason="needs ../shared/data")
def test_the_real_names_read_as_documented():
    problems, actors = [], []
    for raw in read_records([SHARED / "vcdb" / "vcdb_validated.jsonl"]):
        for category, details in (raw.data.get("actor") or {}).items():
            if isinstance(details, dict) and details.get("name"):
                varieties = details.get("variety") or ["Unknown"]
                actors += read_names(details, category, varieties, [], ACTOR_TYPES, problems)
    groups = {id(g): g for g in group_spellings(actors).values()}.values()
    groups = {g.name: g for g in groups}
    assert len(problems) == 34
    assert {"The Dark Overlord", "ShinyHunters", "CLOP", "Hive", "AnonGhost"} <= set(groups)
    assert set(groups["The Dark Overlord"].spellings) == {
        "TheDarkOverlord",
        "The Dark Overlord",
        "Dark Overlord",
        "The DarkOverlord",
    }
    assert "Anonomous" in groups["Anonymous"].spellings
    attack = {g["name"]: g for g in json.loads((SHARED / "attack" / "groups.json").read_text())}
    for group, spelling in [
        ("APT18", "APT 18"),
        ("APT28", "Fancy Bear"),
        ("Carbanak", "Carbanak Gang"),
        ("Winnti Group", "Winnti"),
        ("Tonto Team", "CactusPete"),
        ("Mustang Panda", "HoneyMyte"),
    ]:
        known = set()
        for name in [group, *attack[group]["aliases"]]:
            known |= name_keys(name)
        assert groups[spelling].keys & known, (group, spelling)
