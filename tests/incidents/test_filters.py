"""The finder's forms (incidents.filters): one allow-list per audience, each form with its
own fields, every field applied somewhere. What they find is tested in test_finder.py."""

import pytest
from django.http import QueryDict

from incidents import filters
from incidents.models import Incident
from tests.factories import IncidentFactory, MotiveFactory, ThreatActorFactory


def _form(filter_class):
    return filter_class(None, queryset=Incident.objects.none()).form


@pytest.mark.parametrize(
    "filter_class", [filters.PublicIncidentFilter, filters.MemberIncidentFilter]
)
def test_each_request_gets_its_own_fields(filter_class):
    """A form that changed one of its fields (its choices, say) must not change the field
    another request is using."""
    first, second = _form(filter_class), _form(filter_class)
    for name, field in first.fields.items():
        assert field is not second.fields[name], name
        assert field.widget is not second.fields[name].widget, name


def test_changing_a_forms_choices_leaves_other_forms_alone(db):
    MotiveFactory(name="Espionage", slug="espionage")
    first, second = _form(filters.MemberIncidentFilter), _form(filters.MemberIncidentFilter)
    first.fields["motive"].choices = [("changed", "Changed")]
    assert ("espionage", "Espionage") in list(second.fields["motive"].choices)
    assert ("espionage", "Espionage") in list(
        _form(filters.MemberIncidentFilter).fields["motive"].choices
    )


@pytest.mark.parametrize("form_class", [filters.PublicFinderForm, filters.MemberFinderForm])
def test_every_field_is_applied_somewhere(form_class):
    for name in form_class.base_fields:
        assert (
            name in form_class.applied_by_the_view
            or name in form_class.lookups
            or callable(getattr(form_class, f"filter_{name}", None))
        ), name


def test_the_public_form_has_no_members_field():
    assert set(filters.PublicFinderForm.base_fields).isdisjoint(filters.MEMBER_ONLY_FILTERS)
    assert not set(filters.PublicFinderForm.lookups) & set(filters.MEMBER_ONLY_FILTERS)
    for name in filters.MEMBER_ONLY_FILTERS:
        assert not hasattr(filters.PublicFinderForm, f"filter_{name}"), name


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
    codes = [code for code, _ in filters.actor_country_choices()]
    assert "RU" in codes
    assert "KP" not in codes


def test_a_checked_query_string_is_answered_without_a_form(db):
    data = QueryDict("date_from=2020-01-01&sort=oldest&utm_source=x")
    expected = {"date_from": "2020-01-01", "sort": "oldest"}
    first = filters.PublicIncidentFilter(data, queryset=Incident.objects.all())
    assert first.is_valid()
    assert filters.canonical_params(first) == expected
    again = filters.PublicIncidentFilter(data.copy(), queryset=Incident.objects.all())
    assert again.is_valid() and filters.canonical_params(again) == expected
    assert "form" not in again.__dict__  # remembered: no form was built


def test_remembered_checks_follow_the_catalogue(db):
    """A value checked against the choices before a change is checked again after it."""
    data = QueryDict("motive=new-motive")
    assert not filters.MemberIncidentFilter(data, queryset=Incident.objects.all()).is_valid()
    MotiveFactory(name="New motive", slug="new-motive")
    after = filters.MemberIncidentFilter(data, queryset=Incident.objects.all())
    assert after.is_valid()
    assert filters.canonical_params(after) == {"motive": "new-motive"}
