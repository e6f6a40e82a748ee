"""Personal API tokens: made, resolved to their owner, revoked.

A token is ``cip_<prefix>_<secret>``: the prefix (public, shown on the account page) tells
tokens apart; only the SHA-256 of the whole token is stored, so the token is shown once,
when it is made. A token carries no rights of its own: the API asks ``accounts.access``
about its owner at each request, so a lapsed member's token reads like a visitor's.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets

from django.conf import settings
from django.utils import timezone

from .access import plan_limit
from .models import ApiToken

SCHEME = "cip"
TOKEN_RE = re.compile(r"^cip_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
MAX_ACTIVE_TOKENS = 20
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(user, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``, and its only plain-text copy (show it once)."""
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=digest_of(raw))
    return token, raw


def active_for(user):
    return ApiToken.objects.filter(user=user, revoked_at=None)


def resolve(raw: str) -> ApiToken | None:
    """The active token ``raw`` is, with its owner loaded; None for anything else (malformed,
    unknown, revoked, or its owner deactivated). Notes when it was last used."""
    if not TOKEN_RE.match(raw or ""):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest_of(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def requests_per_minute(user) -> int:
    """The API rate limit of ``user``'s tokens together, decided at each request: the plan
    that makes them a member (their own or their team's ``api_requests_per_minute``), else
    ``API_REQUESTS_PER_MINUTE`` (non-members, staff, a plan without its own limit)."""
    return plan_limit(user, "api_requests_per_minute", settings.API_REQUESTS_PER_MINUTE)


def revoke(user, token_id: int) -> bool:
    """Revoke one of ``user``'s tokens; False if they have no such active token."""
    return bool(
        ApiToken.objects.filter(user=user, pk=token_id, revoked_at=None).update(
            revoked_at=timezone.now()
        )
    )
