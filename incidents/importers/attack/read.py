"""Reading an ATT&CK bundle: a local file or an http(s) URL, as a dict."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

from ..base import ImportAborted

DOWNLOAD_TIMEOUT = 120  # seconds; MITRE's bundle is ~45 MB


def load_bundle(source: str) -> dict:
    """The bundle at ``source`` (a path or an http(s) URL) as a dict; ImportAborted if not one.

    Messages do not repeat ``source``: the caller names it.
    """
    if re.match(r"[a-z][a-z0-9+.-]*://", source, re.IGNORECASE):
        data = _download(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImportAborted("no such file")
        data = path.read_bytes()
    try:
        bundle = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ImportAborted(f"not a STIX bundle (not UTF-8 text: {exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ImportAborted(
            f"not a STIX bundle (not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    if not (
        isinstance(bundle, dict)
        and bundle.get("type") == "bundle"
        and isinstance(bundle.get("objects"), list)
    ):
        raise ImportAborted(
            'not a STIX bundle (expected a JSON object with "type": "bundle" and an "objects" list)'
        )
    return bundle


def _download(url: str) -> bytes:
    if not url.lower().startswith(("http://", "https://")):
        raise ImportAborted("only http(s) URLs or local paths can be read")
    # The scheme is checked above, so S310 (file: or custom schemes) does not apply.
    headers = {"User-Agent": "incident-portal import_attack"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ImportAborted(
            f"could not download it ({reason}). Without internet access, download the bundle "
            "on another machine and pass its local path."
        ) from exc
