"""What the statistics page counts, over the incidents the finder's filters select.

Each function takes the filtered incidents (already limited to what the viewer may
see) and the canonical filter parameters, runs one aggregate query and returns its
charts. ``PUBLIC`` counts public facts only (date, victim country, sector, victim,
records, dataset); ``MEMBERS`` counts gated values and is called only for members
(incidents.views.statistics asks accounts.access first).
"""

from __future__ import annotations

import datetime
import statistics as pystats
from collections import defaultdict

from django.db.models import Count, Q
from django.db.models.functions import ExtractMonth, ExtractYear
from django_countries import countries

from ..filters import encode
from ..models import CIAPosture, DatePrecision, Impact, Incident
from .charts import Chart, Row

TOP = 15
TOP_TECHNIQUES = 20
MONTHS_SHOWN = 60
YEARS_SHOWN = 12
HEATMAP_COLUMNS = 12


def _link(params, **changes) -> str:
    return encode(params, **changes)


def _ranked(counts):
    """(key, label, n) sorted by count, then label."""
    return sorted(counts, key=lambda c: (-c[2], c[1]))


# Public: facts any viewer may see.


def years(incidents, params):
    counts = dict(
        incidents.order_by()
        .annotate(year=ExtractYear("date"))
        .values_list("year")
        .annotate(n=Count("pk"))
    )
    rows = []
    if counts:
        for year in range(min(counts), max(counts) + 1):
            n = counts.get(year, 0)
            rows.append(
                Row(str(year), (n,), _link(params, year=year, date_from="", date_to=""), str(year))
            )
    return [
        Chart(
            "years",
            "Incidents per year",
            "Published incidents in this selection, by the year they happened or were disclosed.",
            "Year",
            ("Incidents",),
            tuple(rows),
            layout="columns",
        )
    ]


def months(incidents, params):
    counts = {
        (year, month): n
        for year, month, n in incidents.exclude(date_precision=DatePrecision.YEAR)
        .order_by()
        .annotate(year=ExtractYear("date"), month=ExtractMonth("date"))
        .values("year", "month")
        .annotate(n=Count("pk"))
        .values_list("year", "month", "n")
    }
    rows = []
    if counts:
        last_year, last_month = max(counts)
        index = last_year * 12 + last_month - 1
        first = max(min(y * 12 + m - 1 for y, m in counts), index - MONTHS_SHOWN + 1)
        for i in range(first, index + 1):
            year, month = divmod(i, 12)
            start = datetime.date(year, month + 1, 1)
            end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
            query = _link(params, year="", date_from=start.isoformat(), date_to=end.isoformat())
            rows.append(
                Row(f"{start:%b %Y}", (counts.get((year, month + 1), 0),), query, f"{start:%Y-%m}")
            )
    return [
        Chart(
            "months",
            "Incidents per month",
            "Published incidents in this selection whose month is known, by month, for the "
            f"{MONTHS_SHOWN} months up to the latest one. Incidents dated only by year are "
            "left out.",
            "Month",
            ("Incidents",),
            tuple(rows),
            layout="columns",
        )
    ]


def victim_countries(incidents, params):
    counts = list(
        incidents.exclude(country="").order_by().values_list("country").annotate(n=Count("pk"))
    )
    ranked = _ranked((code, countries.name(code), n) for code, n in counts)
    rows = [Row(name, (n,), _link(params, country=code), code) for code, name, n in ranked[:TOP]]
    tail = ranked[TOP:]
    if tail:
        rows.append(Row(f"Other ({len(tail)} countries)", (sum(n for *_, n in tail),), "", "other"))
    return [
        Chart(
            "countries",
            "Incidents by victim country",
            "Published incidents in this selection by the country where they took place; the "
            f"{TOP} most frequent, the rest grouped.",
            "Country",
            ("Incidents",),
            tuple(rows),
        )
    ]


def sectors(incidents, params):
    counts = incidents.exclude(sector=None).order_by().values_list("sector__slug", "sector__name")
    ranked = _ranked(counts.annotate(n=Count("pk")))
    rows = [Row(name, (n,), _link(params, sector=slug), slug) for slug, name, n in ranked]
    return [
        Chart(
            "sectors",
            "Incidents by sector",
            "Published incidents in this selection by the victim's sector (where it is recorded).",
            "Sector",
            ("Incidents",),
            tuple(rows),
        )
    ]


def records(incidents, params):
    by_year = defaultdict(list)
    rows = (
        incidents.exclude(records_affected=None)
        .order_by()
        .annotate(year=ExtractYear("date"))
        .values_list("year", "records_affected")
    )
    for year, n in rows:
        by_year[year].append(n)
    totals, medians = [], []
    for year in range(min(by_year, default=0), max(by_year, default=-1) + 1):
        values = by_year.get(year, [])
        median = round(pystats.median(values)) if values else 0
        query = _link(params, year=year, date_from="", date_to="") if values else ""
        totals.append(Row(str(year), (sum(values), len(values)), query, str(year)))
        medians.append(Row(str(year), (median, len(values)), query, str(year)))
    source = (
        "Published incidents in this selection that report how many records were affected, by year"
    )
    return [
        Chart(
            "records-total",
            "Records affected per year (total)",
            source + "; the sum of their records. Logarithmic scale (gridlines a thousandfold "
            "apart).",
            "Year",
            ("Records affected", "Incidents reporting records"),
            tuple(totals),
            layout="columns",
            log_scale=True,
        ),
        Chart(
            "records-median",
            "Records affected per year (median incident)",
            source + "; half of them affected fewer records, half more. Logarithmic scale "
            "(gridlines a thousandfold apart).",
            "Year",
            ("Median records affected", "Incidents reporting records"),
            tuple(medians),
            layout="columns",
            log_scale=True,
        ),
    ]


def recurring_victims(incidents, params):
    counts = (
        incidents.order_by()
        .values_list("organisation__slug", "organisation__name")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .order_by("-n", "organisation__name")[:TOP]
    )
    rows = [Row(name, (n,), _link(params, organisation=slug), slug) for slug, name, n in counts]
    return [
        Chart(
            "victims",
            "Recurring victims",
            f"Victim organisations with two or more incidents in this selection, the {TOP} with "
            "the most.",
            "Organisation",
            ("Incidents",),
            tuple(rows),
        )
    ]


def datasets(incidents, params):
    counts = (
        incidents.order_by()
        .values_list("dataset__slug", "dataset__name", "dataset__licence")
        .annotate(n=Count("pk"))
    )
    ranked = []
    for slug, name, licence, n in counts:
        label = (
            f"{name} ({licence})" if name and licence else name or "Entered by the portal's editors"
        )
        ranked.append((slug or "portal", label, n))
    rows = [Row(label, (n,), "", slug) for slug, label, n in _ranked(ranked)]
    return [
        Chart(
            "datasets",
            "Data sources and licences",
            "Published incidents in this selection by the dataset they were imported from, with "
            "its licence (see Data sources).",
            "Dataset (licence)",
            ("Incidents",),
            tuple(rows),
        )
    ]


PUBLIC = [years, months, victim_countries, sectors, records, recurring_victims, datasets]
PUBLIC_CHARTS = {
    "years": "Incidents per year",
    "months": "Incidents per month",
    "countries": "Incidents by victim country",
    "sectors": "Incidents by sector",
    "records-total": "Records affected per year (total)",
    "records-median": "Records affected per year (median incident)",
    "victims": "Recurring victims",
    "datasets": "Data sources and licences",
}


# Members: counts over gated values. Never called for anyone else.


def _links(incidents, relation):
    through = getattr(Incident, relation).through
    return through.objects.filter(incident__in=incidents.order_by().values("pk")).order_by()


def motives(incidents, params):
    counts = _links(incidents, "motives").values_list("motive__slug", "motive__name")
    ranked = _ranked(counts.annotate(n=Count("incident")))
    rows = [Row(name, (n,), _link(params, motive=slug), slug) for slug, name, n in ranked]
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
        _links(incidents, "motives")
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
                _link(params, motive=slug),
                slug,
                tuple(
                    _link(params, motive=slug, year=y, date_from="", date_to="") for y in year_list
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


def techniques(incidents, params):
    counts = (
        _links(incidents, "techniques")
        .values_list("technique__attack_id", "technique__name")
        .annotate(n=Count("incident"))
        .order_by("-n", "technique__attack_id")[:TOP_TECHNIQUES]
    )
    rows = [
        Row(f"{attack_id} {name}", (n,), _link(params, technique=attack_id), attack_id)
        for attack_id, name, n in counts
    ]
    return [
        Chart(
            "techniques",
            "Top ATT&CK techniques",
            f"Incidents in this selection using each ATT&CK technique, the {TOP_TECHNIQUES} most "
            "used (a sub-technique counts on its own; its link also finds the parent's "
            "other sub-techniques).",
            "Technique",
            ("Incidents",),
            tuple(rows),
        )
    ]


def tactics(incidents, params):
    counts = (
        _links(incidents, "techniques")
        .exclude(technique__tactics=None)
        .values_list(
            "technique__tactics__shortname", "technique__tactics__name", "technique__tactics__order"
        )
        .annotate(n=Count("incident", distinct=True))
    )
    ordered = sorted(counts, key=lambda c: (c[2], c[1]))
    rows = [Row(name, (n,), _link(params, tactic=short), short) for short, name, _, n in ordered]
    return [
        Chart(
            "tactics",
            "ATT&CK tactics",
            "Incidents in this selection using at least one technique of each tactic, in the "
            "order of the ATT&CK matrix.",
            "Tactic",
            ("Incidents",),
            tuple(rows),
        )
    ]


def actor_types(incidents, params):
    counts = (
        _links(incidents, "threat_actors")
        .exclude(threatactor__actor_type=None)
        .values_list("threatactor__actor_type__slug", "threatactor__actor_type__name")
        .annotate(n=Count("incident", distinct=True))
    )
    rows = [
        Row(name, (n,), _link(params, actor_type=slug), slug) for slug, name, n in _ranked(counts)
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
        _links(incidents, "threat_actors")
        .exclude(threatactor__country="")
        .values_list("threatactor__country")
        .annotate(n=Count("incident", distinct=True))
    )
    ranked = _ranked((code, countries.name(code), n) for code, n in counts)
    rows = [
        Row(name, (n,), _link(params, actor_country=code), code) for code, name, n in ranked[:TOP]
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
            tuple(_link(params, **{dim: level.value}) for level in CIA_LEVELS),
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
        _links(incidents, "threat_actors")
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
            _link(params, actor_type=t),
            t,
            tuple(_link(params, actor_type=t, sector=s) for s in shown),
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


def attack_matrix(incidents, params):
    counts = (
        _links(incidents, "techniques")
        .exclude(technique__tactics=None)
        .values_list(
            "technique__tactics__order",
            "technique__tactics__shortname",
            "technique__tactics__name",
            "technique__attack_id",
            "technique__name",
        )
        .annotate(n=Count("incident", distinct=True))
    )
    ordered = sorted(counts, key=lambda c: (c[0], c[2], -c[5], c[3]))
    rows = [
        Row(
            f"{attack_id} {name}",
            (n,),
            _link(params, technique=attack_id),
            attack_id,
            group=tactic_name,
            group_key=shortname,
        )
        for _, shortname, tactic_name, attack_id, name, n in ordered
    ]
    return [
        Chart(
            "attack-matrix",
            "ATT&CK matrix",
            "Incidents in this selection using each ATT&CK technique, under each of its tactics "
            "(tactics as columns, in the matrix's order; a sub-technique counts on its own). "
            "Darker cells: more incidents.",
            "Technique",
            ("Incidents",),
            tuple(rows),
            layout="matrix",
        )
    ]


MEMBERS = [
    motives,
    motives_by_year,
    techniques,
    tactics,
    actor_types,
    actor_countries,
    cia,
    actor_type_by_sector,
    attack_matrix,
]
# In page order: the two wide heatmaps each after a pair of half-width charts.
MEMBER_CHARTS = {
    "motives": "Motives",
    "actor-types": "Threat actor types",
    "motives-by-year": "Motives over time",
    "techniques": "Top ATT&CK techniques",
    "tactics": "ATT&CK tactics",
    "actor-countries": "Threat actor locations",
    "cia": "Impact on confidentiality, integrity and availability",
    "actor-type-sector": "Who attacks which sector",
    "attack-matrix": "ATT&CK matrix",
}


def compute(incidents, params, *, member: bool) -> dict[str, Chart]:
    """Every chart the audience may see, by name, in page order."""
    functions = PUBLIC + (MEMBERS if member else [])
    return {chart.name: chart for function in functions for chart in function(incidents, params)}
