"""What the catalogue holds about a user, for *Your data* (registered with
accounts.personal_data in IncidentsConfig.ready)."""

from __future__ import annotations

from accounts.access import is_member

from .models import ExportJob, SavedSearch, Watch


def _when(value):
    return value.isoformat() if value else None


def saved_searches(user) -> list[dict]:
    """Saved searches and their alert settings; not the private feed's secret address."""
    return [
        {
            "name": saved.name,
            "query": saved.query,
            "alerts": saved.alerts,
            "created_at": _when(saved.created_at),
            "last_alert_sent_at": _when(saved.last_sent_at),
        }
        for saved in SavedSearch.objects.filter(user=user, kind=SavedSearch.Kind.SEARCH).order_by(
            "pk"
        )
    ]


def watched_organisations(user) -> dict | None:
    """The watch list: its alert setting and each organisation or domain watched (not the
    private feed's secret address)."""
    watchlist = SavedSearch.objects.filter(user=user, kind=SavedSearch.Kind.WATCHLIST).first()
    if watchlist is None:
        return None
    return {
        "alerts": watchlist.alerts,
        "created_at": _when(watchlist.created_at),
        "last_alert_sent_at": _when(watchlist.last_sent_at),
        "watches": [
            {
                "label": watch.label,
                "domain": watch.domain or None,
                "organisation": watch.organisation.slug if watch.organisation else None,
                "created_at": _when(watch.created_at),
            }
            for watch in Watch.objects.filter(watchlist=watchlist)
            .select_related("organisation")
            .order_by("pk")
        ],
    }


def export_jobs(user) -> list[dict]:
    """Emailed exports. How many incidents a members' search found is members' data: the
    row counts only while the user is a member (as on the Exports page)."""
    member = is_member(user)
    return [
        {
            "format": job.format,
            "query": job.query,
            "state": job.state,
            "reason": job.reason,
            "rows": job.rows if member else None,
            "created_at": _when(job.created_at),
            "finished_at": _when(job.finished_at),
            "expires_at": _when(job.expires_at),
        }
        for job in ExportJob.objects.filter(user=user).order_by("pk")
    ]
