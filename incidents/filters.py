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
from functools import cached_property
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import F, Q
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from . import caching, search
from .filter_fields import (
    DATE_HELP,
    MAX_RECORDS,
    ChoiceByIdFilter,
    LooseDateFilter,
    RecordsFilter,
    SearchFilter,
    TechniqueFilter,
    YearFilter,
    actor_country_choices,
    actor_type_choices,
    impact_filter,
    incident_country_choices,
    motive_choices,
    sector_choices,
    sector_ids,
    tactic_choices,
    type_choices,
    type_ids,
    year_choices,
)
from .models import (
    Confirmation,
    Incident,
    Technique,
    ThreatActor,
)
from .search import MAX_QUERY_LENGTH, linked

MAX_LAG_DAYS = 2**31 - 1  # the column's range

SORTS = {
    "newest": ("-date", "-pk"),
    "oldest": ("date", "pk"),
    "records": (F("records_affected").desc(nulls_last=True), "-date", "-pk"),
    # Incidents without a known lag last, whichever way.
    "lag": (F("disclosure_lag_days").desc(nulls_last=True), "-date", "-pk"),
    "lag-shortest": (F("disclosure_lag_days").asc(nulls_last=True), "-date", "-pk"),
    "relevance": ("-rank", "-date", "-pk"),
}
SORT_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("records", "Most records affected"),
    ("lag", "Longest disclosure lag"),
    ("lag-shortest", "Shortest disclosure lag"),
    ("relevance", "Relevance"),
]


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
    sector = ChoiceByIdFilter(
        field_name="sector_id",
        ids=sector_ids,
        choices=sector_choices,
        label="Sector",
        empty_label="Any sector",
    )
    type = django_filters.ChoiceFilter(
        choices=type_choices, method="filter_type", label="Incident type", empty_label="Any type"
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
    # The timeline (public): days from occurred (or discovered) to disclosed; whether the
    # source confirms the incident.
    lag_min = RecordsFilter(
        field_name="disclosure_lag_days",
        lookup_expr="gte",
        label="Disclosed after at least (days)",
        min_value=0,
        max_value=MAX_LAG_DAYS,
    )
    lag_max = RecordsFilter(
        field_name="disclosure_lag_days",
        lookup_expr="lte",
        label="Disclosed after at most (days)",
        min_value=0,
        max_value=MAX_LAG_DAYS,
    )
    confirmation = django_filters.ChoiceFilter(
        choices=lambda: Confirmation.choices,
        label="Status",
        empty_label="Any status",
    )
    sort = django_filters.ChoiceFilter(
        choices=lambda: SORT_CHOICES, method="applied_by_the_view", label="Sort", empty_label=None
    )

    class Meta:
        model = Incident
        fields = []

    def applied_by_the_view(self, queryset, name, value):
        return queryset

    def filter_type(self, queryset, name, value):
        # By the type's id, as the sector (ChoiceByIdFilter): the link table's index.
        return queryset.filter(linked("types", incidenttype_id=type_ids().get(value, 0)))

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
    confidentiality = impact_filter("confidentiality", "Confidentiality impact")
    integrity = impact_filter("integrity", "Integrity impact")
    availability = impact_filter("availability", "Availability impact")

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
    checked before is answered from this process's memory (``caching.cached(local=True)``);
    on a miss, the FilterSet that checks it is the one the form and results are then read from."""

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

        def check():
            filterset = self.filterset
            # An invalid query is kept as False (a cache keeps no None).
            return _canonical(filterset.form.cleaned_data) if filterset.is_valid() else False

        # The choices a value is checked against change with the catalogue and the year.
        parts = [self.filterset_class.__name__, repr(items), datetime.date.today().year]
        checked = caching.cached("checked-query", "any", parts, check, local=True)
        return None if checked is False else checked

    @cached_property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return self.filterset.qs


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


def canonical_query(query: str) -> str | None:
    """A finder query string as the finder itself normalises it (members' filters kept), as
    a saved search stores it; None if the finder would refuse it."""
    data = QueryDict(mutable=True)
    for key, values in QueryDict(query).lists():
        # As portal.middleware does for the finder's own query string: PostgreSQL refuses
        # NUL, and a saved value is queried again by every alert run.
        data.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
    found = MemberIncidentFilter(data or None)
    if not found.is_valid():
        return None
    return encode(canonical_params(found))


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


def sort_of(params: dict) -> str:
    """The order of canonical ``params``: the one asked for, else the default."""
    return params.get("sort") or default_sort(params.get("q", ""))


def matching(filterset, *, member: bool):
    """(the incidents a valid FilterSet selects, with its text search; its canonical
    parameters; their order): what the finder's exports, the API and the queue's files read."""
    params = canonical_params(filterset)
    incidents = filterset.qs
    if params.get("q"):
        incidents = search.search(incidents, params["q"], member=member)
    return incidents, params, sort_of(params)


def encode(params: dict, **changes) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def describe(query: str) -> list[tuple[str, str]]:
    """(label, value) of each parameter of a saved finder query (a saved search, an emailed
    export), for the lists of its owner's account pages."""
    fields = MemberFinderForm.base_fields
    return [
        ((fields[k].label or k) if k in fields else k, v)
        for k, v in QueryDict(query).items()
        if k != "sort"
    ]
