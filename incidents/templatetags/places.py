"""{% country c %}: a country as pages show it (its flag and name), or "Unknown"."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def country(view):
    """``view``: a presenters CountryView, or None."""
    if not view:
        return format_html('<span class="muted">Unknown</span>')
    return format_html(
        '<span class="country"><img class="flag" src="{}" alt="" width="16" height="11"> {}</span>',
        view.flag,
        view.name,
    )
