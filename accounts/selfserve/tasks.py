"""Background tasks of self-service (run by `manage.py db_worker`; docs/jobs.md): the trial
reminders' sweep, queued by `manage.py run_membership_jobs` (a timer: docs/deploy.md)."""

from datetime import timedelta

from portal.jobs import retrying_task

from . import trials


@retrying_task(attempts=3, backoff=timedelta(minutes=10))
def send_trial_reminders() -> None:
    trials.send_reminders()
