"""Finding incidents: what each audience may filter and sort by.

Allow-lists per audience, as django-filter FilterSets: ``PublicFinderFilterSet`` declares
the filters anyone may use; ``MemberFinderFilterSet`` adds the ones over members-only
fields. A parameter a FilterSet does not declare is ignored, so a non-member who types
``?motive=espionage`` by hand gets exactly the page they would get without it. Choices
are callables over cached vocabularies, read when a field is rendered or validated.
Every FilterSet has its own filters, form and fields, as django-filter builds them.
"""

from __future__ import annotations

import datetime
import re
from functools import cached_property
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.datastructures import MultiValueDict
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
    ("relevance", "Relevance"),
]
MIN_YEAR = 1970
ATTACK_ID_RE = re.compile(r"^T\d{1,5}(\.\d{1,3})?$")  # shaped like an ATT&CK ID
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


def year_choices():
    """Years with published incidents, newest first: public facts (incidents.browse), the
    same list for every viewer, so it never reveals a draft."""
    return [(str(year), str(year)) for year, _count in browse.by_year() if year]


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

    return caching.cached_locally("choices", "member", ["techniques"], compute)


def technique_names() -> dict[str, str]:
    """ATT&CK ID -> name of every technique (ATT&CK itself is public knowledge)."""

    def compute():
        rows = Technique.objects.values_list("attack_id", "name", "parent__name")
        return {attack_id: _technique_label(name, parent) for attack_id, name, parent in rows}

    return caching.cached_locally("choices", "public", ["technique-names"], compute)


class CleanCharField(forms.CharField):
    """Text input without NUL bytes, trimmed to a sane length."""

    def to_python(self, value):
        return clean_query(super().to_python(value))


class SearchFilter(django_filters.CharFilter):
    field_class = CleanCharField


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


def _impact_filter(column, label):
    # Choices as callables, here and for sort: a FilterSet copies a callable more cheaply
    # than a list (django-filter deep-copies its filters and fields for each FilterSet).
    return django_filters.ChoiceFilter(
        field_name=f"cia_posture__{column}",
        choices=lambda: Impact.choices,
        empty_label="Any",
        label=label,
    )


class PublicFinderFilterSet(django_filters.FilterSet):
    """The filters anyone may use. ``q`` and ``sort`` are validated here and applied by
    the view, which knows the viewer (incidents.search)."""

    q = SearchFilter(
        label="Search",
        method="applied_by_the_view",
        max_length=MAX_QUERY_LENGTH * 5,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": 'Victim, words, "a phrase", -exclude'}
        ),
    )
    date_from = LooseDateFilter(
        field_name="date",
        lookup_expr="gte",
        label="From",
        help_text=DATE_HELP,
        widget=forms.TextInput(attrs={"placeholder": "2020-11", "data-update": "change"}),
    )
    date_to = LooseDateFilter(
        field_name="date",
        lookup_expr="lte",
        label="To",
        help_text=DATE_HELP,
        end=True,
        widget=forms.TextInput(attrs={"placeholder": "2021", "data-update": "change"}),
    )
    year = YearFilter(
        choices=year_choices, method="filter_year", label="Year", empty_label="Any year"
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
    records_min = RecordsFilter(
        field_name="records_affected",
        lookup_expr="gte",
        label="Records at least",
        min_value=0,
        max_value=MAX_RECORDS,
    )
    records_max = RecordsFilter(
        field_name="records_affected",
        lookup_expr="lte",
        label="Records at most",
        min_value=0,
        max_value=MAX_RECORDS,
    )
    sort = django_filters.ChoiceFilter(
        choices=lambda: SORT_CHOICES, method="applied_by_the_view", label="Sort", empty_label=None
    )

    class Meta:
        model = Incident
        fields = []

    def applied_by_the_view(self, queryset, name, value):
        return queryset

    def filter_year(self, queryset, name, value):
        # A range, not __year, so the (status, date) index serves it.
        year = int(value)
        return queryset.filter(
            date__gte=datetime.date(year, 1, 1), date__lt=datetime.date(year + 1, 1, 1)
        )


class MemberFinderFilterSet(PublicFinderFilterSet):
    """Members also filter by the fields only they can see."""

    motive = django_filters.ChoiceFilter(
        choices=motive_choices, method="filter_motive", label="Motive", empty_label="Any motive"
    )
    technique = TechniqueFilter(
        method="filter_technique",
        label="ATT&CK technique",
        max_length=200,
        help_text="An ID or a name; a technique includes its sub-techniques",
        widget=forms.TextInput(
            attrs={"placeholder": "T1566 or Phishing", "list": "technique-options"}
        ),
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
    confidentiality = _impact_filter("confidentiality", "Confidentiality impact")
    integrity = _impact_filter("integrity", "Integrity impact")
    availability = _impact_filter("availability", "Availability impact")

    def filter_motive(self, queryset, name, value):
        return queryset.filter(linked("motives", motive__slug=value))

    def filter_technique(self, queryset, name, value):
        code = value
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


class IncidentFilter:
    """An audience's FilterSet bound to the query parameters (None: nothing sent), over
    the incidents the viewer may see; what the view reads of it is ``form``, ``is_bound``,
    ``is_valid()``, ``queryset`` and ``qs`` (the filtered incidents). The FilterSet is
    built only when its form or results are read: a query string this process has
    checked before is answered from memory (``_checked``); on a miss, the FilterSet that
    checks it is the one the form and results are then read from."""

    filterset_class = PublicFinderFilterSet

    def __init__(self, data=None, queryset=None):
        self.data = data
        self.queryset = queryset

    @cached_property
    def filterset(self):
        return self.filterset_class(self.data, queryset=self.queryset)

    @property
    def form(self):
        return self.filterset.form

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
        key = (self.filterset_class, items, caching.catalogue_version(), datetime.date.today().year)

        def check():
            filterset = self.filterset
            return _canonical(filterset.form.cleaned_data) if filterset.is_valid() else None

        return _checked.get_or_set(key, check)

    @cached_property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return self.filterset.qs


# Query strings this process has checked: (FilterSet class, parameters, catalogue version,
# year) -> their canonical parameters, or None if invalid.
_checked = caching.ProcessMemory(512)


class PublicIncidentFilter(IncidentFilter):
    filterset_class = PublicFinderFilterSet


class MemberIncidentFilter(IncidentFilter):
    filterset_class = MemberFinderFilterSet


def for_viewer(data, user, *, member: bool) -> IncidentFilter:
    """The FilterSet of the viewer's audience (``member``, as accounts.access decided it),
    bound to ``data`` (empty: nothing sent) over the incidents ``user`` may see."""
    filter_class = MemberIncidentFilter if member else PublicIncidentFilter
    return filter_class(data or None, queryset=Incident.objects.visible_to(user))


# The form each audience's FilterSet builds, for reading its field names and labels.
PublicFinderForm = PublicFinderFilterSet(queryset=Incident.objects.none()).get_form_class()
MemberFinderForm = MemberFinderFilterSet(queryset=Incident.objects.none()).get_form_class()

MEMBER_ONLY_FILTERS = [
    name
    for name in MemberFinderFilterSet.base_filters
    if name not in PublicFinderFilterSet.base_filters
]
# What non-members see, locked, in place of the members' filters.
LOCKED_FILTER_LABELS = [MemberFinderFilterSet.base_filters[n].label for n in MEMBER_ONLY_FILTERS]


def fields_context(filterset, member: bool) -> dict:
    """What includes/_filter_fields.html (the finder's and the statistics page's filters)
    is rendered from: the form's fields, public and members', and the locked labels."""
    visible = [f for f in filterset.form.visible_fields() if f.name not in ("q", "sort")]
    return {
        "filterset": filterset,
        "public_fields": [f for f in visible if f.name not in MEMBER_ONLY_FILTERS],
        "member_fields": [f for f in visible if f.name in MEMBER_ONLY_FILTERS],
        "member_filters": member,
        "locked_filters": [] if member else LOCKED_FILTER_LABELS,
    }


def canonical_params(filterset) -> dict[str, str]:
    """The applied filters as query parameters, in declaration order, defaults left out.

    Built from cleaned values only, so anything the FilterSet ignored (members'
    filters sent by a non-member, unknown parameters) never reaches a link. A copy: the
    remembered parameters are shared by every request for the same query string.
    """
    return dict(filterset.canonical or {})


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
