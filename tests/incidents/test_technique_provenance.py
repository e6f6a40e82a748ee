"""Technique provenance (issue 14): techniques the VERIS importer derives through the
VERIS-to-ATT&CK mapping are marked derived, with the VERIS enumerations that mapped to
them; the others are reported. Members see which is which on the incident page, its
matrix, the API, the exports and the Navigator layer; non-members get nothing new."""

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from stix2validator import ValidationOptions, validate_string

from incidents.admin import IncidentTechniqueForm
from incidents.models import Incident, IncidentTechnique, Technique
from portal import versions
from tests.conftest import MEMBERS, NON_MEMBERS, client_for, new_catalogue_version
from tests.factories import IncidentFactory, TacticFactory, TechniqueFactory, UserFactory
from tests.incidents.api.helpers import api_get, token_for
from tests.incidents.test_import_veris import (
    MAPPING,
    SAMPLE,
    copy_sample,
    counted,
    import_veris,
    imported,
    incident_counts,
    techniques,  # noqa: F401 (the fixture)
)

RANSOMWARE = "action.malware.variety.Ransomware"
WEB_APPLICATION = "action.hacking.vector.Web application"


def links_of(incident):
    return {
        link.technique.attack_id: (link.provenance, link.derived_from)
        for link in IncidentTechnique.objects.filter(incident=incident).select_related("technique")
    }


# The importer


@pytest.mark.django_db
def test_the_importer_marks_mapped_techniques_derived_with_their_enumerations(techniques):  # noqa: F811
    import_veris(SAMPLE, attack_mapping=MAPPING)
    assert links_of(imported("SAMPLE-0001")) == {
        "T1486": ("derived", RANSOMWARE),
        "T1490": ("derived", RANSOMWARE),
        "T1190": ("derived", WEB_APPLICATION),
    }


@pytest.mark.django_db
def test_a_reimport_leaves_derived_links_unchanged(techniques):  # noqa: F811
    import_veris(SAMPLE, attack_mapping=MAPPING)
    before = list(IncidentTechnique.objects.order_by("pk").values())
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING)
    assert incident_counts(out) == counted(unchanged=5)
    assert list(IncidentTechnique.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_a_technique_reported_and_derived_stays_reported(techniques):  # noqa: F811
    import_veris(SAMPLE, attack_mapping=MAPPING)
    hospital = imported("SAMPLE-0001")
    # Staff mark one derived technique reported; a source also reports a mapped one.
    IncidentTechnique.objects.filter(incident=hospital, technique__attack_id="T1486").update(
        provenance="reported", derived_from=""
    )
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING)
    assert incident_counts(out) == counted(unchanged=5)
    assert links_of(hospital)["T1486"] == ("reported", "")
    assert links_of(hospital)["T1490"] == ("derived", RANSOMWARE)


@pytest.mark.django_db
def test_staff_reported_technique_before_the_first_import_stays_reported(techniques):  # noqa: F811
    import_veris(SAMPLE)  # no mapping: no technique
    hospital = imported("SAMPLE-0001")
    hospital.techniques.add(Technique.objects.get(attack_id="T1190"))  # reported by default
    out, _ = import_veris(SAMPLE, attack_mapping=MAPPING)
    # The hospital (T1486, T1490 added), the defence contractor and the bank gain techniques.
    assert incident_counts(out) == counted(updated=3, unchanged=2)
    assert links_of(hospital) == {
        "T1190": ("reported", ""),
        "T1486": ("derived", RANSOMWARE),
        "T1490": ("derived", RANSOMWARE),
    }


@pytest.mark.django_db
def test_a_reimport_records_what_a_derived_link_was_derived_from(techniques, tmp_path):  # noqa: F811
    path = copy_sample(tmp_path)
    import_veris(path, attack_mapping=MAPPING)
    hospital = imported("SAMPLE-0001")
    # As migration 0018 left the links of an earlier import: derived, enumerations unknown.
    IncidentTechnique.objects.filter(incident=hospital).update(derived_from="")
    out, _ = import_veris(path, attack_mapping=MAPPING)
    assert incident_counts(out) == counted(updated=1, unchanged=4)
    assert links_of(hospital)["T1190"] == ("derived", WEB_APPLICATION)

    # A mapping in which the record's malware vector maps to T1486 as well: both
    # enumerations are named (sorted, "; "-separated).
    wider = tmp_path / "wider-mapping.csv"
    lines = MAPPING.read_text().splitlines()
    ransomware_row = next(line for line in lines if "Ransomware" in line and "T1486" in line)
    email_row = ransomware_row.replace("variety.Ransomware", "vector.Email attachment")
    wider.write_text("\n".join([*lines, email_row]) + "\n")
    out, _ = import_veris(path, attack_mapping=wider)
    assert incident_counts(out) == counted(updated=1, unchanged=4)
    assert links_of(hospital)["T1486"] == (
        "derived",
        RANSOMWARE + "; action.malware.vector.Email attachment",
    )
    out, _ = import_veris(path, attack_mapping=wider)
    assert incident_counts(out) == counted(unchanged=5)


# The model and the admin


@pytest.mark.django_db
def test_a_reported_link_cannot_name_what_it_was_derived_from():
    from django.db import IntegrityError, transaction

    link = IncidentTechnique(
        incident=IncidentFactory(), technique=TechniqueFactory(), derived_from=RANSOMWARE
    )
    # Bulk writers meet the database's constraint ...
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentTechnique.objects.bulk_create([link])
    # ... a model save (the admin's) drops it for a reported link.
    link.save()
    link.refresh_from_db()
    assert (link.provenance, link.derived_from) == ("reported", "")


@pytest.mark.django_db
def test_staff_may_mark_a_derived_technique_reported_but_not_make_one_derived():
    incident = IncidentFactory()
    derived = IncidentTechnique.objects.create(
        incident=incident,
        technique=TechniqueFactory(),
        provenance="derived",
        derived_from=RANSOMWARE,
    )
    form = IncidentTechniqueForm(
        {"technique": derived.technique_id, "provenance": "reported", "incident": incident.pk},
        instance=derived,
    )
    form.instance.incident = incident
    assert form.is_valid(), form.errors
    form.save()
    derived.refresh_from_db()
    assert (derived.provenance, derived.derived_from) == ("reported", "")

    new = IncidentTechniqueForm(
        {"technique": TechniqueFactory().pk, "provenance": "derived"},
        instance=IncidentTechnique(incident=incident),
    )
    assert not new.is_valid()
    assert "Only the VERIS importer derives techniques" in str(new.errors)


@pytest.mark.django_db
def test_the_admin_inline_shows_provenance_and_saving_it_invalidates_pages(client):
    incident = IncidentFactory()
    link = IncidentTechnique.objects.create(
        incident=incident,
        technique=TechniqueFactory(attack_id="T1486"),
        provenance="derived",
        derived_from=RANSOMWARE,
    )
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ATT&amp;CK techniques (members only)" in html
    assert RANSOMWARE in html
    assert 'name="technique_links-0-provenance"' in html

    version = versions.catalogue()
    link.provenance = "reported"
    link.save()
    assert versions.catalogue() != version, "a saved link bumps the catalogue version"


@pytest.mark.django_db
def test_every_way_of_changing_an_incidents_techniques_invalidates_pages():
    incident, technique = IncidentFactory(), TechniqueFactory()
    for change in (
        lambda: incident.techniques.add(technique),  # m2m_changed (fixtures, factories)
        lambda: incident.techniques.remove(technique),
        lambda: IncidentTechnique.objects.create(incident=incident, technique=technique),
        lambda: IncidentTechnique.objects.filter(incident=incident).get().delete(),
    ):
        version = versions.catalogue()
        change()
        assert versions.catalogue() != version


# What members see, and what non-members do not


@pytest.fixture
def mixed(db):
    """An incident with a reported technique and a derived one (with a sub-technique
    derived too), on the matrix under one tactic."""
    tactic = TacticFactory(name="Impact", shortname="impact")
    reported = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[tactic])
    derived = TechniqueFactory(attack_id="T1486", name="Data Encrypted", tactics=[tactic])
    incident = IncidentFactory(techniques=[reported])
    IncidentTechnique.objects.create(
        incident=incident, technique=derived, provenance="derived", derived_from=RANSOMWARE
    )
    return incident


@pytest.mark.parametrize("kind", MEMBERS)
def test_members_see_which_techniques_were_derived(kind, mixed):
    html = client_for(kind).get(mixed.get_absolute_url()).content.decode()
    # The technique list says it in words ...
    assert f'<span class="provenance-derived">derived from VERIS: {RANSOMWARE}</span>' in html
    assert html.count('class="provenance-derived"') == 1, "the reported one is not marked"
    assert "not reported by a source" in html
    # ... and so does the matrix: a marked cell, with the full text for screen readers.
    assert html.count("technique-cell technique-derived") == 1
    assert f'<span class="visually-hidden">(derived from VERIS: {RANSOMWARE})</span>' in html


@pytest.mark.parametrize("kind", MEMBERS)
def test_a_derived_link_of_an_earlier_import_says_derived_from_veris(kind, mixed):
    IncidentTechnique.objects.filter(provenance="derived").update(derived_from="")
    html = client_for(kind).get(mixed.get_absolute_url()).content.decode()
    assert '<span class="provenance-derived">derived from VERIS</span>' in html


@pytest.mark.parametrize("kind", NON_MEMBERS)
def test_non_members_learn_nothing_of_provenance(kind, mixed):
    html = client_for(kind).get(mixed.get_absolute_url()).content.decode()
    assert "2 techniques" in html
    for gated in ("T1486", RANSOMWARE, "Ransomware", "provenance-derived", "technique-derived"):
        assert gated not in html
    assert "derived from VERIS" not in html


def test_member_incident_page_query_count_does_not_grow(mixed, django_assert_max_num_queries):
    # The links replace the techniques' prefetch: still one query for the links with their
    # technique and its parent, one for the tactics.
    member = client_for("member")
    member.get(mixed.get_absolute_url())  # warm the session and membership caches
    new_catalogue_version()
    with django_assert_max_num_queries(16):
        assert member.get(mixed.get_absolute_url()).status_code == 200


def test_the_api_gives_members_the_provenance(mixed):
    detail = api_get(f"/api/v1/incidents/{mixed.slug}", token_for("member")).json()
    by_id = {t["attack_id"]: t for t in detail["techniques"]}
    assert (by_id["T1486"]["provenance"], by_id["T1486"]["derived_from"]) == (
        "derived",
        [RANSOMWARE],
    )
    assert (by_id["T1566"]["provenance"], by_id["T1566"]["derived_from"]) == ("reported", [])
    public = api_get(f"/api/v1/incidents/{mixed.slug}").json()
    assert "techniques" not in public
    assert RANSOMWARE not in json.dumps(public)


def export_body(client, fmt):
    response = client.get(f"/incidents/export.{fmt}")
    assert response.status_code == 200
    return b"".join(response) if response.streaming else response.content


def test_the_csv_export_says_each_techniques_provenance(mixed):
    text = export_body(client_for("member"), "csv").decode("utf-8")[1:]
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["technique_ids"] == "T1486 | T1566"
    assert row["technique_provenance"] == f"derived from VERIS: {RANSOMWARE} | reported"
    public = export_body(Client(), "csv").decode("utf-8")
    assert "technique_provenance" not in public and RANSOMWARE not in public


def test_the_json_export_says_each_techniques_provenance(mixed):
    data = json.loads(export_body(client_for("member"), "json"))
    (record,) = data["incidents"]
    assert [(t["attack_id"], t["provenance"], t["derived_from"]) for t in record["techniques"]] == [
        ("T1486", "derived", [RANSOMWARE]),
        ("T1566", "reported", []),
    ]
    assert RANSOMWARE.encode() not in export_body(Client(), "json")


def test_the_stix_export_marks_the_derived_uses_relationship(mixed):
    body = export_body(client_for("member"), "stix.json")
    result = validate_string(body.decode(), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    bundle = json.loads(body)
    patterns = {o["id"]: o["name"] for o in bundle["objects"] if o["type"] == "attack-pattern"}
    uses = {
        patterns[o["target_ref"]]: o
        for o in bundle["objects"]
        if o["type"] == "relationship" and o["relationship_type"] == "uses"
    }
    assert uses["Data Encrypted"]["x_cip_provenance"] == "derived"
    assert uses["Data Encrypted"]["x_cip_derived_from"] == [RANSOMWARE]
    assert uses["Data Encrypted"]["description"] == f"Derived from VERIS: {RANSOMWARE}"
    assert uses["Phishing"]["x_cip_provenance"] == "reported"
    assert "x_cip_derived_from" not in uses["Phishing"] and "description" not in uses["Phishing"]


def test_the_navigator_layer_comments_derived_techniques(mixed):
    response = client_for("member").get(reverse("incidents:incident_layer", args=[mixed.slug]))
    comments = {t["techniqueID"]: t["comment"] for t in json.loads(response.content)["techniques"]}
    assert comments == {
        "T1486": f"Used in this incident, derived from VERIS: {RANSOMWARE}",
        "T1566": "Used in this incident",
    }
    refused = Client().get(reverse("incidents:incident_layer", args=[mixed.slug]))
    assert refused.status_code == 404 and RANSOMWARE.encode() not in refused.content


def test_the_demo_data_loads_its_techniques_as_reported(db):
    from django.core.management import call_command

    call_command("loaddata", "fixtures/taxonomy.json", verbosity=0)
    call_command("loaddata", "fixtures/demo.json", verbosity=0)
    assert IncidentTechnique.objects.exists()
    assert set(IncidentTechnique.objects.values_list("provenance", flat=True)) == {"reported"}
    assert Incident.objects.filter(techniques__isnull=False).exists()


def test_a_derived_link_needs_a_known_provenance(db):
    link = IncidentTechnique(
        incident=IncidentFactory(), technique=TechniqueFactory(), provenance="guessed"
    )
    with pytest.raises(ValidationError):
        link.full_clean()


def test_the_methodology_page_says_how_derived_and_reported_are_shown(db):
    html = Client().get("/methodology/").content.decode()
    assert 'id="attack-mapping"' in html  # the incident page's note links here
    assert "“derived from VERIS”" in html
    assert "white cell with a dashed border" in html
    assert "shown as reported" in html
