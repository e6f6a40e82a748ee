"""``/data/incidents.csv`` and ``/data/incidents.json``: the whole public catalogue as one
file (incidents.exports.snapshot), the same for everyone, public fields only."""

from __future__ import annotations

import os
import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from .. import caching
from ..exports import build, snapshot
from ..exports.jobs import storage
from ..http import error_page

RETRY_SECONDS = 120


@require_safe
def public_snapshot(request, fmt):
    found = snapshot.servable(fmt)
    if found is None or not snapshot.is_current(found):
        snapshot.request_build(fmt, found)
        if found is None:  # a queue that runs tasks at once (development) has written it
            found = snapshot.servable(fmt)
    opened = _open(found)
    if opened is None and found is not None:
        # Replaced by a newer file since it was looked up (that one, if it is servable), or
        # not the file its row describes (cut short): written again.
        found = snapshot.servable(fmt)
        opened = _open(found)
        if opened is None:
            snapshot.request_build(fmt, None)
    if opened is None:
        page = error_page(
            request,
            503,
            "Being written",
            "The file of the whole public catalogue is being written after a change to the "
            f"catalogue. Try again in {RETRY_SECONDS // 60} minutes; exports of a search "
            "from the finder work meanwhile.",
        )
        return caching.unavailable(page, RETRY_SECONDS)
    try:
        response = _file_response(request, fmt, found, opened)
    except BaseException:
        opened.close()
        raise
    if not response.streaming:
        opened.close()  # headers only: a streamed body closes the file with the response
    return response


def _file_response(request, fmt, found, opened):
    # Two files of the same versions may differ (JSON's generated_at): the row's id too.
    etag = f'"{found.pk}-{found.catalogue_version:x}-{found.withdrawal_version:x}"'
    last_modified = int(found.built_at.timestamp())
    unchanged = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if unchanged is not None:
        unchanged["ETag"] = etag
        return unchanged
    wanted = _range(request, etag, found.size)
    if wanted == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{found.size}"
        return response
    content_type = build.FORMATS[fmt][0]
    start, end = wanted or (0, found.size - 1)
    if request.method == "HEAD":  # the headers a GET would have, without reading the file
        response = HttpResponse(status=206 if wanted else 200, content_type=content_type)
    elif wanted is None:
        response = FileResponse(opened, content_type=content_type)
    else:
        part = _Part(opened, start, end - start + 1)
        response = StreamingHttpResponse(part, status=206, content_type=content_type)
    if wanted is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{found.size}"
    response["Content-Length"] = str(end - start + 1)
    response["Content-Disposition"] = f'attachment; filename="{snapshot.file_name(found)}"'
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    # Stored by no shared cache, revalidated by the browser: a copy must not outlive a
    # withdrawal (nor be served stale while this address answers 503).
    response["Cache-Control"] = "private, no-cache"
    response["X-Snapshot-Rows"] = str(found.rows)
    response["Link"] = f'<{request.build_absolute_uri(reverse("data_sources"))}>; rel="license"'
    return response


def _open(found):
    """The file of ``found``, if it is there whole (the size its row says)."""
    if found is None:
        return None
    try:
        opened = storage().open(found.file_name, "rb")
    except FileNotFoundError:
        return None
    if os.fstat(opened.fileno()).st_size != found.size:
        opened.close()
        return None
    return opened


# At most 19 digits: a byte offset, never a number int() refuses (Python's 4,300 digits).
_BYTES = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
CHUNK = 64 * 1024


def _range(request, etag: str, size: int):
    """The one byte range asked for (a download resumed), as (first, last) byte; None for the
    whole file (no Range, one not understood, several ranges, or an ``If-Range`` naming
    another file or a date); "unsatisfiable" for a range past the end."""
    asked = _BYTES.fullmatch(request.headers.get("Range", "").strip())
    if asked is None or not (asked[1] or asked[2]):
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range != etag:
        return None
    if asked[1]:
        start = int(asked[1])
        if asked[2] and int(asked[2]) < start:
            return None  # not a valid range: ignored, as RFC 9110 allows
        end = min(int(asked[2]), size - 1) if asked[2] else size - 1
    else:
        suffix = int(asked[2])
        if suffix == 0:
            return "unsatisfiable"
        start, end = max(0, size - suffix), size - 1
    if start >= size:
        return "unsatisfiable"
    return start, end


class _Part:
    """``length`` bytes of an open file from ``start``, closed with the response even if
    never read."""

    def __init__(self, opened, start: int, length: int):
        self.opened, self.start, self.length = opened, start, length

    def __iter__(self):
        self.opened.seek(self.start)
        left = self.length
        while left > 0:
            data = self.opened.read(min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data

    def close(self):
        self.opened.close()
