"""Issue 10, item 1 and 2: the VCDB importer keeps what the source says.

One small file, tests/data/veris/quality.jsonl, holds a case of each rule: URLs with
commas, apostrophes, read-on dates and no scheme; a reference without a URL; three
spellings of one victim; one name in two countries; placeholder victims; a named actor
and a record id where a name should be; an unknown actor variety, country and integrity
variety; a future date; an empty summary; notes that only repeat the summary.
"""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.models import (
    ActorType,
    Dataset,
    Incident,
    Organisation,
    OrganisationAlias,
    Source,
    ThreatActor,
)

QUALITY = Path(__file__).resolve().parent.parent / "data" / "veris" / "quality.jsonl"


def import_quality(**options):
    out = StringIO()
    call_command("import_veris", str(QUALITY), stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def imported(key):
    return Incident.objects.select_related("organisation").get(external_id=key)


@pytest.fixture
def quality(db):
    return import_quality(publish=True)


def test_source_urls_are_split_only_where_the_source_separates_them(quality):
    assert sorted(imported("Q-01").sources.values_list("url", flat=True)) == [
        "http://www.example.gov/notice.pdf",  # scheme repaired
        "http://www.pcmag.com/article2/0,2817,2460049,00.asp",  # commas kept, "(date)" gone
        "https://news.example.org/it's-out",  # apostrophe kept
    ]


def test_a_reference_without_a_url_is_kept_as_its_text(quality, client):
    (source,) = imported("Q-03").sources.all()
    assert (source.url, source.citation) == ("", "Newspaper article, no link")
    body = client.get(imported("Q-03").get_absolute_url()).content.decode()
    assert "Newspaper article, no link" in body
    assert "No sources listed" not in body


def test_an_empty_summary_stays_empty_and_the_page_says_so(quality, client):
    assert imported("Q-03").summary == ""
    body = client.get(imported("Q-03").get_absolute_url()).content.decode()
    assert "The source gives no summary of this incident." in body
    assert "coded in VERIS" not in body


def test_notes_that_repeat_the_summary_are_shown_once(quality, client):
    incident = imported("Q-09")
    assert (incident.summary, incident.description) == ("Same notes.", "")
    page = client.get(incident.get_absolute_url()).content.decode()
    head, body = page.split("</head>")
    assert "Same notes." in head  # the meta descriptions (search engines, link previews)
    assert body.count("Same notes.") == 1  # the summary, not again as a description
    assert 'id="description-h"' not in body


def test_spellings_of_one_victim_are_one_organisation_with_its_aliases(quality):
    keys = ["Q-01", "Q-02", "Q-03", "Q-09"]
    (org,) = {imported(key).organisation for key in keys}
    assert org.name == "Microsoft"  # the spelling most records use
    assert set(org.aliases.values_list("name", flat=True)) == {
        "Microsoft Corp",
        "Microsoft",
        "microsoft",
    }


def test_one_name_in_two_countries_is_two_organisations(quality):
    gb, nz = imported("Q-04").organisation, imported("Q-05").organisation
    assert gb != nz
    assert (gb.name, gb.country, nz.name, nz.country) == (
        "Ministry of Health",
        "GB",
        "Ministry of Health",
        "NZ",
    )


def test_placeholder_victims_never_list_other_incidents(quality, client):
    first, second = imported("Q-07"), imported("Q-08")
    assert first.organisation == second.organisation
    assert first.organisation.is_placeholder
    body = client.get(first.get_absolute_url()).content.decode()
    assert "Other incidents of" not in body
    assert second.get_absolute_url() not in body
    # A real recurring victim still lists them.
    body = client.get(imported("Q-01").get_absolute_url()).content.decode()
    assert "Other incidents of Microsoft" in body


def test_a_named_actor_is_kept_as_a_named_threat_actor(quality):
    actor = ThreatActor.objects.get(name="Dr.Sha6h")
    assert not actor.is_unattributed
    assert actor.actor_type.slug == "criminal-group"
    assert actor in imported("Q-02").threat_actors.all()


def test_a_named_actor_reaches_members_only(quality, client, member_client):
    page = imported("Q-02").get_absolute_url()
    assert "Dr.Sha6h" in member_client.get(page).content.decode()
    assert "Dr.Sha6h" not in client.get(page).content.decode()
    assert "2 actors" in client.get(page).content.decode()


def test_a_record_id_where_a_name_should_be_is_reported_not_an_actor(quality):
    assert not ThreatActor.objects.filter(name__icontains="6A323CB8").exists()
    assert "quality.jsonl:8: actor.internal.name: warning: not a name" in quality


def test_unknown_values_are_reported_with_file_line_and_field(quality):
    assert (
        "quality.jsonl:5: actor.external.variety: warning: unknown value 'Alien overlord'"
        in quality
    )
    assert "quality.jsonl:5: actor.external.country: warning: unknown value 'XX'" in quality
    assert "quality.jsonl:6: attribute.integrity.variety: warning: unknown value 'Sparkles'" in (
        quality
    )


def test_unknown_values_never_become_taxonomy_terms_or_actors(db):
    types_before = set(ActorType.objects.values_list("slug", flat=True))
    import_quality()
    assert not ThreatActor.objects.filter(name__icontains="alien").exists()
    (actor,) = imported("Q-05").threat_actors.all()
    assert actor.name == "Unattributed external actor"
    assert set(ActorType.objects.values_list("slug", flat=True)) - types_before <= {
        # ensure_taxonomy's own list, never a value from the file
        "nation-state",
        "criminal-group",
        "hacktivist",
        "terrorist",
        "competitor",
        "lone-actor",
        "insider",
        "partner",
        "unknown",
    }
    assert imported("Q-06").cia_posture.integrity == "unknown"


def test_future_dates_are_reported_and_kept_as_drafts(quality, client):
    future = imported("Q-06")
    assert future.date == datetime.date(2099, 1, 1)
    assert future.status == Incident.Status.DRAFT
    assert "quality.jsonl:6: timeline.incident: warning: 2099-01-01 is in the future" in quality
    assert client.get(f"/incidents/{future.slug}/").status_code == 404
    # Publishing again keeps it a draft; the others are published.
    import_quality(publish=True)
    assert imported("Q-06").status == Incident.Status.DRAFT
    assert imported("Q-01").status == Incident.Status.PUBLISHED


def table_rows():
    """Every row the importer writes, for a before/after diff."""
    return {
        model.__name__: {repr(row) for row in model.objects.values_list()}
        for model in (Incident, Organisation, OrganisationAlias, Source, ThreatActor, Dataset)
    } | {
        "links": set(Incident.threat_actors.through.objects.values_list())
        | set(Incident.motives.through.objects.values_list())
    }


def test_a_second_run_changes_nothing(quality):
    before = table_rows()
    out = import_quality(publish=True)
    assert "incident: 9 unchanged" in out
    assert table_rows() == before  # imported_at of the dataset included


def test_the_dataset_import_time_moves_when_something_changed(quality, tmp_path):
    first = Dataset.objects.get(slug="vcdb").imported_at
    changed = tmp_path / "quality.jsonl"
    changed.write_text(QUALITY.read_text().replace("A test incident.", "A changed incident.", 1))
    call_command("import_veris", str(changed), publish=True, stdout=StringIO())
    assert Dataset.objects.get(slug="vcdb").imported_at > first


def test_reimport_keeps_an_organisation_where_staff_put_it(quality):
    """After staff moved an incident to another organisation that has the record's
    spelling, a re-import leaves it there."""
    other = Organisation.objects.create(name="Microsoft Ireland", country="US")
    OrganisationAlias.objects.create(organisation=other, name="Microsoft Corp")
    Incident.objects.filter(external_id="Q-01").update(organisation=other)
    import_quality(publish=True)
    assert imported("Q-01").organisation == other
    assert imported("Q-02").organisation.name == "Microsoft"


def test_every_spelling_is_searchable_in_the_organisation_list(quality, client):
    body = client.get("/organisations/", {"q": "microsoft corp"}).content.decode()
    assert imported("Q-01").organisation.get_absolute_url() in body
    assert "Ministry of Health" not in body
    assert (
        "Also named in sources as"
        in client.get(imported("Q-01").organisation.get_absolute_url()).content.decode()
    )


def test_every_spelling_is_searchable_in_the_finder(quality, client):
    body = client.get("/incidents/", {"q": "Corp"}).content.decode()
    assert imported("Q-02").get_absolute_url() in body  # filed as "Microsoft"
    assert imported("Q-04").get_absolute_url() not in body
