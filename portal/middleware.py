from urllib.parse import urlencode

from django.conf import settings
from django.http import QueryDict
from django.utils.cache import patch_cache_control, patch_vary_headers


class PermissionsPolicyMiddleware:
    """Switch off browser features the portal never uses (settings.PERMISSIONS_POLICY)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class PrivateCacheMiddleware:
    """Keep every page out of shared caches.

    Pages differ by viewer (the header shows who is logged in; incident pages
    show members-only data to members), so a shared cache must never store one
    viewer's page and serve it to another. Responses that set their own
    Cache-Control (static files, feeds of public data) are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True, max_age=0)
        patch_vary_headers(response, ["Cookie"])
        return response


class StripNulMiddleware:
    """Drop NUL bytes from query and form parameters (names and values), site-wide: no
    field, database or log needs them, and PostgreSQL rejects them in text. A value with
    a NUL behaves as the same value without it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = _without_nul(request.GET)
        if request.method == "POST":
            request.POST = _without_nul(request.POST)
        return self.get_response(request)


def _without_nul(params):
    pairs = [(key, value) for key, values in params.lists() for value in values]
    if not any("\x00" in key or "\x00" in value for key, value in pairs):
        return params
    return QueryDict(urlencode([(k.replace("\x00", ""), v.replace("\x00", "")) for k, v in pairs]))
