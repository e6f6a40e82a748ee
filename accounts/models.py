"""Plans and subscriptions (whether a user is a member is decided in accounts.access), and
the record of completed background events (accounts.jobs)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_countries.fields import CountryField


class Plan(models.Model):
    """What a member pays for."""

    class Interval(models.TextChoices):
        MONTH = "month", "Monthly"
        YEAR = "year", "Yearly"
        NONE = "none", "No renewal"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR")
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.YEAR)
    is_public = models.BooleanField(default=True, help_text="Offered on the membership page")
    trial_days = models.PositiveSmallIntegerField(
        default=0, help_text="Length of the free trial in days (0: no trial)"
    )

    class Meta:
        ordering = ["price", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_not_negative"),
        ]

    def __str__(self):
        return self.name


class SubscriptionQuerySet(models.QuerySet):
    def active(self, at=None):
        """Subscriptions that make their user a member at ``at`` (default: now)."""
        at = at or timezone.now()
        return self.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=at),
            status__in=Subscription.MEMBER_STATUSES,
            starts_at__lte=at,
        )


class Subscription(models.Model):
    """A user's right to member access for a period."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        TRIALING = "trialing", "Trial"
        PAST_DUE = "past_due", "Payment overdue"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        MANUAL = "manual", "Granted by staff"
        TRIAL = "trial", "Trial"
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Online payment"

    MEMBER_STATUSES = (Status.ACTIVE, Status.TRIALING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: no end date")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="subscription_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "trialing", "past_due", "cancelled", "expired"]),
                name="subscription_status_valid",
            ),
        ]
        indexes = [
            # accounts.access.is_member: a user's subscriptions by status.
            models.Index(fields=["user", "status"], name="subscription_user_status_idx"),
        ]

    def __str__(self):
        return f"{self.user} · {self.plan} ({self.get_status_display()})"


class CompletedEvent(models.Model):
    """An event whose side effect has run (accounts.jobs.run_once): one row per key, ever."""

    key = models.CharField(max_length=255)
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # accounts.jobs.run_once: the insert that claims a key; a second run for the same
            # key waits for the first one's transaction, then fails here and skips.
            models.UniqueConstraint(fields=["key"], name="completed_event_key_unique"),
        ]

    def __str__(self):
        return self.key


# Self-service: trials and invoice requests (accounts.selfserve).


class Trial(models.Model):
    """A free trial taken: at most one per person, ever. A per-team trial adds a nullable
    ``team`` and its own partial unique constraint beside ``trial_once_per_user``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="trials"
    )
    subscription = models.OneToOneField(
        Subscription, on_delete=models.SET_NULL, null=True, related_name="trial"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="trials")
    started_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # accounts.selfserve.trials.start_trial: two requests racing for a second trial,
            # the loser fails here.
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="trial_once_per_user"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("started_at")), name="trial_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"Trial of {self.plan} for {self.user}"


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


class MembershipOverview(Subscription):
    """The staff membership overview in the admin (accounts.admin): no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "membership overview"
        verbose_name_plural = "membership overview"
