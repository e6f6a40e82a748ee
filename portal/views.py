import secrets
import sys

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
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
    def render_page():
        context = caching.cached("home", caching.audience(request.user), [], compute)
        return loader.render_to_string("home.html", context, request)

    return HttpResponse(caching.whole_page(request, "home", [], render_page))


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
def favicon(request):
    """Browsers ask for /favicon.ico where a page names no icon (the admin's pages)."""
    return redirect(static("img/favicon.svg"), permanent=True)


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


def too_many_requests(request, exception=None):
    """allauth's rate limits answer with this (ROOT_URLCONF.handler429)."""
    return _error(
        request,
        429,
        "Too many attempts",
        "There have been too many attempts from your address or for this account. "
        "Wait a few minutes and try again.",
    )


def page_not_found(request, exception=None):
    message = "There is nothing at this address."
    if isinstance(exception, NotFound) and exception.args:
        message = str(exception.args[0])
    return _error(request, 404, "Not found", message)


def server_error(request):
    # Rendered without the request: no context processor may touch a broken database.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        status, title = 503, "Temporarily unavailable"
        message = "The catalogue cannot be reached just now. Please try again in a minute."
    else:
        status, title = 500, "Server error"
        message = "Something went wrong on our side. It has been logged; please try again."
    body = loader.render_to_string(
        "error.html", {"status": status, "title": title, "message": message}
    )
    response = HttpResponse(body, status=status)
    if status == 503:
        response["Retry-After"] = "30"
    return response


def _database_answers(alias=DEFAULT_DB_ALIAS) -> bool:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except (DatabaseError, InterfaceError):
        # Drop the broken connection so the next request reconnects by itself (never
        # inside a transaction, which owns the connection).
        if not connection.in_atomic_block:
            connection.close()
        return False


def _cache_answers() -> bool:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # Redis (portal.cache.ResilientRedisCache)
        return ping()
    key = f"readyz:{secrets.token_hex(8)}"
    cache.set(key, 1, 5)
    return cache.get(key) == 1


@require_safe
def readyz(request):
    """Ready to serve: the database and the cache answer. 503 (and which) when not."""
    checks = {"database": _database_answers(), "cache": _cache_answers()}
    for alias in connections:
        if alias != DEFAULT_DB_ALIAS:
            checks[f"database:{alias}"] = _database_answers(alias)
    # A cache outage slows the site but does not stop it (cache misses): still ready.
    ready = all(ok for name, ok in checks.items() if name != "cache")
    response = JsonResponse(
        {"ready": ready, "checks": {k: "ok" if v else "unavailable" for k, v in checks.items()}},
        status=200 if ready else 503,
    )
    response["Cache-Control"] = "no-store"
    return response
