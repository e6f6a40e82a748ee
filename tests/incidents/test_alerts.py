"""Saved searches' alerts: matched after publication, sent from the job queue, once per
(search, incident) even when a worker dies mid-run, only to owners who are members when
the email is sent, with a one-click unsubscribe (RFC 8058)."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Subscription
from incidents import alerts, services
from incidents.models import AlertMatch, Incident, NewIncident, SavedSearch
from tests.factories import IncidentFactory, OrganisationFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    """What a killed worker looks like to the code it was running: nothing catches it."""


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """``publish(**fields)``: a draft made and published by the service, its transaction's
    on-commit work (the matcher's task, run at once by the tests' task backend) done."""

    def run(**fields):
        draft = IncidentFactory(status="draft", **fields)
        with django_capture_on_commit_callbacks(execute=True):
            services.publish(Incident.objects.filter(pk=draft.pk))
        return Incident.objects.get(pk=draft.pk)

    return run


@pytest.fixture
def member():
    return SubscriptionFactory().user


def saved(user, query, alerts="immediate", name="French incidents"):
    return SavedSearch.objects.create(user=user, name=name, query=query, alerts=alerts)


def alert_emails():
    return [m for m in mail.outbox if "List-Unsubscribe" in m.extra_headers]


def test_publishing_a_matching_incident_sends_one_immediate_alert(member, publish):
    search = saved(member, "country=FR")
    saved(member, "country=DE", name="German incidents")
    off = saved(member, "country=FR", alerts="off", name="Not emailed")
    match = publish(country="FR", organisation=OrganisationFactory(name="Rocket Bakery"))
    publish(country="IT", organisation=OrganisationFactory(name="Elsewhere Ltd"))

    [email] = alert_emails()
    assert email.to == [member.email]
    assert "1 new incident: French incidents" in email.subject
    assert "Rocket Bakery" in email.body and "Elsewhere" not in email.body
    assert match.get_absolute_url() in email.body
    html = email.alternatives[0]
    assert html[1] == "text/html" and "Rocket Bakery" in html[0]
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<https?://[^>]+/alerts/unsubscribe/[^>]+/>", email.extra_headers["List-Unsubscribe"]
    )
    assert list(AlertMatch.objects.values_list("saved_search", "incident", "emailed")) == [
        (search.pk, match.pk, True)
    ]
    assert not AlertMatch.objects.filter(saved_search=off).exists()
    assert not NewIncident.objects.exists()

    # The matcher and the delivery run again (a task enqueued twice): nothing new is sent.
    NewIncident.objects.create(incident=match)
    alerts.match_new_incidents()
    assert alerts.deliver(search.pk) is False
    assert len(alert_emails()) == 1


def test_editing_a_published_incident_alerts_nobody_again(
    member, publish, django_capture_on_commit_callbacks
):
    saved(member, "country=FR")
    incident = publish(country="FR")
    with django_capture_on_commit_callbacks(execute=True):
        incident.summary = "Corrected summary."
        incident.save()
        services.unpublish(Incident.objects.filter(pk=incident.pk))
        services.publish(Incident.objects.filter(pk=incident.pk))
    assert len(alert_emails()) == 1


def test_a_search_with_members_filters_and_words_matches_as_the_finder_does(member, publish):
    from tests.factories import MotiveFactory

    espionage = MotiveFactory(slug="espionage", name="Espionage")
    saved(member, "q=ransomware&motive=espionage")
    publish(summary="Ransomware hit the plant.", motives=[espionage])
    publish(summary="Ransomware again, for money.")
    publish(summary="A phishing wave.", motives=[espionage])
    [email] = alert_emails()
    assert "Ransomware hit the plant." in email.body
    assert "for money" not in email.body and "phishing" not in email.body


def test_digests_wait_for_the_timer_and_are_sent_once(member, publish):
    daily = saved(member, "country=FR", alerts="daily", name="Daily French")
    weekly = saved(member, "country=FR", alerts="weekly", name="Weekly French")
    publish(country="FR")
    publish(country="FR")
    assert alert_emails() == []

    call_command("send_alert_digests", "daily", stdout=open("/dev/null", "w"))  # noqa: SIM115
    [email] = alert_emails()
    assert "2 new incidents: Daily French" in email.subject
    assert "(daily digest)" in email.body
    call_command("send_alert_digests", "daily", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(alert_emails()) == 1

    call_command("send_alert_digests", "weekly", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert [m.subject.split("] ")[-1] for m in alert_emails()][
        1
    ] == "2 new incidents: Weekly French"
    assert SavedSearch.objects.get(pk=daily.pk).last_sent_at is not None
    assert AlertMatch.objects.filter(saved_search=weekly, sent_at__isnull=True).count() == 0


def test_a_worker_dying_while_sending_loses_nothing_and_repeats_nothing(
    member, publish, monkeypatch
):
    search = saved(member, "country=FR", alerts="daily")
    publish(country="FR")
    publish(country="FR")

    def die(self, messages):
        raise WorkerDied

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", die)
        with pytest.raises(WorkerDied):
            alerts.deliver(search.pk)
    # Nothing was recorded as sent: the next run sends both, once.
    assert AlertMatch.objects.filter(saved_search=search, sent_at__isnull=True).count() == 2
    assert alerts.deliver(search.pk) is True
    assert alerts.deliver(search.pk) is False
    [email] = alert_emails()
    assert "2 new incidents" in email.subject


def test_a_matcher_dying_mid_run_leaves_the_incidents_queued(member, publish, monkeypatch):
    saved(member, "country=FR")

    def die(incident_ids):
        raise WorkerDied

    with monkeypatch.context() as patch:
        patch.setattr(alerts, "match", die)
        publish(country="FR")  # the task backend records the task as failed
    assert NewIncident.objects.count() == 1
    assert not AlertMatch.objects.exists()
    # The next run (the next publication's task, or the digest timer's) matches them.
    call_command("send_alert_digests", "daily", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not NewIncident.objects.exists()
    assert len(alert_emails()) == 1


def test_a_lapsed_member_gets_no_alert_and_no_backlog_on_renewal(member, publish):
    search = saved(member, "country=FR")
    Subscription.objects.filter(user=member).update(
        ends_at=timezone.now() - datetime.timedelta(days=1)
    )
    while_lapsed = publish(country="FR", organisation=OrganisationFactory(name="While Lapsed"))
    assert alert_emails() == []
    assert AlertMatch.objects.get(incident=while_lapsed).emailed is False

    Subscription.objects.filter(user=member).update(
        ends_at=timezone.now() + datetime.timedelta(days=30)
    )
    publish(country="FR", organisation=OrganisationFactory(name="After Renewal"))
    [email] = alert_emails()
    assert "After Renewal" in email.body and "While Lapsed" not in email.body
    assert alerts.deliver(search.pk) is False


def test_an_unpublished_incident_is_not_listed(member, publish, django_capture_on_commit_callbacks):
    search = saved(member, "country=FR", alerts="daily")
    gone = publish(country="FR", organisation=OrganisationFactory(name="Withdrawn Victim"))
    publish(country="FR", organisation=OrganisationFactory(name="Still Public"))
    services.unpublish(Incident.objects.filter(pk=gone.pk))
    assert alerts.deliver(search.pk) is True
    [email] = alert_emails()
    assert "Still Public" in email.body and "Withdrawn Victim" not in email.body


def test_many_matches_are_listed_up_to_the_limit(
    member, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(alerts, "EMAIL_LIST_LIMIT", 2)
    search = saved(member, "country=FR", alerts="weekly")
    drafts = [IncidentFactory(status="draft", country="FR") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(Incident.objects.filter(pk__in=[d.pk for d in drafts]))
    alerts.deliver(search.pk)
    [email] = alert_emails()
    assert "3 new incidents" in email.subject
    assert "... and 1 more" in email.body


def _unsubscribe_path(email):
    return urlsplit(email.extra_headers["List-Unsubscribe"].strip("<>")).path


def test_one_click_unsubscribe(member, publish):
    search = saved(member, "country=FR")
    publish(country="FR")
    path = _unsubscribe_path(alert_emails()[0])
    client = Client(enforce_csrf_checks=True)

    page = client.get(path)
    assert page.status_code == 200
    assert b"Stop these emails" in page.content and b"French incidents" in page.content
    assert SavedSearch.objects.get(pk=search.pk).alerts == "immediate"  # a GET changes nothing

    # What a mail provider POSTs (RFC 8058): no cookie, no CSRF token.
    done = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200
    assert SavedSearch.objects.get(pk=search.pk).alerts == "off"
    assert b"are off" in done.content
    publish(country="FR")
    assert len(alert_emails()) == 1

    # The link does nothing to any other search; a tampered one is a clear 400.
    assert client.post(path[:-3] + "xx/").status_code == 400
    assert client.get("/alerts/unsubscribe/not-a-token/").status_code == 400
    search.delete()
    assert b"no longer exists" in client.post(path).content


def test_the_unsubscribe_link_names_its_owner(member):
    search = saved(member, "country=FR")
    other = SubscriptionFactory().user
    # A token for the same search id but another user stops nothing.
    forged = alerts.signing.dumps([search.pk, other.pk], salt="not-the-salt")
    assert Client().post(f"/alerts/unsubscribe/{forged}/").status_code == 400
    token = alerts.unsubscribe_token(search)
    SavedSearch.objects.filter(pk=search.pk).update(user=other)
    assert b"no longer exists" in Client().post(f"/alerts/unsubscribe/{token}/").content
    assert SavedSearch.objects.get(pk=search.pk).alerts == "immediate"


def test_matching_parameter_by_parameter_finds_what_the_whole_query_finds(member):
    """``alerts.match`` intersects what each parameter finds alone; for every combination of
    the finder's filters and search words it must find what the finder finds for the whole
    query (``alerts.matching``)."""
    import itertools

    from tests.factories import MotiveFactory, SectorFactory, TechniqueFactory, ThreatActorFactory

    health = SectorFactory(slug="healthcare")
    financial = MotiveFactory(slug="financial", name="Financial")
    phishing = TechniqueFactory(attack_id="T1566")
    actor = ThreatActorFactory(name="Heron Group")
    rows = [
        {
            "country": "FR",
            "summary": "Ransomware at a clinic.",
            "sector": health,
            "motives": [financial],
        },
        {
            "country": "FR",
            "summary": "Phishing emails.",
            "techniques": [phishing],
            "threat_actors": [actor],
        },
        {
            "country": "DE",
            "summary": "Ransomware, phishing first.",
            "techniques": [phishing],
            "records_affected": 5,
        },
        {
            "country": "DE",
            "summary": "Lost laptop.",
            "sector": health,
            "date": datetime.date(2019, 3, 1),
        },
        {
            "country": "IT",
            "summary": "Heron struck again.",
            "threat_actors": [actor],
            "motives": [financial],
        },
    ]
    ids = [IncidentFactory(**row).pk for row in rows]
    params = [
        ("q", "ransomware"),
        ("q", "heron"),
        ("q", "phishing -ransomware"),
        ("country", "FR"),
        ("sector", "healthcare"),
        ("year", "2019"),
        ("records_min", "100"),
        ("motive", "financial"),
        ("technique", "T1566"),
        ("country", "ZZ"),  # invalid: matches nothing, alone or combined
    ]
    queries = [""] + [
        "&".join(f"{k}={v}" for k, v in combo)
        for n in (1, 2, 3)
        for combo in itertools.combinations(params, n)
        if len({k for k, _ in combo}) == n
    ]
    searches = {saved(member, q, alerts="daily", name=q[:100] or "all").pk: q for q in queries}
    pairs = alerts.match(ids)
    incidents = Incident.objects.published().filter(pk__in=ids)
    for search_id, query in searches.items():
        expected = set(alerts.matching(query, incidents).values_list("pk", flat=True))
        assert {i for s, i in pairs if s == search_id} == expected, query
    matched = {s for s, _ in pairs}
    assert len(matched) > 30 and len(searches) - len(matched) > 30  # both outcomes tested
