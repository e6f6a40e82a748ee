"""A VERIS record's references as sources (pure: no database): the URLs it lists, their
schemes repaired where obvious, or the reference's own text when it names no URL."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ... import rules

# A reference lists URLs separated by ";" or whitespace, each maybe followed by the date it
# was read, "(20140202)". Nothing else separates them: commas and apostrophes are URL text.
REFERENCE_SEPARATORS = re.compile(r"[;\s]+")
READ_ON = re.compile(r"\(\d{8}\)")
SCHEME_RE = re.compile(r"(?i)^(?:https?|hxxps?|htps?|htp)(?::/{0,2}|//)")
# A host name with a dot and then a path: "www.example.com/a.pdf", "oag.ca.gov/x".
BARE_HOST_RE = re.compile(r"(?i)^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/\S*)?$")


@dataclass(frozen=True)
class SourceRef:
    """One reference: a URL, or the reference's own text when it names none."""

    url: str = ""
    citation: str = ""


def reference_sources(reference) -> list[SourceRef]:
    """The URLs of a reference, split only where the source separates them; a part
    without any URL is kept as its text."""
    seen, sources = set(), []
    for value in reference if isinstance(reference, list) else [reference]:
        if value is None:
            continue
        text = " ".join(rules.clean_text(str(value)).split())
        if not text:
            continue
        tokens = [t for t in REFERENCE_SEPARATORS.split(READ_ON.sub(" ", text)) if t]
        urls = [u for u in map(_url, tokens) if u]
        found = [SourceRef(url=u[:1000]) for u in urls] or [SourceRef(citation=text)]
        for source in found:
            if source not in seen:
                seen.add(source)
                sources.append(source)
    return sources


def _url(token: str) -> str:
    """``token`` as an http(s) URL, its scheme repaired where obvious; "" if it is none."""
    token = token.strip("<>\"'").rstrip(".,")
    if token.count(")") > token.count("("):
        token = token.rstrip(")")
    match = SCHEME_RE.match(token)
    if match:
        secure = match.group(0).lower().startswith(("https", "hxxps", "htps"))
        rest = token[match.end() :].lstrip("/")
        token = ("https://" if secure else "http://") + rest
    elif BARE_HOST_RE.match(token) and ("/" in token or token.lower().startswith("www.")):
        token = "http://" + token
    else:
        return ""
    host = token.split("://", 1)[1].split("/", 1)[0]
    return token if "." in host else ""
