from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.views.decorators.http import require_safe

from incidents import caching, presenters
from incidents.models import Dataset, Incident, Organisation, ThreatActor

from .http import NotFound


@require_safe
def home(request):
    def compute():
        published = Incident.objects.published()
        latest = Incident.objects.visible_to(request.user).for_public_list().newest_first()[:6]
        return {
            "latest_rows": [presenters.incident_row(i) for i in latest],
            "incident_count": published.count(),
            "organisation_count": Organisation.objects.filter(incidents__in=published)
            .distinct()
            .count(),
            "actor_count": ThreatActor.objects.visible_to(request.user).count(),
        }

    # Whole-catalogue counts: computed once per audience until the catalogue changes.
    context = caching.cached("home", caching.audience(request.user), [], compute)
    return render(request, "home.html", context)


@require_safe
def healthz(request):
    """The process is up. Touches nothing else (also the benchmarks' hello-world baseline)."""
    response = HttpResponse("ok\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def data_sources(request):
    """Where the catalogue's imported data comes from, its release and its licence."""
    datasets = Dataset.objects.annotate(
        incident_count=Count("incidents", filter=Q(incidents__status=Incident.Status.PUBLISHED))
    )
    return render(request, "data_sources.html", {"datasets": datasets})


@require_safe
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap_index'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


def _error(request, status, title, message):
    # Error pages show a fixed message; never the exception text or the path's data.
    body = loader.render_to_string(
        "error.html", {"status": status, "title": title, "message": message}, request
    )
    return HttpResponse(body, status=status)


def bad_request(request, exception=None):
    return _error(
        request,
        400,
        "Bad request",
        "The request could not be understood. Check the address or the form and try again.",
    )


def csrf_failure(request, reason=""):
    return _error(
        request,
        403,
        "Form expired",
        "The form could not be verified, perhaps "
        "because it was open for too long or cookies are blocked. Go back, reload "
        "the page and try again.",
    )


def permission_denied(request, exception=None):
    return _error(request, 403, "Forbidden", "You do not have access to this page.")


def page_not_found(request, exception=None):
    message = "There is nothing at this address."
    if isinstance(exception, NotFound) and exception.args:
        message = str(exception.args[0])
    return _error(request, 404, "Not found", message)


def server_error(request):
    body = loader.render_to_string(
        "error.html",
        {
            "status": 500,
            "title": "Server error",
            "message": "Something went wrong on our side. It has been logged; please try again.",
        },
    )
    return HttpResponse(body, status=500)
