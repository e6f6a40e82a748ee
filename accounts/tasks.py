"""Background tasks of the accounts app (run by `manage.py db_worker`; docs/jobs.md)."""

from datetime import timedelta

from django.core.mail import EmailMessage, EmailMultiAlternatives

from portal.jobs import retrying_task, run_once


def email_fields(message: EmailMessage) -> dict:
    """A rendered message as the plain strings ``send_email`` takes (JSON in the queue)."""
    return {
        "message_id": message.extra_headers["Message-ID"],
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": str(message.from_email),
        "to": [str(address) for address in message.to],
        "content_subtype": message.content_subtype,
        "alternatives": [
            [str(content), str(mimetype)]
            for content, mimetype in getattr(message, "alternatives", [])
        ],
    }


@retrying_task(attempts=5, backoff=timedelta(minutes=1))
def send_email(
    *,
    message_id: str,
    subject: str,
    body: str,
    from_email: str,
    to: list[str],
    content_subtype: str = "plain",
    alternatives: list[list[str]] = (),
) -> None:
    """Send one rendered email; once per Message-ID, however often it is enqueued or retried."""

    def send():
        message = EmailMultiAlternatives(
            subject, body, from_email, to, headers={"Message-ID": message_id}
        )
        message.content_subtype = content_subtype
        for content, mimetype in alternatives:
            message.attach_alternative(content, mimetype)
        message.send()

    run_once(f"email:{message_id}", send)


@retrying_task(attempts=6, backoff=timedelta(minutes=5))
def cancel_online_subscription(stripe_subscription_id: str) -> None:
    """End a subscription at the payment provider that the portal has ended (a refund in
    full): Stripe keeps a refunded subscription running, and charging, until it is cancelled.
    Raises (and so is retried) while the provider cannot be reached."""
    from accounts import billing

    backend = billing.get_backend()
    if backend is None:
        return
    current = backend.retrieve_subscription(stripe_subscription_id)
    if current is not None and current.get("status") in ("canceled", "incomplete_expired"):
        return  # cancelled at Stripe already (a refund made while cancelling)
    billing.cancel_online([stripe_subscription_id])


# The periodic sweeps, queued by `manage.py run_membership_jobs` (a timer: docs/deploy.md).


@retrying_task(attempts=3, backoff=timedelta(minutes=10))
def send_trial_reminders() -> None:
    from accounts.selfserve import trials

    trials.send_reminders()


@retrying_task(attempts=3, backoff=timedelta(minutes=10))
def send_renewal_reminders() -> None:
    from accounts.billing import notices

    notices.send_renewal_reminders()


@retrying_task(attempts=3, backoff=timedelta(minutes=10))
def end_lapsed_access() -> None:
    """Announce every end of access no payment event announced, then mark ended trials
    expired (their access had already ended at ``ends_at``)."""
    from accounts.billing import notices
    from accounts.selfserve import trials

    notices.send_access_ended()
    trials.expire_ended()


PERIODIC = [send_trial_reminders, send_renewal_reminders, end_lapsed_access]
