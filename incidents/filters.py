"""Finding incidents: what each audience may filter and sort by.

Allow-lists per audience: ``PublicIncidentFilter`` declares the filters anyone
may use; ``MemberIncidentFilter`` adds the ones over members-only fields.
A parameter a FilterSet does not declare is ignored, so a non-member who types
``?motive=espionage`` by hand gets exactly the page they would get without it.
"""

from __future__ import annotations

import copy
import datetime
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import F, Q
from django_countries import countries

from . import browse, caching
from .models import (
    ActorType,
    Impact,
    Incident,
    Motive,
    Sector,
    Tactic,
    Technique,
    ThreatActor,
)
from .search import MAX_QUERY_LENGTH, clean_query, linked

SORTS = {
    "newest": ("-date", "-pk"),
    "oldest": ("date", "pk"),
    "records": (F("records_affected").desc(nulls_last=True), "-date", "-pk"),
    "relevance": ("-rank", "-date", "-pk"),
}
SORT_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("records", "Most records affected"),
    ("relevance", "Relevance (with a search)"),
]
MIN_YEAR = 1970
MAX_RECORDS = 2**63 - 1  # the column's range; beyond it a filter would silently vanish


def incident_country_choices():
    """Countries that published incidents happened in (public facts), by name."""

    def compute():
        return sorted(((code, name) for code, name, _ in browse.by_country()), key=lambda c: c[1])

    return caching.cached_locally("choices", "public", ["incident-countries"], compute)


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

    return caching.cached_locally("choices", "member", ["actor-countries"], compute)


def _choices(name, queryset, value_field, label_field="name"):
    """(value, label) pairs of a small public vocabulary, in the queryset's order."""

    def compute():
        return list(queryset.values_list(value_field, label_field))

    return caching.cached_locally("choices", "public", [name], compute)


def sector_choices():
    return _choices("sectors", Sector.objects.order_by("name"), "slug")


def motive_choices():
    return _choices("motives", Motive.objects.order_by("name"), "slug")


def tactic_choices():
    return _choices("tactics", Tactic.objects.order_by("order", "name"), "shortname")


def actor_type_choices():
    return _choices("actor-types", ActorType.objects.order_by("name"), "slug")


def _year_choices():
    this_year = datetime.date.today().year
    return [(str(y), str(y)) for y in range(this_year + 1, MIN_YEAR - 1, -1)]


class CleanCharField(forms.CharField):
    """Text input without NUL bytes, trimmed to a sane length."""

    def to_python(self, value):
        return clean_query(super().to_python(value))


class SearchFilter(django_filters.CharFilter):
    field_class = CleanCharField


class _SharedOnCopy(dict):
    """A form's fields, shared by every form of its class: "deep" copies copy the dict."""

    def __deepcopy__(self, memo):
        return dict(self)


class _ShallowFilterCopies(dict):
    """A FilterSet's filters: django-filter deep-copies them for every FilterSet, but a
    filter's only per-request state is its parent and model, so a shallow copy each will
    do (with its method proxy bound to the copy, not the original)."""

    def __deepcopy__(self, memo):
        copies = {}
        for name, original in self.items():
            copies[name] = copy.copy(original)
            if original.method is not None:
                copies[name].method = original.method
        return copies


class LeanFilterSetMetaclass(django_filters.filterset.FilterSetMetaclass):
    def __new__(mcs, name, bases, attrs):
        new_class = super().__new__(mcs, name, bases, attrs)
        new_class.base_filters = _ShallowFilterCopies(new_class.base_filters)
        return new_class


class PublicIncidentFilter(django_filters.FilterSet, metaclass=LeanFilterSetMetaclass):
    q = SearchFilter(
        label="Search",
        method="filter_nothing",  # applied by the view, which knows the viewer (incidents.search)
        max_length=MAX_QUERY_LENGTH * 5,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": 'Victim, words, "a phrase", -exclude'}
        ),
    )
    date_from = django_filters.DateFilter(
        field_name="date",
        lookup_expr="gte",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="date",
        lookup_expr="lte",
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    year = django_filters.ChoiceFilter(
        choices=_year_choices, method="filter_year", label="Year", empty_label="Any year"
    )
    country = django_filters.ChoiceFilter(
        choices=incident_country_choices, label="Victim country", empty_label="Any country"
    )
    sector = django_filters.ChoiceFilter(
        field_name="sector__slug", choices=sector_choices, label="Sector", empty_label="Any sector"
    )
    organisation = django_filters.CharFilter(
        field_name="organisation__slug", label="Organisation", widget=forms.HiddenInput
    )
    records_min = django_filters.NumberFilter(
        field_name="records_affected",
        lookup_expr="gte",
        label="Records at least",
        min_value=0,
        max_value=MAX_RECORDS,
    )
    records_max = django_filters.NumberFilter(
        field_name="records_affected",
        lookup_expr="lte",
        label="Records at most",
        min_value=0,
        max_value=MAX_RECORDS,
    )
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="filter_nothing", label="Sort", empty_label=None
    )

    def get_form_class(self):
        # django-filter builds a new form class (and new fields) for every FilterSet; the
        # fields depend only on the class (choices are callables, read when used), so
        # build it once per class, and let its forms share the fields (nothing here
        # changes a field per form; Django would deep-copy all of them per request).
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedOnCopy(form_class.base_fields)
            cls._form_class = form_class
        return cls._form_class

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_year(self, queryset, name, value):
        # A range, not __year, so the (status, date) index serves it.
        year = int(value)
        return queryset.filter(
            date__gte=datetime.date(year, 1, 1), date__lt=datetime.date(year + 1, 1, 1)
        )

    class Meta:
        model = Incident
        fields = []


class MemberIncidentFilter(PublicIncidentFilter):
    """Members also filter by the fields only they can see."""

    motive = django_filters.ChoiceFilter(
        choices=motive_choices, method="filter_motive", label="Motive", empty_label="Any motive"
    )
    technique = django_filters.CharFilter(
        method="filter_technique",
        label="ATT&CK technique",
        max_length=12,
        widget=forms.TextInput(attrs={"placeholder": "T1566"}),
    )
    tactic = django_filters.ChoiceFilter(
        choices=tactic_choices, method="filter_tactic", label="Tactic", empty_label="Any tactic"
    )
    actor = django_filters.CharFilter(
        method="filter_actor", label="Threat actor", widget=forms.HiddenInput
    )
    actor_type = django_filters.ChoiceFilter(
        choices=actor_type_choices,
        method="filter_actor_type",
        label="Actor type",
        empty_label="Any actor type",
    )
    actor_country = django_filters.ChoiceFilter(
        choices=actor_country_choices,
        method="filter_actor_country",
        label="Actor location",
        empty_label="Any location",
    )
    confidentiality = django_filters.ChoiceFilter(
        field_name="cia_posture__confidentiality",
        choices=Impact.choices,
        empty_label="Any",
        label="Confidentiality impact",
    )
    integrity = django_filters.ChoiceFilter(
        field_name="cia_posture__integrity",
        choices=Impact.choices,
        empty_label="Any",
        label="Integrity impact",
    )
    availability = django_filters.ChoiceFilter(
        field_name="cia_posture__availability",
        choices=Impact.choices,
        empty_label="Any",
        label="Availability impact",
    )

    def filter_motive(self, queryset, name, value):
        return queryset.filter(linked("motives", motive__slug=value))

    def filter_technique(self, queryset, name, value):
        code = value.strip().upper()
        techniques = Technique.objects.filter(
            Q(attack_id=code) | Q(attack_id__startswith=code + ".")
        )
        return queryset.filter(linked("techniques", technique__in=techniques.values("pk")))

    def filter_tactic(self, queryset, name, value):
        techniques = Technique.objects.filter(tactics__shortname=value)
        return queryset.filter(linked("techniques", technique__in=techniques.values("pk")))

    def _by_actors(self, queryset, **lookups):
        actors = ThreatActor.objects.filter(**lookups).values("pk")
        return queryset.filter(linked("threat_actors", threatactor__in=actors))

    def filter_actor(self, queryset, name, value):
        return self._by_actors(queryset, slug=value)

    def filter_actor_type(self, queryset, name, value):
        return self._by_actors(queryset, actor_type__slug=value)

    def filter_actor_country(self, queryset, name, value):
        return self._by_actors(queryset, country=value)


MEMBER_ONLY_FILTERS = [
    name
    for name in MemberIncidentFilter.base_filters
    if name not in PublicIncidentFilter.base_filters
]
# What non-members see, locked, in place of the members' filters.
LOCKED_FILTER_LABELS = [MemberIncidentFilter.base_filters[n].label for n in MEMBER_ONLY_FILTERS]


def canonical_params(filterset) -> dict[str, str]:
    """The applied filters as query parameters, in declaration order, defaults left out.

    Built from cleaned values only, so anything the FilterSet ignored (members'
    filters sent by a non-member, unknown parameters) never reaches a link.
    """
    if not filterset.is_bound or not filterset.is_valid():
        return {}
    params = {}
    q = filterset.form.cleaned_data.get("q")
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, "", [], ()):
            continue
        if name == "sort" and (value == default_sort(q) or (value == "relevance" and not q)):
            continue  # the default order, or relevance with no text to rank by
        if isinstance(value, datetime.date):
            value = value.isoformat()
        elif isinstance(value, float | int) and not isinstance(value, bool):
            value = str(int(value)) if float(value).is_integer() else str(value)
        params[name] = str(value)
    return params


def default_sort(q) -> str:
    return "relevance" if q else "newest"


def encode(params: dict, **changes) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})
