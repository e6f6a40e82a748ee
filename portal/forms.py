"""The form renderer: Django's, with its select menus written in Python.

Django renders each option of a menu through two templates (the option, its attributes),
which made the finder's filters (a menu of every country with an incident, one of every
year, sector, ...) most of a finder page's work whenever the page was not cached. The HTML
is the same, byte for byte, as those templates give (tests/test_forms_renderer.py renders
both); a menu whose options use other templates, or several choices, goes to the templates.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


def _attrs(attrs) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(_text(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _text(value):
    # The template's |stringformat:'s' keeps a safe string safe (the filter is is_safe).
    return value if isinstance(value, str) else str(value)


def _option(option) -> str:
    return (
        f'<option value="{conditional_escape(_text(option["value"]))}"{_attrs(option["attrs"])}>'
        f"{conditional_escape(option['label'])}</option>\n"
    )


def _select(widget) -> str:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in group_choices:
            parts.append("\n  " + _option(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _plain(widget) -> bool:
    return all(
        option["template_name"] == OPTION
        for _name, choices, _index in widget["optgroups"]
        for option in choices
    )


class Renderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        if template_name == SELECT and _plain(context["widget"]):
            return mark_safe(_select(context["widget"]))  # noqa: S308 (every part escaped)
        return super().render(template_name, context, request)
