"""Background tasks of the catalogue (run by `manage.py db_worker`; docs/jobs.md)."""

from django_tasks import task


@task()
def refresh_statistics(audience: str, query: str) -> None:
    """Recount one statistics roll-up (incidents.statistics.rollups) for the catalogue as
    it is now. Counts for an audience, not a person: nothing here is sent to anyone."""
    from .statistics import rollups

    rollups.refresh(audience, query)
