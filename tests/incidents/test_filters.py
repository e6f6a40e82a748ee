"""The finder's FilterSets (incidents.filters): one allow-list per audience, each FilterSet
with its own filters and fields, every filter applied. What they find is tested in
tests/incidents/finder/."""

import pytest
from django import forms
from django.http import QueryDict

from incidents import filter_fields, filters
from incidents.models import Incident
from tests.factories import (
    ActorTypeFactory,
    IncidentFactory,
    MotiveFactory,
    SectorFactory,
    TacticFactory,
    ThreatActorFactory,
)


def _form(filter_class):
    return filter_class(None, queryset=Incident.objects.none()).form


@pytest.mark.parametrize(
    "filter_class", [filters.PublicIncidentFilter, filters.MemberIncidentFilter]
)
def test_each_request_gets_its_own_filters_and_fields(filter_class):
    """A FilterSet that changed one of its fields (its choices, say) must not change the
    field another request is using."""
    first, second = (
        filter_class(None, queryset=Incident.objects.none()).filterset for _ in range(2)
    )
    assert isinstance(first, filter_class.filterset_class)
    for name, filter_ in first.filters.items():
        assert filter_ is not second.filters[name], name
        assert filter_ is not filter_class.filterset_class.base_filters[name], name
    for name, field in first.form.fields.items():
        assert field is not second.form.fields[name], name
        assert field.widget is not second.form.fields[name].widget, name


def test_changing_a_forms_choices_leaves_other_forms_alone(db):
    MotiveFactory(name="Espionage", slug="espionage")
    first, second = _form(filters.MemberIncidentFilter), _form(filters.MemberIncidentFilter)
    first.fields["motive"].choices = [("changed", "Changed")]
    assert ("espionage", "Espionage") in list(second.fields["motive"].choices)
    assert ("espionage", "Espionage") in list(
        _form(filters.MemberIncidentFilter).fields["motive"].choices
    )


def _a_valid_value(field):
    if isinstance(field, forms.ChoiceField):
        return next(value for value, _ in field.choices if value)
    if isinstance(field, forms.DateField):
        return "2021-05-01"
    if isinstance(field, forms.DecimalField):
        return "10"
    return "t1566"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filterset_class", [filters.PublicFinderFilterSet, filters.MemberFinderFilterSet]
)
def test_every_declared_filter_is_applied(filterset_class):
    """Each filter but the two the view applies (search and sort) narrows the queryset."""
    SectorFactory()
    MotiveFactory()
    TacticFactory()
    IncidentFactory(threat_actors=[ThreatActorFactory(actor_type=ActorTypeFactory())])
    everything = str(Incident.objects.all().query)
    for name, filter_ in filterset_class.base_filters.items():
        field = filterset_class(queryset=Incident.objects.none()).form.fields[name]
        filterset = filterset_class(
            {name: _a_valid_value(field)},
            queryset=Incident.objects.all(),
        )
        assert filterset.is_valid(), (name, filterset.errors)
        if name in ("q", "sort"):
            assert filter_.method == "applied_by_the_view", name
            assert str(filterset.qs.query) == everything, name
        else:
            assert str(filterset.qs.query) != everything, name


def test_the_public_filterset_has_no_members_filter(db):
    public = filters.PublicFinderFilterSet
    assert filters.MEMBER_ONLY_FILTERS
    assert set(public.base_filters).isdisjoint(filters.MEMBER_ONLY_FILTERS)
    assert set(filters.PublicFinderForm.base_fields).isdisjoint(filters.MEMBER_ONLY_FILTERS)
    for name in filters.MEMBER_ONLY_FILTERS:
        assert not hasattr(public, f"filter_{name}"), name
    members_only = QueryDict("motive=espionage&confidentiality=high&actor=apt-1")
    ignored = filters.PublicIncidentFilter(members_only, queryset=Incident.objects.all())
    assert ignored.is_valid()
    assert filters.canonical_params(ignored) == {}
    assert str(ignored.qs.query) == str(Incident.objects.all().query)


def test_choices_follow_the_catalogue(db):
    """Choices are read when the form is used, from the cached vocabularies: a new motive
    is offered on the next request."""
    assert ("new-motive", "New motive") not in list(
        _form(filters.MemberIncidentFilter).fields["motive"].choices
    )
    MotiveFactory(name="New motive", slug="new-motive")
    assert ("new-motive", "New motive") in list(
        _form(filters.MemberIncidentFilter).fields["motive"].choices
    )


@pytest.mark.django_db
def test_actor_country_choices_leave_out_actors_known_only_from_drafts():
    published_actor = ThreatActorFactory(country="RU")
    IncidentFactory(threat_actors=[published_actor])
    draft_only = ThreatActorFactory(country="KP")
    IncidentFactory(status=Incident.Status.DRAFT, threat_actors=[draft_only])
    codes = [code for code, _ in filter_fields.actor_country_choices()]
    assert "RU" in codes
    assert "KP" not in codes


def test_a_checked_query_string_is_answered_without_a_form(db):
    data = QueryDict("date_from=2020-01-01&sort=oldest&utm_source=test-filters-memory")
    expected = {"date_from": "2020-01-01", "sort": "oldest"}
    first = filters.PublicIncidentFilter(data, queryset=Incident.objects.all())
    assert first.is_valid()
    assert filters.canonical_params(first) == expected
    again = filters.PublicIncidentFilter(data.copy(), queryset=Incident.objects.all())
    assert again.is_valid() and filters.canonical_params(again) == expected
    assert "filterset" in first.__dict__  # checked by the FilterSet it is then read from
    assert "filterset" not in again.__dict__  # remembered: no FilterSet was built


def test_remembered_checks_follow_the_catalogue(db):
    """A value checked against the choices before a change is checked again after it."""
    data = QueryDict("motive=new-motive")
    assert not filters.MemberIncidentFilter(data, queryset=Incident.objects.all()).is_valid()
    MotiveFactory(name="New motive", slug="new-motive")
    after = filters.MemberIncidentFilter(data, queryset=Incident.objects.all())
    assert after.is_valid()
    assert filters.canonical_params(after) == {"motive": "new-motive"}


def test_remembered_parameters_are_each_callers_own(db):
    """A caller that changes the parameters it was given cannot change the memory."""
    data = QueryDict("sort=oldest&utm_source=test-filters-own-copy")
    filters.canonical_params(
        filters.PublicIncidentFilter(data, queryset=Incident.objects.all())
    ).pop("sort")
    again = filters.PublicIncidentFilter(data.copy(), queryset=Incident.objects.all())
    assert filters.canonical_params(again) == {"sort": "oldest"}


def test_a_saved_query_is_described_by_the_finder_labels():
    """Saved searches and emailed exports list their filters by the finder's labels (the
    members' ones: the query is its owner's), the order left out."""
    described = filters.describe("q=ransomware&country=FR&motive=espionage&sort=oldest&x=1")
    assert described == [
        ("Search", "ransomware"),
        ("Victim country", "FR"),
        ("Motive", "espionage"),
        ("x", "1"),
    ]
