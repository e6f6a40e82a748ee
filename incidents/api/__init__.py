"""The read-only API, /api/v1/ (docs/api.md): django-ninja, its OpenAPI 3 schema at
/api/v1/openapi.json and Swagger UI at /api/v1/docs, from our own static files."""

import functools

from django.conf import settings
from django.urls import URLPattern, path, re_path, reverse
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.openapi.docs import Swagger

from .auth import InvalidToken, RateLimit, TokenAuth
from .endpoints import BadRequest, Unavailable, router
from .headers import finish

DESCRIPTION = """Read-only access to the Cyber Incident Portal's catalogue.

Send a personal API token (made on your account's *API tokens* page) as
`Authorization: Bearer cip_...`. A request with a token answers with what the token's
owner may see **at that moment**: members get the members' fields (CIA posture, motives,
ATT&CK techniques, threat actors); anyone else, and a request with no token, the public
fields only. A token that is not valid (mistyped, revoked) is a 401, never a visitor.
Rate limits per account, all of its tokens together (and per IP address without a token):
a 429 with `Retry-After`.
"""


class PortalAPI(NinjaAPI):
    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        return finish(request, response)


api = PortalAPI(
    title="Cyber Incident Portal API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    throttle=[RateLimit()],
    urls_namespace="api-v1",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("", router)


@api.exception_handler(InvalidToken)
def invalid_token(request, exc):
    response = api.create_response(request, {"detail": InvalidToken.message}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


@api.exception_handler(BadRequest)
def bad_request(request, exc):
    body = {"detail": exc.detail}
    if exc.errors:
        body["errors"] = exc.errors
    return api.create_response(request, body, status=400)


@api.exception_handler(Unavailable)
def unavailable(request, exc):
    response = api.create_response(request, {"detail": exc.detail}, status=503)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def parameters_not_valid(request, exc):
    errors = {}
    for error in exc.errors:
        name = str(error.get("loc", ["?"])[-1])
        errors.setdefault(name, []).append(str(error.get("msg", "not valid")))
    return api.create_response(
        request, {"detail": "Parameters not valid.", "errors": errors}, status=400
    )


NOT_ALLOWED = "Method not allowed: use GET or HEAD."


def read_only(view):
    """GET; HEAD as HTTP says (RFC 9110, 9.3.2): the GET's status and headers (Content-Length,
    ETag, the rate limit counted), without the body (django-ninja routes GET only); any
    other method a 405 with ``Allow: GET, HEAD`` and the API's JSON error, before the view.
    Every address, the schema and its docs too (django-ninja serves those to any method,
    and POST met the CSRF check); CSRF-exempt, since no method that could need it gets in."""

    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        if request.method == "GET":
            return view(request, *args, **kwargs)
        if request.method != "HEAD":
            response = api.create_response(request, {"detail": NOT_ALLOWED}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        finally:
            request.method = "HEAD"
        if not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response

    answer.csrf_exempt = True
    return answer


# The index at /api/v1/ and the JSON 404 of any other address under it: plain views,
# outside the schema (nothing to authenticate, nothing counted against a rate limit).

ENDPOINTS = {
    "incidents": "/incidents",
    "organisations": "/organisations",
    "threat_actors": "/threat-actors",
    "techniques": "/techniques",
    "statistics": "/statistics",
}


def index(request):
    """What the API is and where its documentation, schema and collections are."""
    base = settings.SITE_URL + reverse("api-v1:api-root")
    return api.create_response(
        request,
        {
            "name": api.title,
            "version": api.version,
            "docs": settings.SITE_URL + reverse("api-v1:openapi-view"),
            "schema": settings.SITE_URL + reverse("api-v1:openapi-json"),
            "endpoints": {name: base + address[1:] for name, address in ENDPOINTS.items()},
            "authentication": "Authorization: Bearer cip_... (Account, API tokens); "
            "without a token, the public fields only.",
        },
        status=200,
    )


def not_found(request, rest=""):
    """Any address under /api/v1/ that names no endpoint: JSON, as the API answers."""
    return api.create_response(
        request,
        {"detail": "Not found: no such address in the API; its index is at /api/v1/."},
        status=404,
    )


def urls():
    """``api.urls`` for portal/urls.py, each view ``read_only``, with the index first and
    the JSON 404 last."""
    patterns, app_name, namespace = api.urls
    return (
        [
            path("", read_only(index), name="api-root"),  # the name django-ninja reverses
            *(
                URLPattern(p.pattern, read_only(p.callback), p.default_args, p.name)
                if isinstance(p, URLPattern)
                else p
                for p in patterns
                if getattr(p, "name", None) != "api-root"  # django-ninja's own, replaced by ours
            ),
            re_path(r"^(?P<rest>.*)$", read_only(not_found)),
        ],
        app_name,
        namespace,
    )
