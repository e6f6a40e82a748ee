"""Plans and subscriptions (whether a user is a member is decided in accounts.access)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
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


# Self-service: trials and invoice requests (accounts.selfserve).


class Trial(models.Model):
    """A free trial taken: at most one per person (``user``) and one per team (``team``, with
    no user: a team's trial is not its owner's own), ever."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="trials"
    )
    team = models.ForeignKey(
        "Team", on_delete=models.CASCADE, null=True, blank=True, related_name="trials"
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
            # accounts.selfserve.trials.start_trial for a team plan: the same, per team.
            models.UniqueConstraint(
                fields=["team"], condition=Q(team__isnull=False), name="trial_once_per_team"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("started_at")), name="trial_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"Trial of {self.plan} for {self.user}"


class TrialClaim(models.Model):
    """A free trial taken by an email address, kept after the account is deleted so that the
    trial stays once per person: only a keyed hash of the normalised address
    (accounts.selfserve.trials.email_fingerprint), which cannot be turned back into it. A
    person's own trial and the trial of a team they own are claimed apart: one of each."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal trial"
        TEAM = "team", "Team trial (claimed by its owner's address)"

    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSONAL)
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # accounts.selfserve.trials.start_trial: a second trial of a kind for the same
            # address, even from a new account, fails here.
            models.UniqueConstraint(fields=["fingerprint", "kind"], name="trial_claim_unique"),
        ]

    def __str__(self):
        return f"Trial claimed {self.claimed_at:%Y-%m-%d}"


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


# Teams: seats on a team plan (accounts.teams). "Team", never "organisation": that word
# means a victim of an incident.


class SharedMailbox(models.Model):
    """An account whose address reaches the same mailbox (accounts.addresses.mailbox) as
    another account's, found when addresses began to be read as mailboxes (migration 0015):
    one row per account, for staff to decide. Nothing is merged or deleted for it."""

    mailbox = models.CharField(max_length=320, help_text="The mailbox the accounts share")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_mailboxes"
    )
    address = models.CharField(max_length=320, help_text="The account's address, as stored")
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when staff have dealt with it"
    )

    class Meta:
        ordering = ["mailbox", "user_id"]
        verbose_name = "shared mailbox"
        constraints = [
            # The migration's report: one row per account and mailbox, however often it runs.
            models.UniqueConstraint(fields=["mailbox", "user"], name="shared_mailbox_once"),
        ]

    def __str__(self):
        return f"{self.address} (account {self.user_id}) shares {self.mailbox}"


class Team(models.Model):
    """A customer account whose team-plan subscription gives a seat to several people. The
    owner manages it (invitations, removals, transfer) and holds one of its seats."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_teams"
    )
    seats = models.PositiveSmallIntegerField(
        default=1, help_text="Seats bought (the plan's seats, or those invoiced)"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="team_seats_min_1"),
            # accounts.teams.team_of_owner: one team per owner, found by its owner.
            models.UniqueConstraint(fields=["owner"], name="team_one_per_owner"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("accounts:team")


class TeamSeat(models.Model):
    """One person's membership through a team (while the team's subscription is active)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="seat_rows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_seats"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            # accounts.access.is_member joins seats by user; one seat per person and team.
            models.UniqueConstraint(fields=["user", "team"], name="team_seat_once_per_user"),
        ]

    def __str__(self):
        return f"{self.user} on {self.team}"


class TeamInvitation(models.Model):
    """An invitation by email to take a seat: its link is signed and expires
    (accounts.teams), and the row makes it single-use (``accepted_at``)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The team page: a team's open invitations.
            models.Index(fields=["team", "accepted_at"], name="team_invitation_open_idx"),
        ]

    def __str__(self):
        return f"Invitation of {self.email} to {self.team}"


class MembershipOverview(Subscription):
    """The staff membership overview in the admin (accounts.admin): no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "membership overview"
        verbose_name_plural = "membership overview"


class ApiToken(models.Model):
    """A personal API token (accounts.tokens): only the SHA-256 of its secret is kept, and
    its prefix, shown to tell tokens apart. It answers as its owner is at each request."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        indexes = [
            # The account page: a user's tokens, newest first.
            models.Index(fields=["user", "-created_at"], name="api_token_user_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
