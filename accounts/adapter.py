"""allauth's account adapter: addresses read as mailboxes (accounts.addresses), and account
emails leave the request through the job queue."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import make_msgid

from accounts import addresses
from accounts.emails import email_fields, send_email


def held_address(address: str) -> str | None:
    """The address an account already holds for ``address``'s mailbox, if any (a verified
    one first)."""
    key = addresses.mailbox(address)
    held = EmailAddress.objects.filter(addresses.candidates(address)).order_by("-verified", "pk")
    for email in held.values_list("email", flat=True):
        if addresses.mailbox(email) == key:
            return email
    users = get_user_model().objects.filter(addresses.candidates(address)).order_by("pk")
    for email in users.values_list("email", flat=True):
        if addresses.mailbox(email) == key:
            return email
    return None


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        """Every address allauth takes (sign-up, an added address, a password reset) in its
        clean form; one whose mailbox an account already holds becomes that account's
        address, so that allauth's unique-email rule, with its enumeration prevention
        ("an account exists" is emailed, never shown), holds per mailbox: ``a@ｅxample.com``,
        ``"a"@example.com`` and ``a+x@example.com`` are ``a@example.com``'s."""
        address = addresses.clean(super().clean_email(email))
        return held_address(address) or address

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
