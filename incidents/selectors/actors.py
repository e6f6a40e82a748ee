"""Threat actors as a viewer may see them."""

from django.shortcuts import get_object_or_404

from ..models import ThreatActor


def actors_for_viewer(user, *, member: bool):
    """The actors ``user`` may see, with their incident counts and ATT&CK IDs; members get
    the profile (type, location, aliases, techniques), everyone else the public columns."""
    actors = ThreatActor.objects.visible_to(user).with_public_attack_id().with_incident_counts()
    if member:
        return actors.for_member_profile()
    return actors.only("name", "slug", "is_unattributed", "attack_id", "dataset")


def get_actor_for_viewer(user, slug, *, member: bool):
    """One actor ``user`` may see; 404 for any other."""
    return get_object_or_404(actors_for_viewer(user, member=member), slug=slug)
