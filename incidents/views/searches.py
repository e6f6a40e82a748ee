"""Saved searches on the account pages: save (members), list, rename, alerts, delete, a new
feed URL; and the one-click unsubscribe link of the alert emails.

Only members save searches (the finder's "Save this search" is shown to members only).
Anyone keeps control of what they saved: a lapsed member may still rename, switch off
and delete their searches; their alerts and feeds wait for membership (incidents.alerts).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import is_member
from portal.confirm import Question, ask, needs_confirmation

from .. import alerts, filters
from ..http import error_page
from ..models.searches import MAX_SAVED_SEARCHES, SavedSearch, new_feed_token


class SavedSearchForm(forms.ModelForm):
    class Meta:
        model = SavedSearch
        fields = ["name", "alerts"]
        labels = {"name": "Name", "alerts": "Email alerts"}


class NewSavedSearchForm(SavedSearchForm):
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


def _get_search_for_user(user, pk) -> SavedSearch:
    """The user's own saved search, else 404."""
    return get_object_or_404(SavedSearch, pk=pk, user=user)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def saved_searches(request):
    """The viewer's saved searches (GET); save one from the finder (POST, members)."""
    if request.method == "POST":
        return _save(request)
    searches = list(SavedSearch.objects.filter(user=request.user, kind=SavedSearch.Kind.SEARCH))
    return render(
        request,
        "incidents/saved_searches.html",
        {
            "searches": [
                (s, SavedSearchForm(instance=s, prefix=f"s{s.pk}"), filters.describe(s.query))
                for s in searches
            ],
            "member": is_member(request.user),
            "feed_base": request.build_absolute_uri("/")[:-1],
        },
    )


def _save(request):
    if not is_member(request.user):
        return error_page(
            request,
            403,
            "For members",
            "Saved searches, their email alerts and private feeds are for members.",
        )
    form = NewSavedSearchForm(request.POST)
    if not form.is_valid():
        return error_page(
            request, 400, "Search not saved", "Give the search a name of up to 100 characters."
        )
    query = filters.canonical_query(form.cleaned_data["query"])
    if query is None:
        return error_page(
            request,
            400,
            "Search not saved",
            "Some filters of this search are not valid: correct them on the finder first.",
        )
    with transaction.atomic():
        # The count is read under the user's row lock, so two quick saves cannot pass it.
        get_user_model().objects.select_for_update().filter(pk=request.user.pk).exists()
        mine = SavedSearch.objects.filter(user=request.user, kind=SavedSearch.Kind.SEARCH)
        if mine.count() >= MAX_SAVED_SEARCHES:
            return error_page(
                request,
                400,
                "Too many saved searches",
                f"You have {MAX_SAVED_SEARCHES} saved searches: delete one to save another.",
            )
        saved = form.save(commit=False)
        saved.user = request.user
        saved.query = query
        saved.save()
    messages.success(request, f"Search “{saved.name}” saved.")
    return redirect("incidents:saved_searches")


@login_required
@require_POST
def saved_search_update(request, pk):
    saved = _get_search_for_user(request.user, pk)
    form = SavedSearchForm(request.POST, instance=saved, prefix=f"s{saved.pk}")
    if not form.is_valid():
        return error_page(
            request,
            400,
            "Not changed",
            "A saved search needs a name of up to 100 characters and one of the alert choices.",
        )
    form.save()
    messages.success(request, f"Saved search “{saved.name}” updated.")
    return redirect("incidents:saved_searches")


@login_required
@require_POST
def saved_search_delete(request, pk):
    saved = _get_search_for_user(request.user, pk)
    if needs_confirmation(request):
        return ask(
            request,
            Question(
                title=f"Delete the saved search “{saved.name}”?",
                consequence=(
                    "Its alerts stop and its private feed address stops working. The "
                    "incidents stay in the finder; you can save the search again later."
                ),
                button="Delete the saved search",
                back_url=reverse("incidents:saved_searches") + f"#search-{saved.pk}",
            ),
        )
    saved.delete()
    messages.success(request, f"Saved search “{saved.name}” deleted.")
    return redirect("incidents:saved_searches")


@login_required
@require_POST
def saved_search_new_feed(request, pk):
    """A new secret feed URL; the old one stops working at once."""
    saved = _get_search_for_user(request.user, pk)
    saved.feed_token = new_feed_token()
    saved.save(update_fields=["feed_token"])
    messages.success(request, f"“{saved.name}” has a new feed address; the old one is revoked.")
    return redirect("incidents:watches" if saved.is_watchlist else "incidents:saved_searches")


@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" with no cookie
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET: a page asking to confirm; POST: alerts off for that saved search (one click)."""
    found = alerts.read_unsubscribe_token(token)
    if found is None:
        return error_page(
            request,
            400,
            "Link not valid",
            "This unsubscribe link is not complete. Open it from the email again, or switch "
            "alerts off on your saved searches page.",
        )
    search_id, user_id = found
    saved = SavedSearch.objects.filter(pk=search_id, user_id=user_id).first()
    done = False
    if request.method == "POST" and saved is not None:
        SavedSearch.objects.filter(pk=saved.pk).update(alerts=SavedSearch.Alerts.OFF)
        done = True
    return render(
        request,
        "incidents/unsubscribe.html",
        {"saved": saved, "done": done or (saved is not None and saved.alerts == "off")},
    )
