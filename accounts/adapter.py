"""allauth's account adapter: account emails leave the request through the job queue."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import make_msgid

from accounts.emails import email_fields, send_email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render in the request (templates may need it), then queue the sending: the task gets
        plain strings, never the request or a user."""
        request = allauth_context.request
        site = get_current_site(request)
        ctx = {"request": request, "email": email, "current_site": site}
        ctx.update(context)
        # The task's once-per-event key; the site's host name rather than this machine's.
        message_id = make_msgid(domain=site.domain.split(":")[0])
        message = self.render_mail(template_prefix, email, ctx, headers={"Message-ID": message_id})
        send_email.enqueue(**email_fields(message))
