"""Headers every API answer carries."""

from django.utils.cache import patch_cache_control, patch_vary_headers


def finish(request, response):
    """Every answer depends on the token: never kept by a shared cache, varies with it;
    a single object's answer carries its ETag."""
    patch_cache_control(response, private=True, no_cache=True)
    if response.status_code == 503:  # nothing to revalidate later: never stored
        patch_cache_control(response, no_store=True)
    patch_vary_headers(response, ["Authorization"])
    etag = getattr(request, "api_etag", None)
    if etag and response.status_code in (200, 304):
        response["ETag"] = etag
    return response
