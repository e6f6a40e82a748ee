"""Pricing, checkout, the page after checkout, the customer portal link, Stripe's webhook."""

import logging

import stripe
from allauth.core.ratelimit import consume_or_429
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from accounts.access import is_member, sees_drafts
from accounts.models import BillingCustomer, Plan, Subscription
from accounts.teams import services as teams
from accounts.teams.forms import InviteForm, RenameForm

from . import CheckoutUnavailable, events, get_backend, lifecycle

logger = logging.getLogger(__name__)

# Checkouts started per signed-in user, counted in the default cache with allauth's rate
# limiter (as the self-service pages' limits are).
RATE_LIMITS = {"billing_checkout": "10/h/user"}


def _invoice_request_url():
    """The invoice request (accounts.invoice), when that page is installed."""
    try:
        return reverse("accounts:invoice_request")
    except NoReverseMatch:
        return None


def _common(request):
    backend = get_backend()
    return {
        "online_payment": backend is not None,
        "test_mode": bool(backend and backend.test_mode),
        "invoice_request_url": _invoice_request_url(),
    }


def _member_beyond_trial(user) -> bool:
    """``is_member``, and not only by a free trial or a team's seat: such a member buys no
    other personal plan (one paying online changes plan in the customer portal). A trial
    member may buy before the trial ends, as the trial's reminder asks."""
    if not is_member(user):
        return False
    if sees_drafts(user):
        return True
    return (
        Subscription.objects.active()
        .filter(user=user, team__isnull=True)
        .exclude(source=Subscription.Source.TRIAL)
        .exists()
    )


def _team_paid(user) -> bool:
    """The team ``user`` owns is paid for beyond a trial: they buy no second team plan."""
    team = teams.team_of_owner(user) if user.is_authenticated else None
    return (
        team is not None
        and Subscription.objects.active()
        .filter(team=team)
        .exclude(source=Subscription.Source.TRIAL)
        .exists()
    )


def plan_terms(plan) -> list[tuple[str, str]]:
    """What a plan gives, in the same rows for every plan (the pricing page shows them side
    by side), read from the plan itself: an empty limit is the site's default, as
    ``accounts.access.plan_limit`` applies it."""

    def limit(value, default) -> str:
        value = default if value is None else value
        return intcomma(value) if value else "None"

    people = "1 person" if plan.seats == 1 else f"{plan.seats} people, one seat each"
    return [
        ("Free trial", f"{plan.trial_days} days, no card" if plan.trial_days else "None"),
        ("Who it covers", people),
        (
            "API requests a minute",
            limit(plan.api_requests_per_minute, settings.API_REQUESTS_PER_MINUTE),
        ),
        ("Export rows a day", limit(plan.export_rows_per_day, settings.EXPORT_ROWS_PER_DAY)),
    ]


def _offer(request) -> dict:
    """What the viewer may buy: the same on the pricing page and a plan's page."""
    return {
        **_common(request),
        "is_member": is_member(request.user),
        "member_beyond_trial": _member_beyond_trial(request.user),
        "team_paid": _team_paid(request.user),
        "intervals": [("month", "Monthly"), ("year", "Yearly")],
    }


@require_safe
def pricing(request):
    """The plans on offer, monthly and yearly, for everyone."""
    plans = Plan.objects.filter(is_public=True).order_by("yearly_price", "price", "name")
    context = {**_offer(request), "plans": [(plan, plan_terms(plan)) for plan in plans]}
    return render(request, "accounts/billing/pricing.html", context)


@require_safe
def plan(request, slug):
    """One plan, ready to pay: where the pricing page's "Buy" leads a visitor through sign-up,
    email confirmation and log-in (each passes ``next`` on), so they come back to the plan
    they chose, signed in."""
    chosen = get_object_or_404(Plan, slug=slug, is_public=True)
    context = {**_offer(request), "plan": chosen, "terms": plan_terms(chosen)}
    return render(request, "accounts/billing/plan.html", context)


@login_required
@require_POST
def checkout(request):
    """Start paying for a plan: to Stripe Checkout (or the test-mode page)."""
    plan = Plan.objects.filter(
        slug=request.POST.get("plan", ""), is_public=True, is_for_sale=True
    ).first()
    interval = request.POST.get("interval", "")
    if plan is None or interval not in ("month", "year") or plan.sale_price(interval) is None:
        raise Http404("This plan is not for sale.")
    backend = get_backend()
    if backend is None:
        return redirect("billing:pricing")
    if plan.is_team_plan and _team_paid(request.user):
        messages.info(request, "Your team is paid for already: manage its seats here.")
        return redirect("accounts:team")
    if not plan.is_team_plan and _member_beyond_trial(request.user):
        messages.info(request, "You are a member already: change your plan from Manage billing.")
        return redirect("accounts:membership")
    limited = consume_or_429(request, action="billing_checkout", config=RATE_LIMITS)
    if limited:
        return limited
    try:
        return redirect(backend.start_checkout(request, request.user, plan, interval))
    except CheckoutUnavailable:
        logger.warning("Checkout for %s (%s): no Stripe price set", plan.slug, interval)
        return _unavailable(request, 404)
    except stripe.StripeError:
        logger.exception("Stripe refused or could not be reached for a checkout")
        return _unavailable(request, 503)


def _unavailable(request, status):
    return render(request, "accounts/billing/unavailable.html", {**_common(request)}, status=status)


@login_required
@require_safe
def checkout_return(request):
    """Where checkout sends the buyer back: cancelled, confirmed, or waiting for the webhook."""
    team_paid = _team_paid(request.user)
    context = {
        **_common(request),
        "cancelled": "cancelled" in request.GET,
        "confirmed": _member_beyond_trial(request.user) or team_paid,
    }
    if team_paid and "cancelled" not in request.GET:
        # A team bought: its next steps are naming it and inviting colleagues, here.
        team = teams.team_of_owner(request.user)
        context.update(
            team=teams.page_for(team),
            rename_form=RenameForm(initial={"name": team.name}),
            invite_form=InviteForm(),
        )
    return render(request, "accounts/billing/return.html", context)


@login_required
@require_POST
def manage(request):
    """To the customer portal: card, plan, cancellation, invoices."""
    backend = get_backend()
    if backend is None or not BillingCustomer.objects.filter(user=request.user).exists():
        raise Http404("You have no online subscription to manage.")
    try:
        return redirect(backend.customer_portal_url(request, request.user))
    except stripe.StripeError:
        logger.exception("Stripe refused or could not be reached for the customer portal")
        return _unavailable(request, 503)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events. The signature is checked over the raw body first (Stripe's own
    ``WebhookSignature.verify_header``), then the body is parsed (``events.parse``: depth
    bounded) and the event applied inline, in one transaction with storing it: a failure
    answers 500 and Stripe delivers it again. A signed event the lifecycle cannot use is
    recorded as rejected and answered 200, so that Stripe stops delivering it. A body above
    ``STRIPE_WEBHOOK_MAX_BYTES`` is refused unread (413); an unsigned or unparsable one is 400."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise Http404("No webhook secret is configured.")
    limit = settings.STRIPE_WEBHOOK_MAX_BYTES
    if _content_length(request) > limit or len(request.body) > limit:
        return _refused(413, "Payload too large.", f"a body of more than {limit} bytes")
    # The library compares signatures with hmac.compare_digest, which raises TypeError on
    # non-ASCII text: such a header is no signature.
    signature = request.headers.get("Stripe-Signature", "")
    try:
        payload = request.body.decode("utf-8")
        if not signature.isascii():
            raise stripe.SignatureVerificationError("Not an ASCII header", signature)
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
        )
    except (UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
        return _refused(400, "Invalid signature.", f"bad or missing signature ({exc})")
    try:
        event = events.parse(payload)
    except ValueError as exc:
        return _refused(400, "Invalid payload.", f"signed but not parsable ({exc})")
    outcome = lifecycle.receive(event)
    return HttpResponse(outcome, content_type="text/plain")


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _refused(status: int, answer: str, why: str) -> HttpResponse:
    """A short plain answer; the reason logged at WARNING, without a traceback (nothing
    failed here: the input was wrong)."""
    logger.warning("Stripe webhook refused with %d: %.300s", status, why)
    return HttpResponse(answer, status=status, content_type="text/plain")
