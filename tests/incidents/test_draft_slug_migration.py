"""Migration 0009: drafts made before drafts had their own slug space stop shaping public slugs."""

import importlib

import pytest
from django.apps import apps

from incidents import rules, services
from incidents.models import Incident
from tests.factories import IncidentFactory, OrganisationFactory

migration = importlib.import_module("incidents.migrations.0009_drafts_in_their_own_slug_space")

pytestmark = pytest.mark.django_db


def test_a_never_published_draft_leaves_the_public_slug_space():
    acme = OrganisationFactory(name="Acme")
    draft = IncidentFactory(organisation=acme, status=Incident.Status.DRAFT)
    Incident.objects.filter(pk=draft.pk).update(slug="2023-03-acme")  # as made before

    migration.move_drafts(apps, None)

    draft.refresh_from_db()
    assert rules.is_draft_slug(draft.slug)
    draft.status = Incident.Status.PUBLISHED
    draft.save()
    assert draft.slug.endswith("-acme")
    assert not draft.slug.endswith("-2")


def test_published_and_once_published_incidents_keep_their_slugs():
    published = IncidentFactory(status=Incident.Status.PUBLISHED)
    unpublished = IncidentFactory(status=Incident.Status.PUBLISHED)
    services.unpublish(Incident.objects.filter(pk=unpublished.pk))
    before = dict(Incident.objects.values_list("pk", "slug"))

    migration.move_drafts(apps, None)

    assert dict(Incident.objects.values_list("pk", "slug")) == before
    assert Incident.objects.get(pk=published.pk).slug == before[published.pk]
