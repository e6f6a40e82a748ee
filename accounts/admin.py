from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from . import billing, useradmin  # noqa: F401 - useradmin registers the users' admin
from .models import (
    ApiToken,
    BillingCustomer,
    InvoiceRequest,
    MembershipOverview,
    Plan,
    RejectedStripeEvent,
    SharedMailbox,
    StripeEvent,
    Subscription,
    SubscriptionChange,
    Team,
    TeamInvitation,
    TeamSeat,
    Trial,
)
from .periods import MONTHS, period_end
from .selfserve import invoices, overview


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "monthly_price",
        "yearly_price",
        "currency",
        "seats",
        "is_public",
        "is_for_sale",
        "grace_days",
    ]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class SubscriptionChangeInline(admin.TabularInline):
    """The subscription's history: what changed, when, from which event or staff action."""

    model = SubscriptionChange
    extra = 0
    can_delete = False
    fields = ["at", "cause", "event_type", "event_id", "staff", "summary"]
    readonly_fields = fields
    ordering = ["-at", "-pk"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _record_staff_change(request, subscription, before, summary_fields):
    changed = [
        f"{f}: {before[f]} → {getattr(subscription, f)}"
        for f in summary_fields
        if before[f] != getattr(subscription, f)
    ]
    if changed:
        SubscriptionChange.objects.create(
            subscription=subscription,
            cause=SubscriptionChange.Cause.STAFF,
            staff=request.user,
            summary="; ".join(changed)[:500],
        )


class SubscriptionForm(forms.ModelForm):
    open_ended = forms.BooleanField(
        label="No end date",
        required=False,
        help_text="Only for a new subscription with no end: otherwise an empty end is one "
        "period of its plan (a month or a year) from the start.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "ends_at" in self.fields and self.instance.pk is None:
            self.fields["ends_at"].help_text = "Empty: one period of the plan from the start"


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = [
        "user",
        "plan",
        "team",
        "status",
        "source",
        "starts_at",
        "ends_at",
        "member_now",
    ]
    list_filter = ["status", "source", "plan"]
    list_select_related = ["user", "plan", "team"]
    search_fields = ["user__email", "user__username", "note", "team__name"]
    autocomplete_fields = ["user", "team"]
    date_hierarchy = "starts_at"
    readonly_fields = [
        "cancelled_at",
        "created_at",
        "updated_at",
        "stripe_subscription_id",
        "billing_interval",
        "cancel_at_period_end",
        "grace_ends_at",
        "stripe_state_at",
    ]
    actions = ["extend_30_days", "extend_one_year", "cancel_now"]
    inlines = [SubscriptionChangeInline]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is None else [f for f in fields if f != "open_ended"]

    def save_model(self, request, obj, form, change):
        if (
            not change
            and obj.ends_at is None
            and not form.cleaned_data.get("open_ended")
            and obj.plan.interval in MONTHS
        ):
            obj.ends_at = period_end(obj.starts_at, obj.plan.interval)
        super().save_model(request, obj, form, change)
        if form.changed_data:
            SubscriptionChange.objects.create(
                subscription=obj,
                cause=SubscriptionChange.Cause.STAFF,
                staff=request.user,
                summary=("created" if not change else "changed")
                + ": "
                + ", ".join(form.changed_data),
            )

    def get_queryset(self, request):
        # "Member now" asks the one membership rule (SubscriptionQuerySet.active).
        active = Subscription.objects.active().filter(pk=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_active_now=Exists(active))

    @admin.display(boolean=True, description="gives access now", ordering="is_active_now")
    def member_now(self, obj):
        return obj.is_active_now

    def _extend(self, request, queryset, days):
        now = timezone.now()
        extended = 0
        for sub in queryset:
            if sub.ends_at is None or sub.status == Subscription.Status.CANCELLED:
                continue  # open-ended already, or cancelled on purpose
            extended += 1
            before = {"ends_at": sub.ends_at, "status": sub.status}
            base = sub.ends_at if sub.ends_at and sub.ends_at > now else now
            sub.ends_at = base + timedelta(days=days)
            if sub.status in (Subscription.Status.EXPIRED, Subscription.Status.PAST_DUE):
                sub.status = Subscription.Status.ACTIVE
            sub.save(update_fields=["ends_at", "status", "updated_at"])
            _record_staff_change(request, sub, before, ["ends_at", "status"])
        self.message_user(
            request, f"Extended {extended} subscription(s) by {days} days.", messages.SUCCESS
        )

    @admin.action(description="Extend by 30 days", permissions=["change"])
    def extend_30_days(self, request, queryset):
        self._extend(request, queryset, 30)

    @admin.action(description="Extend by one year", permissions=["change"])
    def extend_one_year(self, request, queryset):
        self._extend(request, queryset, 365)

    @admin.action(description="Cancel now (member access ends immediately)", permissions=["change"])
    def cancel_now(self, request, queryset):
        now = timezone.now()
        to_cancel = queryset.exclude(status=Subscription.Status.CANCELLED)
        # Paid online: ended at the provider first (else it charges on and its next event
        # makes the subscription active again); one the provider does not end is kept.
        # Without a configured provider staff may still end access here, warned.
        kept = []
        online = list(
            to_cancel.exclude(stripe_subscription_id="")
            .exclude(status=Subscription.Status.EXPIRED)
            .values_list("pk", "stripe_subscription_id")
        )
        if online and billing.get_backend() is None:
            self.message_user(
                request,
                "Online payments are not configured here: cancel "
                + ", ".join(subscription_id for _, subscription_id in online)
                + " in Stripe's dashboard too.",
                messages.WARNING,
            )
            online = []
        for pk, subscription_id in online:
            try:
                billing.cancel_online([subscription_id])
            except billing.NotCancelled as exc:
                kept.append(pk)
                self.message_user(
                    request,
                    f"Kept subscription {subscription_id}: the payment provider did not cancel "
                    f"it ({exc}).",
                    messages.ERROR,
                )
        to_cancel = to_cancel.exclude(pk__in=kept)
        SubscriptionChange.objects.bulk_create(
            SubscriptionChange(
                subscription_id=pk,
                cause=SubscriptionChange.Cause.STAFF,
                staff=request.user,
                summary=f"status: {status} → cancelled (admin: cancel now)",
            )
            for pk, status in to_cancel.values_list("pk", "status")
        )
        n = to_cancel.update(status=Subscription.Status.CANCELLED, cancelled_at=now, updated_at=now)
        self.message_user(request, f"Cancelled {n} subscription(s).", messages.SUCCESS)


@admin.register(BillingCustomer)
class BillingCustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "stripe_customer_id", "created_at"]
    search_fields = ["user__email", "stripe_customer_id"]
    readonly_fields = ["user", "stripe_customer_id", "created_at"]


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Payment events as received, read-only (the lifecycle's input)."""

    list_display = ["event_id", "type", "received_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["event_id", "outcome"]
    readonly_fields = [
        "event_id",
        "type",
        "created",
        "livemode",
        "payload",
        "received_at",
        "outcome",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RejectedStripeEvent)
class RejectedStripeEventAdmin(admin.ModelAdmin):
    """Signed payment events the lifecycle could not apply, with the reason, read-only: each
    may be a change at Stripe the portal missed (compare with Stripe's dashboard)."""

    list_display = ["received_at", "type", "event_id", "reason"]
    list_filter = ["type", "received_at"]
    search_fields = ["event_id", "reason"]
    date_hierarchy = "received_at"
    readonly_fields = ["received_at", "event_id", "type", "reason", "payload"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Self-service (accounts.selfserve): the invoice queue, trials, the membership overview.


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "company_name",
        "plan",
        "interval",
        "seats",
        "country",
        "user",
        "status",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", "plan", "interval"]
    list_select_related = ["plan", "user"]
    search_fields = ["company_name", "vat_id", "billing_email", "user__email", "purchase_order"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "user",
        "created_at",
        "status",
        "paid_at",
        "paid_by",
        "subscription",
        "anonymised_at",
    ]
    actions = ["mark_paid", "cancel_requests"]

    def has_add_permission(self, request):
        return False  # readers make requests; staff act on them

    @admin.action(description="Mark paid (activates the subscription)", permissions=["change"])
    def mark_paid(self, request, queryset):
        activated = [
            sub
            for pk in queryset.values_list("pk", flat=True)
            if (sub := invoices.mark_paid(pk, request.user)) is not None
        ]
        skipped = queryset.count() - len(activated)
        self.message_user(request, f"Activated {len(activated)} subscription(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} request(s): already paid, cancelled, or the account is gone.",
                messages.WARNING,
            )

    @admin.action(description="Cancel (no subscription)", permissions=["change"])
    def cancel_requests(self, request, queryset):
        n = queryset.filter(status=InvoiceRequest.Status.PENDING).update(
            status=InvoiceRequest.Status.CANCELLED
        )
        self.message_user(request, f"Cancelled {n} request(s).", messages.SUCCESS)


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = ["user", "plan", "started_at", "ends_at"]
    list_filter = ["plan"]
    list_select_related = ["user", "plan"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "plan", "subscription", "started_at", "ends_at"]

    def has_add_permission(self, request):
        return False


@admin.register(SharedMailbox)
class SharedMailboxAdmin(admin.ModelAdmin):
    """Accounts whose addresses reach one mailbox (accounts.addresses), as migration 0015
    found them: staff decide (ask the person, close one account); nothing here merges."""

    list_display = ["mailbox", "user", "address", "found_at", "resolved_at"]
    list_filter = ["resolved_at"]
    list_select_related = ["user"]
    search_fields = ["mailbox", "address", "user__email"]
    readonly_fields = ["mailbox", "user", "address", "found_at"]
    fields = ["mailbox", "user", "address", "found_at", "resolved_at"]
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark as dealt with")
    def mark_resolved(self, request, queryset):
        done = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, f"{done} marked as dealt with.", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see who has which token and may revoke one (a leaked token); nobody can read
    a token back (only its SHA-256 is kept) or make one for someone else."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "prefix", "name"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


# Teams (accounts.teams).


class TeamSeatInline(admin.TabularInline):
    model = TeamSeat
    extra = 0
    fields = ["user", "joined_at"]
    autocomplete_fields = ["user"]


class TeamInvitationInline(admin.TabularInline):
    model = TeamInvitation
    extra = 0
    fields = ["email", "invited_by", "created_at", "accepted_at", "accepted_by", "revoked_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # invitations carry a signed link: the owner sends them from the team page


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams, their seats and invitations. Removing a seat here ends its holder's access on
    their next request, as the owner's "Remove" does."""

    list_display = ["name", "owner", "seats", "seats_used", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__email", "seat_rows__user__email"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at"]
    inlines = [TeamSeatInline, TeamInvitationInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(used=Count("seat_rows"))

    @admin.display(description="seats used", ordering="used")
    def seats_used(self, obj):
        return obj.used


@admin.register(MembershipOverview)
class MembershipOverviewAdmin(admin.ModelAdmin):
    """One page, linked from the admin index: who is a member, trials, the last 30 days,
    failed payments and monthly recurring revenue. For staff who may view subscriptions."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            )
        ]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.view_subscription")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Membership overview",
            "overview": overview.build(),
            "window_days": overview.WINDOW.days,
        }
        return TemplateResponse(request, "accounts/admin/membership_overview.html", context)
