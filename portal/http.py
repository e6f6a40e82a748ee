"""HTTP answers shared across the apps."""

from django.http import Http404

INVALID_PAGE = "That page number is not valid."


class NotFound(Http404):
    """A 404 whose message is written for visitors and shown on the 404 page.

    Other 404s (Django's own, get_object_or_404) show the generic message, since
    their text may name models or lookups.
    """
