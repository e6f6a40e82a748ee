"""Calling the API as each viewer: a token of theirs, or none (anonymous)."""

from django.test import Client

from accounts import tokens
from tests.conftest import make_viewer


def token_for(kind) -> str | None:
    """A fresh token of a viewer of ``kind`` (None for anonymous: no token at all)."""
    user = make_viewer(kind)
    if user is None:
        return None
    return tokens.create(user, f"{kind} token")[1]


def api_get(path, token=None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().get(path, headers=headers)
