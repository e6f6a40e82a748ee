"""The admin's Export jobs: a read-only list for staff (owner, format, state, rows, dates),
filtered by state and format, searched by owner email; no link to a file; "Enqueue again"
for failed or stalled jobs only (incidents.exports.jobs.enqueue_again)."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.exports import jobs
from incidents.exports.quota import ExportQuota
from incidents.models import ExportJob
from tests.factories import SubscriptionFactory, UserFactory
from tests.test_canary import canaries  # noqa: F401 - the canary fixture, reused

LIST = reverse("admin:incidents_exportjob_changelist")
PUBLISHED = 5


pytestmark = pytest.mark.usefixtures("exports_storage")


@pytest.fixture
def staff(db):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def job_for(email, **fields):
    user = SubscriptionFactory(user__email=email).user
    return ExportJob.objects.create(user=user, **{"format": "csv", "query": "", **fields})


def test_the_list_shows_filters_and_searches(staff, django_assert_max_num_queries):
    job_for("ada@example.com", state="ready", rows=12, format="json")
    job_for("bob@example.com", state="failed", reason="It broke.")
    # session, user, count, count (filtered), the page's jobs with their owners
    with django_assert_max_num_queries(8):
        html = staff.get(LIST).content.decode()
    assert "ada@example.com" in html and "bob@example.com" in html
    assert "column-owner_email" in html and "column-expires_at" in html
    for param in ("state__exact=failed", "format__exact=json"):
        assert f'href="?{param}"' in html
    failed = staff.get(LIST, {"state__exact": "failed"}).content.decode()
    assert "bob@example.com" in failed and "ada@example.com" not in failed
    found = staff.get(LIST, {"q": "ada@"}).content.decode()
    assert "ada@example.com" in found and "bob@example.com" not in found


def test_a_job_is_read_only_and_links_to_no_file(staff):
    job = job_for("ada@example.com", state="ready", rows=3, file_name="export-1.csv")
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() + datetime.timedelta(1))
    url = reverse("admin:incidents_exportjob_change", args=[job.pk])
    page = staff.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "export-1.csv" in html
    assert "/exports/download/" not in html and 'href="export-1.csv"' not in html
    assert 'name="rows"' not in html and 'name="state"' not in html  # no inputs
    assert 'name="_save"' not in html
    staff.post(url, {"state": "queued", "rows": "999", "_save": "Save"})
    job.refresh_from_db()
    assert job.state == "ready" and job.rows == 3
    assert staff.get(reverse("admin:incidents_exportjob_add")).status_code == 403


def test_editors_do_not_see_export_jobs(db):
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(editor)
    assert client.get(LIST).status_code == 403


def enqueue_again(client, *selected):
    return client.post(
        LIST,
        {"action": "enqueue_again", "_selected_action": [str(j.pk) for j in selected]},
        follow=True,
    ).content.decode()


def test_enqueue_again_finishes_a_failed_job_without_a_second_charge(staff, canaries):  # noqa: F811
    user = SubscriptionFactory(user__email="ada@example.com").user
    job = ExportJob.objects.create(user=user, format="csv", query="")
    # Charged by its first run, which then died; the sweep gave up on it.
    quota = ExportQuota(None, member=True, user=user)
    assert quota.reserve(PUBLISHED)
    started = timezone.now() - datetime.timedelta(hours=3)
    ExportJob.objects.filter(pk=job.pk).update(
        state="failed", reason=jobs.STALLED, charged_rows=PUBLISHED, attempts=3, started_at=started
    )
    ready = job_for("bob@example.com", state="ready", rows=1)
    html = enqueue_again(staff, job, ready)
    assert "Enqueued again: 1 export job(s)." in html
    assert "1 job(s) left as they were" in html
    job.refresh_from_db()
    assert job.state == "ready" and job.reason == "" and job.attempts == 4
    assert quota.used() == PUBLISHED  # not charged again
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"] and "is ready" in message.subject
    assert ExportJob.objects.get(pk=ready.pk).state == "ready"


def test_enqueue_again_takes_a_stalled_job_but_not_a_running_one(staff, canaries, settings):  # noqa: F811
    settings.EXPORT_STALLED_MINUTES = 60
    user = SubscriptionFactory().user
    recent, stalled = (
        ExportJob.objects.create(
            user=user,
            format=fmt,
            query="",
            state="running",
            attempts=1,
            started_at=timezone.now() - datetime.timedelta(minutes=minutes),
        )
        for fmt, minutes in (("csv", 10), ("json", 90))
    )
    html = staff.get(LIST).content.decode()
    assert html.count('alt="True"') == 1  # the stalled column
    enqueue_again(staff, recent, stalled)
    assert ExportJob.objects.get(pk=stalled.pk).state == "ready"
    assert ExportJob.objects.get(pk=recent.pk).state == "running"
