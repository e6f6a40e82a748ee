from allauth.core.ratelimit import consume_or_429
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from portal.confirm import Question, ask, needs_confirmation

from . import tokens
from .access import current_subscription, export_rows_per_day, is_member, membership_plan
from .billing import receipts
from .models import ApiToken, BillingCustomer, Plan, Subscription


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
        if context["has_billing"]:
            context["receipts"] = receipts.receipts_of(user)
    return render(request, "accounts/membership.html", context)


# Tokens made per signed-in user, counted in the default cache with allauth's rate limiter.
RATE_LIMITS = {"api_token_create": "20/h/user"}


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What the token is for, e.g. “laptop script” or “SIEM import”.",
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def api_tokens(request):
    """The user's API tokens: make one (its secret is shown in this response only), list
    them with their prefix and last use."""
    form = ApiTokenForm()
    created = None
    status = 200
    if request.method == "POST":
        limited = consume_or_429(request, action="api_token_create", config=RATE_LIMITS)
        if limited:
            return limited
        form = ApiTokenForm(request.POST)
        if form.is_valid() and tokens.active_for(request.user).count() >= tokens.MAX_ACTIVE_TOKENS:
            form.add_error(
                None,
                f"You have {tokens.MAX_ACTIVE_TOKENS} active tokens, the most an account may "
                "have. Revoke one you no longer use first.",
            )
        if form.is_valid():
            token, raw = tokens.create(request.user, form.cleaned_data["name"])
            created = {"token": token, "raw": raw}
            form = ApiTokenForm()
        else:
            status = 400
    response = render(
        request,
        "accounts/api_tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": ApiToken.objects.filter(user=request.user),
            # membership_plan remembers is_member's answer: one query for both.
            "plan": membership_plan(request.user),
            "is_member": is_member(request.user),
            "requests_per_minute": tokens.requests_per_minute(request.user),
            "export_rows_per_day": export_rows_per_day(request.user),
            "anonymous_per_minute": settings.API_ANONYMOUS_REQUESTS_PER_MINUTE,
        },
        status=status,
    )
    if created:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke_api_token(request, token_id):
    token = tokens.active_for(request.user).filter(pk=token_id).first()
    if token is not None and needs_confirmation(request):
        return ask(
            request,
            Question(
                title=f"Revoke the token “{token.name}”?",
                consequence=(
                    f"Scripts using the token that starts with cip_{token.prefix}_ get a 401 "
                    "from the next request on. A revoked token cannot be turned back on: "
                    "make a new one to replace it."
                ),
                button="Revoke the token",
                back_url=reverse("accounts:api_tokens"),
            ),
        )
    if tokens.revoke(request.user, token_id):
        messages.success(request, "The token is revoked: requests with it now get a 401.")
    else:
        messages.error(request, "You have no such active token.")
    return redirect("accounts:api_tokens")
