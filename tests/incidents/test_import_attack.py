"""import_attack: MITRE ATT&CK Enterprise from a STIX bundle into tactics, techniques and actors.

The samples in tests/data/attack/ are hand-written STIX bundles of about twenty objects:
enterprise-sample.json (STIX 2.0, no x-mitre-collection, like MITRE's cti repository),
enterprise-sample-newer.json (STIX 2.1 with an x-mitre-collection, "19.0": T1059.001 renamed,
T1566.001 revoked in favour of a new T1566.002, an alias added to APT28), malformed.json and
not-a-bundle.json.
"""

import io
import json
import socket
import urllib.error
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from incidents.importers.attack import clean_description, import_attack, load_bundle
from incidents.models import Dataset, Software, Tactic, Technique, ThreatActor
from tests.factories import (
    ActorTypeFactory,
    IncidentFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "attack"
SAMPLE = DATA / "enterprise-sample.json"
NEWER = DATA / "enterprise-sample-newer.json"
MALFORMED = DATA / "malformed.json"
REAL_BUNDLE = Path(settings.BASE_DIR).parent / "shared/data/attack/stix/enterprise-attack.json"
SAMPLE_VERSION = "unversioned, objects modified up to 2025-04-28"


def run(source, *args):
    out = io.StringIO()
    call_command("import_attack", str(source), *args, stdout=out)
    return out.getvalue()


def counts(path, **kwargs):
    """{(kind, outcome): n} of an import of ``path``."""
    return dict(import_attack(load_bundle(str(path)), **kwargs).report.counts)


def snapshot():
    """Every row the importer may write, to compare before and after."""
    return {
        "datasets": list(Dataset.objects.values()),
        "tactics": list(Tactic.objects.order_by("pk").values()),
        "techniques": list(Technique.objects.order_by("pk").values()),
        "technique_tactics": sorted(
            Technique.tactics.through.objects.values_list("technique_id", "tactic_id")
        ),
        "actors": list(ThreatActor.objects.order_by("pk").values()),
        "software": list(Software.objects.order_by("pk").values()),
        "actor_techniques": sorted(
            ThreatActor.techniques.through.objects.values_list("threatactor_id", "technique_id")
        ),
        "actor_software": sorted(
            ThreatActor.software.through.objects.values_list("threatactor_id", "software_id")
        ),
    }


def techniques(*attack_ids):
    return [Technique.objects.get(attack_id=a) for a in attack_ids]


@pytest.fixture
def portal(db):
    """What a demo database holds before the first import: starter ATT&CK rows, staff's actors."""
    initial_access = TacticFactory(
        attack_id="TA0001", shortname="initial-access", name="Initial Access", order=2
    )
    phishing = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[initial_access])
    attachment = TechniqueFactory(
        attack_id="T1566.001", name="Spearphishing Attachment", parent=phishing
    )
    nation_state = ActorTypeFactory(slug="nation-state", name="Nation-state")
    apt29 = ThreatActorFactory(
        name="APT29",
        attack_id="G0016",
        actor_type=nation_state,
        country="RU",
        aliases=["Cozy Bear", "Staff alias"],
        description="Written by staff.",
    )
    lazarus = ThreatActorFactory(
        name="Lazarus group", actor_type=nation_state, country="KP", aliases=[], description=""
    )
    incident = IncidentFactory(techniques=[attachment, phishing], threat_actors=[apt29])
    return SimpleNamespace(
        initial_access=initial_access,
        phishing=phishing,
        attachment=attachment,
        apt29=apt29,
        lazarus=lazarus,
        nation_state=nation_state,
        incident=incident,
    )


# Mapping ------------------------------------------------------------------------------------


def test_tactics_every_field_in_matrix_order(db):
    run(SAMPLE)

    # The bundle lists execution first; the matrix's tactic_refs put initial-access first.
    assert list(Tactic.objects.values_list("shortname", "order")) == [
        ("initial-access", 0),
        ("execution", 1),
        ("defense-evasion", 2),
    ]
    tactic = Tactic.objects.get(attack_id="TA0001")
    assert tactic.shortname == "initial-access"
    assert tactic.name == "Initial Access"
    assert tactic.url == "https://attack.mitre.org/tactics/TA0001"
    assert tactic.description == "The adversary is trying to get into your network."
    assert tactic.stix_id == "x-mitre-tactic--00000000-0000-4000-8000-000000000001"


def test_techniques_every_field(db):
    run(SAMPLE)

    phishing = Technique.objects.get(attack_id="T1566")
    assert phishing.name == "Phishing"
    # First paragraph only; citation removed, markdown link reduced to its text.
    assert phishing.description == (
        "Adversaries may send phishing messages to gain access to victim systems. "
        "All forms of phishing are electronically delivered social engineering."
    )
    assert phishing.url == "https://attack.mitre.org/techniques/T1566"
    assert phishing.version == "2.7"
    assert phishing.stix_id == "attack-pattern--00000000-0000-4000-8000-000000001566"
    assert [t.shortname for t in phishing.tactics.all()] == ["initial-access"]
    assert phishing.parent is None
    assert (phishing.is_revoked, phishing.is_deprecated, phishing.revoked_by) == (
        False,
        False,
        None,
    )

    powershell = Technique.objects.get(attack_id="T1059.001")
    assert powershell.parent == Technique.objects.get(attack_id="T1059")
    assert powershell.url == "https://attack.mitre.org/techniques/T1059/001"
    assert powershell.version == "1.5"
    assert powershell.description == (
        "Adversaries may abuse PowerShell commands and scripts for execution, for example "
        "Invoke-Expression. PowerShell is a powerful interactive command-line interface."
    )
    assert Technique.objects.get(attack_id="T1566.001").parent.attack_id == "T1566"
    # Only the mitre-attack kill chain names tactics; the Lockheed Martin phase is not one.
    assert [t.shortname for t in Technique.objects.get(attack_id="T1059").tactics.all()] == [
        "execution"
    ]


def test_revoked_and_deprecated_techniques_are_kept_marked_and_not_taggable(db):
    run(SAMPLE)

    packing, source = techniques("T1045", "T1153")
    assert packing.is_revoked and not packing.is_deprecated
    assert packing.revoked_by == Technique.objects.get(attack_id="T1027")
    assert source.is_deprecated and not source.is_revoked
    assert source.revoked_by is None
    assert source.description == "This technique has been deprecated and should no longer be used."
    assert set(Technique.objects.taggable().values_list("attack_id", flat=True)) == {
        "T1566",
        "T1566.001",
        "T1059",
        "T1059.001",
        "T1027",
    }


def test_groups_become_threat_actors_and_retired_groups_are_skipped(db):
    output = run(SAMPLE)

    apt28 = ThreatActor.objects.get(attack_id="G0007")
    assert apt28.name == "APT28"
    assert apt28.slug == "apt28"
    assert apt28.aliases == ["Fancy Bear", "Sofacy"]  # STIX aliases minus the name itself
    assert apt28.description == (
        "APT28 is a threat group that has been attributed to Russia's General Staff Main "
        "Intelligence Directorate (GRU). This group has been active since at least 2004."
    )
    assert apt28.dataset.slug == "mitre-attack-enterprise"
    assert apt28.external_id == "G0007"
    assert (apt28.actor_type, apt28.country) == (None, "")  # ATT&CK has neither
    assert sorted(ThreatActor.objects.values_list("attack_id", flat=True)) == [
        "G0007",
        "G0016",
        "G0032",
    ]
    assert "threat actor: 3 created, 2 skipped" in output
    assert "revoked: G0118 UNC2452: revoked by ATT&CK in favour of G0016; not imported" in output
    assert "x_mitre_deprecated: G0014 Night Dragon: deprecated by ATT&CK; not imported" in output


def test_dataset_row_records_licence_and_release(db):
    output = run(SAMPLE)

    dataset = Dataset.objects.get(slug="mitre-attack-enterprise")
    assert dataset.name == "MITRE ATT&CK Enterprise"
    assert dataset.url == "https://attack.mitre.org/"
    assert dataset.licence == "ATT&CK Terms of Use"
    assert dataset.licence_url == (
        "https://attack.mitre.org/resources/legal-and-branding/terms-of-use/"
    )
    assert dataset.attribution == (
        "© The MITRE Corporation. This work is reproduced and distributed with the "
        "permission of The MITRE Corporation."
    )
    # No x-mitre-collection and no --release: the latest `modified` dates the import.
    assert dataset.version == SAMPLE_VERSION
    assert dataset.imported_at is not None
    assert f"Recorded release: {SAMPLE_VERSION}" in output

    output = run(SAMPLE, "--release", "18.1")
    assert Dataset.objects.get().version == "18.1"
    assert "MITRE ATT&CK Enterprise 18.1 from" in output
    assert f"(previously imported: {SAMPLE_VERSION})" in output


def test_collection_version_wins_over_release_option(db):
    output = run(NEWER, "--release", "18.1")

    assert Dataset.objects.get().version == "19.0"
    assert "--release 18.1 ignored: the bundle says it is 19.0" in output


# Existing data ------------------------------------------------------------------------------


def test_existing_actors_matched_by_attack_id_and_by_name(portal):
    run(SAMPLE)

    assert ThreatActor.objects.count() == 3  # APT29 and Lazarus matched, APT28 new
    apt29 = ThreatActor.objects.get(pk=portal.apt29.pk)
    assert apt29.name == "APT29"
    assert (apt29.actor_type, apt29.country) == (portal.nation_state, "RU")
    assert apt29.description == "Written by staff."  # staff's text is kept
    # Staff's aliases first (kept), then ATT&CK's new ones; "Cozy Bear" not repeated.
    assert apt29.aliases == ["Cozy Bear", "Staff alias", "NOBELIUM", "The Dukes"]
    assert (apt29.dataset.slug, apt29.external_id) == ("mitre-attack-enterprise", "G0016")

    lazarus = ThreatActor.objects.get(pk=portal.lazarus.pk)  # by name, case-insensitively
    assert lazarus.name == "Lazarus group"  # staff's spelling kept
    assert lazarus.attack_id == "G0032"
    assert lazarus.aliases == ["HIDDEN COBRA", "ZINC"]
    assert lazarus.description == (
        "Lazarus Group is a North Korean state-sponsored cyber threat group."
    )  # it had none
    assert lazarus.country == "KP"
    assert list(portal.incident.threat_actors.all()) == [apt29]


def test_starter_taxonomy_is_updated_in_place_and_tagging_kept(portal):
    run(SAMPLE)

    assert Tactic.objects.get(attack_id="TA0001").pk == portal.initial_access.pk
    attachment = Technique.objects.get(attack_id="T1566.001")
    assert attachment.pk == portal.attachment.pk
    assert attachment.stix_id == "attack-pattern--00000000-0000-4000-8000-000015660001"
    assert [t.shortname for t in attachment.tactics.all()] == ["initial-access"]
    assert set(portal.incident.techniques.values_list("attack_id", flat=True)) == {
        "T1566",
        "T1566.001",
    }


def test_reimport_changes_nothing_and_keeps_staff_edits(portal):
    run(SAMPLE)
    apt28 = ThreatActor.objects.get(attack_id="G0007")
    apt28.aliases = [*apt28.aliases, "Added by staff"]
    apt28.actor_type = portal.nation_state
    apt28.country = "RU"
    apt28.save()
    before = snapshot()

    outcome = counts(SAMPLE)

    assert outcome == {
        ("tactic", "created"): 0,
        ("tactic", "updated"): 0,
        ("tactic", "unchanged"): 3,
        ("technique", "created"): 0,
        ("technique", "updated"): 0,
        ("technique", "unchanged"): 7,
        ("threat actor", "created"): 0,
        ("threat actor", "updated"): 0,
        ("threat actor", "unchanged"): 3,
        ("threat actor", "skipped"): 2,
        ("software", "created"): 0,
        ("software", "updated"): 0,
        ("software", "unchanged"): 2,
        ("group uses technique", "created"): 0,
        ("group uses technique", "unchanged"): 3,
        ("group uses technique", "removed"): 0,
        ("group uses software", "created"): 0,
        ("group uses software", "unchanged"): 2,
        ("group uses software", "removed"): 0,
    }
    after = snapshot()
    for dataset in before["datasets"] + after["datasets"]:
        dataset.pop("imported_at")
    assert after == before  # no duplicates, no row touched (not even updated_at)
    apt28.refresh_from_db()
    assert apt28.aliases[-1] == "Added by staff"
    assert (apt28.actor_type, apt28.country) == (portal.nation_state, "RU")
    assert set(portal.incident.techniques.values_list("attack_id", flat=True)) == {
        "T1566",
        "T1566.001",
    }


def test_newer_release_updates_in_place(portal):
    run(SAMPLE)
    before = {t.attack_id: t.pk for t in Technique.objects.all()}

    output = run(NEWER)

    assert "technique: 1 created, 2 updated, 5 unchanged" in output
    assert "MITRE ATT&CK Enterprise 19.0 from" in output
    assert Dataset.objects.get().version == "19.0"
    renamed = Technique.objects.get(attack_id="T1059.001")
    assert (renamed.pk, renamed.name, renamed.version) == (
        before["T1059.001"],
        "PowerShell Scripting",
        "1.6",
    )
    revoked = Technique.objects.get(attack_id="T1566.001")
    assert revoked.pk == before["T1566.001"]
    assert revoked.is_revoked
    assert revoked.revoked_by.attack_id == "T1566.002"
    assert Technique.objects.get(attack_id="T1566.002").parent.attack_id == "T1566"
    assert Technique.objects.count() == 8
    assert not Technique.objects.taggable().filter(attack_id="T1566.001").exists()
    # The incident keeps its (now revoked) technique.
    assert portal.incident.techniques.filter(attack_id="T1566.001").exists()
    assert ThreatActor.objects.get(attack_id="G0007").aliases == [
        "Fancy Bear",
        "Sofacy",
        "STRONTIUM",
    ]
    assert ThreatActor.objects.get(pk=portal.apt29.pk).description == "Written by staff."


def test_actor_matching_conflicts_and_other_datasets(db):
    vcdb = Dataset.objects.create(slug="vcdb", name="VCDB")
    # Staff gave this APT28 a wrong ATT&CK id: reported, not merged, not duplicated.
    wrong = ThreatActorFactory(name="apt28", attack_id="G9999")
    # An actor another importer created keeps its key there.
    lazarus = ThreatActorFactory(name="Lazarus Group", dataset=vcdb, external_id="vcdb-17")
    # Known only by the id ATT&CK revoked in favour of G0016: it is APT29 now.
    unc2452 = ThreatActorFactory(name="UNC2452", attack_id="G0118", aliases=[])

    output = run(SAMPLE)

    assert "existing actor apt28 has ATT&CK id G9999; correct one of them by hand" in output
    wrong.refresh_from_db()
    assert wrong.attack_id == "G9999"
    assert not ThreatActor.objects.filter(attack_id="G0007").exists()
    lazarus.refresh_from_db()
    assert (lazarus.attack_id, lazarus.dataset, lazarus.external_id) == ("G0032", vcdb, "vcdb-17")
    unc2452.refresh_from_db()
    assert unc2452.attack_id == "G0016"
    assert unc2452.aliases == ["APT29", "NOBELIUM", "Cozy Bear", "The Dukes"]
    assert ThreatActor.objects.count() == 3


# Bad input ----------------------------------------------------------------------------------


def test_malformed_objects_are_skipped_and_reported(db):
    output = run(MALFORMED)

    assert list(Tactic.objects.values_list("attack_id", flat=True)) == ["TA0001"]
    assert list(Technique.objects.values_list("attack_id", flat=True)) == ["T1566"]
    assert not ThreatActor.objects.exists()
    ids = "00000000-0000-4000-8000-00000000"
    for problem in [
        f"objects[2] x-mitre-tactic--{ids}0002: x_mitre_shortname: required property missing",
        f'objects[4] attack-pattern--{ids}1204: external_references: no "mitre-attack" '
        "external_id (the ATT&CK id)",
        f"objects[5] attack-pattern--{ids}1189: created: must be a datetime object",
        "objects[6]: type: not a STIX object",
        f"objects[7] intrusion-set--{ids}0007: name: required property missing",
        "objects[8] relationship--00000000-0000-4000-8000-0000000a0001: target_ref: "
        f"attack-pattern--{ids}9999 is not an imported technique; link ignored",
        f"objects[3] attack-pattern--{ids}1566: kill_chain_phases: unknown tactic 'no-such-tactic'",
    ]:
        assert problem in output
    assert "technique: 1 created, 2 skipped" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((DATA / "not-a-bundle.json").read_text(), 'expected a JSON object with "type": "bundle"'),
        ("attack_id,name\nT1566,Phishing\n", "not JSON: Expecting value at line 1, column 1"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
        ('{"type": "bundle", "objects": []}', "No ATT&CK tactics or techniques found"),
        (
            json.dumps(
                {
                    "type": "bundle",
                    "objects": [
                        {
                            "type": "x-mitre-matrix",
                            "id": "x-mitre-matrix--00000000-0000-4000-8000-00000000e001",
                            "created": "2018-10-17T00:14:20.652Z",
                            "modified": "2018-10-17T00:14:20.652Z",
                            "name": "Mobile ATT&CK",
                            "tactic_refs": ["x-mitre-tactic--00000000-0000-4000-8000-000000000001"],
                            "external_references": [
                                {"source_name": "mitre-attack", "external_id": "mobile-attack"}
                            ],
                        }
                    ],
                }
            ),
            "holds the mobile-attack matrix, not ATT&CK Enterprise",
        ),
    ],
    ids=["json-not-bundle", "csv", "binary", "empty-bundle", "mobile"],
)
def test_not_an_enterprise_bundle_aborts_with_nothing_written(db, tmp_path, content, message):
    path = tmp_path / "input.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)

    with pytest.raises(CommandError, match="nothing written") as error:
        run(path)

    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert not Dataset.objects.exists()
    assert not Tactic.objects.exists()
    assert not Technique.objects.exists()


def test_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "enterprise-attack.json")


def test_a_failure_while_writing_rolls_everything_back(portal):
    before = snapshot()

    with (
        mock.patch(
            "incidents.importers.attack.write._write_groups", side_effect=RuntimeError("boom")
        ),
        pytest.raises(RuntimeError),
    ):
        run(SAMPLE)

    assert snapshot() == before  # tactics and techniques were written, then rolled back


def test_dry_run_writes_nothing(portal):
    before = snapshot()

    output = run(SAMPLE, "--dry-run")

    assert "technique: 5 created, 2 updated" in output
    assert "Dry run: rolled back, nothing was written." in output
    assert snapshot() == before


def test_url_on_an_offline_machine_fails_clearly(db):
    url = "https://raw.githubusercontent.com/mitre/cti/master/enterprise-attack/enterprise-attack.json"
    offline = urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    with (
        mock.patch("urllib.request.urlopen", side_effect=offline) as urlopen,
        pytest.raises(CommandError) as error,
    ):
        run(url)

    assert urlopen.call_args.args[0].full_url == url
    assert f"{url}: could not download it" in str(error.value)
    assert "Temporary failure in name resolution" in str(error.value)
    assert "pass its local path" in str(error.value)
    assert not Dataset.objects.exists()


def test_url_is_downloaded_and_imported(db):
    url = "https://example.org/enterprise-attack.json"

    with mock.patch("urllib.request.urlopen", return_value=io.BytesIO(SAMPLE.read_bytes())):
        output = run(url)

    assert f"from {url}" in output
    assert Technique.objects.count() == 7


def test_other_url_schemes_are_refused(db):
    with pytest.raises(CommandError, match="only http"):
        run("file:///etc/passwd")


def test_clean_description():
    text = (
        "[APT1](https://attack.mitre.org/groups/G0006) uses <code>net use</code> "
        "(Citation: Mandiant APT1)to map  drives.(Citation: A)(Citation: B)\n"
        "Same paragraph.\n\n**Second** paragraph."
    )
    assert clean_description(text) == "APT1 uses net use to map drives. Same paragraph."
    assert clean_description(None) == ""


# The real release ---------------------------------------------------------------------------


def test_real_enterprise_bundle(db):
    """ATT&CK Enterprise v18.1 as MITRE publishes it (about 4 s to import on SQLite)."""
    if not REAL_BUNDLE.is_file():
        pytest.skip(f"{REAL_BUNDLE} is absent (the shared data folder is not on this machine)")
    derived = REAL_BUNDLE.parent.parent  # ../shared/data/attack: lists derived from the bundle
    active_ids = {t["id"] for t in json.loads((derived / "techniques.json").read_text())}
    raw = json.loads(REAL_BUNDLE.read_text())["objects"]
    groups = [o for o in raw if o["type"] == "intrusion-set"]
    retired = [o for o in groups if o.get("revoked") or o.get("x_mitre_deprecated")]

    output = run(REAL_BUNDLE, "--release", "18.1")

    assert "technique: 835 created" in output, output
    assert Tactic.objects.count() == 14
    assert Tactic.objects.get(order=0).shortname == "reconnaissance"
    assert Technique.objects.count() == 835
    assert len(active_ids) == 691
    assert set(Technique.objects.taggable().values_list("attack_id", flat=True)) == active_ids
    assert (len(groups), len(retired)) == (187, 15)
    assert ThreatActor.objects.filter(dataset__slug="mitre-attack-enterprise").count() == 172

    attachment = Technique.objects.get(attack_id="T1566.001")
    assert attachment.parent.attack_id == "T1566"
    assert [t.shortname for t in attachment.tactics.all()] == ["initial-access"]
    assert Technique.objects.get(attack_id="T1002").revoked_by.attack_id == "T1560"
    revoked = Technique.objects.filter(is_revoked=True)
    assert revoked.count() == 132
    assert not revoked.filter(revoked_by__isnull=True).exists()
    assert "Cozy Bear" in ThreatActor.objects.get(attack_id="G0016").aliases
    assert Dataset.objects.get().version == "18.1"

    # Re-importing the same release changes nothing.
    output = run(REAL_BUNDLE, "--release", "18.1")
    assert "technique: 835 unchanged" in output
    assert "threat actor: 172 unchanged, 15 skipped" in output


def test_data_sources_page_shows_the_release_and_licence(db, client):
    from django.core.management import call_command

    call_command("import_attack", str(SAMPLE), release="17.0", verbosity=0)
    html = client.get("/data/").content.decode()
    assert "MITRE ATT&amp;CK Enterprise" in html
    assert "17.0" in html
    assert "ATT&amp;CK Terms of Use" in html


def test_control_characters_never_reach_the_catalogue(db):
    """Issue 9.2: names, aliases and descriptions are stored without control characters."""
    bundle = json.loads(SAMPLE.read_text())
    for obj in bundle["objects"]:
        if obj.get("type") in ("intrusion-set", "attack-pattern", "x-mitre-tactic"):
            obj["name"] = obj["name"][:2] + "\x0b" + obj["name"][2:] + "\x00"
            if obj.get("description"):
                obj["description"] = "\x1f" + obj["description"]
            if obj.get("aliases"):
                obj["aliases"] = [a + "\x0b" for a in obj["aliases"]]
    import_attack(bundle)
    apt28 = ThreatActor.objects.get(attack_id="G0007")
    assert apt28.name == "APT28"
    assert apt28.aliases == ["Fancy Bear", "Sofacy"]
    assert apt28.description.startswith("APT28 is")
    assert Technique.objects.get(attack_id="T1566").name == "Phishing"
    assert Tactic.objects.get(attack_id="TA0001").name == "Initial Access"
