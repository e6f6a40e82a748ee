"""The statistics page and each chart's CSV, over the finder's filters.

The query is parsed by the finder's FilterSet for the viewer's audience, so a
non-member's members-only parameters are ignored exactly as on the finder. The
charts are counted per (audience, canonical query): the page's and the hubs' kept in
roll-ups (incidents.statistics.rollups), any other selection cached until the catalogue
changes (incidents.caching); members' charts are counted only for the member audience
(accounts.access decides it), and a non-member's page names them without a number.
"""

import json
from functools import partial

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import caching, filters
from ..exports import csvfile
from ..http import NotFound
from ..selectors.statistics import chart_data, counted_params
from ..statistics import charts, counts, navigator, rollups

UNKNOWN_CHART = "There is no chart of that name."
MEMBERS_CHART = "This chart is available to members."
LAYER_CHART = "attack-matrix"


@require_safe
def statistics(request):
    member = is_member(request.user)
    filterset = filters.for_viewer(request.GET, request.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        body = caching.render_shared(
            "incidents/statistics/_body.html", _form_context(filterset, member), invalid=True
        )
        return render(
            request, "incidents/statistics/statistics.html", {"body_html": body}, status=400
        )
    params = counted_params(filterset)
    query = filters.encode(params)
    page = caching.ViewerPage(request, "statistics", [query])
    if page.html is not None:
        return page.response()
    return page.render_for(
        "incidents/statistics/statistics.html",
        caching.audience(request.user),
        partial(page_context, request.user, params, member=member),
    )


def page_context(user, params, *, member):
    """The page's context (the form and the charts, rendered from the canonical parameters
    alone) and how long it may be cached."""
    counted = chart_data(user, params)
    query = filters.encode(params)
    context = _form_context(filters.for_viewer(params, user, member=member), member)
    if counted.recounting:
        context.update({"query": query, "filtered": bool(params), "recounting": rollups.RECOUNTING})
        body = caching.render_shared("incidents/statistics/_body.html", context)
        return {"body_html": body, "retry_after": counted.retry_after}, counted.timeout
    data = counted.charts

    def shown(names):
        return chart_contexts(data, names, query)

    context.update(
        {
            "query": query,
            "filtered": bool(params),
            "total": sum(row.values[0] for row in data["years"].rows),
            "public_charts": shown(counts.PUBLIC_CHARTS),
            "member_charts": shown(counts.MEMBER_CHARTS) if member else [],
            "locked_charts": [] if member else list(counts.MEMBER_CHARTS.values()),
        }
    )
    body = caching.render_shared("incidents/statistics/_body.html", context)
    return {"body_html": body, "retry_after": None}, counted.timeout


def recounting_response() -> HttpResponse:
    """A download (a chart's CSV, a Navigator layer) whose counts the queue is recounting:
    never the previous ones."""
    response = HttpResponse(f"{rollups.RECOUNTING}\n", content_type="text/plain; charset=utf-8")
    return caching.unavailable(response, rollups.RETRY_AFTER)


def _with_query(url, query):
    return f"{url}?{query}" if query else url


def chart_contexts(data, names, query):
    """What _chart.html draws for each of ``names`` that ``data`` holds, in that order."""
    finder_url = reverse("incidents:incident_list")
    return [_chart_context(data[n], finder_url, query) for n in names if n in data]


def _chart_context(chart, finder_url, query):
    layer_url = ""
    if chart.name == LAYER_CHART:
        layer_url = _with_query(reverse("incidents:statistics_layer"), query)
    return {
        "chart": chart,
        "drawing": charts.drawing(chart, finder_url) if not chart.empty else None,
        "csv_url": _with_query(reverse("incidents:statistics_csv", args=[chart.name]), query),
        "layer_url": layer_url,
        "finder_url": finder_url,
    }


def _form_context(filterset, member):
    return {
        **filters.fields_context(filterset, member),
        "statistics_url": reverse("incidents:statistics"),
    }


@require_safe
def statistics_csv(request, chart):
    if chart not in counts.PUBLIC_CHARTS and chart not in counts.MEMBER_CHARTS:
        raise NotFound(UNKNOWN_CHART)
    member = is_member(request.user)
    if chart in counts.MEMBER_CHARTS and not member:
        raise NotFound(MEMBERS_CHART)
    filterset = filters.for_viewer(request.GET, request.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponse(
            "Some filters are not valid.\n", status=400, content_type="text/plain; charset=utf-8"
        )
    counted = chart_data(request.user, counted_params(filterset))
    if counted.recounting:
        return recounting_response()
    data = counted.charts[chart]
    body = "".join(csvfile.lines(data.csv_rows()))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statistics-{chart}.csv"'
    return response


@require_safe
def statistics_layer(request):
    """The ATT&CK matrix of the filtered incidents as an ATT&CK Navigator layer (format 4.5)."""
    member = is_member(request.user)
    if not member:
        raise NotFound(MEMBERS_CHART)
    filterset = filters.for_viewer(request.GET, request.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponse(
            "Some filters are not valid.\n", status=400, content_type="text/plain; charset=utf-8"
        )
    params = counted_params(filterset)
    counted = chart_data(request.user, params)
    if counted.recounting:
        return recounting_response()
    chart = counted.charts[LAYER_CHART]
    layer = navigator.statistics_layer(chart, params, version=navigator.attack_version())
    return layer_response(layer, "statistics-attack-layer.json")


def layer_response(layer: dict, filename: str) -> HttpResponse:
    """A Navigator layer as a JSON download."""
    response = HttpResponse(
        json.dumps(layer, indent=1, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
