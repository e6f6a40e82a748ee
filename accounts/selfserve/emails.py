"""Account emails about membership, rendered here and sent by the job queue (docs/jobs.md)."""

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.template.loader import render_to_string

from accounts.tasks import email_fields, send_email


def enqueue_email(to: str, template: str, context: dict) -> None:
    """Render ``accounts/email/<template>_subject.txt`` and ``_message.txt`` and queue the
    sending. Call it inside the transaction that makes the change the email reports."""
    site = Site.objects.get_current()
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
        headers={"Message-ID": make_msgid(domain=site.domain.split(":")[0])},
    )
    send_email.enqueue(**email_fields(message))
