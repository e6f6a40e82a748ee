"""Self-service pages: invoice requests, starting a trial, downloading one's data, deleting
one's account."""

import json

from allauth.core.ratelimit import consume_or_429
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import InvoiceRequest, Plan

from . import account_data, invoices, trials
from .forms import DeleteAccountForm, InvoiceRequestForm

# Per signed-in user, counted in the default cache with allauth's rate limiter.
RATE_LIMITS = {"invoice_request": "5/h/user", "start_trial": "10/h/user"}


def _plan_for_sale(slug: str | None) -> Plan:
    if not slug:
        raise Http404("No plan chosen.")
    return get_object_or_404(Plan, slug=slug, is_public=True, price__gt=0)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_request(request):
    """Ask to pay for a plan (``?plan=<slug>``) by invoice; the user's requests so far."""
    plans = Plan.objects.filter(is_public=True, price__gt=0)
    slug = request.GET.get("plan")
    if slug is None and request.method != "POST" and len(plans) == 1:
        slug = plans[0].slug
    plan = _plan_for_sale(slug) if slug is not None else None
    form = None
    status = 200
    if plan is not None:
        if request.method == "POST":
            limited = consume_or_429(request, action="invoice_request", config=RATE_LIMITS)
            if limited:
                return limited
            form = InvoiceRequestForm(request.POST, plan=plan)
            if form.is_valid():
                form.instance.user = request.user
                invoices.submit(form.save(commit=False))
                messages.success(
                    request,
                    "Thank you: your invoice request is received. We will email you the invoice; "
                    "your membership starts when it is paid.",
                )
                return redirect("accounts:invoice_request")
            status = 400
        else:
            form = InvoiceRequestForm(plan=plan)
    elif request.method == "POST":
        raise Http404("No plan chosen.")
    context = {
        "plan": plan,
        "plans": plans,
        "form": form,
        "requests": InvoiceRequest.objects.filter(user=request.user).select_related("plan"),
    }
    return render(request, "accounts/invoice_request.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def start_trial(request):
    """The free trial on offer (GET), and starting it (POST ``plan=<slug>``)."""
    if request.method != "POST":
        return render(request, "accounts/trial.html", {"offer": trials.offer_for(request.user)})
    plan = get_object_or_404(
        Plan, slug=request.POST.get("plan", ""), is_public=True, trial_days__gt=0
    )
    limited = consume_or_429(request, action="start_trial", config=RATE_LIMITS)
    if limited:
        return limited
    try:
        subscription = trials.start_trial(request.user, plan)
    except trials.TrialRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("accounts:team" if plan.is_team_plan else "accounts:membership")
    messages.success(
        request,
        f"Your free trial of {plan.name} has started. It ends on "
        f"{timezone.localtime(subscription.ends_at):%d %B %Y} by itself; no card needed.",
    )
    return redirect("accounts:team" if plan.is_team_plan else "accounts:membership")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_data(request):
    """What the download holds (GET), and the download itself (POST: a JSON attachment)."""
    if request.method != "POST":
        return render(request, "accounts/my_data.html")
    body = json.dumps(account_data.export(request.user), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"incident-portal-account-{timezone.now():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete_account(request):
    user = request.user
    status = 200
    if request.method == "POST":
        limited = consume_or_429(request, action="reauthenticate")
        if limited:
            return limited
        form = DeleteAccountForm(request.POST, user=user)
        if form.is_valid():
            try:
                account_data.delete_account(user)
            except account_data.AccountNotDeleted:
                form.add_error(
                    None,
                    "Your subscription could not be cancelled with our payment provider just "
                    "now, so your account was kept. Please try again in a few minutes.",
                )
                status = 503
            else:
                logout(request)
                messages.success(request, "Your account has been deleted.")
                return redirect("home")
        else:
            status = 400
    else:
        form = DeleteAccountForm(user=user)
    context = {
        "form": form,
        "has_password": user.has_usable_password(),
        "retention_years": account_data.INVOICE_RETENTION_YEARS,
    }
    return render(request, "accounts/delete_account.html", context, status=status)
