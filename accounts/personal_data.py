"""What other apps hold about a user, for *Your data* (accounts.selfserve.account_data).

``accounts`` never imports the apps built on it (tests/test_layering.py), so an app that
keeps personal data registers a section here from its ``AppConfig.ready``::

    personal_data.register("saved_searches", incidents.personal_data.saved_searches)

Each callable takes the user and returns plain JSON-serialisable data about that user only
(never secrets: a token's digest, a private feed's address).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_sections: dict[str, Callable[[Any], Any]] = {}


def register(name: str, section: Callable[[Any], Any]) -> None:
    """Add (or replace: ``ready`` may run twice in tests) the section ``name``."""
    _sections[name] = section


def sections(user) -> dict[str, Any]:
    """Every registered section for ``user``, by name, in registration order."""
    return {name: section(user) for name, section in _sections.items()}
