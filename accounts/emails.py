"""Account emails about membership (billing, invoices, trials), rendered here and sent by the
job queue (docs/jobs.md). The one path for them; allauth's own emails take the same queue
through accounts.adapter."""

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string

from accounts.tasks import email_fields, send_email


def enqueue_email(to: str, template: str, context: dict, *, key: str = "") -> None:
    """Render ``accounts/email/<template>_subject.txt`` and ``_message.txt`` (and
    ``_message.html`` when there is one, as an HTML alternative) and queue the sending. Call it
    inside the transaction that makes the change the email reports.

    ``key`` names the occasion (``billing.welcome.sub_123``): the Message-ID is made of it, so
    ``accounts.tasks.send_email`` sends the email once however often it is enqueued. Without
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
