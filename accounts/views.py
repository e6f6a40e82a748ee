from django.shortcuts import render
from django.views.decorators.http import require_safe

from .access import current_subscription, is_member
from .models import BillingCustomer, Plan, Subscription


@require_safe
def membership(request):
    """The viewer's membership and what it unlocks; the plans on offer for everyone."""
    user = request.user
    subscription = current_subscription(user)
    context = {
        "is_member": is_member(user),
        "subscription": subscription,
        "past_subscriptions": [],
        "plans": Plan.objects.filter(is_public=True),
        "has_billing": False,
    }
    if user.is_authenticated:
        context["past_subscriptions"] = (
            Subscription.objects.filter(user=user)
            .select_related("plan")
            .order_by("-starts_at")[:10]
        )
        context["has_billing"] = BillingCustomer.objects.filter(user=user).exists()
    return render(request, "accounts/membership.html", context)
