"""Billing records: customers at the payment provider, its events, invoice requests."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField

from .plans import Plan, Subscription


class BillingCustomer(models.Model):
    """A user's customer record at the payment provider (reused for every checkout)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing_customer"
    )
    stripe_customer_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user} · {self.stripe_customer_id}"


class StripeEvent(models.Model):
    """A payment event received (webhook or test mode): stored once by its id, never twice."""

    # Stripe's ids are at most 255 characters (its API reference, "Object IDs").
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=60)
    created = models.PositiveBigIntegerField(help_text="Stripe's creation time (Unix)")
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class RejectedStripeEvent(models.Model):
    """A signed payment event the lifecycle could not apply (accounts.billing.events says
    why): recorded for staff and answered 200, so that Stripe stops delivering it. Stored
    as text, whatever it holds; never applied."""

    received_at = models.DateTimeField(default=timezone.now)
    event_id = models.CharField(max_length=255, blank=True, help_text="As sent, cut to 255")
    type = models.CharField(max_length=255, blank=True, help_text="As sent, cut to 255")
    reason = models.CharField(max_length=300)
    payload = models.TextField(help_text="The event as received (JSON)")

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self):
        return f"{self.type or '(no type)'} {self.event_id or '(no id)'}: {self.reason}"


class InvoiceRequest(models.Model):
    """A request to pay for a plan by invoice; staff mark it paid, which activates a
    subscription. Kept, anonymised, when its requester deletes their account."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    class Interval(models.TextChoices):
        MONTH = "month", "One month"
        YEAR = "year", "One year"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoice_requests",
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="invoice_requests")
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.YEAR)
    seats = models.PositiveSmallIntegerField(default=1)
    company_name = models.CharField(max_length=200)
    billing_address = models.TextField(max_length=1000)
    country = CountryField()
    vat_id = models.CharField("VAT id", max_length=20, blank=True)
    billing_email = models.EmailField(blank=True)
    purchase_order = models.CharField("purchase order reference", max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    subscription = models.OneToOneField(
        Subscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoice_request",
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="invoice_request_seats_min_1"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "paid", "cancelled"]),
                name="invoice_request_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="invoice_request_paid_has_date",
            ),
        ]
        indexes = [
            # The admin's queue: requests by status, newest first.
            models.Index(fields=["status", "-created_at"], name="invoice_request_queue_idx"),
        ]

    def __str__(self):
        return f"Invoice request #{self.pk}: {self.company_name} ({self.plan})"
