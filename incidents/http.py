"""HTTP answers of the catalogue's pages."""

from django.http import Http404, HttpResponse
from django.template.loader import render_to_string

INVALID_PAGE = "That page number is not valid."


class NotFound(Http404):
    """A 404 whose message is written for visitors and shown on the 404 page.

    The project's 404 handler shows an exception's ``public_message`` when it has one;
    other 404s (Django's own, get_object_or_404) show the generic message, since their
    text may name models or lookups.
    """

    def __init__(self, public_message: str):
        super().__init__(public_message)
        self.public_message = public_message


def error_page(request, status: int, title: str, message: str, **headers) -> HttpResponse:
    """A catalogue page's clear answer to what it cannot do (400, 403, 410, 429...), in the
    site's error layout, with any extra headers (``Retry-After``...)."""
    body = render_to_string(
        "error.html", {"status": status, "title": title, "message": message}, request
    )
    response = HttpResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response
