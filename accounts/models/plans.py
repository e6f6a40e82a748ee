"""Plans and subscriptions (whether a user is a member is decided in accounts.access)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
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
    # Online sale (accounts.billing): a price per billing interval, each with its Stripe price.
    is_for_sale = models.BooleanField(
        default=False, help_text="Offered on the pricing page with online checkout"
    )
    monthly_price = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="Empty: not sold monthly"
    )
    yearly_price = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="Empty: not sold yearly"
    )
    stripe_monthly_price_id = models.CharField(
        max_length=100, blank=True, help_text="Stripe price id (price_...) of the monthly price"
    )
    stripe_yearly_price_id = models.CharField(
        max_length=100, blank=True, help_text="Stripe price id (price_...) of the yearly price"
    )
    grace_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days of continued access after a failed renewal payment"
    )
    trial_days = models.PositiveSmallIntegerField(
        default=0, help_text="Length of the free trial in days (0: no trial)"
    )
    seats = models.PositiveSmallIntegerField(
        default=1, help_text="People it covers; more than one makes it a team plan (accounts.teams)"
    )
    # The API's rate limit for a member's tokens, all together (incidents.api.auth,
    # docs/api.md); empty: API_REQUESTS_PER_MINUTE.
    api_requests_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "API requests a minute per member, all of their tokens together (empty: the "
            "site's default; 0 turns the API off for them)"
        ),
    )
    # Rows its members may export a UTC day (incidents.exports.quota, docs/exports.md);
    # empty: EXPORT_ROWS_PER_DAY.
    export_rows_per_day = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Rows each of its members may export a day (empty: the site's default; "
            "0 turns exports off for them)"
        ),
    )

    class Meta:
        ordering = ["price", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(
                condition=Q(monthly_price__isnull=True) | Q(monthly_price__gt=0),
                name="plan_monthly_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(yearly_price__isnull=True) | Q(yearly_price__gt=0),
                name="plan_yearly_price_positive",
            ),
            models.CheckConstraint(condition=Q(seats__gte=1), name="plan_seats_min_1"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("billing:pricing") + f"#plan-{self.slug}"

    @property
    def is_team_plan(self) -> bool:
        return self.seats > 1

    def sale_price(self, interval: str):
        """The price of one ``interval`` ("month" or "year"), None when not sold so."""
        return {"month": self.monthly_price, "year": self.yearly_price}.get(interval)

    def stripe_price_id(self, interval: str) -> str:
        return {"month": self.stripe_monthly_price_id, "year": self.stripe_yearly_price_id}.get(
            interval, ""
        )


class SubscriptionQuerySet(models.QuerySet):
    def active(self, at=None):
        """Subscriptions that make their user a member at ``at`` (default: now): active or
        trialing within their period, or overdue within their grace period."""
        at = at or timezone.now()
        in_period = Q(status__in=Subscription.MEMBER_STATUSES) & (
            Q(ends_at__isnull=True) | Q(ends_at__gt=at)
        )
        in_grace = Q(status=Subscription.Status.PAST_DUE, grace_ends_at__gt=at)
        return self.filter(in_period | in_grace, starts_at__lte=at)


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
    # Over for good: no event or payment brings these back (accounts.billing.lifecycle).
    ENDED_STATUSES = (Status.CANCELLED, Status.EXPIRED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    # A team plan's subscription: it makes the team's seat holders members, not its buyer
    # (``user``, who pays) as such (accounts.access).
    team = models.ForeignKey(
        "Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="subscriptions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: no end date")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    # Paid online (accounts.billing.lifecycle keeps these in step with Stripe's events).
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    billing_interval = models.CharField(max_length=5, choices=Plan.Interval.choices, blank=True)
    cancel_at_period_end = models.BooleanField(
        default=False, help_text="Cancelled by the member: access until the end of the period"
    )
    grace_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Payment overdue: access until this moment"
    )
    stripe_state_at = models.PositiveBigIntegerField(
        default=0, help_text="Creation time (Unix) of the newest Stripe event applied"
    )
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
            # accounts.billing.lifecycle: the subscription a Stripe event is about.
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=~Q(stripe_subscription_id=""),
                name="subscription_stripe_id_unique",
            ),
        ]
        indexes = [
            # accounts.access.is_member: a user's subscriptions by status.
            models.Index(fields=["user", "status"], name="subscription_user_status_idx"),
        ]

    def __str__(self):
        return f"{self.user} · {self.plan} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("accounts:membership")


class SubscriptionChange(models.Model):
    """One change of a subscription: what changed, when, and what caused it."""

    class Cause(models.TextChoices):
        STRIPE = "stripe", "Stripe event"
        TEST_MODE = "test", "Test-mode payment"
        STAFF = "staff", "Staff action"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(default=timezone.now)
    cause = models.CharField(max_length=6, choices=Cause.choices)
    event_id = models.CharField(max_length=255, blank=True, help_text="Stripe event id")
    event_type = models.CharField(max_length=60, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.summary}"


class MembershipOverview(Subscription):
    """The staff membership overview in the admin (accounts.admin): no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "membership overview"
        verbose_name_plural = "membership overview"
