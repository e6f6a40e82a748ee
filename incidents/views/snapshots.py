"""``/data/incidents.csv`` and ``/data/incidents.json``: the whole public catalogue as one
file (incidents.exports.snapshot), the same for everyone, public fields only."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

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
    opened = None
    if found is not None:
        try:
            opened = storage().open(found.file_name, "rb")
        except FileNotFoundError:  # replaced by a newer file since it was looked up
            snapshot.request_build(fmt, None)
    if opened is None:
        return error_page(
            request,
            503,
            "Being written",
            "The file of the whole public catalogue is being written after a change to the "
            f"catalogue. Try again in {RETRY_SECONDS // 60} minutes; exports of a search "
            "from the finder work meanwhile.",
            **{"Retry-After": str(RETRY_SECONDS), "Cache-Control": "no-store"},
        )
    etag = f'"{found.catalogue_version:x}-{found.withdrawal_version:x}-{fmt}"'
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
    # Revalidated at each use: a copy kept by a shared cache must not outlive a withdrawal.
    response["Cache-Control"] = "no-cache"
    response["X-Snapshot-Rows"] = str(found.rows)
    response["Link"] = f'<{request.build_absolute_uri(reverse("data_sources"))}>; rel="license"'
    return response
