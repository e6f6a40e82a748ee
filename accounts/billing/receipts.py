"""Receipts of card payments: each ``invoice.paid`` event stored for the user's customer
(``StripeEvent``, as the webhook or the test mode received it) with the link Stripe gives
its invoice (``hosted_invoice_url``: Stripe's page of the paid invoice, with its PDF). In
test mode that link is a TEST MODE receipt of ours. Nothing is asked of Stripe to list
them. An invoice asked for by bank transfer is another thing (``InvoiceRequest``)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from accounts.models import BillingCustomer, StripeEvent

TEST_RECEIPT_PREFIX = "/billing/test/receipt/"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Receipt:
    invoice_id: str
    number: str
    paid_at: datetime.datetime
    amount: Decimal | None
    currency: str
    url: str  # Stripe's hosted invoice page ("" when the event gave none)


def paid_invoices(user):
    """The ``invoice.paid`` events of ``user``'s customer, newest first."""
    customer = (
        BillingCustomer.objects.filter(user=user)
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    if not customer:
        return StripeEvent.objects.none()
    return StripeEvent.objects.filter(
        type="invoice.paid", payload__data__object__customer=customer
    ).order_by("-created", "-pk")


def receipt(event: StripeEvent) -> Receipt:
    invoice = (event.payload.get("data") or {}).get("object") or {}
    paid = (invoice.get("status_transitions") or {}).get("paid_at") or event.created
    cents = invoice.get("amount_paid")
    return Receipt(
        invoice_id=str(invoice.get("id") or ""),
        number=str(invoice.get("number") or ""),
        paid_at=datetime.datetime.fromtimestamp(int(paid), tz=datetime.UTC),
        amount=(Decimal(cents) / 100).quantize(CENT) if isinstance(cents, int) else None,
        currency=str(invoice.get("currency") or "").upper(),
        url=_link(invoice.get("hosted_invoice_url")),
    )


def _link(url) -> str:
    """Stripe's https link, or a test receipt of ours; nothing else is linked."""
    if not isinstance(url, str):
        return ""
    if url.startswith("https://") or url.startswith(TEST_RECEIPT_PREFIX):
        return url
    return ""


def receipts_of(user, *, limit: int = 24) -> list[Receipt]:
    return [receipt(event) for event in paid_invoices(user)[:limit]]


def test_receipt_url(invoice_id: str) -> str:
    return reverse("billing:test_receipt", args=[invoice_id])
