"""The catalogue's read-only endpoints (docs/api.md).

Each one asks accounts.access whether the caller (a token's owner, or a visitor) is a
member now, then selects with the same queryset verbs, FilterSets and presenters as the
pages: non-members get the public presentation only, members' fields are built only
after ``is_member`` said yes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from urllib.parse import urlencode

from django.db.models import Q
from django.http import HttpResponse
from ninja import Query, Router, Status
from ninja.renderers import JSONRenderer

from accounts.access import is_member, sees_drafts

from .. import browse, caching, filters, presenters, search
from ..exports import records
from ..models import IncidentType, Technique
from ..selectors.actors import actors_for_viewer, get_actor_for_viewer
from ..selectors.incidents import COUNT_CAP, CURSOR_SORTS, get_incident_for_viewer
from ..selectors.organisations import get_organisation_for_viewer, organisations_for_viewer
from ..selectors.statistics import chart_data, counted_params
from ..statistics import rollups
from . import schemas
from .headers import finish

router = Router()
ERRORS = {400: schemas.Error, 401: schemas.Error, 429: schemas.Error}
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# "after:<date>.<pk>": a keyset seek (newest and oldest first); "offset:<n>": a position
# (other orders and lists), no deeper than the finder counts.
CURSOR_RE = re.compile(r"^(?:after:(\d{4}-\d{2}-\d{2})\.(\d{1,18})|offset:(\d{1,6}))$")
NOT_FINDER_PARAMS = ("cursor", "limit")


class Unavailable(Exception):
    """A 503 with ``Retry-After``: what was asked for cannot be given just now."""

    def __init__(self, detail, retry_after):
        super().__init__(detail)
        self.detail, self.retry_after = detail, retry_after


class BadRequest(Exception):
    def __init__(self, detail, errors=None):
        super().__init__(detail)
        self.detail, self.errors = detail, errors


def _audience(member: bool) -> str:
    return "member" if member else "public"


def _base_url(request) -> str:
    return request.build_absolute_uri("/")[:-1]


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def _cursor(cursor: str | None):
    """(date, pk) for a keyset cursor, an int for a position, None for the first page."""
    if cursor is None:
        return None
    match = CURSOR_RE.match(cursor)
    if match is None:
        raise BadRequest("cursor not valid: pass on the next_cursor of a previous page.")
    if match[3] is not None:
        offset = int(match[3])
        if offset > COUNT_CAP:
            raise BadRequest(
                f"cursor too deep: positions stop at {COUNT_CAP:,}; sort by newest or oldest "
                "to go further."
            )
        return offset
    try:
        return (datetime.date.fromisoformat(match[1]), int(match[2]))
    except ValueError as exc:
        raise BadRequest("cursor not valid: pass on the next_cursor of a previous page.") from exc


def _page(request, queryset, cursor, limit, *, sort=None):
    """The rows of one page and the next page's cursor and URL."""
    position = _cursor(cursor)
    if isinstance(position, tuple):
        if sort not in CURSOR_SORTS:
            raise BadRequest("cursor not valid for this order.")
        date, pk = position
        # The bound on date alone is implied by the seek, but it is what lets PostgreSQL
        # start the index scan at the cursor rather than walk (and drop) every row before it.
        if sort == "newest":
            queryset = queryset.filter(
                Q(date__lte=date), Q(date__lt=date) | Q(date=date, pk__lt=pk)
            )
        else:
            queryset = queryset.filter(
                Q(date__gte=date), Q(date__gt=date) | Q(date=date, pk__gt=pk)
            )
        offset = 0
    else:
        offset = position or 0
    rows = list(queryset[offset : offset + limit + 1])
    has_next, rows = len(rows) > limit, rows[:limit]
    next_cursor = None
    if has_next and sort in CURSOR_SORTS:
        next_cursor = f"after:{rows[-1].date.isoformat()}.{rows[-1].pk}"
    elif has_next and offset + limit <= COUNT_CAP:
        next_cursor = f"offset:{offset + limit}"
    next_url = None
    if next_cursor:
        query = request.GET.copy()
        query["cursor"] = next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(sorted(query.items()))}")
    return rows, {"next_cursor": next_cursor, "next": next_url}


def _finder(request, member):
    """The caller's audience's FilterSet over the finder's parameters; a 400 if invalid."""
    data = request.GET.copy()
    for name in NOT_FINDER_PARAMS:
        data.pop(name, None)
    filterset = filters.for_viewer(data, request.auth.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        errors = {name: [str(e) for e in errs] for name, errs in filterset.form.errors.items()}
        raise BadRequest("Filters not valid.", errors)
    return filterset


def _conditional(request, data):
    """``data``, or a 304 when the caller's If-None-Match holds its ETag."""
    body = json.dumps(data, sort_keys=True, default=str).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
    request.api_etag = etag  # set on the response by headers.finish
    header = request.headers.get("If-None-Match", "")
    wanted = [t.strip().removeprefix("W/") for t in header.split(",")]
    if etag in wanted or "*" in wanted:
        return finish(request, HttpResponse(status=304))
    return data


@router.get(
    "/incidents",
    response={200: schemas.IncidentPage, **ERRORS},
    exclude_unset=True,
    operation_id="list_incidents",
    summary="Incidents: the finder's filters and search, cursor pagination",
)
def list_incidents(
    request,
    params: Query[schemas.FinderParams],
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
):
    # One page's JSON is built once per audience, URL and catalogue version, then served
    # from the "pages" cache (incidents.caching) to every caller of that audience: the
    # audience is decided at each request (a lapsed member's token reads as "public"), and
    # only the body is shared; the headers (private, Vary, the rate limit) are each
    # request's. The key holds the whole query as sent (not only the canonical filters):
    # the body's ``next`` URL repeats it. (A comment, not a docstring: django-ninja would
    # publish a docstring in the OpenAPI schema.)
    user = request.auth.user
    member = is_member(user)
    limit = _limit(limit)
    viewer_audience = _audience(member)
    if sees_drafts(user):  # staff see drafts: never the same rows as anyone else
        viewer_audience = f"staff-{viewer_audience}"
    parts = (_base_url(request), request.path, sorted(request.GET.lists()))
    body = caching.cached(
        "api-incidents",
        viewer_audience,
        parts,
        lambda: _incident_page_body(request, member, cursor, limit),
    )
    return finish(request, HttpResponse(body, content_type=_JSON.media_type + "; charset=utf-8"))


_JSON = JSONRenderer()  # django-ninja's own renderer (NinjaAPI's default)


def _incident_page_body(request, member, cursor, limit) -> bytes:
    """The JSON of one page of the list, as django-ninja would answer it: checked against
    ``schemas.IncidentPage`` and dumped with ``exclude_unset``; a 400 (BadRequest) is
    raised, never cached."""
    page = schemas.IncidentPage.model_validate(_incident_page(request, member, cursor, limit))
    context = {"request": request, "response_status": 200}
    data = page.model_dump(exclude_unset=True, context=context)
    return _JSON.render(request, data, response_status=200)


def _incident_page(request, member, cursor, limit) -> dict:
    incidents, applied, sort = filters.matching(_finder(request, member), member=member)
    # The page is chosen on the bare filtered rows (date and id), then only those rows are
    # read whole: with the record's joins, counts and prefetches in the same query,
    # PostgreSQL sorted every match before taking a page (seconds at 1,000,000 incidents).
    ordered = incidents.only("pk", "date").order_by(*filters.SORTS[sort])
    if sort == "relevance":
        ordered = search.ranked(ordered)
    chosen, links = _page(request, ordered, cursor, limit, sort=sort)
    rows = (
        incidents.for_export(member=member).order_by().in_bulk([incident.pk for incident in chosen])
    )
    make_record = records.member_record if member else records.public_record
    base_url = _base_url(request)
    return {
        "audience": _audience(member),
        "query": applied,
        "sort": sort,
        "results": [make_record(rows[incident.pk], base_url) for incident in chosen],
        **links,
    }


@router.get(
    "/incidents/{slug}",
    response={200: schemas.Incident, 304: None, 404: schemas.Error, **ERRORS},
    exclude_unset=True,
    operation_id="get_incident",
    summary="One incident (ETag: send If-None-Match for a 304)",
)
def get_incident(request, slug: str):
    user = request.auth.user
    member = is_member(user)
    incident = get_incident_for_viewer(user, slug, member=member)
    make_record = records.member_record if member else records.public_record
    return _conditional(request, make_record(incident, _base_url(request)))


def _organisation(org, base_url) -> dict:
    view = presenters.organisation_view(org)
    return {
        "name": view.name,
        "slug": view.slug,
        "url": base_url + view.url,
        "country": view.country.code if view.country else "",
        "sector": view.sector,
        "website": view.website,
        "incident_count": view.incident_count,
    }


@router.get(
    "/organisations",
    response={200: schemas.OrganisationPage, **ERRORS},
    operation_id="list_organisations",
    summary="Victim organisations, by name",
)
def list_organisations(request, cursor: str | None = None, limit: int = DEFAULT_LIMIT):
    user = request.auth.user
    organisations = organisations_for_viewer(user).order_by("name", "pk")
    rows, links = _page(request, organisations, cursor, _limit(limit))
    base_url = _base_url(request)
    return {"results": [_organisation(o, base_url) for o in rows], **links}


@router.get(
    "/organisations/{slug}",
    response={200: schemas.Organisation, 304: None, 404: schemas.Error, **ERRORS},
    operation_id="get_organisation",
    summary="One victim organisation (ETag)",
)
def get_organisation(request, slug: str):
    organisation = get_organisation_for_viewer(request.auth.user, slug)
    return _conditional(request, _organisation(organisation, _base_url(request)))


def _actor(actor, base_url, member) -> dict:
    public = presenters.actor_public(actor)
    data = {
        "name": public.name,
        "slug": public.slug,
        "url": base_url + public.url,
        "incident_count": public.incident_count,
        "is_unattributed": public.is_unattributed,
    }
    if public.attack_id:  # a group imported from ATT&CK: MITRE's public knowledge
        data["attack_id"] = public.attack_id
    if public.description_html:  # ATT&CK's description of it, as public as its ID
        data["description_html"] = str(public.description_html)
    if member:
        gated = presenters.actor_gated(actor)
        data.update(
            type=gated.actor_type,
            type_source=gated.actor_type_source,
            location=gated.country.code if gated.country else "",
            location_source=gated.country_source,
            aliases=list(gated.aliases),
            description_html=str(gated.description_html),
            attack_id=gated.attack_id,
            techniques=sorted(t.attack_id for t in actor.techniques.all()),
            software=[
                {"attack_id": s.attack_id, "name": s.name, "kind": s.kind, "url": s.url}
                for s in gated.software
            ],
        )
    return data


@router.get(
    "/threat-actors",
    response={200: schemas.ThreatActorPage, **ERRORS},
    exclude_unset=True,
    operation_id="list_threat_actors",
    summary="Threat actors: names and counts for everyone; type, location, aliases for members",
)
def list_threat_actors(request, cursor: str | None = None, limit: int = DEFAULT_LIMIT):
    user = request.auth.user
    member = is_member(user)
    actors = actors_for_viewer(user, member=member).order_by("is_unattributed", "name", "pk")
    rows, links = _page(request, actors, cursor, _limit(limit))
    base_url = _base_url(request)
    return {
        "audience": _audience(member),
        "results": [_actor(a, base_url, member) for a in rows],
        **links,
    }


@router.get(
    "/threat-actors/{slug}",
    response={200: schemas.ThreatActor, 304: None, 404: schemas.Error, **ERRORS},
    exclude_unset=True,
    operation_id="get_threat_actor",
    summary="One threat actor (ETag); its incidents: /incidents?actor=<slug> (members)",
)
def get_threat_actor(request, slug: str):
    user = request.auth.user
    member = is_member(user)
    actor = get_actor_for_viewer(user, slug, member=member)
    return _conditional(request, _actor(actor, _base_url(request), member))


@router.get(
    "/incident-types",
    response={200: schemas.IncidentTypeList, **ERRORS},
    operation_id="list_incident_types",
    summary="Incident types (public): filter incidents with ?type=<slug>",
)
def list_incident_types(request):
    counts = {slug: n for slug, _name, n in browse.by_type()}
    base_url = _base_url(request)
    results = [
        {
            "slug": t.slug,
            "name": t.name,
            "description": t.description,
            "url": base_url + t.get_absolute_url(),
            "incident_count": counts.get(t.slug, 0),
        }
        for t in IncidentType.objects.all()
    ]
    return {"results": results}


@router.get(
    "/techniques",
    response={200: schemas.TechniquePage, 403: schemas.Error, **ERRORS},
    operation_id="list_techniques",
    summary="ATT&CK techniques in the catalogue (members)",
)
def list_techniques(request, cursor: str | None = None, limit: int = DEFAULT_LIMIT):
    # Members only: which techniques the catalogue holds follows what editors linked
    # to incidents (a starter set), so the list itself would hint at gated links.
    if not is_member(request.auth.user):
        return Status(403, {"detail": "The techniques list is for members."})
    techniques = (
        Technique.objects.select_related("parent")
        .prefetch_related("tactics")
        .order_by("attack_id", "pk")
    )
    rows, links = _page(request, techniques, cursor, _limit(limit))
    results = [
        {
            "attack_id": t.attack_id,
            "name": t.name,
            "parent": t.parent.attack_id if t.parent_id else "",
            "tactics": sorted(tac.shortname for tac in t.tactics.all()),
            "url": t.url,
            "description": t.description,
        }
        for t in rows
    ]
    return {"results": results, **links}


@router.get(
    "/statistics",
    response={200: schemas.Statistics, 503: schemas.Error, **ERRORS},
    operation_id="get_statistics",
    summary="The statistics page's counts over the finder's filters",
)
def get_statistics(request, params: Query[schemas.FinderParams]):
    user = request.auth.user
    member = is_member(user)
    applied = counted_params(_finder(request, member))
    counted = chart_data(user, applied)
    if counted.recounting:
        raise Unavailable(rollups.RECOUNTING, counted.retry_after)
    data = counted.charts
    return {
        "audience": _audience(member),
        "query": applied,
        "total": sum(row.values[0] for row in data["years"].rows),
        "charts": [
            {
                "name": chart.name,
                "title": chart.title,
                "caption": chart.caption,
                "label_header": chart.label_header,
                "value_headers": list(chart.value_headers),
                "rows": [
                    {
                        "key": row.key,
                        "label": row.label,
                        "values": list(row.values),
                        "group_key": row.group_key,
                    }
                    for row in chart.rows
                ],
            }
            for chart in data.values()
        ],
    }
