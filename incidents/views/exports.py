"""Exports of the finder's result set: ``/incidents/export.csv``, ``.json`` and
``.stix.json``, with exactly the finder's parameters (docs/exports.md).

Non-members export the public fields in CSV or JSON, with the public FilterSet (a
member's filter they send is ignored, as on the finder); members export what they
see, in STIX 2.1 too. Every export counts its rows against a daily quota. A member's
export above ``EXPORT_EMAIL_THRESHOLD`` rows is made by the job queue and emailed as a
link (incidents.exports.jobs; the views of that are in incidents.views.exportjobs).
"""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.access import is_member

from .. import filters
from ..exports import build, jobs, records
from ..exports.build import FORMATS
from ..exports.quota import ExportQuota
from ..http import error_page

REMAINING_HEADER = "X-Export-Rows-Remaining"


def filters_not_valid(request, filterset):
    fields = sorted(
        (filterset.form.fields[name].label or name) if name in filterset.form.fields else name
        for name in filterset.form.errors
    )
    return error_page(
        request,
        400,
        "Filters not valid",
        f"Some filters are not valid ({', '.join(fields)}). Correct them on the "
        "incident finder and export again.",
    )


def quota_used_up(request, quota, remaining):
    return error_page(
        request,
        429,
        "Export quota used up",
        f"This export has more incidents than the {remaining:,} rows your daily "
        f"export quota of {quota.limit:,} rows has left. Narrow the filters, or export again "
        "after midnight UTC, when the quota starts afresh.",
        **{"Retry-After": str(quota.retry_after), REMAINING_HEADER: str(remaining)},
    )


def exports_off(request, quota):
    """429 for every export while the viewer's daily limit is 0 (their plan has exports
    turned off); no Retry-After: tomorrow's quota is 0 too."""
    return error_page(
        request,
        429,
        "Exports not included",
        f"{quota.no_exports()} Exports are refused until the plan changes.",
        **{REMAINING_HEADER: "0"},
    )


def queued_page(request, job, created, *, rows=None):
    """202: the member's export is being made by the job queue and will be emailed."""
    return render(
        request,
        "incidents/export_queued.html",
        {
            "job": job,
            "created": created,
            "rows": rows,
            "threshold": settings.EXPORT_EMAIL_THRESHOLD,
            "link_days": settings.EXPORT_LINK_DAYS,
        },
        status=202,
    )


def too_many_jobs(request):
    return error_page(
        request,
        429,
        "Too many emailed exports today",
        f"You have asked for {settings.EXPORT_JOBS_PER_DAY} emailed exports today, the most "
        "in one day. Your exports are listed under Account → Exports; ask again after "
        "midnight UTC.",
    )


@require_safe
def incident_export(request, fmt):
    """Parse the finder's parameters, reserve the rows, stream the file (or, for a member's
    large export, queue it to be emailed)."""
    content_type, members_only = FORMATS[fmt]
    member = is_member(request.user)
    if members_only and not member:
        return error_page(
            request,
            403,
            "For members",
            "STIX exports hold what members see (techniques, threat actors, motives). "
            "Visitors may export the public fields as CSV or JSON.",
        )
    filterset = filters.for_viewer(request.GET, request.user, member=member)
    if filterset.is_bound and not filterset.is_valid():
        return filters_not_valid(request, filterset)
    incidents, params, sort = filters.matching(filterset, member=member)

    quota = ExportQuota(request, member=member)
    if quota.limit == 0:
        return exports_off(request, quota)
    remaining = quota.remaining()
    rows = incidents.order_by()[: remaining + 1].count()
    if rows > remaining:
        return quota_used_up(request, quota, remaining)
    if member and rows > settings.EXPORT_EMAIL_THRESHOLD:
        # Too large for one response: the job queue makes it (and charges it) and emails
        # the link. Asking again while it is being made is the same job.
        try:
            job, created = jobs.request_export(request.user, fmt, filters.encode(params))
        except jobs.TooManyJobs:
            return too_many_jobs(request)
        return queued_page(request, job, created, rows=rows)
    if not quota.reserve(rows):
        return quota_used_up(request, quota, remaining)

    # No more than was reserved, whatever was published since the count.
    body = build.pieces(
        fmt,
        incidents,
        rows=rows,
        sort=sort,
        params=params,
        member=member,
        base_url=request.build_absolute_uri("/")[:-1],
    )
    response = StreamingHttpResponse((piece.encode() for piece in body), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{build.file_name(fmt)}"'
    response[REMAINING_HEADER] = str(remaining - rows)
    licences = [request.build_absolute_uri(reverse("data_sources"))]
    if member:
        licences.append(records.ATTACK_NOTICE["licence_url"])
    response["Link"] = ", ".join(f'<{url}>; rel="license"' for url in licences)
    return response


def export_links(request, params, *, member: bool) -> dict:
    """The finder's "Export these results" links for this viewer, with the quota left
    (not for anonymous visitors: their page is cached, the same for all of them); members
    also get the "Email me the file" form."""
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
        "email": {"query": query, "formats": formats} if member else None,
    }
