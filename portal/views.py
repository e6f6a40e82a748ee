import secrets
import sys

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request):
    """The process is up. Touches nothing else (also the benchmarks' hello-world baseline)."""
    response = HttpResponse("ok\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


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
    # An app's 404 may carry a message written for visitors (``public_message``); any
    # other 404 text may name models or lookups and is never shown.
    message = getattr(exception, "public_message", None) or "There is nothing at this address."
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


def _cache_answers(alias) -> bool:
    store = caches[alias]
    ping = getattr(store, "ping", None)
    if ping is not None:  # Redis (portal.cache.ResilientRedisCache)
        return ping()
    key = f"readyz:{secrets.token_hex(8)}"
    store.set(key, 1, 5)
    answered = store.get(key) == 1
    store.delete(key)
    return answered


def _shows_details(request) -> bool:
    """A probe on this machine (not through the proxy, which adds X-Forwarded-For) or a
    signed-in staff member: others learn only ready or not, never which part fails (say,
    that rate limits fail open just now)."""
    local = request.META.get("REMOTE_ADDR") in LOOPBACK and "x-forwarded-for" not in request.headers
    return local or request.user.is_staff


LOOPBACK = {"127.0.0.1", "::1"}


@require_safe
def readyz(request):
    """Ready to serve: the database answers. 503 when not; which check failed, and whether
    the caches answer, only for a local or staff probe."""
    checks = {"database": _database_answers()}
    for alias in connections:
        if alias != DEFAULT_DB_ALIAS:
            checks[f"database:{alias}"] = _database_answers(alias)
    ready = all(checks.values())
    # A cache outage slows the site (pages) or lets rate limits fail open (default), but
    # does not stop it: still ready. A database cache is the database, checked above.
    for alias in settings.CACHES:
        if alias != "local" and not isinstance(caches[alias], DatabaseCache):  # local: memory
            checks["cache" if alias == "pages" else f"cache:{alias}"] = _cache_answers(alias)
    body = {"ready": ready}
    if _shows_details(request):
        body["checks"] = {k: "ok" if v else "unavailable" for k, v in checks.items()}
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response
