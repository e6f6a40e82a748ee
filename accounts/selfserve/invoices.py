"""Invoice requests: an institution asks to pay by invoice; staff mark it paid, which
activates the requester's subscription for the period paid."""

from django.db import transaction
from django.utils import timezone

from accounts.emails import enqueue_email
from accounts.models import InvoiceRequest, Subscription
from accounts.periods import period_end
from accounts.teams import services as teams


def submit(invoice_request: InvoiceRequest) -> InvoiceRequest:
    """Save a new request and queue its acknowledgement to the requester."""
    with transaction.atomic():
        invoice_request.save()
        enqueue_email(
            invoice_request.user.email,
            "invoice_received",
            {"invoice_request": invoice_request, "plan": invoice_request.plan},
        )
    return invoice_request


def mark_paid(pk: int, staff_user) -> Subscription | None:
    """Record the payment of request ``pk`` and activate its subscription, once.

    Returns the new subscription, or None when there is nothing to do: already paid (a
    second click, or another staff member at the same moment), cancelled, or the requester
    has deleted their account.
    """
    with transaction.atomic():
        invoice_request = (
            InvoiceRequest.objects.select_for_update(of=("self",))
            .select_related("plan", "user")
            .filter(pk=pk)
            .first()
        )
        if (
            invoice_request is None
            or invoice_request.status != InvoiceRequest.Status.PENDING
            or invoice_request.user is None
        ):
            return None
        now = timezone.now()
        subscription = Subscription(
            user=invoice_request.user,
            plan=invoice_request.plan,
            status=Subscription.Status.ACTIVE,
            source=Subscription.Source.INVOICE,
            starts_at=now,
            ends_at=period_end(now, invoice_request.interval),
            billing_interval=invoice_request.interval,
            note=f"Invoice request #{invoice_request.pk}, {invoice_request.seats} seat(s)",
        )
        teams.attach(subscription, seats=invoice_request.seats)
        subscription.save()
        invoice_request.status = InvoiceRequest.Status.PAID
        invoice_request.paid_at = now
        invoice_request.paid_by = staff_user
        invoice_request.subscription = subscription
        invoice_request.save(update_fields=["status", "paid_at", "paid_by", "subscription"])
        enqueue_email(
            invoice_request.user.email,
            "invoice_activated",
            {"invoice_request": invoice_request, "subscription": subscription},
        )
    return subscription
