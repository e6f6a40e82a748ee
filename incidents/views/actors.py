"""Threat actor pages: the list (natural order, search, paging), an actor's profile, and its
ATT&CK Navigator layer.

Anyone sees an actor's name, its number of known incidents (and may sort and filter the list
by it) and, for an ATT&CK group, its ATT&CK ID, MITRE's page and ATT&CK's description, and
whether each members' field holds a value (presenters.gates). Members also see its type and
location with their sources, aliases, a description staff wrote, the techniques its
incidents used beside the techniques and software ATT&CK relates to it, and its incidents.
"""

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import filters, presenters
from ..http import NotFound
from ..models import Incident, ThreatActor
from ..search import clean_query
from ..selectors.actors import get_actor_for_viewer, techniques_of_incidents
from ..statistics import navigator
from .pages import MEMBERS_LAYER, page_number, page_of, paginate, timeline_context
from .statistics import layer_response

ACTORS_PER_PAGE = 50


def actor_search(actors, text: str, *, member: bool):
    """Actors whose name (or public ATT&CK ID) contains ``text``; members' search also reads
    aliases and the ATT&CK IDs staff set, which are for members only."""
    if not text:
        return actors
    found = Q(name__icontains=text) | Q(public_attack_id__iexact=text)
    if member:
        found |= Q(aliases__icontains=text) | Q(attack_id__iexact=text)
    return actors.filter(found)


# ?sort=: the order of the list. An actor's number of known incidents is public (DESIGN.md),
# so anyone may sort and filter by it.
ACTOR_SORTS = {"name": "Name", "incidents": "Most incidents"}


def actor_order(rows, sort: str):
    """(is_unattributed, name, pk, incident_count) rows in the list's order: named actors
    before unattributed categories, then by name read naturally (APT3 before APT29), or by
    incident count, most first. Sorted here, not by the database: SQLite and PostgreSQL have
    no shared natural order."""

    def by_name(row):
        return (row[0], presenters.natural_key(row[1]), row[2])

    if sort == "incidents":
        return sorted(rows, key=lambda row: (row[0], -row[3], *by_name(row)[1:]))
    return sorted(rows, key=by_name)


@require_safe
def actor_list(request):
    member = is_member(request.user)
    query = clean_query(request.GET.get("q", ""))
    sort = request.GET.get("sort", "")
    sort = sort if sort in ACTOR_SORTS else "name"
    with_incidents = request.GET.get("with_incidents", "") == "1"
    actors = actor_search(
        ThreatActor.objects.visible_to(request.user)
        .with_public_attack_profile()
        .with_incident_counts(),
        query,
        member=member,
    )
    if with_incidents:
        actors = actors.filter(incident_count__gt=0)
    # One narrow query (pk, name, count) for the whole list, then the page's rows.
    order = actor_order(actors.values_list("is_unattributed", "name", "pk", "incident_count"), sort)
    page = page_of(Paginator([row[2] for row in order], ACTORS_PER_PAGE), page_number(request))
    rows = (
        actors.filter(pk__in=list(page))
        .only("name", "slug", "is_unattributed", "attack_id", "dataset")
        .in_bulk()
    )
    params = {"q": query, "sort": "" if sort == "name" else sort}
    params["with_incidents"] = "1" if with_incidents else ""
    return render(
        request,
        "incidents/actor_list.html",
        {
            "page": page,
            "actors": [presenters.actor_public(rows[pk]) for pk in page],
            "query": query,
            "sort": sort,
            "sorts": ACTOR_SORTS,
            "with_incidents": with_incidents,
            "page_query": filters.encode(params),
            "viewer_is_member": member,
        },
    )


@require_safe
def actor_detail(request, slug):
    member = is_member(request.user)
    actor = get_actor_for_viewer(request.user, slug, member=member)
    context = {"actor": presenters.actor_public(actor), "gated": None}
    if member:
        # Which incidents an actor is linked to is gated: built for members only.
        linked = Incident.objects.visible_to(request.user).filter(threat_actors=actor)
        page = paginate(request, linked.for_public_list().newest_first())
        context.update(
            gated=presenters.actor_gated(actor, techniques_of_incidents(linked)),
            page=page,
            rows=[presenters.incident_row(i) for i in page],
            timeline=timeline_context(linked, title="victim", finder_params={"actor": actor.slug}),
        )
    return render(request, "incidents/actor_detail.html", context)


@require_safe
def actor_layer(request, slug):
    """Members: the techniques ATT&CK relates to the actor, as an ATT&CK Navigator layer."""
    if not is_member(request.user):
        raise NotFound(MEMBERS_LAYER)
    actor = get_actor_for_viewer(request.user, slug, member=True)
    layer = navigator.used_layer(
        f"{actor.name} ({actor.attack_id})" if actor.attack_id else actor.name,
        f"The ATT&CK techniques MITRE ATT&CK relates to the threat actor {actor.name} "
        f"({actor.get_absolute_url()} on the Cyber Incident Portal).",
        actor.techniques.all(),
        f"Used by {actor.name}",
        version=navigator.attack_version(),
    )
    return layer_response(layer, f"actor-{actor.slug}-attack-layer.json")
