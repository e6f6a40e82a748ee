"""Victim organisations as a viewer may see them."""

from django.shortcuts import get_object_or_404
from django.urls import reverse

from ..models import Organisation


def get_organisation_for_viewer(user, slug):
    """The victim ``user`` may see (one of its incidents is visible to them), with its
    incident count for them; 404 for any other."""
    organisations = Organisation.objects.visible_to(user).with_incident_counts(user)
    return get_object_or_404(organisations.select_related("sector"), slug=slug)


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
