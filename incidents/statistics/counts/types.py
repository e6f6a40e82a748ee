"""Counts by incident type (public, like the sector: DESIGN.md): how many incidents of each
type, per year and per sector. An incident may have several types, so a chart's rows may
add up to more than the selection."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count
from django.db.models.functions import ExtractYear

from ...models import Incident
from ..charts import Chart, Row
from .base import link

YEARS_SHOWN = 12
HEATMAP_COLUMNS = 12


def _links(incidents):
    """The incident-type links of ``incidents`` (public data)."""
    through = Incident.types.through
    return through.objects.filter(incident__in=incidents.order_by().values("pk")).order_by()


def _ordered(names, positions):
    """Type slugs in the types' own order (as every list of them), types with none left out."""
    return sorted(names, key=lambda slug: (positions[slug], names[slug]))


def types(incidents, params):
    counts = (
        _links(incidents)
        .values_list("incidenttype__slug", "incidenttype__name", "incidenttype__position")
        .annotate(n=Count("incident"))
    )
    ranked = sorted(counts, key=lambda c: (-c[3], c[2], c[1]))  # most incidents first
    rows = [Row(name, (n,), link(params, type=slug), slug) for slug, name, _pos, n in ranked]
    return [
        Chart(
            "types",
            "Incidents by type",
            "Published incidents in this selection by incident type (an incident may have "
            "several; one with none is not counted).",
            "Incident type",
            ("Incidents",),
            tuple(rows),
        )
    ]


def types_by_year(incidents, params):
    counts = (
        _links(incidents)
        .annotate(year=ExtractYear("incident__date"))
        .values_list("incidenttype__slug", "incidenttype__name", "incidenttype__position", "year")
        .annotate(n=Count("incident"))
    )
    cells, names, positions = {}, {}, {}
    for slug, name, position, year, n in counts:
        cells[slug, year] = n
        names[slug], positions[slug] = name, position
    year_list = []
    if cells:
        last = max(year for _, year in cells)
        first = max(min(year for _, year in cells), last - YEARS_SHOWN + 1)
        year_list = list(range(first, last + 1))
    rows = [
        Row(
            names[slug],
            tuple(cells.get((slug, y), 0) for y in year_list),
            link(params, type=slug),
            slug,
            tuple(link(params, type=slug, year=y, date_from="", date_to="") for y in year_list),
        )
        for slug in _ordered(names, positions)
    ]
    return [
        Chart(
            "types-by-year",
            "Incident types over time",
            f"Published incidents in this selection by incident type and year, for the "
            f"{YEARS_SHOWN} years up to the latest one.",
            "Incident type",
            tuple(str(y) for y in year_list),
            tuple(rows),
            layout="heatmap",
        )
    ]


def types_by_sector(incidents, params):
    counts = (
        _links(incidents)
        .exclude(incident__sector=None)
        .values_list(
            "incidenttype__slug",
            "incidenttype__name",
            "incidenttype__position",
            "incident__sector__slug",
            "incident__sector__name",
        )
        .annotate(n=Count("incident"))
    )
    cells, names, positions, sector_names = {}, {}, {}, {}
    sector_totals = defaultdict(int)
    for slug, name, position, sector_slug, sector_name, n in counts:
        cells[slug, sector_slug] = n
        names[slug], positions[slug] = name, position
        sector_names[sector_slug] = sector_name
        sector_totals[sector_slug] += n
    shown = sorted(sector_names, key=lambda s: (-sector_totals[s], sector_names[s]))
    shown = shown[:HEATMAP_COLUMNS]
    rows = [
        Row(
            names[slug],
            tuple(cells.get((slug, s), 0) for s in shown),
            link(params, type=slug),
            slug,
            tuple(link(params, type=slug, sector=s) for s in shown),
        )
        for slug in _ordered(names, positions)
    ]
    return [
        Chart(
            "type-sector",
            "Incident types by sector",
            "Published incidents in this selection by incident type and the victim's sector "
            f"(the {HEATMAP_COLUMNS} sectors with the most).",
            "Incident type",
            tuple(sector_names[s] for s in shown),
            tuple(rows),
            layout="heatmap",
            column_keys=tuple(shown),
        )
    ]
