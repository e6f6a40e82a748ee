"""Incidents as a viewer may see them: one by its slug, and the finder's selection."""

from django import forms
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404

from .. import filter_fields, filters
from ..models import ActorType, CIAPosture, Impact, Incident, ThreatActor
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
    rather than a lock over nothing (presenters.gates); the values stay gated.

    Written as SQL (documented RawSQL, table and column names from the models): the same
    three subqueries built by the ORM doubled the cost of building a first visit's query."""
    incident = Incident._meta.db_table
    posture = CIAPosture._meta.db_table
    links = Incident.threat_actors.through._meta.db_table
    actor = ThreatActor._meta.db_table
    actor_type = ActorType._meta.db_table
    linked = (
        f"FROM {links} l JOIN {actor} a ON a.id = l.threatactor_id "
        f"WHERE l.incident_id = {incident}.id"
    )
    unknown = Impact.UNKNOWN.value
    return incidents.annotate(
        cia_assessed=_exists(
            f"SELECT 1 FROM {posture} p WHERE p.incident_id = {incident}.id AND NOT ("  # noqa: S608
            "p.confidentiality = %s AND p.integrity = %s AND p.availability = %s "
            "AND p.notes = '')",
            [unknown, unknown, unknown],
        ),
        actor_type_known=_exists(
            f"SELECT 1 {linked} AND EXISTS (SELECT 1 FROM {actor_type} t "  # noqa: S608
            "WHERE t.id = a.actor_type_id AND t.slug <> %s)",
            [UNKNOWN_ACTOR_TYPE],
        ),
        actor_location_known=_exists(f"SELECT 1 {linked} AND a.country <> ''"),
    )


def _exists(sql, params=()):
    return RawSQL(f"EXISTS ({sql})", params, output_field=BooleanField())  # noqa: S611


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
