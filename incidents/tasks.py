"""Background tasks of the catalogue (run by `manage.py db_worker`; docs/jobs.md)."""

from datetime import timedelta

from django_tasks import task

from portal.jobs import retrying_task


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


@task()
def refresh_statistics(audience: str, query: str) -> None:
    """Recount one statistics roll-up (incidents.statistics.rollups) for the catalogue as
    it is now. Counts for an audience, not a person: nothing here is sent to anyone."""
    from .statistics import rollups

    rollups.recount(audience, query)


@retrying_task(attempts=3, backoff=timedelta(minutes=2))
def make_export(job_id: int) -> None:
    """Write one emailed export's file to private storage and email its link
    (incidents.exports.jobs): membership decided now, the quota charged once per job."""
    from .exports import jobs

    jobs.make_export(job_id)


@task()
def build_public_snapshot(fmt: str) -> None:
    """Write the file of the whole public catalogue in ``fmt`` (incidents.exports.snapshot):
    public fields only, the same for everyone; skipped while another is being written."""
    from .exports import snapshot

    snapshot.build_now(fmt)
