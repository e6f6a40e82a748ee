"""Incidents as a viewer may see them: one by its slug, and the finder's selection."""

from django import forms
from django.shortcuts import get_object_or_404

from .. import filter_fields, filters
from ..models import Incident

# At most this many matching rows are counted ("10,000+"); numbered pages and positions stop
# there, and the newest/oldest orders go deeper with a keyset cursor.
COUNT_CAP = 10_000
CURSOR_SORTS = {"newest", "oldest"}


def get_incident_for_viewer(user, slug, *, member, records=False):
    """The incident ``user`` may see, with the columns of their audience's page (and, with
    ``records``, each dataset's record of it, for its page); 404 for any other (a draft for
    a non-staff viewer, an unknown slug)."""
    incidents = Incident.objects.visible_to(user)
    incidents = incidents.for_member_detail() if member else incidents.for_public_detail()
    if records:
        incidents = incidents.with_records()
    return get_object_or_404(incidents, slug=slug)


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
