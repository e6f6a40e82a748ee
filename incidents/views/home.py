"""The home page and the data sources page."""

from functools import partial

from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .. import browse, caching, presenters
from ..exports import snapshot
from ..models import Dataset, Incident, IncidentRecord, Organisation, ThreatActor


@require_safe
def home(request):
    page = caching.WholePage(request, "home", [])
    if page.html is not None:
        return page.response()
    # Whole-catalogue counts: computed once per audience until the catalogue changes.
    context = caching.cached(
        "home", caching.audience(request.user), [], partial(home_context, request.user)
    )
    return page.render("incidents/home.html", context)


def home_context(user):
    latest = Incident.objects.visible_to(user).for_public_list().newest_first()[:6]
    return {
        "latest_rows": [presenters.incident_row(i) for i in latest],
        # The catalogue's public size, the same for every audience.
        "incident_count": Incident.objects.published().count(),
        "organisation_count": Organisation.objects.visible_to(None).count(),
        "actor_count": ThreatActor.objects.visible_to(user).count(),
        # Public facts, the same for every audience (incidents.browse).
        "types": browse.by_type(),
    }


@require_safe
def data_sources(request):
    """Where the catalogue's imported data comes from, its release and its licence; and the
    whole public catalogue as one file per format (the newest servable one, if written)."""
    # Published incidents each dataset made, and those another dataset made that it also
    # reported (an HHS case joined to the VCDB incident of the same event).
    joined = (
        IncidentRecord.objects.filter(
            dataset=OuterRef("pk"), incident__status=Incident.Status.PUBLISHED
        )
        .exclude(incident__dataset=OuterRef("pk"))
        .order_by()
        .values("dataset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    datasets = Dataset.objects.annotate(
        incident_count=Count("incidents", filter=Q(incidents__status=Incident.Status.PUBLISHED)),
        joined_count=Coalesce(Subquery(joined), Value(0)),
    )
    files = [(fmt.upper(), fmt, snapshot.servable(fmt)) for fmt in snapshot.FORMATS]
    return render(
        request, "incidents/data_sources.html", {"datasets": datasets, "snapshots": files}
    )
