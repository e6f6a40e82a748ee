"""Background tasks of billing (run by `manage.py db_worker`; docs/jobs.md): ending a refunded
subscription at the payment provider, and the periodic sweeps of membership notices that
`manage.py run_membership_jobs` queues (a timer: docs/deploy.md)."""

from datetime import timedelta

from accounts import billing
from accounts.selfserve import trials
from portal.jobs import retrying_task

from . import notices


@retrying_task(attempts=6, backoff=timedelta(minutes=5))
def cancel_online_subscription(stripe_subscription_id: str) -> None:
    """End a subscription at the payment provider that the portal has ended (a refund in
    full): Stripe keeps a refunded subscription running, and charging, until it is cancelled.
    Raises (and so is retried) while the provider cannot be reached."""
    backend = billing.get_backend()
    if backend is None:
        return
    current = backend.retrieve_subscription(stripe_subscription_id)
    if current is not None and current.get("status") in ("canceled", "incomplete_expired"):
        return  # cancelled at Stripe already (a refund made while cancelling)
    billing.cancel_online([stripe_subscription_id])


@retrying_task(attempts=3, backoff=timedelta(minutes=10))
def send_renewal_reminders() -> None:
    notices.send_renewal_reminders()


@retrying_task(attempts=3, backoff=timedelta(minutes=10))
def end_lapsed_access() -> None:
    """Announce every end of access no payment event announced, then mark ended trials
    expired (their access had already ended at ``ends_at``)."""
    notices.send_access_ended()
    trials.expire_ended()
