"""Finding incidents: what each audience may filter and sort by.

Allow-lists per audience, as plain Django forms (pretix's ``FilterForm.filter_qs()``):
``PublicFinderForm`` declares the filters anyone may use; ``MemberFinderForm`` adds the
ones over members-only fields. A parameter a form does not declare is ignored, so a
non-member who types ``?motive=espionage`` by hand gets exactly the page they would get
without it. Choices are callables over cached vocabularies, read when a field is rendered
or validated; every form gets its own copy of its fields (Django's ``base_fields``).
"""

from __future__ import annotations

import datetime
import functools
from functools import cached_property
from urllib.parse import urlencode

from django import forms
from django.db.models import F, Q
from django.utils.datastructures import MultiValueDict
from django_countries import countries

from . import browse, caching
from .models import (
    ActorType,
    Impact,
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


def _after_any(label, choices):
    """``choices`` (a callable, read each time the field is rendered or validated) after an
    empty "any" choice."""
    return lambda: [("", label), *choices()]


IMPACT_CHOICES = [("", "Any"), *Impact.choices]


def _impact_field(label):
    # Callables, here and for sort: a form copies a callable more cheaply than a list.
    return forms.ChoiceField(choices=lambda: IMPACT_CHOICES, label=label, required=False)


class PublicFinderForm(forms.Form):
    """The filters anyone may use. ``filter_qs`` applies the cleaned values: each field is
    either a plain lookup in ``lookups`` or has a ``filter_<name>`` method; ``q`` and
    ``sort`` are applied by the view, which knows the viewer (incidents.search)."""

    q = CleanCharField(
        label="Search",
        required=False,
        max_length=MAX_QUERY_LENGTH * 5,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": 'Victim, words, "a phrase", -exclude'}
        ),
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    year = forms.ChoiceField(
        choices=_after_any("Any year", _year_choices), label="Year", required=False
    )
    country = forms.ChoiceField(
        choices=_after_any("Any country", incident_country_choices),
        label="Victim country",
        required=False,
    )
    sector = forms.ChoiceField(
        choices=_after_any("Any sector", sector_choices), label="Sector", required=False
    )
    organisation = forms.CharField(label="Organisation", required=False, widget=forms.HiddenInput)
    records_min = forms.DecimalField(
        label="Records at least", required=False, min_value=0, max_value=MAX_RECORDS
    )
    records_max = forms.DecimalField(
        label="Records at most", required=False, min_value=0, max_value=MAX_RECORDS
    )
    sort = forms.ChoiceField(choices=lambda: SORT_CHOICES, label="Sort", required=False)

    applied_by_the_view = frozenset({"q", "sort"})
    lookups = {
        "date_from": "date__gte",
        "date_to": "date__lte",
        "country": "country",
        "sector": "sector__slug",
        "organisation": "organisation__slug",
        "records_min": "records_affected__gte",
        "records_max": "records_affected__lte",
    }

    def filter_qs(self, queryset):
        """``queryset`` narrowed by every filled-in filter of this valid form."""
        for name, value in self.cleaned_data.items():
            if value in (None, "") or name in self.applied_by_the_view:
                continue
            if name in self.lookups:
                queryset = queryset.filter(**{self.lookups[name]: value})
            else:
                queryset = getattr(self, f"filter_{name}")(queryset, value)
        return queryset

    def filter_year(self, queryset, value):
        # A range, not __year, so the (status, date) index serves it.
        year = int(value)
        return queryset.filter(
            date__gte=datetime.date(year, 1, 1), date__lt=datetime.date(year + 1, 1, 1)
        )


class MemberFinderForm(PublicFinderForm):
    """Members also filter by the fields only they can see."""

    motive = forms.ChoiceField(
        choices=_after_any("Any motive", motive_choices), label="Motive", required=False
    )
    technique = forms.CharField(
        label="ATT&CK technique",
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"placeholder": "T1566"}),
    )
    tactic = forms.ChoiceField(
        choices=_after_any("Any tactic", tactic_choices), label="Tactic", required=False
    )
    actor = forms.CharField(label="Threat actor", required=False, widget=forms.HiddenInput)
    actor_type = forms.ChoiceField(
        choices=_after_any("Any actor type", actor_type_choices),
        label="Actor type",
        required=False,
    )
    actor_country = forms.ChoiceField(
        choices=_after_any("Any location", actor_country_choices),
        label="Actor location",
        required=False,
    )
    confidentiality = _impact_field("Confidentiality impact")
    integrity = _impact_field("Integrity impact")
    availability = _impact_field("Availability impact")

    lookups = {
        **PublicFinderForm.lookups,
        "confidentiality": "cia_posture__confidentiality",
        "integrity": "cia_posture__integrity",
        "availability": "cia_posture__availability",
    }

    def filter_motive(self, queryset, value):
        return queryset.filter(linked("motives", motive__slug=value))

    def filter_technique(self, queryset, value):
        code = value.strip().upper()
        techniques = Technique.objects.filter(
            Q(attack_id=code) | Q(attack_id__startswith=code + ".")
        )
        return queryset.filter(linked("techniques", technique__in=techniques.values("pk")))

    def filter_tactic(self, queryset, value):
        techniques = Technique.objects.filter(tactics__shortname=value)
        return queryset.filter(linked("techniques", technique__in=techniques.values("pk")))

    def _by_actors(self, queryset, **lookups):
        actors = ThreatActor.objects.filter(**lookups).values("pk")
        return queryset.filter(linked("threat_actors", threatactor__in=actors))

    def filter_actor(self, queryset, value):
        return self._by_actors(queryset, slug=value)

    def filter_actor_type(self, queryset, value):
        return self._by_actors(queryset, actor_type__slug=value)

    def filter_actor_country(self, queryset, value):
        return self._by_actors(queryset, country=value)


class IncidentFilter:
    """An audience's finder form bound to the query parameters (None: nothing sent), over
    the incidents the viewer may see; what the view reads of it is ``form``, ``is_bound``,
    ``is_valid()``, ``queryset`` and ``qs`` (the filtered incidents). The form is built
    only when it is read: a query string this process has checked before is answered from
    memory (``_checked``)."""

    form_class = PublicFinderForm

    def __init__(self, data=None, queryset=None):
        self.data = data
        self.queryset = queryset

    @cached_property
    def form(self):
        return self.form_class(self.data)

    @property
    def is_bound(self):
        return self.data is not None

    def is_valid(self):
        return self.canonical is not None

    @cached_property
    def canonical(self) -> dict[str, str] | None:
        """The applied filters as canonical query parameters; None if the data is invalid."""
        if not self.is_bound:
            return {}
        lists = self.data.lists() if isinstance(self.data, MultiValueDict) else None
        items = tuple(
            (key, tuple(values))
            for key, values in (lists or ((k, [v]) for k, v in self.data.items()))
        )
        # The choices a value is checked against change with the catalogue and the year.
        return _checked(
            self.form_class, items, caching.catalogue_version(), datetime.date.today().year
        )

    @cached_property
    def qs(self):
        if not self.is_bound:
            return self.queryset.all()
        if not self.form.is_valid():
            return self.queryset.none()
        return self.form.filter_qs(self.queryset.all())


@functools.lru_cache(maxsize=512)
def _checked(form_class, items, catalogue_version, year):
    form = form_class(MultiValueDict({key: list(values) for key, values in items}))
    return _canonical(form.cleaned_data) if form.is_valid() else None


class PublicIncidentFilter(IncidentFilter):
    form_class = PublicFinderForm


class MemberIncidentFilter(IncidentFilter):
    form_class = MemberFinderForm


MEMBER_ONLY_FILTERS = [
    name for name in MemberFinderForm.base_fields if name not in PublicFinderForm.base_fields
]
# What non-members see, locked, in place of the members' filters.
LOCKED_FILTER_LABELS = [MemberFinderForm.base_fields[n].label for n in MEMBER_ONLY_FILTERS]


def canonical_params(filterset) -> dict[str, str]:
    """The applied filters as query parameters, in declaration order, defaults left out.

    Built from cleaned values only, so anything the form ignored (members'
    filters sent by a non-member, unknown parameters) never reaches a link.
    """
    return filterset.canonical or {}


def _canonical(cleaned_data) -> dict[str, str]:
    params = {}
    q = cleaned_data.get("q")
    for name, value in cleaned_data.items():
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
