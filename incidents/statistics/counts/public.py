"""Public counts: facts any viewer may see (date, victim country, sector, victim, records,
dataset)."""

from __future__ import annotations

import datetime
import statistics as pystats
from collections import defaultdict

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django_countries import countries

from ...models import DatePrecision
from ..charts import Chart, Row
from .base import TOP, by_count, link

MONTHS_SHOWN = 60


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
                Row(str(year), (n,), link(params, year=year, date_from="", date_to=""), str(year))
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
            query = link(params, year="", date_from=start.isoformat(), date_to=end.isoformat())
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
    ranked = by_count((code, countries.name(code), n) for code, n in counts)
    rows = [Row(name, (n,), link(params, country=code), code) for code, name, n in ranked[:TOP]]
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
    ranked = by_count(counts.annotate(n=Count("pk")))
    rows = [Row(name, (n,), link(params, sector=slug), slug) for slug, name, n in ranked]
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


class Median(Aggregate):
    """PostgreSQL's median: the mean of the two middle values of an even count, as
    Python's ``statistics.median``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def records_by_year(incidents) -> dict[int, tuple[int, float, int]]:
    """Year -> (total records, median records, incidents reporting records)."""
    reporting = (
        incidents.exclude(records_affected=None).order_by().annotate(year=ExtractYear("date"))
    )
    if connection.vendor == "postgresql":
        # In the database: at a million incidents, not half a million rows fetched.
        return {
            year: (total, median, n)
            for year, total, median, n in reporting.values("year")
            .annotate(
                total=Sum("records_affected"), median=Median("records_affected"), n=Count("pk")
            )
            .values_list("year", "total", "median", "n")
        }
    by_year = defaultdict(list)
    for year, n in reporting.values_list("year", "records_affected"):
        by_year[year].append(n)
    return {year: (sum(v), pystats.median(v), len(v)) for year, v in by_year.items()}


def records(incidents, params):
    by_year = records_by_year(incidents)
    totals, medians = [], []
    for year in range(min(by_year, default=0), max(by_year, default=-1) + 1):
        total, median, n = by_year.get(year, (0, 0, 0))
        query = link(params, year=year, date_from="", date_to="") if n else ""
        totals.append(Row(str(year), (total, n), query, str(year)))
        medians.append(Row(str(year), (round(median), n), query, str(year)))
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
    rows = [Row(name, (n,), link(params, organisation=slug), slug) for slug, name, n in counts]
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
    rows = [Row(label, (n,), "", slug) for slug, label, n in by_count(ranked)]
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
