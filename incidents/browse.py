"""Browse and hub pages: counts of published incidents by country, sector, incident type and
year.

Public facts only (victim country, sector, incident type, date), the same for every viewer, so
each table is computed once and shared through the cache until the catalogue
changes (incidents.caching).
"""

from django.db.models import Count
from django.db.models.functions import ExtractYear
from django_countries import countries

from . import caching
from .models import Incident, IncidentType, Sector

BROWSE_CACHE_SECONDS = 300


def _cached(name, compute):
    return caching.cached("browse", "public", [name], compute, BROWSE_CACHE_SECONDS)


def by_country():
    def compute():
        rows = (
            Incident.objects.published()
            .exclude(country="")
            .order_by()
            .values("country")
            .annotate(n=Count("pk"))
        )
        return sorted(
            ((r["country"], countries.name(r["country"]), r["n"]) for r in rows),
            key=lambda r: (-r[2], r[1]),
        )

    return _cached("countries", compute)


def by_sector():
    def compute():
        counts = dict(
            Incident.objects.published()
            .exclude(sector=None)
            .order_by()
            .values_list("sector")
            .annotate(n=Count("pk"))
        )
        sectors = Sector.objects.filter(pk__in=counts).values_list("pk", "slug", "name")
        return sorted(
            ((slug, name, counts[pk]) for pk, slug, name in sectors), key=lambda r: (-r[2], r[1])
        )

    return _cached("sectors", compute)


def by_type():
    """(slug, name, published incidents) of every incident type, in the types' own order
    (a type no published incident has yet counts 0: its hub says so)."""

    def compute():
        through = Incident.types.through
        counts = dict(
            through.objects.filter(incident__status=Incident.Status.PUBLISHED)
            .order_by()
            .values_list("incidenttype")
            .annotate(n=Count("incident"))
        )
        types = IncidentType.objects.values_list("pk", "slug", "name")
        return [(slug, name, counts.get(pk, 0)) for pk, slug, name in types]

    return _cached("types", compute)


def by_year():
    def compute():
        rows = (
            Incident.objects.published()
            .order_by()
            .annotate(year=ExtractYear("date"))
            .values("year")
            .annotate(n=Count("pk"))
            .order_by("-year")
        )
        return [(r["year"], r["n"]) for r in rows]

    return _cached("years", compute)


TOP_COUNTRIES = 20


def top_countries():
    """The most frequent victim countries, and how many countries there are in all."""
    ranked = by_country()
    return ranked[:TOP_COUNTRIES], len(ranked)


def countries_by_letter():
    """Every victim country, A-Z, grouped by its name's first letter: [(letter, rows)]."""
    groups: dict[str, list] = {}
    for code, name, n in sorted(by_country(), key=lambda r: r[1]):
        groups.setdefault(name[:1].upper(), []).append((code, name, n))
    return list(groups.items())


def years_by_decade():
    """[(decade label, [(year, n)], newest first)], newest decade first."""
    groups: dict[str, list] = {}
    for year, n in by_year():
        groups.setdefault(f"{year // 10 * 10}s", []).append((year, n))
    return list(groups.items())


def country_count(code):
    """How many published incidents took place in ``code`` (0: none, so no hub)."""
    return next((n for c, _name, n in by_country() if c == code), 0)
