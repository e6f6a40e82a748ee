from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, QueryDict
from django.utils.cache import patch_cache_control, patch_vary_headers

NUL = "\x00"


class StripNulMiddleware:
    """Strip NUL bytes from the query string and the posted form, keys and values, before
    any view, form or query sees them ("1\\x00" is read as "1"). PostgreSQL refuses NUL in
    a query (a 500), and no page's input can mean one. No address has one either: a NUL in
    the path is a 404.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path:
            raise Http404("No page has a NUL byte in its address.")
        request.GET = _without_nul(request.GET)
        if request.method == "POST":
            request.POST = _without_nul(request.POST)
        return self.get_response(request)


def _without_nul(data: QueryDict) -> QueryDict:
    if not any(NUL in key or any(NUL in v for v in data.getlist(key)) for key in data):
        return data
    pairs = [(k.replace(NUL, ""), v.replace(NUL, "")) for k, vs in data.lists() for v in vs]
    return QueryDict(urlencode(pairs, encoding=data.encoding), encoding=data.encoding)


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
