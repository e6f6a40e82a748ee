"""Parts of the incident admin kept out of admin.py (at its size limit), for issue 25:

- compact columns for the incident list, so that it fits 1280 px beside its filters: a
  country and a dataset by their codes (their names on hover), times as
  "2026-12-08 04:41" on one line;
- the incident form's country menu written in one pass. Django's ``Select`` renders each
  of its options through a template of its own: for the ~250 countries that was the add
  page's costliest widget (docs/using.md, "Admin", has the measurements).
"""

from django import forms
from django.contrib import admin
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime


def _short_time(value):
    return localtime(value).strftime("%Y-%m-%d\u00a0%H:%M") if value else "-"


@admin.display(description="country", ordering="country")
def country_code(incident):
    if not incident.country:
        return "-"
    return format_html('<abbr title="{}">{}</abbr>', incident.country.name, incident.country.code)


@admin.display(description="dataset", ordering="dataset__slug")
def dataset(incident):
    """The dataset's short name ("vcdb"), its full name on hover."""
    if incident.dataset is None:
        return "-"
    return format_html('<abbr title="{}">{}</abbr>', incident.dataset, incident.dataset.slug)


@admin.display(description="published at", ordering="published_at")
def published(incident):
    return _short_time(incident.published_at)


@admin.display(description="updated at", ordering="updated_at")
def updated(incident):
    return _short_time(incident.updated_at)


class CountrySelect(forms.Select):
    """A ``Select`` of the same options and attributes, its options written by
    ``format_html_join`` instead of one template each."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            "<option value={}{}>{}</option>",
            (
                (
                    format_html('"{}"', "" if option["value"] is None else option["value"]),
                    mark_safe(" selected") if option["selected"] else "",
                    option["label"],
                )
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(widget["attrs"]), options
        )


class IncidentForm(forms.ModelForm):
    """The admin's incident form (the admin fills in the model and the fields)."""

    class Meta:
        widgets = {"country": CountrySelect}
