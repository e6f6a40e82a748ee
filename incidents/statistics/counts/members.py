"""Members' counts over gated values (motives, threat actors, CIA posture). Never called
for anyone else: incidents.views.statistics asks accounts.access first."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django_countries import countries

from ...models import CIAPosture, Impact
from ..charts import Chart, Row
from .base import TOP, by_count, link, links

YEARS_SHOWN = 12
HEATMAP_COLUMNS = 12


def motives(incidents, params):
    counts = links(incidents, "motives").values_list("motive__slug", "motive__name")
    ranked = by_count(counts.annotate(n=Count("incident")))
    rows = [Row(name, (n,), link(params, motive=slug), slug) for slug, name, n in ranked]
    return [
        Chart(
            "motives",
            "Motives",
            "Incidents in this selection by the motive of their threat actors (an incident may "
            "have several).",
            "Motive",
            ("Incidents",),
            tuple(rows),
        )
    ]


def motives_by_year(incidents, params):
    counts = (
        links(incidents, "motives")
        .annotate(year=ExtractYear("incident__date"))
        .values_list("motive__slug", "motive__name", "year")
        .annotate(n=Count("incident"))
    )
    cells, names, totals = {}, {}, defaultdict(int)
    for slug, name, year, n in counts:
        cells[slug, year] = n
        names[slug] = name
        totals[slug] += n
    year_list = []
    if cells:
        last = max(year for _, year in cells)
        first = max(min(year for _, year in cells), last - YEARS_SHOWN + 1)
        year_list = list(range(first, last + 1))
    rows = []
    for slug in sorted(names, key=lambda s: (-totals[s], names[s])):
        rows.append(
            Row(
                names[slug],
                tuple(cells.get((slug, y), 0) for y in year_list),
                link(params, motive=slug),
                slug,
                tuple(
                    link(params, motive=slug, year=y, date_from="", date_to="") for y in year_list
                ),
            )
        )
    return [
        Chart(
            "motives-by-year",
            "Motives over time",
            f"Incidents in this selection by motive and year, for the {YEARS_SHOWN} years up to "
            "the latest one.",
            "Motive",
            tuple(str(y) for y in year_list),
            tuple(rows),
            layout="heatmap",
        )
    ]


def actor_types(incidents, params):
    counts = (
        links(incidents, "threat_actors")
        .exclude(threatactor__actor_type=None)
        .values_list("threatactor__actor_type__slug", "threatactor__actor_type__name")
        .annotate(n=Count("incident", distinct=True))
    )
    rows = [
        Row(name, (n,), link(params, actor_type=slug), slug) for slug, name, n in by_count(counts)
    ]
    return [
        Chart(
            "actor-types",
            "Threat actor types",
            "Incidents in this selection by the type of their threat actors.",
            "Actor type",
            ("Incidents",),
            tuple(rows),
        )
    ]


def actor_countries(incidents, params):
    counts = (
        links(incidents, "threat_actors")
        .exclude(threatactor__country="")
        .values_list("threatactor__country")
        .annotate(n=Count("incident", distinct=True))
    )
    ranked = by_count((code, countries.name(code), n) for code, n in counts)
    rows = [
        Row(name, (n,), link(params, actor_country=code), code) for code, name, n in ranked[:TOP]
    ]
    tail = ranked[TOP:]
    if tail:
        rows.append(Row(f"Other ({len(tail)} countries)", (sum(n for *_, n in tail),), "", "other"))
    return [
        Chart(
            "actor-countries",
            "Threat actor locations",
            "Incidents in this selection by the country their threat actors are believed to "
            "operate from.",
            "Actor location",
            ("Incidents",),
            tuple(rows),
        )
    ]


CIA_DIMENSIONS = ("confidentiality", "integrity", "availability")
CIA_LEVELS = (Impact.HIGH, Impact.MEDIUM, Impact.LOW, Impact.NONE, Impact.UNKNOWN)


def cia(incidents, params):
    aggregates = {
        f"{dim}_{level}": Count("pk", filter=Q(**{dim: level}))
        for dim in CIA_DIMENSIONS
        for level in CIA_LEVELS
    }
    counts = CIAPosture.objects.filter(incident__in=incidents.order_by().values("pk")).aggregate(
        **aggregates
    )
    rows = [
        Row(
            dim.capitalize(),
            tuple(counts[f"{dim}_{level}"] for level in CIA_LEVELS),
            "",
            dim,
            tuple(link(params, **{dim: level.value}) for level in CIA_LEVELS),
        )
        for dim in CIA_DIMENSIONS
    ]
    return [
        Chart(
            "cia",
            "Impact on confidentiality, integrity and availability",
            "Incidents in this selection with a recorded CIA posture, by the level of impact on "
            "each.",
            "Impact on",
            tuple(level.label for level in CIA_LEVELS),
            tuple(rows),
            layout="heatmap",
        )
    ]


def actor_type_by_sector(incidents, params):
    counts = (
        links(incidents, "threat_actors")
        .exclude(threatactor__actor_type=None)
        .exclude(incident__sector=None)
        .values_list(
            "threatactor__actor_type__slug",
            "threatactor__actor_type__name",
            "incident__sector__slug",
            "incident__sector__name",
        )
        .annotate(n=Count("incident", distinct=True))
    )
    cells, type_names, sector_names = {}, {}, {}
    type_totals, sector_totals = defaultdict(int), defaultdict(int)
    for type_slug, type_name, sector_slug, sector_name, n in counts:
        cells[type_slug, sector_slug] = n
        type_names[type_slug], sector_names[sector_slug] = type_name, sector_name
        type_totals[type_slug] += n
        sector_totals[sector_slug] += n
    shown = sorted(sector_names, key=lambda s: (-sector_totals[s], sector_names[s]))
    shown = shown[:HEATMAP_COLUMNS]
    rows = [
        Row(
            type_names[t],
            tuple(cells.get((t, s), 0) for s in shown),
            link(params, actor_type=t),
            t,
            tuple(link(params, actor_type=t, sector=s) for s in shown),
        )
        for t in sorted(type_names, key=lambda t: (-type_totals[t], type_names[t]))
    ]
    return [
        Chart(
            "actor-type-sector",
            "Who attacks which sector",
            "Incidents in this selection by the type of their threat actors and the victim's "
            f"sector (the {HEATMAP_COLUMNS} sectors with the most).",
            "Actor type",
            tuple(sector_names[s] for s in shown),
            tuple(rows),
            layout="heatmap",
            column_keys=tuple(shown),
        )
    ]
