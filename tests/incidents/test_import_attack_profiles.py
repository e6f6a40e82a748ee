"""import_attack: what makes an ATT&CK group a profile. The techniques and software MITRE
relates to it ("uses" relationships) and its type and country from MISP's threat-actor
galaxy, with their provenance.

The bundles are tests/data/attack/enterprise-sample*.json (APT29 uses T1566.001, T1059.001
and SampleDuke; APT28 uses T1566 and Mimikatz; the newer release swaps APT29's T1059.001
for T1566.002). tests/data/attack/misp-threat-actor-sample.json is a hand-written galaxy:
APT28 cited by its ATT&CK page, APT29 only by a synonym, two entries sharing Lazarus
Group's alias HIDDEN COBRA, and malformed entries.
"""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from incidents.importers.attack import import_attack, load_bundle, load_galaxy, read_galaxy
from incidents.models import ActorType, Dataset, Software, ThreatActor
from tests.factories import ActorTypeFactory, ThreatActorFactory
from tests.incidents.test_import_attack import NEWER, SAMPLE, snapshot

GALAXY = Path(__file__).resolve().parents[1] / "data" / "attack" / "misp-threat-actor-sample.json"
SHARED = Path(settings.BASE_DIR).parent / "shared" / "data"
REAL_BUNDLE = SHARED / "attack" / "stix" / "enterprise-attack.json"
REAL_GALAXY = SHARED / "misp-galaxy" / "threat-actor.json"
PROVENANCE = "MISP galaxy: threat actors, version 349"


def run(*args):
    out = io.StringIO()
    call_command("import_attack", *map(str, args), stdout=out)
    return out.getvalue()


def uses(attack_id):
    actor = ThreatActor.objects.get(attack_id=attack_id)
    return (
        sorted(actor.techniques.values_list("attack_id", flat=True)),
        sorted(actor.software.values_list("attack_id", flat=True)),
    )


def test_groups_get_the_techniques_and_software_they_use(db):
    output = run(SAMPLE)

    assert uses("G0016") == (["T1059.001", "T1566.001"], ["S0448"])
    assert uses("G0007") == (["T1566"], ["S0002"])
    assert uses("G0032") == ([], [])
    mimikatz = Software.objects.get(attack_id="S0002")
    assert (mimikatz.name, mimikatz.kind, mimikatz.aliases) == ("Mimikatz", "tool", [])
    assert mimikatz.description == "Mimikatz is a credential dumper."
    assert mimikatz.url == "https://attack.mitre.org/software/S0002"
    assert Software.objects.get(attack_id="S0448").kind == "malware"
    assert "group uses technique: 3 created" in output
    assert "group uses software: 2 created" in output
    # A campaign's "uses" is not read at all.
    assert "relationship--00000000-0000-4000-8000-0000000b0005" not in output


def test_a_newer_release_replaces_a_groups_links(db):
    run(SAMPLE)
    apt29 = ThreatActor.objects.get(attack_id="G0016")

    output = run(NEWER)

    assert uses("G0016") == (["T1566.001", "T1566.002"], ["S0448"])
    assert ThreatActor.objects.get(attack_id="G0016").pk == apt29.pk
    assert "group uses technique: 1 created, 2 unchanged, 1 removed" in output


def test_a_uses_link_to_something_not_imported_is_reported(db, tmp_path):
    bundle = load_bundle(str(SAMPLE))
    bundle["objects"].append(
        {
            "type": "relationship",
            "id": "relationship--00000000-0000-4000-8000-0000000c0001",
            "created": "2020-01-01T00:00:00.000Z",
            "modified": "2020-01-01T00:00:00.000Z",
            "relationship_type": "uses",
            "source_ref": "intrusion-set--00000000-0000-4000-8000-000000000007",
            "target_ref": "attack-pattern--00000000-0000-4000-8000-000000009999",
        }
    )

    result = import_attack(bundle)

    assert any(
        "attack-pattern--00000000-0000-4000-8000-000000009999 is not an imported technique"
        in str(p)
        for p in result.report.problems
    )
    assert uses("G0007") == (["T1566"], ["S0002"])


def test_type_and_country_from_the_galaxy_with_provenance(db):
    output = run(SAMPLE, "--misp-galaxy", GALAXY)

    nation_state = ActorType.objects.get(slug="nation-state")
    apt28 = ThreatActor.objects.get(attack_id="G0007")
    assert (apt28.country, apt28.actor_type) == ("RU", nation_state)
    assert apt28.country_source == f"{PROVENANCE} (APT28)"
    assert apt28.actor_type_source == (
        f"{PROVENANCE} (APT28; cfr-suspected-state-sponsor: Russian Federation)"
    )
    apt29 = ThreatActor.objects.get(attack_id="G0016")  # by its name, a galaxy synonym
    assert (apt29.country, apt29.actor_type) == ("RU", nation_state)
    assert apt29.country_source == f"{PROVENANCE} (Cozy Bear)"
    # Two entries share the alias HIDDEN COBRA; the one named like the group wins.
    lazarus = ThreatActor.objects.get(attack_id="G0032")
    assert (lazarus.country, lazarus.actor_type) == ("KP", nation_state)
    galaxy = Dataset.objects.get(slug="misp-galaxy-threat-actor")
    assert (galaxy.version, galaxy.licence) == ("349", "CC0 1.0 or BSD 2-Clause")
    assert "Groups matched in the MISP galaxy 349: 1 by attack-id, 2 by name" in output


def test_staff_values_are_kept_and_a_reimport_changes_nothing(db):
    criminal = ActorTypeFactory(slug="criminal-group", name="Criminal group")
    ThreatActorFactory(name="APT28", attack_id="G0007", country="FR", actor_type=criminal)
    run(SAMPLE, "--misp-galaxy", GALAXY)
    apt28 = ThreatActor.objects.get(attack_id="G0007")
    assert (apt28.country, apt28.actor_type, apt28.country_source) == ("FR", criminal, "")
    before = snapshot()

    output = run(SAMPLE, "--misp-galaxy", GALAXY)

    after = snapshot()
    for dataset in before["datasets"] + after["datasets"]:
        dataset.pop("imported_at")
    assert after == before
    assert "actor type and country: 3 unchanged" in output


def test_galaxy_matching_rules():
    galaxy = read_galaxy(load_galaxy(str(GALAXY)))

    entry, rule = galaxy.match("G0007", ["Something else"])
    assert (entry.value, rule) == ("APT28", "attack-id")
    entry, rule = galaxy.match("G0999", ["HIDDEN COBRA"])  # two entries, no exact name
    assert (entry, rule) == (
        None,
        "several galaxy entries disagree (Cobra copycats / Lazarus Group); left unset",
    )
    entry, rule = galaxy.match("G0999", ["Cobra copycats"])
    assert (entry.country, entry.actor_type, entry.type_reason) == (
        "CN",
        "criminal-group",
        "motive: Cybercrime",
    )
    # An unknown country code and an "Unknown" sponsor give nothing.
    entry, _ = galaxy.match("G0999", ["Mystery crew"])
    assert (entry.country, entry.actor_type) == ("", "")
    assert galaxy.match("G0999", ["Nobody"]) == (None, "")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "not MISP's threat-actor cluster"),
        ('{"type": "region", "values": []}', "not MISP's threat-actor cluster"),
        ("{oops", "not a MISP galaxy cluster (not JSON text"),
    ],
)
def test_a_bad_galaxy_file_aborts_with_nothing_written(db, tmp_path, content, message):
    path = tmp_path / "galaxy.json"
    path.write_text(content)

    with pytest.raises(CommandError, match="nothing written") as caught:
        run(SAMPLE, "--misp-galaxy", path)

    assert message in str(caught.value)
    assert not ThreatActor.objects.exists()
    assert not Dataset.objects.exists()


@pytest.mark.skipif(
    not (REAL_BUNDLE.is_file() and REAL_GALAXY.is_file()),
    reason="the real ATT&CK bundle and MISP galaxy are not in ../shared/data",
)
def test_real_release_apt28_is_a_russian_state_actor(db):
    run(REAL_BUNDLE, "--release", "18.1", "--misp-galaxy", REAL_GALAXY)

    apt28 = ThreatActor.objects.get(attack_id="G0007")
    assert (apt28.country, apt28.actor_type.slug) == ("RU", "nation-state")
    assert "cfr-suspected-state-sponsor: Russian Federation" in apt28.actor_type_source
    assert ThreatActor.techniques.through.objects.count() == 4362
    assert ThreatActor.software.through.objects.count() == 1104
    assert Software.objects.count() == 784
    assert ThreatActor.objects.exclude(country="").count() == 113
