from django.conf import settings
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
