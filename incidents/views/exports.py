"""Exports of the finder's result set: ``/incidents/export.csv``, ``.json`` and
``.stix.json``, with exactly the finder's parameters (docs/exports.md).

Non-members export the public fields in CSV or JSON, with the public FilterSet (a
member's filter they send is ignored, as on the finder); members export what they
see, in STIX 2.1 too. Every export counts its rows against a daily quota.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import filters, search
from ..exports import csvfile, jsonfile, records, stixbundle
from ..exports.quota import ExportQuota
from ..models import Dataset

FORMATS = {
    # format in the URL: (content type, file suffix, members only)
    "csv": ("text/csv; charset=utf-8", "csv", False),
    "json": ("application/json", "json", False),
    "stix.json": ("application/stix+json;version=2.1", "stix.json", True),
}
REMAINING_HEADER = "X-Export-Rows-Remaining"


def _rows(selected, make_record, base_url):
    """The export records, read in chunks from one server-side cursor in a transaction.

    Outside a transaction Django declares the cursor WITH HOLD, and PostgreSQL then runs
    the whole query before the first row comes back (and keeps the result in a temporary
    file): a 1,000,000-row export would wait for all of it before the first row.
    """
    # savepoint=False: only reads happen in it (and inside a test's transaction the query
    # count stays that of a request).
    with transaction.atomic(using=selected.db, savepoint=False):
        connection = connections[selected.db]
        if connection.vendor == "postgresql":
            # The query's cost is that of reading every row, so PostgreSQL would JIT-compile
            # it: 1-2 s before the first row at 1,000,000 incidents, for index lookups that
            # gain nothing from it (docs/performance.md).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        for incident in selected.iterator(chunk_size=settings.EXPORT_CHUNK_SIZE):
            yield make_record(incident, base_url)


def _error(request, status, title, message, **headers):
    body = render_to_string(
        "error.html", {"status": status, "title": title, "message": message}, request
    )
    response = HttpResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@require_safe
def incident_export(request, fmt):
    """Parse the finder's parameters, reserve the rows, stream the file."""
    content_type, suffix, members_only = FORMATS[fmt]
    member = is_member(request.user)
    if members_only and not member:
        return _error(
            request,
            403,
            "For members",
            "STIX exports hold what members see (techniques, threat actors, motives). "
            "Visitors may export the public fields as CSV or JSON.",
        )
    filterset = filters.for_viewer(request.GET, request.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        fields = sorted(
            (filterset.form.fields[name].label or name) if name in filterset.form.fields else name
            for name in filterset.form.errors
        )
        return _error(
            request,
            400,
            "Filters not valid",
            f"Some filters are not valid ({', '.join(fields)}). Correct them on the "
            "incident finder and export again.",
        )
    params = filters.canonical_params(filterset)
    text = params.get("q", "")
    sort = params.get("sort") or filters.default_sort(text)
    incidents = filterset.qs
    if text:
        incidents = search.search(incidents, text, member=member)

    quota = ExportQuota(request, member=member)
    remaining = quota.remaining()
    rows = incidents.order_by()[: remaining + 1].count()
    if rows > remaining or not quota.reserve(rows):
        return _error(
            request,
            429,
            "Export quota used up",
            f"This export has more incidents than the {remaining:,} rows your daily "
            "export quota has left. Narrow the filters, or export again after "
            "midnight UTC, when the quota starts afresh.",
            **{"Retry-After": str(quota.retry_after), REMAINING_HEADER: str(remaining)},
        )

    # No more than was reserved, whatever was published since the count.
    selected = incidents.for_export(member=member).order_by(*filters.SORTS[sort])[:rows]
    base_url = request.build_absolute_uri("/")[:-1]
    make_record = records.member_record if member else records.public_record
    rows_out = _rows(selected, make_record, base_url)
    statement = records.licence(Dataset.objects.order_by("name"), member=member)
    if fmt == "csv":
        body = csvfile.stream(rows_out, member=member)
    elif fmt == "json":
        head = {
            "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "audience": "member" if member else "public",
            "query": params,
            "licence": statement,
        }
        body = jsonfile.stream(rows_out, head=head)
    else:
        body = stixbundle.stream(rows_out, statement=statement)

    response = StreamingHttpResponse((piece.encode() for piece in body), content_type=content_type)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="incidents-{stamp}.{suffix}"'
    response[REMAINING_HEADER] = str(remaining - rows)
    licences = [request.build_absolute_uri(reverse("data_sources"))]
    if member:
        licences.append(records.ATTACK_NOTICE["licence_url"])
    response["Link"] = ", ".join(f'<{url}>; rel="license"' for url in licences)
    return response


def export_links(request, params, *, member: bool) -> dict:
    """The finder's "Export these results" links for this viewer, with the quota left
    (not for anonymous visitors: their page is cached, the same for all of them)."""
    query = filters.encode(params)
    formats = [("CSV", "csv"), ("JSON", "json")] + ([("STIX 2.1", "stix.json")] if member else [])
    links = [
        (
            label,
            reverse("incidents:incident_export", kwargs={"fmt": fmt})
            + (f"?{query}" if query else ""),
        )
        for label, fmt in formats
    ]
    quota = ExportQuota(request, member=member)
    return {
        "links": links,
        "member": member,
        "limit": quota.limit,
        "remaining": quota.remaining() if request.user.is_authenticated else None,
    }
