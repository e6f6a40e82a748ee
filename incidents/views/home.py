"""The home page and the data sources page."""

from functools import partial

from django.db.models import Count, Q
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .. import caching, presenters
from ..exports import snapshot
from ..models import Dataset, Incident, Organisation, ThreatActor


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
    }


@require_safe
def data_sources(request):
    """Where the catalogue's imported data comes from, its release and its licence; and the
    whole public catalogue as one file per format (the newest servable one, if written)."""
    datasets = Dataset.objects.annotate(
        incident_count=Count("incidents", filter=Q(incidents__status=Incident.Status.PUBLISHED))
    )
    files = [(fmt.upper(), fmt, snapshot.servable(fmt)) for fmt in snapshot.FORMATS]
    return render(
        request, "incidents/data_sources.html", {"datasets": datasets, "snapshots": files}
    )
