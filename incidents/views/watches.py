"""Watched organisations, on the account pages: a member's watch list (incidents.watches).

Members add organisations (a name, or a web domain) and remove them, and choose the
alerts; the alerts and the private feed are the saved searches' (incidents.alerts). A
signed-in non-member is told it is for members and cannot add one; a lapsed member keeps
their list and may remove entries or switch the alerts off, as with saved searches.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import is_member

from .. import presenters, rules, watches
from ..http import error_page
from ..models import MAX_WATCHES, Incident, Organisation, SavedSearch, Watch

RECENT = 20  # incidents listed on the page


class WatchForm(forms.Form):
    watch = forms.CharField(
        label="Organisation or web domain",
        max_length=300,
        help_text="A name as sources write it (“Acme Logistics”) or a domain (acme.example).",
    )
    organisation = forms.SlugField(required=False, widget=forms.HiddenInput)


class AlertsForm(forms.ModelForm):
    class Meta:
        model = SavedSearch
        fields = ["alerts"]
        labels = {"alerts": "Email alerts"}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def watch_list(request):
    """The viewer's watched organisations (GET); add one (POST, members)."""
    if request.method == "POST":
        return _add(request)
    member = is_member(request.user)
    watchlist = watches.watchlist_of(request.user)
    rows, entries = [], []
    if watchlist is not None:
        entries = [
            (watch, _victims(watch)) for watch in watchlist.watches.select_related("organisation")
        ]
        if member:
            named = watches.incidents_named(watchlist, Incident.objects.published())
            rows = [
                presenters.incident_row(incident)
                for incident in named.for_public_list().newest_first()[:RECENT]
            ]
    return render(
        request,
        "incidents/watches.html",
        {
            "member": member,
            "watchlist": watchlist,
            "entries": entries,
            "rows": rows,
            "form": WatchForm(initial=_prefill(request.GET.get("organisation"))),
            "alerts_form": AlertsForm(instance=watchlist) if watchlist else None,
            "feed_base": request.build_absolute_uri("/")[:-1],
            "limit": MAX_WATCHES,
        },
    )


def _victims(watch):
    """The victims a watch names today (public: names and addresses of victim pages)."""
    ids = watches.organisations_named(watch)
    return list(Organisation.objects.visible_to(None).filter(pk__in=ids).order_by("name")[:10])


def _prefill(slug):
    """The form filled in from a victim's page ("Watch this organisation")."""
    if not slug:
        return {}
    organisation = Organisation.objects.visible_to(None).filter(slug=slug).first()
    if organisation is None:
        return {}
    return {"watch": organisation.name, "organisation": organisation.slug}


def _add(request):
    if not is_member(request.user):
        return error_page(
            request,
            403,
            "For members",
            "Watching organisations, with email alerts and a private feed, is for members.",
        )
    form = WatchForm(request.POST)
    if not form.is_valid():
        return error_page(
            request, 400, "Not added", "Write an organisation's name or its web domain."
        )
    try:
        label, key, domain = watches.parse(form.cleaned_data["watch"])
    except watches.NotValid as error:
        return error_page(request, 400, "Not added", str(error))
    organisation = None
    if form.cleaned_data["organisation"]:
        organisation = (
            Organisation.objects.visible_to(None)
            .filter(slug=form.cleaned_data["organisation"])
            .first()
        )
        if organisation and rules.organisation_key(organisation.name) != key:
            organisation = None  # the name was changed in the form: watch what it says
    with transaction.atomic():
        # The count is read under the user's row lock, so two quick adds cannot pass it.
        get_user_model().objects.select_for_update().filter(pk=request.user.pk).exists()
        watchlist = watches.watchlist_of(request.user, create=True)
        if watchlist.watches.count() >= MAX_WATCHES:
            return error_page(
                request,
                400,
                "Too many watched organisations",
                f"You watch {MAX_WATCHES} organisations: remove one to add another.",
            )
        try:
            with transaction.atomic():
                Watch.objects.create(
                    watchlist=watchlist,
                    label=label,
                    name_key=key,
                    domain=domain,
                    organisation=organisation,
                )
        except IntegrityError:
            messages.info(request, f"You already watch “{label}”.")
            return redirect("incidents:watches")
    messages.success(request, f"Watching “{label}”.")
    return redirect("incidents:watches")


@login_required
@require_POST
def watch_remove(request, pk):
    watch = get_object_or_404(Watch, pk=pk, watchlist__user=request.user)
    watch.delete()
    messages.success(request, f"No longer watching “{watch.label}”.")
    return redirect("incidents:watches")


@login_required
@require_POST
def watch_alerts(request):
    """The watch list's email alerts (off, immediately, daily or weekly)."""
    watchlist = watches.watchlist_of(request.user)
    if watchlist is None:
        return redirect("incidents:watches")
    form = AlertsForm(request.POST, instance=watchlist)
    if not form.is_valid():
        return error_page(request, 400, "Not changed", "Choose one of the alert choices.")
    form.save()
    messages.success(request, "Alerts for your watched organisations updated.")
    return redirect("incidents:watches")
