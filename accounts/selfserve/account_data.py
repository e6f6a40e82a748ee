"""A member's own data: the download, and the deletion of the account.

What is kept after a deletion, and for how long (also on the page and in docs/membership.md):
invoice requests, anonymised (no link to the account, no billing email), for ten years
from the request, as invoice records must be kept for tax purposes; and for a user who had
a free trial, the keyed hash of each of their normalised email addresses
(``accounts.TrialClaim``), so that the trial stays one per person, as long as trials are
offered.
"""

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import billing, personal_data
from accounts.models import (
    ApiToken,
    InvoiceRequest,
    SharedMailbox,
    Subscription,
    TeamSeat,
    Trial,
)

INVOICE_RETENTION_YEARS = 10


def _when(value):
    return value.isoformat() if value else None


def export(user) -> dict:
    """Everything the portal holds about ``user``, and nothing about anyone else: the
    accounts' own data, then each section other apps registered (accounts.personal_data:
    the catalogue's saved searches with their alert settings, and emailed exports)."""
    return {
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        "subscriptions": [
            {
                "plan": sub.plan.name,
                "status": sub.status,
                "source": sub.source,
                "starts_at": _when(sub.starts_at),
                "ends_at": _when(sub.ends_at),
                "cancelled_at": _when(sub.cancelled_at),
            }
            for sub in Subscription.objects.filter(user=user).select_related("plan")
        ],
        "team_seats": [
            {
                "team": seat.team.name,
                "owner": seat.team.owner_id == user.pk,
                "seats_on_team": seat.team.seats,
                "joined_at": _when(seat.joined_at),
            }
            for seat in TeamSeat.objects.filter(user=user).select_related("team")
        ],
        "trials": [
            {
                "plan": trial.plan.name,
                "started_at": _when(trial.started_at),
                "ends_at": _when(trial.ends_at),
            }
            for trial in Trial.objects.filter(user=user).select_related("plan")
        ],
        "invoice_requests": [
            {
                "plan": req.plan.name,
                "interval": req.interval,
                "seats": req.seats,
                "company_name": req.company_name,
                "billing_address": req.billing_address,
                "country": str(req.country),
                "vat_id": req.vat_id,
                "billing_email": req.billing_email,
                "purchase_order": req.purchase_order,
                "status": req.status,
                "created_at": _when(req.created_at),
                "paid_at": _when(req.paid_at),
            }
            for req in InvoiceRequest.objects.filter(user=user).select_related("plan")
        ],
        # Never the token's digest: it is ours, and of no use to anyone else.
        "api_tokens": [
            {
                "name": token.name,
                "prefix": token.prefix,
                "created_at": _when(token.created_at),
                "last_used_at": _when(token.last_used_at),
                "revoked_at": _when(token.revoked_at),
            }
            for token in ApiToken.objects.filter(user=user).order_by("pk")
        ],
        # Staff's note that another account's address reaches the same mailbox (never which).
        "shared_mailboxes": [
            {"address": row.address, "found_at": _when(row.found_at)}
            for row in SharedMailbox.objects.filter(user=user).order_by("pk")
        ],
        **personal_data.sections(user),
    }


def _running(user):
    """What ``user``'s account pays for, and the subscriptions of the team they own (the
    team goes with its owner)."""
    return Subscription.objects.filter(Q(user=user) | Q(team__owner=user)).exclude(
        status__in=Subscription.ENDED_STATUSES
    )


def cancel_online(user) -> None:
    """Stop at the payment provider what ``user``'s account pays for (their team's too),
    before the account goes and outside any transaction (no lock is held over the network).
    Raises AccountNotDeleted when the provider cannot be reached or refuses: nobody is charged
    for an account that no longer exists."""
    try:
        billing.cancel_online(_running(user).values_list("stripe_subscription_id", flat=True))
    except billing.NotCancelled as exc:
        raise AccountNotDeleted(str(exc)) from exc


def on_account_deleted(user) -> None:
    """End ``user``'s running subscriptions here (inside the deletion's transaction)."""
    now = timezone.now()
    _running(user).update(status=Subscription.Status.CANCELLED, cancelled_at=now, updated_at=now)


class AccountNotDeleted(Exception):
    """What the account pays for could not be stopped, so the account was kept."""


def delete_account(user) -> None:
    """Delete ``user`` and their personal data; keep their invoice records, anonymised, and
    the fingerprint of their email address when they had a trial (accounts.selfserve.trials)."""
    cancel_online(user)
    with transaction.atomic():
        on_account_deleted(user)
        InvoiceRequest.objects.filter(user=user).update(
            user=None, billing_email="", anonymised_at=timezone.now()
        )
        user.delete()
