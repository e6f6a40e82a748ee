"""Emailed exports (incidents.exports.jobs): ask for one ("Email me the file"), the
account's list of them (*Account* → *Exports*), and the signed download link.

The download answers the file only to its owner, signed in, while a member (the file holds
members' values): anyone else, a lapsed member included, gets a page saying why and never
the file.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.access import is_member, membership_plan

from .. import filters
from ..exports import build, jobs
from ..exports.quota import ExportQuota
from ..http import error_page
from ..models import ExportJob
from .exports import FORMATS, exports_off, filters_not_valid, queued_page, too_many_jobs

RECENT_JOBS = 20  # listed on the account page


@login_required
@require_POST
def export_email(request):
    """ "Email me the file": queue a member's export of a finder query."""
    if not is_member(request.user):
        return error_page(
            request,
            403,
            "For members",
            "Emailed exports hold what members see. Visitors may download the public fields "
            "as CSV or JSON from the finder.",
        )
    fmt = request.POST.get("format", "")
    if fmt not in FORMATS:
        return error_page(request, 400, "Export not queued", "Choose CSV, JSON or STIX 2.1.")
    # A NUL byte never reaches a view (portal.middleware); one encoded in the query ("%00")
    # is dropped by the text search and refused by the other filters.
    data = QueryDict(request.POST.get("query", "")[:2000])
    filterset = filters.for_viewer(data, request.user, member=True)
    if filterset.is_bound and not filterset.is_valid():
        return filters_not_valid(request, filterset)
    quota = ExportQuota(request, member=True)
    if quota.limit == 0:
        return exports_off(request, quota)
    _, params, _ = filters.matching(filterset, member=True)
    try:
        job, created = jobs.request_export(request.user, fmt, filters.encode(params))
    except jobs.TooManyJobs:
        return too_many_jobs(request)
    return queued_page(request, job, created)


@login_required
@require_safe
def export_jobs(request):
    """The viewer's recent emailed exports: state, rows, expiry, the link. Rows and links
    only while they are a member (a row count of a members' search is members' data)."""
    member = is_member(request.user)
    plan = membership_plan(request.user)
    now = timezone.now()
    rows = []
    recent = list(ExportJob.objects.filter(user=request.user)[:RECENT_JOBS])
    for job in recent:
        ready = job.state == ExportJob.State.READY and job.expires_at and job.expires_at > now
        rows.append(
            {
                # Named fields, never the job itself: its rows and reasons are for members.
                "asked_at": job.created_at,
                "format": job.get_format_display(),
                "state": job.get_state_display(),
                "expires_at": job.expires_at,
                "described": filters.describe(job.query),
                "rows": job.rows if member else None,
                # A refusal's reason speaks of the quota of a membership they no longer have.
                "reason": job.reason if member else "",
                "expired": job.state == ExportJob.State.READY and not ready,
                "url": jobs.download_url(job) if member and ready else None,
            }
        )
    response = render(
        request,
        "incidents/export_jobs.html",
        {
            "jobs": rows,
            "member": member,
            # Only members ask for emailed exports: a non-member with jobs was one.
            "lapsed": not member and bool(recent),
            "quota": ExportQuota(request, member=True) if member else None,
            "plan_name": (
                plan.name if plan is not None and plan.export_rows_per_day is not None else ""
            ),
            "threshold": settings.EXPORT_EMAIL_THRESHOLD,
            "link_days": settings.EXPORT_LINK_DAYS,
            "per_day": settings.EXPORT_JOBS_PER_DAY,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def export_download(request, token):
    """The emailed link: the file, to its owner, before expiry, while a member."""
    found = jobs.read_download_token(token)
    if found is None:
        return error_page(
            request,
            404,
            "No such download",
            "This download link is not one of ours: it may have been cut short when it was "
            "copied. Your exports are listed under Account → Exports.",
        )
    job_id, user_id, expires_at = found
    if user_id != request.user.pk:
        return error_page(
            request,
            403,
            "Not your download",
            "This link was sent to another account: an export is for the member who asked "
            "for it. Log in with that account, or make your own export from the finder.",
        )
    job = ExportJob.objects.filter(pk=job_id, user=request.user).first()
    now = timezone.now()
    if (
        job is None
        or expires_at <= now
        or job.state != ExportJob.State.READY
        or job.expires_at is None
        or job.expires_at <= now
    ):
        return error_page(
            request,
            410,
            "Download expired",
            f"This download link has expired (links work for {settings.EXPORT_LINK_DAYS} "
            "days) and its file is deleted. Make the export again from the finder.",
        )
    if not is_member(request.user):
        return error_page(
            request,
            403,
            "Your membership is not active",
            "This file holds what members see (CIA posture, motives, techniques, threat "
            "actors), so it is handed only to members. Your membership is not active now; "
            "renew it and the link works again until it expires.",
        )
    try:
        handle = jobs.storage().open(job.file_name, "rb")
    except FileNotFoundError:
        return error_page(
            request,
            410,
            "Download expired",
            "This export's file is no longer kept. Make the export again from the finder.",
        )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=build.file_name(job.format),
        content_type=FORMATS[job.format][0],
    )
    response["Cache-Control"] = "private, no-store"
    return response
