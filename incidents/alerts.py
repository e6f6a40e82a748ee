"""Saved searches' alerts: which new incidents match which searches, and the emails.

Run by the job queue (the tasks ``match_new_incidents_task`` and ``deliver_alerts``, below),
never in a request:

1. Publishing an incident for the first time queues it (``services.announce_published``:
   a ``NewIncident`` row in the publishing transaction) and enqueues ``match_new_incidents_task``
   when that commits.
2. ``match_new_incidents`` takes the queued incidents in batches and matches them with the
   members' finder FilterSet restricted to the batch's ids (``match``: each distinct filter
   value once, then set intersections); it records an ``AlertMatch`` per (search,
   incident), unique, and removes the batch from the queue, in one transaction. A run that
   dies leaves the batch queued for the next. Members' watch lists (watched organisations)
   are saved searches too: ``watches.match`` finds theirs in the same transaction.
3. ``deliver(search_id)`` sends one email listing a search's unsent matches and marks them
   sent, in one transaction with the search's row locked: two runs for one search send one
   email, and a run that dies before its commit leaves the matches for the next run.
   Immediate alerts are delivered after each match; digests by ``send_alert_digests``.

Who gets what (DESIGN: "alert emails and private feeds: never gated values; what the
recipient may see when it is sent"): an alert goes only to an owner who is a member when it
is sent (``accounts.access.is_member``, in the task). A lapsed member gets no alert: the
matches found meanwhile are marked as handled without an email, so a renewal does not bring
a flood of old ones. The email lists public fields (victim, date, place, summary, link);
the analysis is on the incident page.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.sites.models import Site
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.access import is_member
from portal import versions
from portal.jobs import retrying_task

from . import filters, presenters, search, watches
from .models import AlertMatch, Incident, NewIncident, SavedSearch

logger = logging.getLogger(__name__)

MATCH_BATCH = 500  # new incidents matched per transaction
EMAIL_LIST_LIMIT = 50  # incidents listed in one email; the rest are linked
UNSUBSCRIBE_SALT = "incidents.alerts.unsubscribe"


# Matching


def matching(query: str, incidents):
    """The incidents among ``incidents`` the finder lists for ``query``, as a member sees
    them (the saved searches' owners saved them as members). Invalid queries match none.
    Only the words match: the finder's typo-tolerant victim names, tried when no word
    matches, would alert about victims merely named alike."""
    found = filters.MemberIncidentFilter(QueryDict(query) or None, queryset=incidents)
    if found.is_bound and not found.is_valid():
        return incidents.none()
    text = found.canonical.get("q")
    if text:
        return search.search(found.qs, text, member=True, fuzzy=False)
    return found.qs


def match(incident_ids) -> list[tuple[int, int]]:
    """(saved search id, incident id) for each saved search with alerts on and each
    published incident among ``incident_ids`` that the search finds.

    The finder's filters and its search text each narrow the results on their own (a
    FilterSet applies its filters one after the other; ``search`` only filters), so what
    a query finds is the intersection of what each of its parameters finds alone. Each
    distinct (parameter, value) among all saved searches is run once, through the
    members' finder (``matching``), over the new incidents only; each search is then an
    intersection of sets. tests/incidents/test_alerts.py checks this against ``matching``
    run on whole queries.
    """
    incidents = Incident.objects.published().filter(pk__in=list(incident_ids))
    found: dict[tuple[str, str], set[int]] = {}

    def found_by(name, value):
        if (name, value) not in found:
            rows = matching(filters.encode({name: value}), incidents).order_by()
            found[name, value] = set(rows.values_list("pk", flat=True))
        return found[name, value]

    searches = (
        SavedSearch.objects.exclude(alerts=SavedSearch.Alerts.OFF)
        .filter(kind=SavedSearch.Kind.SEARCH)  # watch lists: watches.match
        .order_by()
        .values_list("pk", "query")
    )
    everything = set(incidents.values_list("pk", flat=True))
    pairs = []
    for search_id, query in searches.iterator(chunk_size=2000):
        ids = everything
        for name, value in QueryDict(query).items():
            if name != "sort" and ids:
                ids = ids & found_by(name, value)
        pairs.extend((search_id, pk) for pk in sorted(ids))
    return pairs


def match_new_incidents() -> int:
    """Match the queued new incidents (see the module docstring); the matches found.
    Immediate alerts with new matches are enqueued."""
    recorded, immediate = 0, set()
    while True:
        with transaction.atomic(), versions.one_read():
            batch = list(
                NewIncident.objects.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:MATCH_BATCH]
            )
            if not batch:
                break
            pairs = match(batch) + watches.match(batch)
            AlertMatch.objects.bulk_create(
                [AlertMatch(saved_search_id=s, incident_id=i) for s, i in pairs],
                batch_size=2000,
                ignore_conflicts=True,
            )
            NewIncident.objects.filter(pk__in=batch).delete()
        recorded += len(pairs)
        immediate.update(
            SavedSearch.objects.filter(
                pk__in={s for s, _ in pairs}, alerts=SavedSearch.Alerts.IMMEDIATE
            ).values_list("pk", flat=True)
        )
    for search_id in sorted(immediate):
        deliver_alerts.enqueue(search_id)
    return recorded


def searches_due(frequency: str) -> list[int]:
    """Saved searches with unsent matches whose alerts are ``frequency`` (or immediate: a
    delivery a dead worker left undone)."""
    wanted = {frequency, SavedSearch.Alerts.IMMEDIATE}
    return list(
        SavedSearch.objects.filter(alerts__in=wanted, matches__sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


# Delivery


def deliver(search_id: int) -> bool:
    """Email the owner of saved search ``search_id`` its unsent matches, if they may get one
    now; True if an email was sent. Once per match, however often it runs."""
    with transaction.atomic():
        saved = (
            SavedSearch.objects.select_for_update()
            .select_related("user")
            .filter(pk=search_id)
            .first()
        )
        if saved is None:
            return False
        pending = list(
            saved.matches.filter(sent_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "incident_id")
        )
        if not pending:
            return False
        owner = saved.user
        wanted = saved.alerts != SavedSearch.Alerts.OFF and bool(owner.email)
        rows = []
        if wanted and is_member(owner):
            rows = list(
                Incident.objects.published()
                .filter(pk__in=[incident for _, incident in pending])
                .for_public_list()
                .newest_first()
            )
        now = timezone.now()
        AlertMatch.objects.filter(pk__in=[pk for pk, _ in pending]).update(
            sent_at=now, emailed=bool(rows)
        )
        if not rows:
            return False
        saved.last_sent_at = now
        saved.save(update_fields=["last_sent_at"])
        # The Message-ID names the batch: were this email ever sent twice (a worker dying
        # between the SMTP answer and the commit), mail clients can tell it is one.
        alert_email(saved, rows, key=f"alert-{saved.pk}-{pending[-1][0]}").send()
    logger.info("Alert for saved search %s: %d incidents", search_id, len(rows))
    return True


def unsubscribe_token(saved: SavedSearch) -> str:
    return signing.dumps([saved.pk, saved.user_id], salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    """(saved search id, user id) of a genuine token; None otherwise."""
    try:
        search_id, user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(search_id, int) and isinstance(user_id, int)):
        return None
    return search_id, user_id


def alert_email(saved: SavedSearch, incidents, *, key: str) -> EmailMultiAlternatives:
    """The alert email: plain text and HTML, with RFC 8058 one-click unsubscribe headers."""
    base = settings.SITE_URL
    unsubscribe = base + reverse("incidents:unsubscribe", args=[unsubscribe_token(saved)])
    context = {
        "search_name": saved.name,
        "watchlist": saved.is_watchlist,
        "rows": [presenters.incident_row(i) for i in incidents[:EMAIL_LIST_LIMIT]],
        "more": max(len(incidents) - EMAIL_LIST_LIMIT, 0),
        "count": len(incidents),
        "digest": saved.get_alerts_display().lower() if saved.alerts != "immediate" else "",
        "site_url": base,
        "site_name": Site.objects.get_current().name,
        "search_url": base + saved.get_absolute_url(),
        "manage_url": base
        + reverse("incidents:watches" if saved.is_watchlist else "incidents:saved_searches"),
        "unsubscribe_url": unsubscribe,
    }
    noun = "incident" if len(incidents) == 1 else "incidents"
    subject = f"{len(incidents)} new {noun}: {saved.name}"
    host = Site.objects.get_current().domain.split(":")[0]
    message = EmailMultiAlternatives(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + " ".join(subject.split()),
        render_to_string("incidents/email/alert_message.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [saved.user.email],
        headers={
            "Message-ID": f"<{key}@{host}>",
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string("incidents/email/alert_message.html", context), "text/html"
    )
    return message


# The tasks (run by ``manage.py db_worker``; docs/jobs.md)


@retrying_task(attempts=5, backoff=timedelta(minutes=1))
def match_new_incidents_task() -> None:
    """``match_new_incidents``, run by the queue (enqueued when a publication commits)."""
    match_new_incidents()


@retrying_task(attempts=5, backoff=timedelta(minutes=1))
def deliver_alerts(search_id: int) -> None:
    """Email one saved search's unsent matches to its owner, if a member now (``deliver``)."""
    deliver(search_id)
