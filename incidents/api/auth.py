"""Who is asking: a personal API token's owner, or a visitor; and how often they may ask.

The token is resolved by ``accounts.tokens``; what its owner may see is decided by
``accounts.access`` at each request (the endpoints ask), never stored with the token.
No token at all reads as a visitor. A session cookie is ignored: the API has no
sessions, so it has no CSRF to guard either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from accounts import tokens
from portal import counters

from ..exports.quota import client_ip

WINDOW = counters.MINUTE  # the rate limits are requests per minute


class InvalidToken(AuthenticationError):
    """An Authorization header that is not an active token: a 401, never a visitor."""

    message = (
        "The API token is not valid: it may be mistyped, revoked, or its account closed. "
        "Make a new one on your account's API tokens page, or send no Authorization "
        "header to read the public fields."
    )


@dataclass(frozen=True)
class Viewer:
    user: Any  # the token's owner, or AnonymousUser
    token_id: int | None = None

    def __str__(self):
        return f"token:{self.token_id}" if self.token_id else "anonymous"


class TokenAuth(HttpBearer):
    """``Authorization: Bearer cip_...``; none at all is a visitor."""

    def __call__(self, request):
        header = request.headers.get(self.header)
        if not header:
            return Viewer(AnonymousUser())
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.openapi_scheme:
            raise InvalidToken
        return self.authenticate(request, raw.strip())

    def authenticate(self, request, token):
        found = tokens.resolve(token)
        if found is None:
            raise InvalidToken
        return Viewer(found.user, found.pk)


class RateLimit(BaseThrottle):
    """Requests per minute per account for requests with a token, all of its tokens together
    (the owner's plan's ``api_requests_per_minute``, else ``API_REQUESTS_PER_MINUTE``:
    ``accounts.tokens.requests_per_minute``, decided at each request), and per IP address
    for requests without one (``API_ANONYMOUS_REQUESTS_PER_MINUTE``), in fixed one-minute
    windows. Counted by
    ``portal.counters`` (Redis or the database, atomic either way: parallel requests get no
    more than the limit between them)."""

    def allow_request(self, request) -> bool:
        viewer = request.auth
        if viewer.token_id:
            who, limit = f"user:{viewer.user.pk}", tokens.requests_per_minute(viewer.user)
        else:
            who, limit = f"ip:{client_ip(request)}", settings.API_ANONYMOUS_REQUESTS_PER_MINUTE
        return counters.take(f"api:rate:{who}", counters.Window.current(WINDOW), 1, limit)

    def wait(self) -> float:
        return counters.Window.current(WINDOW).seconds_left()
