"""portal.forms.Renderer writes select menus as Django's templates do, byte for byte."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from incidents import filters
from portal.forms import Renderer
from tests.factories import IncidentFactory

CHOICES = [
    ("", "Any"),
    ("a&b", "A & B <i>"),
    (1, 2020),
    (None, "none"),
    ("safe", mark_safe("<b>safe</b>")),
    ("Group", [("g1", "One"), ("g2", "Two")]),
]


class Form(forms.Form):
    plain = forms.ChoiceField(choices=CHOICES, required=False)
    required = forms.ChoiceField(choices=CHOICES, help_text="Help")
    attrs = forms.ChoiceField(
        choices=CHOICES[:3],
        widget=forms.Select(attrs={"data-update": "change", "class": 'x"y', "disabled": True}),
    )
    multiple = forms.MultipleChoiceField(choices=CHOICES[:3], required=False)
    radio = forms.ChoiceField(choices=CHOICES[:3], widget=forms.RadioSelect)


@pytest.mark.parametrize(
    "data", [None, {"plain": "a&b", "required": "g2", "attrs": "1", "multiple": ["a&b", "1"]}, {}]
)
def test_menus_are_the_templates_html(data):
    for name in Form.base_fields:
        ours = Form(data, renderer=Renderer())[name]
        theirs = Form(data, renderer=DjangoTemplates())[name]
        assert str(ours) == str(theirs), name


@pytest.mark.django_db
@pytest.mark.parametrize("member", [False, True])
def test_the_finders_filters_are_the_templates_html(member, django_user_model):
    IncidentFactory(country="GB")
    params = {"country": "GB", "year": "1999"}
    ours = filters.for_viewer(params, None, member=member).form
    ours.renderer = Renderer()
    theirs = filters.for_viewer(params, None, member=member).form
    theirs.renderer = DjangoTemplates()
    for name in ours.fields:
        assert str(ours[name]) == str(theirs[name]), name
