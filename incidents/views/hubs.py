"""Hub pages: one per victim country, sector, incident type and year, and per ATT&CK tactic
and technique.

A country, sector, incident type or year hub is the statistics page for one public filter
(its charts are counted by incidents.selectors.statistics.chart_data, cached per audience
and shared with /statistics/?country=FR) with the latest incidents under it. A tactic or technique
hub shows ATT&CK's own public knowledge to everyone; what the catalogue's incidents say
about it is a filter over a gated value, so it is counted and shown for members only.
"""

from functools import partial

from django.db.models import Prefetch
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import browse, caching, filters, presenters
from ..http import NotFound
from ..markup import render_markdown
from ..models import IncidentType, Sector, Technique
from ..selectors.attack import tactics_for, techniques_for
from ..selectors.statistics import chart_data
from ..statistics import counts, rollups
from .statistics import chart_contexts

LATEST = 10
NO_HUB = "There is no hub page for that {}."
MEMBER_CHARTS = (
    "motives",
    "actor-types",
    "motives-by-year",
    "techniques",
    "tactics",
    "actor-countries",
    "cia",
    "actor-type-sector",
)
NOTHING_COUNTED = rollups.Counted({}, fresh=True)  # a non-member's ATT&CK hub counts nothing
# A tactic's or technique's incidents, for members: over time, by sector and actor type.
ATTACK_MEMBER_CHARTS = ("years", "sectors", "actor-types", "motives", "countries")


# The public charts of each hub, by the finder's parameter it fixes.
FACETS = {
    "country": ("years", "months", "sectors", "types", "records-total", "victims"),
    "sector": ("years", "months", "countries", "types", "records-total", "victims"),
    "type": ("years", "months", "sectors", "countries", "types", "records-total", "victims"),
    "year": ("months", "countries", "sectors", "types", "records-total", "victims"),
}


# The index of hubs (/browse/) and the long tail of countries.


@require_safe
def browse_index(request):
    top, country_total = browse.top_countries()
    return caching_page(
        request,
        "browse",
        [],
        "incidents/hubs/browse.html",
        lambda: {
            "countries": top,
            "country_total": country_total,
            "sectors": browse.by_sector(),
            "decades": browse.years_by_decade(),
            "types": browse.by_type(),
        },
    )


@require_safe
def browse_countries(request):
    return caching_page(
        request,
        "browse-countries",
        [],
        "incidents/hubs/countries.html",
        lambda: {"groups": browse.countries_by_letter()},
    )


def caching_page(request, kind, parts, template, context):
    """A page of public facts only: the same for every viewer, whole for visitors."""
    page = caching.WholePage(request, kind, parts)
    if page.html is not None:
        return page.response()
    return page.render(template, context())


# Country, sector and year hubs.


@require_safe
def country_hub(request, code):
    if code != code.upper():
        return redirect("incidents:country_hub", code.upper(), permanent=True)
    return facet_hub(request, "country", code)


@require_safe
def sector_hub(request, slug):
    return facet_hub(request, "sector", slug)


@require_safe
def type_hub(request, slug):
    return facet_hub(request, "type", slug)


@require_safe
def year_hub(request, year):
    return facet_hub(request, "year", str(year))


def facet_hub(request, kind, value):
    return audience_page(
        request,
        f"hub-{kind}",
        [value],
        "incidents/hubs/facet.html",
        lambda user, member: facet_hub_body(user, kind, value, member=member),
    )


def audience_page(request, kind, parts, template, body):
    """A page counted per audience: whole for visitors; otherwise the page of the
    viewer's audience with their header (caching.ViewerPage), from ``body(user,
    member)`` as (context, how long it may be kept), cached per audience."""
    page = caching.ViewerPage(request, kind, parts)
    if page.html is not None:
        return page.response()
    member = is_member(request.user)
    return page.render_for(
        template, caching.audience(request.user), partial(body, request.user, member)
    )


def facet_hub_body(user, kind, value, *, member):
    filterset = filters.for_viewer({kind: value}, user, member=member)
    if not filterset.is_valid() or not _has_hub(kind, value):
        raise NotFound(NO_HUB.format(kind))
    params = filters.canonical_params(filterset)
    title = _facet_title(kind, value)
    counted = chart_data(user, params)
    data = counted.charts
    query = filters.encode(params)
    latest = filterset.qs.for_public_list().newest_first()[:LATEST]
    context = {
        "kind": kind,
        "title": title,
        "description": _facet_description(kind, value),
        "query": query,
        "latest_rows": [presenters.incident_row(i) for i in latest],
    }
    if counted.recounting:
        context["recounting"] = rollups.RECOUNTING
    else:
        context.update(
            {
                "total": sum(row.values[0] for row in data["years"].rows),
                "public_charts": chart_contexts(data, FACETS[kind], query),
                "member_charts": chart_contexts(data, MEMBER_CHARTS, query) if member else [],
                "locked_charts": [] if member else [counts.MEMBER_CHARTS[n] for n in MEMBER_CHARTS],
            }
        )
    body = caching.render_shared("incidents/hubs/_facet_body.html", context)
    return {"title": title, "body_html": body, "retry_after": counted.retry_after}, counted.timeout


def _has_hub(kind, value) -> bool:
    if kind == "country":
        return browse.country_count(value) > 0
    if kind == "year":
        return any(str(year) == value for year, _n in browse.by_year())
    return True  # every sector and incident type of the taxonomy (public) has its hub


def _facet_title(kind, value) -> str:
    if kind == "country":
        return next(name for code, name, _n in browse.by_country() if code == value)
    if kind == "sector":
        return Sector.objects.get(slug=value).name
    if kind == "type":
        return IncidentType.objects.get(slug=value).name
    return value


def _facet_description(kind, value) -> str:
    if kind == "type":
        return IncidentType.objects.values_list("description", flat=True).get(slug=value)
    return ""


# ATT&CK: the matrix of tactics and techniques, and a hub for each.


@require_safe
def attack_index(request):
    page = caching.WholePage(request, "attack-index", [])
    if page.html is not None:
        return page.response()
    member = is_member(request.user)
    context = caching.cached(
        "attack-index",
        caching.audience(request.user),
        [],
        partial(attack_index_body, member=member),
    )
    return page.render("incidents/hubs/attack_index.html", context)


def attack_index_body(*, member):
    # Under a tactic the viewer has a hub for, a technique has its hub unless retired.
    techniques = Technique.objects.all() if member else Technique.objects.taggable()
    techniques = techniques.filter(parent=None).only("attack_id", "name")
    tactics = tactics_for(member).prefetch_related(
        Prefetch("techniques", queryset=techniques.order_by("name"), to_attr="listed")
    )
    return {"tactics": [(t, t.listed) for t in tactics]}


@require_safe
def tactic_hub(request, shortname):
    return audience_page(
        request,
        "hub-tactic",
        [shortname],
        "incidents/hubs/attack_hub.html",
        lambda user, member: tactic_hub_body(user, shortname, member=member),
    )


def tactic_hub_body(user, shortname, *, member):
    tactic = tactics_for(member).filter(shortname=shortname).first()
    if tactic is None:
        raise NotFound(NO_HUB.format("tactic"))
    techniques = techniques_for(member).filter(tactics=tactic, parent=None).order_by("name")
    context = {
        "kind": "tactic",
        "entry": tactic,
        "description": render_markdown(tactic.description),
        "techniques": list(techniques.only("attack_id", "name")),
    }
    members_part, counted = _attack_members_part(user, {"tactic": tactic.shortname}, member)
    context.update(members_part)
    body = caching.render_shared("incidents/hubs/_attack_body.html", context)
    return {
        "title": f"{tactic.name} ({tactic.attack_id}), an ATT&CK tactic",
        "body_html": body,
        "retry_after": counted.retry_after,
    }, counted.timeout


@require_safe
def technique_hub(request, attack_id):
    return audience_page(
        request,
        "hub-technique",
        [attack_id],
        "incidents/hubs/attack_hub.html",
        lambda user, member: technique_hub_body(user, attack_id, member=member),
    )


def technique_hub_body(user, attack_id, *, member):
    visible = techniques_for(member)
    technique = visible.filter(attack_id=attack_id).select_related("parent").first()
    if technique is None:
        raise NotFound(NO_HUB.format("technique"))
    context = {
        "kind": "technique",
        "entry": technique,
        "description": render_markdown(technique.description),
        "parent": technique.parent if technique.parent_id else None,
        "tactics": list(tactics_for(member).filter(techniques=technique)),
        "techniques": list(visible.filter(parent=technique).only("attack_id", "name")),
    }
    members_part, counted = _attack_members_part(user, {"technique": attack_id}, member)
    context.update(members_part)
    body = caching.render_shared("incidents/hubs/_attack_body.html", context)
    title = f"{technique.attack_id} {technique.name}, an ATT&CK technique"
    return {"title": title, "body_html": body, "retry_after": counted.retry_after}, counted.timeout


def _attack_members_part(user, params, member):
    """The incidents using a tactic or technique, counted and listed for members only;
    and what they were counted from (rollups.Counted: how long the page may be cached)."""
    if not member:
        return {"member": False}, NOTHING_COUNTED
    filterset = filters.for_viewer(params, user, member=True)
    params = filters.canonical_params(filterset)
    counted = chart_data(user, params)
    data = counted.charts
    query = filters.encode(params)
    latest = filterset.qs.for_public_list().newest_first()[:LATEST]
    part = {
        "member": True,
        "query": query,
        "latest_rows": [presenters.incident_row(i) for i in latest],
        "finder_url": reverse("incidents:incident_list"),
    }
    if counted.recounting:
        part["recounting"] = rollups.RECOUNTING
    else:
        part["total"] = sum(row.values[0] for row in data["years"].rows)
        part["member_charts"] = chart_contexts(data, ATTACK_MEMBER_CHARTS, query)
    return part, counted
