"""Where something is, as a presentation holds it (a victim's, an incident's, an actor's)."""

from dataclasses import dataclass
from functools import cache

from django_countries.fields import Country


@dataclass(frozen=True)
class CountryView:
    """A country as pages show it: its code, name and flag's address. django_countries'
    Country looks its name up (through the translation machinery) and builds its flag's
    address at every use, which was a good part of drawing a list of incidents."""

    code: str
    name: str
    flag: str

    def __str__(self):
        return self.code


@cache
def _view(code: str) -> CountryView:
    # English only (settings.LANGUAGE_CODE, no per-request language): one view per code.
    country = Country(code)
    return CountryView(code, str(country.name), country.flag)


def country_or_none(value) -> CountryView | None:
    """A country field's value, None when it holds none (templates test ``if country``)."""
    return _view(str(value.code if isinstance(value, Country) else value)) if value else None
