"""A team's name is the owner's words in emails the portal sends to others (invitations):
plain words only, never something a mail program turns into a link."""

import re
import unicodedata

PLAIN_ONLY = (
    "Use plain words for the team's name, without a web or email address: it appears in "
    "the invitations we send."
)
# Written as compatibility forms normalise (fullwidth letters and dots are plain ones).
_LINK = re.compile(
    r"://|\bwww\d*\.|@"
    # a host name: a label, a dot (or an ideographic one), a top-level name of two letters
    # or more, as in example.com, bank.co.uk, xn--bcher-kva.example
    r"|[^\W_][\w-]*[.\u3002\uff61](?:xn--[\w-]+|[^\W\d_]{2,})\b",
    re.IGNORECASE,
)
_NOT_TEXT = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}  # controls, invisible formatting, private use


def name_error(name: str) -> str | None:
    """Why ``name`` may not be a team's name (None when it may)."""
    text = unicodedata.normalize("NFKC", name)
    if any(unicodedata.category(ch) in _NOT_TEXT for ch in text) or _LINK.search(text):
        return PLAIN_ONLY
    return None
