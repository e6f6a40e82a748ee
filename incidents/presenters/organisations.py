"""A victim organisation as anyone sees it (all of it is public)."""

from __future__ import annotations

from dataclasses import dataclass

from django_countries.fields import Country

from .places import country_or_none


@dataclass(frozen=True)
class OrganisationView:
    name: str
    slug: str
    url: str
    country: Country | None
    sector: str
    website: str
    incident_count: int
    is_placeholder: bool = False
    other_spellings: tuple[str, ...] = ()


def organisation_view(org, aliases=()) -> OrganisationView:
    """``aliases``: the spellings sources use (public, like the name); the name itself is
    left out."""
    return OrganisationView(
        name=org.name,
        slug=org.slug,
        url=org.get_absolute_url(),
        country=country_or_none(org.country),
        sector=org.sector.name if org.sector_id else "",
        website=org.website,
        incident_count=org.incident_count,
        is_placeholder=org.is_placeholder,
        other_spellings=tuple(a for a in aliases if a != org.name),
    )
