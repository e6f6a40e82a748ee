"""Background tasks of the catalogue (run by `manage.py db_worker`; docs/jobs.md)."""

from datetime import timedelta

from accounts.jobs import retrying_task


@retrying_task(attempts=5, backoff=timedelta(minutes=1))
def match_new_incidents() -> None:
    """Match newly published incidents against the saved searches (incidents.alerts)."""
    from .alerts import match_new_incidents as match

    match()


@retrying_task(attempts=5, backoff=timedelta(minutes=1))
def deliver_alerts(search_id: int) -> None:
    """Email one saved search's unsent matches to its owner, if a member now."""
    from .alerts import deliver

    deliver(search_id)
