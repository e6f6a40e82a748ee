"""The incident list: filters, search, sorting and pagination that hold up at a
million incidents.

- The rendered finder (form and results) is the same for every viewer of one
  audience and one canonical query, so it is cached per audience (incidents.caching).
- Counts are capped: at most COUNT_CAP matching rows are counted ("10,000+").
- Numbered pages stop with the count; the newest/oldest orders go deeper with a
  cursor (``?after=2014-03-01.123``), a keyset seek that costs the same at any depth.
"""

import datetime
import re
from functools import cached_property, partial

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import caching, filter_fields, filters, presenters, search
from ..http import INVALID_PAGE, NotFound
from ..models import Incident, SavedSearch
from ..selectors.incidents import COUNT_CAP, CURSOR_SORTS, applied_filters
from .exports import export_links
from .pages import page_number, page_of

CURSOR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(\d{1,18})$")


class CappedPaginator(Paginator):
    """A paginator that counts at most COUNT_CAP rows, of ``counted`` (the matching rows
    without the listing's ordering and annotations)."""

    def __init__(self, object_list, per_page, *, counted):
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def count(self):
        return self.counted[: COUNT_CAP + 1].count()

    @property
    def capped(self):
        return self.count > COUNT_CAP

    @cached_property
    def num_pages(self):
        return min(super().num_pages, COUNT_CAP // self.per_page)


@require_safe
def incident_list(request):
    """The catalogue, filtered, searched and sorted; members get their extra filters."""
    member = is_member(request.user)
    filterset = filters.for_viewer(request.GET, request.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        body = caching.render_shared(
            "incidents/includes/_finder.html", _form_context(filterset, member), invalid=True
        )
        return render(request, "incidents/incident_list.html", {"finder_html": body}, status=400)
    params = filters.canonical_params(filterset)
    sort = filters.sort_of(params)
    position = _position(request, sort)
    # A non-member who opened a link with members' filters is told so; whatever their
    # values, valid or not, the results are those without them.
    members_filters_ignored = not member and any(
        request.GET.get(name) for name in filters.MEMBER_ONLY_FILTERS
    )
    parts = [filters.encode(params), *position, f"ignored={members_filters_ignored}"]

    page = caching.WholePage(request, "finder", parts)
    if page.html is not None:
        return page.response()
    finder_html = caching.cached(
        "finder",
        caching.audience(request.user),
        parts,
        partial(render_finder, request.user, params, position, member=member),
        # A selection nobody counted before (members' joins over a million incidents) is
        # counted once, however many ask for it while it is.
        single_flight=True,
    )
    page_number = position[1] if position[0] == "page" else None
    return page.render(
        "incidents/incident_list.html",
        {
            "finder_html": finder_html,
            "members_filters_ignored": members_filters_ignored,
            "text": params.get("q", ""),
            "page_number": page_number,
            "exports": export_links(request, params, member=member),
            **follow_links(params, member=member),
        },
    )


def follow_links(params, *, member: bool) -> dict:
    """How to follow this search: members save it (alerts, a private feed); the public
    Atom feed of it when it uses public filters only."""
    public = [k for k in params if k not in filters.MEMBER_ONLY_FILTERS and k != "sort"]
    context = {
        "public_feed_query": None
        if len(public) < len([k for k in params if k != "sort"])
        else filters.encode({k: params[k] for k in public}),
    }
    if member:
        context["save_search"] = {
            "query": filters.encode(params),
            "name": (params.get("q") or "My search")[:100],
            "alert_choices": SavedSearch.Alerts.choices,
        }
    return context


def render_finder(user, params, position, *, member):
    """The finder (form and results), rendered from the canonical parameters alone, so the
    cached HTML is the same whichever equivalent query string first produced it."""
    filterset = filters.for_viewer(params, user, member=member)
    text = params.get("q", "")
    sort = filters.sort_of(params)
    context = _form_context(filterset, member)
    context["sort_options"] = sort_options(text, params.get("sort", ""))
    context.update(_results(filterset, params, text, sort, position, member))
    return caching.render_shared("incidents/includes/_finder.html", context)


def sort_options(text, chosen):
    """(value, label, selected) of the sort menu: the default order first, as the empty
    value, so that typing a search with the default still selected ranks by relevance;
    relevance only with a search."""
    default = filters.default_sort(text)
    labels = dict(filters.SORT_CHOICES)
    options = [("", labels[default], not chosen)]
    for value, label in filters.SORT_CHOICES:
        if value != default and (value != "relevance" or text):
            options.append((value, label, value == chosen))
    return options


def _position(request, sort):
    """("page", n) or ("after", cursor); a clear 404 for anything else."""
    after = request.GET.get("after")
    if after is not None:
        match = CURSOR_RE.match(after)
        if not match or sort not in CURSOR_SORTS:
            raise NotFound(INVALID_PAGE)
        try:
            datetime.date.fromisoformat(match[1])
        except ValueError as exc:
            raise NotFound(INVALID_PAGE) from exc
        return ("after", after)
    return ("page", page_number(request))


def _form_context(filterset, member):
    hidden_errors = (
        [(f.label, f.errors) for f in filterset.form.hidden_fields() if f.errors]
        if filterset.is_bound
        else []
    )
    return {
        **filters.fields_context(filterset, member),
        "technique_options": filter_fields.technique_choices() if member else [],
        "hidden_errors": hidden_errors,
        "list_url": reverse("incidents:incident_list"),
    }


def _results(filterset, params, text, sort, position, member):
    incidents = filterset.qs
    if text:
        incidents = search.search(incidents, text, member=member)
    counted = incidents
    listing = incidents.for_member_list() if member else incidents.for_public_list()
    incidents = listing.order_by(*filters.SORTS[sort])
    if sort == "relevance":
        incidents = search.ranked(incidents)
    page_size = settings.PORTAL_PAGE_SIZE
    paginator = CappedPaginator(incidents, page_size, counted=counted)
    if position[0] == "after":
        date_text, pk = CURSOR_RE.match(position[1]).groups()
        date, pk = datetime.date.fromisoformat(date_text), int(pk)
        # The bound on date alone is implied by the seek, but it lets PostgreSQL start the
        # index scan at the cursor instead of walking every row before it.
        if sort == "newest":
            seek = Q(date__lte=date) & (Q(date__lt=date) | Q(date=date, pk__lt=pk))
        else:
            seek = Q(date__gte=date) & (Q(date__gt=date) | Q(date=date, pk__gt=pk))
        rows = list(incidents.filter(seek)[: page_size + 1])
        has_next, rows = len(rows) > page_size, rows[:page_size]
        page = None
    else:
        page = page_of(paginator, position[1])
        rows = list(page.object_list)
        has_next = page.has_next() or (
            paginator.capped and page.number == paginator.num_pages and sort in CURSOR_SORTS
        )
    if text and search.is_postgres() and rows:
        snippets = dict(
            search.with_snippets(
                Incident.objects.filter(pk__in=[i.pk for i in rows]), text
            ).values_list("pk", "snippet")
        )
        for incident in rows:
            incident.snippet = snippets.get(incident.pk)
    next_query = None
    if has_next:
        if page is not None and page.has_next():
            next_query = filters.encode(params, page=page.next_page_number())
        elif sort in CURSOR_SORTS:
            last = rows[-1]
            next_query = filters.encode(params, after=f"{last.date.isoformat()}.{last.pk}")
    prev_query = None
    if page is not None and page.has_previous():
        prev_query = filters.encode(params, page=page.previous_page_number())
    return {
        "page": page,
        "count": min(paginator.count, COUNT_CAP),
        "count_capped": paginator.capped,
        "rows": [
            presenters.incident_member_row(i) if member else presenters.incident_row(i)
            for i in rows
        ],
        "applied": applied_filters(filterset, params),
        "filtered": any(k not in ("q", "sort") for k in params),
        "applied_count": sum(k not in ("q", "sort") for k in params),
        "next_query": next_query,
        "prev_query": prev_query,
        "cursor": position[1] if position[0] == "after" else "",
        "sort": sort,
        "text": text,
    }
