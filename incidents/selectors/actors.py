"""Threat actors as a viewer may see them."""

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q
from django.shortcuts import get_object_or_404

from ..models import Technique, ThreatActor
from ..rules import UNKNOWN_ACTOR_TYPE


def actors_for_viewer(user, *, member: bool):
    """The actors ``user`` may see, with their incident counts, ATT&CK IDs and descriptions
    (ATT&CK's own, public) and whether each members' field holds a value (public); members
    get the profile (type, location, aliases, techniques), everyone else the public columns."""
    actors = with_value_presence(
        ThreatActor.objects.visible_to(user).with_public_attack_profile().with_incident_counts()
    )
    if member:
        return actors.for_member_profile()
    return actors.only("name", "slug", "is_unattributed", "attack_id", "dataset")


def with_value_presence(actors):
    """Annotate whether each members' field of an actor page holds a value at all:
    ``type_known`` (a type other than Unknown), ``location_known``, ``aliases_known``,
    ``attack_relates`` (ATT&CK relates a technique or software). Public, like the incident
    count (DESIGN.md); the values stay gated (presenters.gates)."""
    return actors.annotate(
        type_known=_boolean(Q(actor_type__isnull=False) & ~Q(actor_type__slug=UNKNOWN_ACTOR_TYPE)),
        location_known=_boolean(~Q(country="")),
        aliases_known=_boolean(~Q(aliases=[])),
        attack_relates=_boolean(
            Exists(ThreatActor.techniques.through.objects.filter(threatactor=OuterRef("pk")))
            | Exists(ThreatActor.software.through.objects.filter(threatactor=OuterRef("pk")))
        ),
    )


def _boolean(condition):
    return ExpressionWrapper(condition, output_field=BooleanField())


def get_actor_for_viewer(user, slug, *, member: bool):
    """One actor ``user`` may see; 404 for any other."""
    return get_object_or_404(actors_for_viewer(user, member=member), slug=slug)


def techniques_of_incidents(incidents):
    """Members only: the techniques ``incidents`` used (reported or derived), each annotated
    with ``incident_count`` (how many of them used it), by ATT&CK ID; one query, then the
    tactics."""
    return (
        Technique.objects.filter(incidents__in=incidents.values("pk"))
        .annotate(incident_count=Count("incidents", distinct=True))
        .select_related("parent")
        .prefetch_related("tactics")
        .order_by("attack_id")
    )
