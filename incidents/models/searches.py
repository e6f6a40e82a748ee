"""Saved searches: a member's named finder query, its email alerts and its private feed.

Alerts are delivered from the job queue (incidents.alerts and its tasks). Their state is
kept here so that a worker that dies mid-run loses nothing and repeats nothing:

- ``NewIncident``: incidents published for the first time whose alerts are not matched yet
  (written in the publishing transaction, removed by the matcher in its own).
- ``AlertMatch``: one row per (saved search, incident) the matcher found, unique; its
  ``sent_at`` is set in the transaction that sends the email listing it.

A member's watch list (``SavedSearch.Kind.WATCHLIST``, one per user) is a saved search whose
matches come from its ``Watch`` rows (organisations, by name or domain: incidents.watches)
instead of a finder query; its alerts, digests, unsubscribe link and private feed are the
saved searches' own.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

MAX_SAVED_SEARCHES = 100  # per user
MAX_WATCHES = 200  # organisations or domains on one watch list


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class SavedSearch(models.Model):
    class Kind(models.TextChoices):
        SEARCH = "search", "Saved search"
        WATCHLIST = "watchlist", "Watched organisations"

    class Alerts(models.TextChoices):
        OFF = "off", "No email"
        IMMEDIATE = "immediate", "Immediately"
        DAILY = "daily", "Daily digest"
        WEEKLY = "weekly", "Weekly digest"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=100)
    # The finder's canonical query string (incidents.filters.encode of canonical_params).
    query = models.CharField(max_length=2000, blank=True)
    alerts = models.CharField(max_length=10, choices=Alerts.choices, default=Alerts.OFF)
    # A watch list's query is empty: its Watch rows say what it matches.
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SEARCH)
    # The secret of the private feed's URL; replaced to revoke the old URL.
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(alerts__in=["off", "immediate", "daily", "weekly"]),
                name="savedsearch_alerts_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["search", "watchlist"]), name="savedsearch_kind_valid"
            ),
            # The watch page's get-or-create: one watch list per user.
            models.UniqueConstraint(
                fields=["user"], condition=Q(kind="watchlist"), name="savedsearch_one_watchlist"
            ),
        ]
        indexes = [
            # The matcher and the digest command: searches with alerts on, or of one kind.
            models.Index(fields=["alerts"], name="savedsearch_alerts_idx"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        if self.kind == self.Kind.WATCHLIST:
            return reverse("incidents:watches")
        return reverse("incidents:incident_list") + (f"?{self.query}" if self.query else "")

    @property
    def is_watchlist(self):
        return self.kind == self.Kind.WATCHLIST

    def feed_url(self):
        return reverse("incidents:saved_search_feed", args=[self.feed_token])


class Watch(models.Model):
    """An organisation a member watches, by name or by web domain, on their watch list: a
    new incident whose victim has that name (or a spelling a source used) or a website on
    that domain is listed in the watch list's alerts (incidents.watches). The member's own
    data, not the catalogue's (it names public organisations only)."""

    watchlist = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="watches")
    label = models.CharField(max_length=200)  # as the member wrote it, or the victim's name
    # rules.organisation_key of the label: matched against victims' names and spellings.
    name_key = models.CharField(max_length=200, blank=True)
    # A host name ("example.com", lower case, IDNA): matches victims' websites on it.
    domain = models.CharField(max_length=253, blank=True)
    # Set when watched from the victim's page: its incidents match whatever its name becomes.
    organisation = models.ForeignKey(
        "incidents.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name_key="") | ~Q(domain=""), name="watch_has_name_or_domain"
            ),
            # Adding one organisation twice keeps one row.
            models.UniqueConstraint(
                fields=["watchlist", "name_key", "domain"], name="watch_unique_per_list"
            ),
        ]
        indexes = [
            # The matcher: watches naming one of a batch's victims, by key or by domain.
            models.Index(fields=["name_key"], name="watch_name_key_idx"),
            models.Index(fields=["domain"], name="watch_domain_idx"),
        ]

    def __str__(self):
        return self.label


class NewIncident(models.Model):
    """An incident published for the first time, waiting for the alert matcher."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"new incident {self.incident_id}"


class AlertMatch(models.Model):
    """A new incident matching a saved search; ``sent_at`` once an alert listed it (or the
    owner could not be sent one: ``emailed`` stays False)."""

    saved_search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="matches")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    matched_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # Never twice for one incident and search.
            models.UniqueConstraint(
                fields=["saved_search", "incident"], name="alertmatch_unique_pair"
            ),
        ]
        indexes = [
            # A delivery: a search's matches not sent yet; the digest command: searches with any.
            models.Index(
                fields=["saved_search"],
                condition=Q(sent_at__isnull=True),
                name="alertmatch_pending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.saved_search_id} ~ {self.incident_id}"
