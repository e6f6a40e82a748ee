"""Account emails about membership (billing, invoices, trials), rendered here and sent by the
job queue (docs/jobs.md): ``enqueue_email`` renders, the task ``send_email`` sends. The one path
for them; allauth's own emails take the same queue through accounts.adapter."""

from datetime import timedelta

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.mail import EmailMessage, EmailMultiAlternatives, make_msgid
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string

from portal.jobs import retrying_task, run_once


def enqueue_email(to: str, template: str, context: dict, *, key: str = "") -> None:
    """Render ``accounts/email/<template>_subject.txt`` and ``_message.txt`` (and
    ``_message.html`` when there is one, as an HTML alternative) and queue the sending. Call it
    inside the transaction that makes the change the email reports.

    ``key`` names the occasion (``billing.welcome.sub_123``): the Message-ID is made of it, so
    ``send_email`` sends the email once however often it is enqueued. Without
    a key every call is a new email."""
    site = Site.objects.get_current()
    host = site.domain.split(":")[0]
    context = {
        **context,
        "site_name": site.name,
        "site_url": f"{settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{site.domain}",
    }
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
    subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
    body = render_to_string(f"accounts/email/{template}_message.txt", context)
    message = EmailMultiAlternatives(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers={"Message-ID": f"<{key}@{host}>" if key else make_msgid(domain=host)},
    )
    try:
        html = get_template(f"accounts/email/{template}_message.html")
    except TemplateDoesNotExist:
        html = None
    if html is not None:
        message.attach_alternative(html.render(context), "text/html")
    send_email.enqueue(**email_fields(message))


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
