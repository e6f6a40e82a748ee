"""``/data/incidents.csv`` and ``/data/incidents.json``: the whole public catalogue as one
file (incidents.exports.snapshot), the same for everyone, public fields only."""

from __future__ import annotations

from django.http import FileResponse
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
        # Replaced by a newer file since it was looked up: that one, if it is servable.
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
    # Two files of the same versions may differ (JSON's generated_at): the row's id too.
    etag = f'"{found.pk}-{found.catalogue_version:x}-{found.withdrawal_version:x}"'
    last_modified = int(found.built_at.timestamp())
    unchanged = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if unchanged is not None:
        opened.close()
        unchanged["ETag"] = etag
        return unchanged
    response = FileResponse(
        opened,
        as_attachment=True,
        filename=snapshot.file_name(found),
        content_type=build.FORMATS[fmt][0],
    )
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    # Stored by no shared cache, revalidated by the browser: a copy must not outlive a
    # withdrawal (nor be served stale while this address answers 503).
    response["Cache-Control"] = "private, no-cache"
    response["X-Snapshot-Rows"] = str(found.rows)
    response["Link"] = f'<{request.build_absolute_uri(reverse("data_sources"))}>; rel="license"'
    return response


def _open(found):
    if found is None:
        return None
    try:
        return storage().open(found.file_name, "rb")
    except FileNotFoundError:
        return None
