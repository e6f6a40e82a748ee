"""allauth's account adapter and log-in form: addresses read as mailboxes
(accounts.addresses), and account emails leave the request through the job queue."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.models import EmailAddress
from allauth.account.utils import get_next_redirect_url
from allauth.core import context as allauth_context
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import make_msgid
from django.utils.http import urlencode

from accounts import addresses
from accounts.emails import email_fields, send_email


def held_address(address: str, *, other_than=None) -> str | None:
    """The address an account already holds for ``address``'s mailbox, if any: ``address``
    itself when held as it is, else a verified one first. ``other_than``: an account whose
    own addresses do not count (the one being edited in the admin)."""
    key = addresses.mailbox(address)
    near = addresses.candidates(address)
    emails = EmailAddress.objects.filter(near)
    users = get_user_model().objects.filter(near)
    if other_than is not None:
        emails, users = emails.exclude(user=other_than), users.exclude(pk=other_than)
    held = [
        *emails.order_by("-verified", "pk").values_list("email", flat=True),
        *users.order_by("pk").values_list("email", flat=True),
    ]
    same = [email for email in held if addresses.mailbox(email) == key]
    if address in same:
        return address
    return same[0] if same else None


def user_display(user) -> str:
    """How allauth names an account (settings.ACCOUNT_USER_DISPLAY): by name, else by email
    address; never by the username made up from the address at sign-up."""
    return user.get_full_name() or user.email or user.get_username()


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        """Every address allauth takes (sign-up, an added address, a password reset) in its
        clean form; one whose mailbox an account already holds becomes that account's
        address, so that allauth's unique-email rule, with its enumeration prevention
        ("an account exists" is emailed, never shown), holds per mailbox: ``a@ｅxample.com``,
        ``"a"@example.com`` and ``a+x@example.com`` are ``a@example.com``'s."""
        address = addresses.clean(super().clean_email(email))
        return held_address(address) or address

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        """allauth's link, carrying where sign-up was asked to lead (``next``: a plan on the
        pricing page), so that the link opened in another browser leads there too once the
        address is confirmed (allauth's confirmation page passes ``next`` on)."""
        url = super().get_email_confirmation_url(request, emailconfirmation)
        following = get_next_redirect_url(request) if request is not None else None
        return f"{url}?{urlencode({'next': following})}" if following else url

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


class LoginForm(AllauthLoginForm):
    """allauth's log-in form (settings.ACCOUNT_FORMS) taking any spelling of the address an
    account holds: ``idn1@bücher.example`` for the stored ``idn1@xn--bcher-kva.example``, and
    an address stored before addresses were cleaned as it was typed then. Failed log-ins
    count per mailbox."""

    def clean_login(self) -> str:
        login = super().clean_login()
        if "@" not in login:
            return login
        address = addresses.clean(login)
        return held_address(address) or address
