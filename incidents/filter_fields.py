"""What the finder's filters are made of: the cached vocabularies their choices come from,
and the form fields and filters that read what people type (a year, a month, a loose date,
an ATT&CK ID, a records range). The FilterSets that combine them per audience are in
``incidents.filters``."""

from __future__ import annotations

import datetime
import re

import django_filters
from django import forms
from django.core.validators import EMPTY_VALUES
from django_countries import countries

from . import browse, caching
from .models import (
    ActorType,
    Impact,
    Incident,
    IncidentType,
    Motive,
    Sector,
    Tactic,
    Technique,
    ThreatActor,
)
from .search import clean_query

MIN_YEAR = 1970
ATTACK_ID_RE = re.compile(r"^T\d{1,5}(\.\d{1,3})?$")  # shaped like an ATT&CK ID
MAX_RECORDS = 2**63 - 1  # the column's range; beyond it a filter would silently vanish


def incident_country_choices():
    """Countries that published incidents happened in (public facts), by name."""

    def compute():
        return sorted(((code, name) for code, name, _ in browse.by_country()), key=lambda c: c[1])

    return caching.cached("choices", "public", ["incident-countries"], compute, local=True)


def actor_country_choices():
    """Countries threat actors are located in. Members only: the view never builds the
    members' FilterSet for anyone else."""

    def compute():
        # Actors made only for drafts stay out: their country would reveal them.
        codes = (
            ThreatActor.objects.known_publicly()
            .exclude(country="")
            .order_by()
            .values_list("country", flat=True)
            .distinct()
        )
        return sorted(((c, countries.name(c)) for c in codes), key=lambda c: c[1])

    return caching.cached("choices", "member", ["actor-countries"], compute, local=True)


def _choices(name, queryset, value_field, label_field="name"):
    """(value, label) pairs of a small public vocabulary, in the queryset's order."""

    def compute():
        return list(queryset.values_list(value_field, label_field))

    return caching.cached("choices", "public", [name], compute, local=True)


def sector_choices():
    return _choices("sectors", Sector.objects.order_by("name"), "slug")


def sector_ids() -> dict[str, int]:
    return dict(_choices("sector-ids", Sector.objects.all(), "slug", "pk"))


def type_choices():
    """The incident types (public), in their own order."""
    return _choices("incident-types", IncidentType.objects.all(), "slug")


def type_ids() -> dict[str, int]:
    return dict(_choices("incident-type-ids", IncidentType.objects.all(), "slug", "pk"))


def motive_choices():
    return _choices("motives", Motive.objects.order_by("name"), "slug")


def tactic_choices():
    return _choices("tactics", Tactic.objects.order_by("order", "name"), "shortname")


def actor_type_choices():
    return _choices("actor-types", ActorType.objects.order_by("name"), "slug")


def year_choices():
    """Years with published incidents, newest first: public facts (incidents.browse), the
    same list for every viewer, so it never reveals a draft. Kept in this process like the
    other vocabularies (a count by year over the catalogue is not a finder page's work)."""

    def compute():
        return [(str(year), str(year)) for year, _count in browse.by_year() if year]

    return caching.cached("choices", "public", ["incident-years"], compute, local=True)


def _technique_label(name, parent):
    return f"{parent}: {name}" if parent else name


def technique_choices():
    """(ATT&CK ID, name) of every technique some published incident is tagged with, for
    the members' technique box. Members only: the view never builds the members'
    FilterSet for anyone else."""

    def compute():
        used = Technique.objects.filter(incidents__status=Incident.Status.PUBLISHED)
        rows = used.order_by("attack_id").values_list("attack_id", "name", "parent__name")
        return [
            (attack_id, _technique_label(name, parent))
            for attack_id, name, parent in rows.distinct()
        ]

    return caching.cached("choices", "member", ["techniques"], compute, local=True)


def technique_names() -> dict[str, str]:
    """ATT&CK ID -> name of every technique (ATT&CK itself is public knowledge)."""

    def compute():
        rows = Technique.objects.values_list("attack_id", "name", "parent__name")
        return {attack_id: _technique_label(name, parent) for attack_id, name, parent in rows}

    return caching.cached("choices", "public", ["technique-names"], compute, local=True)


class CleanCharField(forms.CharField):
    """Text input without NUL bytes, trimmed to a sane length."""

    def to_python(self, value):
        return clean_query(super().to_python(value))


class SearchFilter(django_filters.CharFilter):
    field_class = CleanCharField


class ChoiceByIdFilter(django_filters.ChoiceFilter):
    """A choice made by slug, applied as the row's id (``ids()``: slug -> id). The database
    then plans with what it knows of that id: a sector holding a quarter of a million
    incidents is read in one scan, not walked through an index sized for a join's guess."""

    def __init__(self, *args, ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.ids = ids

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return qs.filter(**{self.field_name: self.ids().get(value, 0)})


class YearSelect(forms.Select):
    """Offers the years with incidents, and the applied year even when it has none, so the
    box always shows the filter the results were found with."""

    def optgroups(self, name, value, attrs=None):
        offered = {str(v) for v, _label in self.choices}
        if value and value[0] and value[0] not in offered:
            self.choices = [*self.choices, (value[0], value[0])]
        return super().optgroups(name, value, attrs)


class YearField(django_filters.fields.ChoiceField):
    """A year from MIN_YEAR to next year; the menu lists only years with incidents."""

    widget = YearSelect

    def valid_value(self, value):
        return value.isascii() and value.isdigit() and MIN_YEAR <= int(value) <= _last_year()


def _last_year():
    return datetime.date.today().year + 1


class YearFilter(django_filters.ChoiceFilter):
    field_class = YearField


DATE_HELP = "A year (2020), a month (2020-11) or a day (2020-11-20)"
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def parse_loose_date(text: str, *, end: bool) -> datetime.date | None:
    """A date written as a year, a month or a day (ISO, or as the site writes them: "2020",
    "Nov 2020", "20 Nov 2020"); a year or month means its first day, or its last with
    ``end``. None if it is none of these."""
    parts = text.replace("/", "-").replace(",", " ").split()
    if len(parts) == 1:
        parts = parts[0].split("-")
    else:
        words = [p.lower()[:3] for p in parts]
        if not all(w in MONTHS or w.isdigit() for w in words):
            return None
        day = next((p for p in parts[:-1] if p.isdigit()), None)
        month = next((MONTHS[w] for w in words if w in MONTHS), None)
        if month is None or not parts[-1].isdigit():
            return None
        parts = [parts[-1], str(month)] + ([day] if day else [])
    if not all(p.isascii() and p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    numbers = [int(p) for p in parts]
    try:
        if len(numbers) == 3:
            return datetime.date(*numbers)
        if len(numbers) == 2:
            year, month = numbers
            if not end:
                return datetime.date(year, month, 1)
            following = datetime.date(year + month // 12, month % 12 + 1, 1)
            return following - datetime.timedelta(days=1)
        if len(numbers) == 1:
            return datetime.date(numbers[0], 12, 31) if end else datetime.date(numbers[0], 1, 1)
    except ValueError:
        return None
    return None


class LooseDateField(forms.DateField):
    """A date typed as a year, a month or a day; ``end`` reads a year or month as its last
    day (for "to")."""

    def __init__(self, *args, end=False, **kwargs):
        self.end = end
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.date):
            return value
        parsed = parse_loose_date(str(value).strip()[:40], end=self.end)
        if parsed is None:
            raise forms.ValidationError(
                f"Enter a valid date: {DATE_HELP[0].lower()}{DATE_HELP[1:]}.", code="invalid"
            )
        return parsed


class LooseDateFilter(django_filters.DateFilter):
    field_class = LooseDateField


class TechniqueField(CleanCharField):
    """An ATT&CK technique by ID (T1566, T1566.001, any case) or by its exact name."""

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return ""
        code = text.upper()
        if ATTACK_ID_RE.match(code):
            return code
        by_name = {name.lower(): attack_id for attack_id, name in technique_names().items()}
        found = by_name.get(text.lower()) or by_name.get(text.split(" ", 1)[-1].lower())
        if found is None:
            raise forms.ValidationError(
                "Enter an ATT&CK technique ID (T1566) or a technique name from the list.",
                code="invalid",
            )
        return found


class TechniqueFilter(django_filters.CharFilter):
    field_class = TechniqueField


class RecordsFilter(django_filters.NumberFilter):
    """A bound on records affected; the field's ``max_value`` is the column's range."""

    def get_max_validator(self):
        return None  # django-filter's own 1e50 bound would add a second message


def impact_filter(column, label):
    # Choices as callables, here and for sort: a FilterSet copies a callable more cheaply
    # than a list (django-filter deep-copies its filters and fields for each FilterSet).
    return django_filters.ChoiceFilter(
        field_name=f"cia_posture__{column}",
        choices=lambda: Impact.choices,
        empty_label="Any",
        label=label,
    )
