"""HTTP answers of the catalogue's pages."""

from django.http import Http404

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
