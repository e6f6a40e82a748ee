"""Plans and subscriptions (whether a user is a member is decided in accounts.access), and
the record of completed background events (accounts.jobs)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


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
