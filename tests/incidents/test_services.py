"""incidents.services and incidents.rules: what every catalogue writer shares (slugs, publication,
taxonomy, control characters, invalidation on commit)."""

import datetime

import pytest

from incidents import rules, services
from incidents.models import ActorType, Incident, Motive, Organisation, Sector
from portal import versions
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    OrganisationFactory,
    SectorFactory,
    SourceFactory,
    ThreatActorFactory,
)

MARCH = datetime.date(2023, 3, 9)


# Control characters


def test_clean_text_removes_c0_and_c1_controls_but_keeps_tab_and_newlines():
    text = "a\x00b\x0bc\x0cd\x1fe\x7ff\x85g\x9fh\ti\nj\rk é…"
    assert rules.clean_text(text) == "abcdefgh\ti\nj\rk é…"
    assert rules.clean_text(["x\x0by", 3]) == ["xy", 3]
    assert rules.clean_text(None) is None


@pytest.mark.django_db
def test_model_saves_strip_control_characters_from_every_text_field():
    org = OrganisationFactory(name="Acme\x0b Rockets\x00")
    incident = IncidentFactory(
        organisation=org, summary="Pasted\x0b text.", description="Line\x0c one\nLine two"
    )
    actor = ThreatActorFactory(name="Grey\x0b Heron", aliases=["GH\x00"], description="D\x1b.")
    source = SourceFactory(incident=incident, title="T\x0bitle", publisher="P\x00")
    posture = CIAPostureFactory(incident=incident, notes="N\x0bote")
    for obj in (org, incident, actor, source, posture):
        obj.refresh_from_db()
    assert org.name == "Acme Rockets"
    assert (incident.summary, incident.description) == ("Pasted text.", "Line one\nLine two")
    assert (actor.name, actor.aliases, actor.description) == ("Grey Heron", ["GH"], "D.")
    assert (source.title, source.publisher) == ("Title", "P")
    assert posture.notes == "Note"


# Slugs


def test_slug_allocator_hands_out_each_slug_once():
    slugs = rules.SlugAllocator(["acme", "acme-2"], max_length=10)
    assert [slugs.allocate("Acme"), slugs.allocate("ACME"), slugs.allocate("")] == [
        "acme-3",
        "acme-4",
        "item",
    ]
    assert slugs.allocate("A very long name indeed") == "a-very-lon"
    assert slugs.allocate("A very long name indeed") == "a-very-l-2"


@pytest.mark.django_db
def test_unique_slug_ignores_the_object_itself():
    org = OrganisationFactory(name="Acme")
    assert rules.unique_slug(Organisation, "Acme") == "acme-2"
    assert rules.unique_slug(Organisation, "Acme", exclude_pk=org.pk) == "acme"


@pytest.mark.django_db
def test_a_draft_never_shapes_the_slug_of_a_published_incident():
    """Issue 9.3: with a draft for Acme in March 2023, the published one is not "-2"."""
    draft = IncidentFactory(status="draft", organisation__name="Acme", date=MARCH)
    assert rules.is_draft_slug(draft.slug)
    published = IncidentFactory(organisation=draft.organisation, date=MARCH)
    assert published.slug == "2023-03-acme"


@pytest.mark.django_db
def test_a_public_slug_is_allocated_at_publication_and_kept():
    draft = IncidentFactory(status="draft", organisation__name="Acme", date=MARCH)
    draft.status = Incident.Status.PUBLISHED
    draft.save()
    assert draft.slug == "2023-03-acme"
    draft.status = Incident.Status.DRAFT
    draft.save()
    assert draft.slug == "2023-03-acme"  # it was public already
    IncidentFactory(organisation=draft.organisation, date=MARCH)
    draft.date = datetime.date(2024, 1, 1)
    draft.status = Incident.Status.PUBLISHED
    draft.save()
    assert draft.slug == "2023-03-acme"  # stable, even when the date is corrected


@pytest.mark.django_db
def test_slugs_staff_typed_are_respected():
    draft = IncidentFactory(status="draft", slug="acme-breach", date=MARCH)
    draft.status = Incident.Status.PUBLISHED
    draft.save()
    assert draft.slug == "acme-breach"


@pytest.mark.django_db
def test_publishing_with_update_fields_saves_the_slug_and_timestamp_too():
    draft = IncidentFactory(status="draft", organisation__name="Acme", date=MARCH)
    draft.status = Incident.Status.PUBLISHED
    draft.save(update_fields=["status"])
    draft.refresh_from_db()
    assert (draft.slug, draft.published_at is not None) == ("2023-03-acme", True)


# Publication


@pytest.mark.django_db
def test_publish_and_unpublish_keep_the_first_publication_timestamp():
    draft = IncidentFactory(status="draft", organisation__name="Acme", date=MARCH)
    assert services.publish(Incident.objects.filter(pk=draft.pk)) == 1
    draft.refresh_from_db()
    first = draft.published_at
    assert draft.status == "published" and first is not None and draft.slug == "2023-03-acme"
    assert services.publish(Incident.objects.filter(pk=draft.pk)) == 0  # already published
    assert services.unpublish(Incident.objects.filter(pk=draft.pk)) == 1
    services.publish(Incident.objects.filter(pk=draft.pk))
    draft.refresh_from_db()
    assert draft.published_at == first


def test_publication_values_for_bulk_writers():
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    earlier = now - datetime.timedelta(days=3)
    assert rules.publication_values(True, now) == ("published", now)
    assert rules.publication_values(True, now, earlier) == ("published", earlier)
    assert rules.publication_values(False, now) == ("draft", None)


# Taxonomy


@pytest.mark.django_db
def test_ensure_taxonomy_creates_what_is_missing_and_keeps_edits():
    SectorFactory(slug="finance", name="Banking (edited by staff)")
    taxonomy = services.ensure_taxonomy()
    assert set(taxonomy.sectors) >= set(rules.SECTORS)
    assert set(taxonomy.motives) >= set(rules.MOTIVES)
    assert set(taxonomy.actor_types) >= set(rules.ACTOR_TYPES)
    assert Sector.objects.get(slug="finance").name == "Banking (edited by staff)"
    assert ActorType.objects.get(slug="terrorist").description
    counts = (Sector.objects.count(), Motive.objects.count(), ActorType.objects.count())
    assert services.ensure_taxonomy() == taxonomy
    assert (Sector.objects.count(), Motive.objects.count(), ActorType.objects.count()) == counts


# Transactions


@pytest.mark.django_db
def test_catalogue_write_lets_its_process_see_the_new_version_once_it_commits(
    django_capture_on_commit_callbacks, settings
):
    settings.VERSION_SECONDS = 60  # as a server: versions kept a moment per process
    org = OrganisationFactory()
    versions.forget()
    before = versions.catalogue()
    with django_capture_on_commit_callbacks(execute=True) as on_commit, services.catalogue_write():
        Organisation.objects.filter(pk=org.pk).update(name="Renamed")  # sends no signal
    assert on_commit
    assert versions.catalogue() != before
