"""Incident and organisation pages (threat actors: views.actors; browse and hubs: views.hubs)."""

from functools import partial

from django import forms
from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import caching, filters, presenters, search
from ..http import INVALID_PAGE, NotFound
from ..models import Incident
from ..selectors.incidents import get_incident_for_viewer
from ..selectors.organisations import (
    get_organisation_for_viewer,
    merged_organisation_url,
    organisations_for_viewer,
)
from ..statistics import navigator, timelines
from .statistics import layer_response

MAX_PAGE_PARAM_LENGTH = 12
MEMBERS_LAYER = "ATT&CK Navigator layers are available to members."


def page_number(request) -> int:
    """The ``page`` parameter as a number; a clear 404 for anything that is not one."""
    raw = request.GET.get("page", "1")
    if len(raw) > MAX_PAGE_PARAM_LENGTH or not (raw.isascii() and raw.isdigit()):
        raise NotFound(INVALID_PAGE)
    return int(raw)


def page_of(paginator, number):
    """Page ``number`` (page 1 of an empty list exists); a clear 404 past the end."""
    try:
        return paginator.page(number)
    except EmptyPage as exc:
        raise NotFound(f"This list has {paginator.num_pages} page(s).") from exc


def paginate(request, queryset, per_page=None):
    """The requested page of ``queryset``; a clear 404 for a page that does not exist."""
    paginator = Paginator(queryset, per_page or settings.PORTAL_PAGE_SIZE)
    return page_of(paginator, page_number(request))


@require_safe
def incident_detail(request, slug):
    page = caching.ViewerPage(request, "incident", [slug])
    if page.html is not None:
        return page.response()
    signed_in = request.user.is_authenticated
    viewer_audience = caching.audience(request.user)
    body = partial(incident_body, request.user, slug, signed_in=signed_in)
    if page.shared:
        # An anonymous visitor: the whole page is what is kept, and nobody else reads
        # this body (a signed-in viewer's differs by its links to sign in).
        return page.render(TEMPLATE, body())
    if viewer_audience == "staff":
        # The edit link depends on each staff member's permissions: rendered per request.
        return page.render(TEMPLATE, caching.cached("incident", viewer_audience, [slug], body))
    # Signed-in viewers of one audience share the page around their own header.
    return page.render_for(TEMPLATE, viewer_audience, lambda: (body(), caching.PAGE_TIMEOUT))


TEMPLATE = "incidents/incident_detail.html"


def incident_body(user, slug, *, signed_in):
    """The incident page's title, description and article, as ``user``'s audience sees it."""
    member = is_member(user)
    incident = get_incident_for_viewer(user, slug, member=member, records=True)
    # A placeholder victim ("Unidentified organisation (Canada)") has no other incidents:
    # the ones filed under it have nothing in common.
    related = (
        Incident.objects.none()
        if incident.organisation.is_placeholder
        else Incident.objects.visible_to(user)
        .filter(organisation_id=incident.organisation_id)
        .exclude(pk=incident.pk)
        .for_public_list()
        .newest_first()[:10]
    )
    public = presenters.incident_public(incident)
    # The page's <title> names the incident (victim and date); the visible heading and the
    # citation keep the catalogue's wording ("Cyber Incident Victim: ...").
    title = f"{public.organisation.name} ({public.date_display})"
    heading = f"Cyber Incident Victim: {title}"
    context = {
        "incident": public,
        "gated": presenters.incident_gated(incident) if member else None,
        "related_rows": [presenters.incident_row(i) for i in related],
        "next_path": incident.get_absolute_url(),
        "citation": presenters.citation(public, heading, settings.SITE_URL),
    }
    return {
        "title": title,
        "description": Truncator(public.summary).chars(300),
        # Shown (by the page, with the request) only to staff who may change incidents.
        "admin_url": reverse("admin:incidents_incident_change", args=[incident.pk]),
        "article": caching.render_shared(
            "incidents/includes/_incident_article.html", context, signed_in=signed_in
        ),
    }


@require_safe
def incident_layer(request, slug):
    """Members: the incident's techniques as an ATT&CK Navigator layer."""
    if not is_member(request.user):
        raise NotFound(MEMBERS_LAYER)
    incident = get_incident_for_viewer(request.user, slug, member=True)
    links = incident.technique_list()
    layer = navigator.used_layer(
        f"Cyber Incident Portal: {incident.organisation.name} ({incident.slug})",
        f"The ATT&CK techniques of the incident {incident.get_absolute_url()} "
        "(Cyber Incident Portal), each under its tactics; a comment says which were "
        "derived from VERIS through the mapping rather than reported.",
        [link.technique for link in links],
        "Used in this incident",
        version=navigator.attack_version(),
        comments={
            link.technique.attack_id: "Used in this incident, "
            + presenters.derived_text(True, link.derived_from_list)
            for link in links
            if link.is_derived
        },
    )
    return layer_response(layer, f"incident-{incident.slug}-attack-layer.json")


LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]


ORGANISATION_SORTS = {"name": ("name",), "incidents": ("-incident_count", "name")}


class OrganisationSearchForm(forms.Form):
    q = forms.CharField(label="Name", required=False)
    sort = forms.ChoiceField(
        label="Sort",
        required=False,
        choices=[("", "A–Z"), ("incidents", "Most incidents")],
    )


@require_safe
def organisation_list(request):
    """Victim organisations A-Z, one letter at a time ("#" for names not starting A-Z),
    searched by name, or sorted by their number of incidents (public, per viewer)."""
    letter = request.GET.get("letter", "")
    if letter and letter not in LETTERS and letter != "#":
        raise NotFound("There is no such letter in the index.")
    form = OrganisationSearchForm(request.GET)
    if not form.is_valid():
        raise NotFound("This list has no such order.")
    text, sort = search.clean_query(form.cleaned_data["q"]), form.cleaned_data["sort"] or "name"
    organisations = organisations_for_viewer(request.user).order_by(*ORGANISATION_SORTS[sort])
    if letter == "#":
        organisations = organisations.exclude(name__iregex=r"^[a-z]")
    elif letter:
        organisations = organisations.filter(name__istartswith=letter)
    if text:
        organisations = organisations.named(text)
    page = paginate(request, organisations, per_page=50)
    return render(
        request,
        "incidents/organisation_list.html",
        {
            "page": page,
            "form": form,
            "organisations": [presenters.organisation_view(o) for o in page],
            "letters": [*LETTERS, "#"],
            "letter": letter,
            "text": text,
            "sort": sort,
            "letter_query": filters.encode({"q": text, "sort": form.cleaned_data["sort"]}),
            "page_query": filters.encode(
                {"letter": letter, "q": text, "sort": form.cleaned_data["sort"]}
            ),
        },
    )


@require_safe
def organisation_detail(request, slug):
    try:
        organisation = get_organisation_for_viewer(request.user, slug)
    except Http404:
        if target := merged_organisation_url(request.user, slug):
            return redirect(target, permanent=True)
        raise
    visible = Incident.objects.visible_to(request.user).filter(organisation=organisation)
    page = paginate(request, visible.for_public_list().newest_first())
    # A recurring victim's incidents on a time axis (public fields only).
    timeline = None
    if organisation.incident_count >= timelines.MIN_INCIDENTS:
        timeline = timeline_context(
            visible, title="summary", finder_params={"organisation": organisation.slug}
        )
    return render(
        request,
        "incidents/organisation_detail.html",
        {
            "organisation": presenters.organisation_view(
                organisation, organisation.aliases.values_list("name", flat=True)
            ),
            "admin_url": reverse("admin:incidents_organisation_change", args=[organisation.pk]),
            "page": page,
            "rows": [presenters.incident_row(i) for i in page],
            "timeline": timeline,
        },
    )


def timeline_context(incidents, *, title, finder_params):
    """What _timeline.html draws of ``incidents`` (already what the viewer may see); None
    when there are fewer than two to place on a time axis."""
    timeline = timelines.build(incidents, title=title, finder_params=finder_params)
    if timeline.total < timelines.MIN_INCIDENTS:
        return None
    drawing = timelines.drawing(timeline, reverse("incidents:incident_list"))
    return {"timeline": timeline, "drawing": drawing}
