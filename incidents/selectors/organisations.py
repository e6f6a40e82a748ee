"""Victim organisations as a viewer may see them."""

from django.shortcuts import get_object_or_404
from django.urls import reverse

from ..models import Organisation


def organisations_for_viewer(user):
    """The victims ``user`` may see (one of their incidents is visible to them), with their
    incident counts for them and their sector."""
    return Organisation.objects.visible_to(user).with_incident_counts(user).select_related("sector")


def get_organisation_for_viewer(user, slug):
    """One victim ``user`` may see; 404 for any other."""
    return get_object_or_404(organisations_for_viewer(user), slug=slug)


def merged_organisation_url(user, slug) -> str | None:
    """Where the address of an organisation merged into another now lives, if the viewer
    may see that one."""
    target = (
        Organisation.objects.visible_to(user)
        .filter(redirects__old_slug=slug)
        .values_list("slug", flat=True)
        .first()
    )
    return reverse("incidents:organisation_detail", args=[target]) if target else None
