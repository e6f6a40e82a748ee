"""Pages that depend on who is looking are never stored by shared caches."""

import pytest
from django.urls import reverse

from tests.factories import IncidentFactory, ThreatActorFactory


@pytest.fixture
def pages(db):
    actor = ThreatActorFactory()
    incident = IncidentFactory(threat_actors=[actor])
    return [
        reverse("home"),
        reverse("incidents:incident_list"),
        incident.get_absolute_url(),
        incident.organisation.get_absolute_url(),
        reverse("incidents:actor_list"),
        actor.get_absolute_url(),
        reverse("accounts:membership"),
        reverse("incidents:incident_feed"),
        reverse("sitemap_index"),
        "/no-such-page/",
    ]


def test_every_page_is_private_and_varies_on_cookie(viewer, pages):
    kind, client, member = viewer
    for path in pages:
        response = client.get(path)
        cache_control = response.get("Cache-Control", "")
        assert "private" in cache_control, (path, cache_control)
        assert "public" not in cache_control, (path, cache_control)
        assert "Cookie" in response.get("Vary", ""), path
