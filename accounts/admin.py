from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Plan, Subscription


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "currency", "interval", "is_public"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "plan", "status", "source", "starts_at", "ends_at", "member_now"]
    list_filter = ["status", "source", "plan"]
    list_select_related = ["user", "plan"]
    search_fields = ["user__email", "user__username", "note"]
    autocomplete_fields = ["user"]
    date_hierarchy = "starts_at"
    readonly_fields = ["cancelled_at", "created_at", "updated_at"]
    actions = ["extend_30_days", "extend_one_year", "cancel_now"]

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
            base = sub.ends_at if sub.ends_at and sub.ends_at > now else now
            sub.ends_at = base + timedelta(days=days)
            if sub.status in (Subscription.Status.EXPIRED, Subscription.Status.PAST_DUE):
                sub.status = Subscription.Status.ACTIVE
            sub.save(update_fields=["ends_at", "status", "updated_at"])
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
        n = queryset.exclude(status=Subscription.Status.CANCELLED).update(
            status=Subscription.Status.CANCELLED, cancelled_at=now, updated_at=now
        )
        self.message_user(request, f"Cancelled {n} subscription(s).", messages.SUCCESS)


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["plan", "status", "source", "starts_at", "ends_at", "note"]
    show_change_link = True


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Django's user admin, plus the user's subscriptions (grant one with "add another")."""

    inlines = [SubscriptionInline]
