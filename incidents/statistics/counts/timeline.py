"""Public counts of the timeline: the disclosure lag (days from occurred, or discovered, to
disclosed, where both are known to the day: ``Incident.disclosure_lag_days``), its median
per year, sector and victim country with the number of incidents each figure rests on, and
its distribution. The timeline is public (DESIGN.md)."""

from __future__ import annotations

import statistics as pystats
from collections import defaultdict

from django.db import connection
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django_countries import countries

from ..charts import Chart, Row
from .base import TOP, by_count, link
from .public import Median

# (label, at least, at most) days; the last has no upper bound.
BUCKETS = (
    ("Same day", 0, 0),
    ("1 to 7 days", 1, 7),
    ("8 to 30 days", 8, 30),
    ("31 to 90 days", 31, 90),
    ("91 to 365 days", 91, 365),
    ("Over a year", 366, None),
)
RULE = (
    "The disclosure lag is the number of days from when an incident occurred (or, when that "
    "day is not known, was discovered) to when it was disclosed, counted only where both "
    "days are known."
)
HEADERS = ("Median lag (days)", "Incidents with a known lag")


def medians(incidents, *keys) -> dict:
    """(``keys`` values) -> (median lag, incidents with a known lag), in one query: in the
    database on PostgreSQL, in Python on SQLite (which has no median)."""
    known = incidents.exclude(disclosure_lag_days=None).order_by()
    if connection.vendor == "postgresql":
        return {
            tuple(row[:-2]): (row[-2], row[-1])
            for row in known.values(*keys)
            .annotate(median=Median("disclosure_lag_days"), n=Count("pk"))
            .values_list(*keys, "median", "n")
        }
    lags = defaultdict(list)
    for *k, lag in known.values_list(*keys, "disclosure_lag_days"):
        lags[tuple(k)].append(lag)
    return {k: (pystats.median(v), len(v)) for k, v in lags.items()}


def _known(params, **changes) -> str:
    """The finder's query listing the incidents a figure rests on (those with a lag)."""
    return link(params, **changes, lag_min=params.get("lag_min") or 0)


def lag_by_year(incidents, params):
    by_year = medians(incidents.annotate(year=ExtractYear("date")), "year")
    years = []
    first, last = min(by_year, default=(0,))[0], max(by_year, default=(-1,))[0]
    for year in range(first, last + 1):
        median, n = by_year.get((year,), (0, 0))
        query = _known(params, year=year, date_from="", date_to="") if n else ""
        years.append(Row(str(year), (round(median), n), query, str(year)))
    return [
        Chart(
            "lag-years",
            "Disclosure lag per year (median)",
            f"{RULE} The median per year the incidents are dated, beside how many incidents "
            "it rests on.",
            "Year",
            HEADERS,
            tuple(years),
            layout="columns",
        )
    ]


def lag_by_sector(incidents, params):
    by_sector = medians(incidents.exclude(sector=None), "sector__slug", "sector__name")
    rows = [
        Row(name, (round(by_sector[(slug, name)][0]), n), _known(params, sector=slug), slug)
        for slug, name, n in by_count((slug, name, n) for (slug, name), (_, n) in by_sector.items())
    ]
    return [
        Chart(
            "lag-sectors",
            "Disclosure lag by sector (median)",
            f"{RULE} The median per victim sector, with how many incidents it rests on; "
            "sectors with the most such incidents first.",
            "Sector",
            HEADERS,
            tuple(rows),
        )
    ]


def lag_by_country(incidents, params):
    by_country = medians(incidents.exclude(country=""), "country")
    ranked = by_count((code, countries.name(code), n) for (code,), (_, n) in by_country.items())
    rows = [
        Row(name, (round(by_country[(code,)][0]), n), _known(params, country=code), code)
        for code, name, n in ranked[:TOP]
    ]
    return [
        Chart(
            "lag-countries",
            "Disclosure lag by victim country (median)",
            f"{RULE} The median per victim country, with how many incidents it rests on; the "
            f"{TOP} countries with the most such incidents.",
            "Country",
            HEADERS,
            tuple(rows),
        )
    ]


def lag_distribution(incidents, params):
    counted = dict(
        incidents.exclude(disclosure_lag_days=None)
        .order_by()
        .values_list("disclosure_lag_days")
        .annotate(n=Count("pk"))
    )
    rows = []
    for label, least, most in BUCKETS:
        n = sum(c for lag, c in counted.items() if lag >= least and (most is None or lag <= most))
        query = link(params, lag_min=least, lag_max="" if most is None else most) if n else ""
        rows.append(Row(label, (n,), query, f"{least}-{'' if most is None else most}"))
    return [
        Chart(
            "lag-distribution",
            "How long until disclosure",
            f"{RULE} Incidents in this selection with a known lag, by how long it was.",
            "Disclosure lag",
            ("Incidents",),
            tuple(rows),
        )
    ]
