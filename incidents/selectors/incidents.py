"""Incidents as a viewer may see them: one by its slug, and the finder's selection."""

from django import forms
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404

from .. import filter_fields, filters
from ..models import CIAPosture, Impact, Incident
from ..rules import UNKNOWN_ACTOR_TYPE

# At most this many matching rows are counted ("10,000+"); numbered pages and positions stop
# there, and the newest/oldest orders go deeper with a keyset cursor.
COUNT_CAP = 10_000
CURSOR_SORTS = {"newest", "oldest"}


def get_incident_for_viewer(user, slug, *, member, records=False):
    """The incident ``user`` may see, with the columns of their audience's page and whether
    each members' field holds a value (and, with ``records``, each dataset's record of it,
    for its page); 404 for any other (a draft for a non-staff viewer, an unknown slug)."""
    incidents = Incident.objects.visible_to(user)
    incidents = incidents.for_member_detail() if member else incidents.for_public_detail()
    if records:
        incidents = incidents.with_records()
    return get_object_or_404(with_value_presence(incidents), slug=slug)


def with_value_presence(incidents):
    """Annotate whether each members' field of an incident page holds a value at all:
    ``cia_assessed`` (a CIA posture with any impact known or a note), ``actor_type_known``
    and ``actor_location_known`` (any linked actor has a type other than Unknown, a
    country). Public, like the counts (DESIGN.md): a non-member reads "Not assessed"
    rather than a lock over nothing (presenters.gates); the values stay gated."""
    links = Incident.threat_actors.through.objects.filter(incident=OuterRef("pk"))
    assessed = CIAPosture.objects.filter(incident=OuterRef("pk")).exclude(
        confidentiality=Impact.UNKNOWN,
        integrity=Impact.UNKNOWN,
        availability=Impact.UNKNOWN,
        notes="",
    )
    return incidents.annotate(
        cia_assessed=Exists(assessed),
        actor_type_known=Exists(
            links.filter(threatactor__actor_type__isnull=False).exclude(
                threatactor__actor_type__slug=UNKNOWN_ACTOR_TYPE
            )
        ),
        actor_location_known=Exists(links.exclude(threatactor__country="")),
    )


def applied_filters(filterset, params):
    """(label, value, link without it) for each applied filter, for the "remove" chips (the
    finder) and a feed's title."""
    chips = []
    for name, value in params.items():
        field = filterset.form.fields[name]
        shown = value
        if isinstance(field, forms.ChoiceField):
            shown = {str(k): v for k, v in field.choices}.get(value, value)
        elif name == "technique":
            shown = f"{value} {filter_fields.technique_names().get(value, '')}".strip()
        elif name in ("organisation", "actor"):
            shown = value.replace("-", " ").title()
        label = field.label or name.replace("_", " ").capitalize()
        rest = {k: v for k, v in params.items() if k != name}
        chips.append((label, shown, filters.encode(rest)))
    return chips
