"""Where something is, as a presentation holds it (a victim's, an incident's, an actor's)."""

from django_countries.fields import Country


def country_or_none(value) -> Country | None:
    """A country field's value, None when it holds none (templates test ``if country``)."""
    return value if value else None
