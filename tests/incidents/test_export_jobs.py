"""Emailed exports (incidents.exports.jobs): a member's large export is made by the job
queue, written to private storage and emailed as a signed link that expires; the download
checks the link, its owner and their membership at download time; a re-run never charges
twice; nothing gated reaches a non-member through the email, the file or the pages."""

import datetime
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.storage import storages
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Subscription
from incidents.exports import build, jobs
from incidents.exports.quota import ExportQuota
from incidents.models import ExportJob
from portal.models import CompletedEvent
from tests.conftest import client_for
from tests.factories import SubscriptionFactory, UserFactory
from tests.test_canary import canaries  # noqa: F401 - the canary fixture, reused

EXPORT_GATED = ["canary-tactic-0", "Public Actor Name", "cia_posture", "confidentiality"]
LINK_RE = re.compile(r"https?://[^/\s]+(/exports/download/[^/\s]+/)")


@pytest.fixture(autouse=True)
def private_storage(exports_storage, settings):
    """Each test's files in a directory of its own; every canary export is 'large'."""
    settings.EXPORT_EMAIL_THRESHOLD = 2
    return exports_storage


# The published incidents of tests.test_canary's world: three canary incidents, two of
# "Plain Victim".
PUBLISHED = 5


def body_of(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


def member_with_client():
    user = SubscriptionFactory().user
    client = Client()
    client.force_login(user)
    return user, client


def lapse(user):
    Subscription.objects.filter(user=user).update(ends_at=timezone.now() - datetime.timedelta(1))


def link_in(message) -> str:
    return LINK_RE.search(message.body)[1]


def gated_in(blob: bytes, canaries):  # noqa: F811
    return [c for c in canaries["gated"] + canaries["draft"] + EXPORT_GATED if c.encode() in blob]


def email_blob(message) -> bytes:
    html = "".join(content for content, _ in message.alternatives)
    return (message.subject + message.body + html + str(message.extra_headers)).encode()


# A member's large export --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "stix.json"])
def test_a_large_export_is_queued_written_privately_and_emailed(fmt, canaries, settings):  # noqa: F811
    user, client = member_with_client()
    response = client.get(f"/incidents/export.{fmt}")
    assert response.status_code == 202
    assert b"being made" in response.content
    job = ExportJob.objects.get(user=user)
    # The immediate backend of the tests ran the task at once.
    assert job.state == ExportJob.State.READY
    assert job.rows == job.charged_rows == PUBLISHED
    assert job.expires_at > timezone.now() + datetime.timedelta(days=settings.EXPORT_LINK_DAYS - 1)
    # Private storage: outside every served directory, no address serves it.
    path = storages["exports"].path(job.file_name)
    for served in (settings.STATIC_ROOT, settings.MEDIA_ROOT, *settings.STATICFILES_DIRS):
        assert not path.startswith(str(served) + "/") if served else True
    for address in (storages["exports"].url(job.file_name), f"/static/{job.file_name}"):
        assert Client().get(address).status_code == 404
    # The email: the link, no catalogue data.
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert f"{PUBLISHED} incidents" in message.body
    assert gated_in(email_blob(message), canaries) == []
    download = client.get(link_in(message))
    assert download.status_code == 200
    assert download["Cache-Control"] == "private, no-store"
    assert download["Content-Disposition"].startswith("attachment; filename=")
    content = body_of(download)
    assert content == Path(path).read_bytes()
    assert b"CanaryMotive0a" in content  # the members' file


def test_the_emailed_file_is_the_streamed_file(canaries, settings):  # noqa: F811
    """Same writers: same columns, licence notice, formula neutralisation, same rows."""
    user, client = member_with_client()
    settings.EXPORT_EMAIL_THRESHOLD = 100
    streamed = body_of(client.get("/incidents/export.csv?sort=oldest"))
    client.post("/incidents/export/email/", {"format": "csv", "query": "sort=oldest"})
    job = ExportJob.objects.get(user=user)
    with storages["exports"].open(job.file_name, "rb") as handle:
        emailed = handle.read()
    # Only the site's address differs: the request's host there, the Site's here.
    assert emailed == streamed.replace(b"http://testserver/", settings.SITE_URL.encode() + b"/")
    assert b"licence" in streamed.splitlines()[0]


def test_neutralises_formulas_in_the_file(db):
    from tests.factories import IncidentFactory

    IncidentFactory(summary='=HYPERLINK("http://evil")')
    IncidentFactory()
    IncidentFactory()
    user, client = member_with_client()
    client.get("/incidents/export.csv")
    job = ExportJob.objects.get(user=user)
    with storages["exports"].open(job.file_name, "rb") as handle:
        assert b"'=HYPERLINK" in handle.read()


def test_a_visitors_export_is_never_queued(canaries):  # noqa: F811
    """Non-members stream public fields within their own (smaller) quota; no job."""
    for kind in ("anonymous", "registered", "expired_member"):
        response = client_for(kind).get("/incidents/export.csv")
        assert response.status_code == 200
        assert gated_in(body_of(response), canaries) == []
    assert not ExportJob.objects.exists()


def test_asking_twice_is_one_job(canaries):  # noqa: F811
    user, client = member_with_client()
    assert client.get("/incidents/export.csv").status_code == 202
    again = client.get("/incidents/export.csv")
    assert again.status_code == 202
    assert b"This export is ready" in again.content  # the immediate backend made it
    assert ExportJob.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1
    client.get("/incidents/export.json")
    assert ExportJob.objects.filter(user=user).count() == 2


def test_jobs_per_day_are_limited(canaries, settings):  # noqa: F811
    settings.EXPORT_JOBS_PER_DAY = 1
    _, client = member_with_client()
    assert client.get("/incidents/export.csv").status_code == 202
    refused = client.get("/incidents/export.json")
    assert refused.status_code == 429
    assert b"Too many emailed exports today" in refused.content


# "Email me the file" --------------------------------------------------------------------


def test_email_me_the_file_on_the_finder_for_members_only(canaries):  # noqa: F811
    _, member = member_with_client()
    assert b"Email me the file" in member.get("/incidents/?country=FR").content
    assert b"Email me the file" not in client_for("registered").get("/incidents/").content


def test_email_me_the_file_queues_a_small_export_too(canaries, settings):  # noqa: F811
    settings.EXPORT_EMAIL_THRESHOLD = 100
    user, client = member_with_client()
    response = client.post("/incidents/export/email/", {"format": "json", "query": "country=FR"})
    assert response.status_code == 202
    job = ExportJob.objects.get(user=user, query="country=FR")
    assert job.format == "json" and job.state == ExportJob.State.READY and job.rows == 3


@pytest.mark.parametrize(
    "data, status",
    [
        ({"format": "xlsx", "query": ""}, 400),
        ({"format": "csv", "query": "date_from=not-a-date"}, 400),
        ({"format": "csv", "query": "records_min=many"}, 400),
        ({"query": ""}, 400),
    ],
)
def test_email_me_the_file_bad_input_is_a_400(data, status, db):
    _, client = member_with_client()
    assert client.post("/incidents/export/email/", data).status_code == status
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    "query, status, saved",
    [
        ("q=ran\x00som", 202, "q=ransom"),  # stripped by portal.middleware
        ("q=ran%00som", 202, "q=ransom"),  # encoded: dropped by the text search
        ("country=F%00R", 400, None),  # refused by the filter
    ],
)
def test_email_me_the_file_nul_bytes_in_the_query(query, status, saved, canaries):  # noqa: F811
    user, client = member_with_client()
    response = client.post("/incidents/export/email/", {"format": "csv", "query": query})
    assert response.status_code == status
    assert list(ExportJob.objects.values_list("query", flat=True)) == ([saved] if saved else [])


@pytest.mark.parametrize("kind", ["registered", "expired_member"])
def test_email_me_the_file_is_for_members(kind, db):
    response = client_for(kind).post("/incidents/export/email/", {"format": "csv"})
    assert response.status_code == 403
    assert not ExportJob.objects.exists()


def test_email_me_the_file_needs_a_post_and_an_account(db):
    assert (
        client_for("anonymous").post("/incidents/export/email/", {"format": "csv"}).status_code
        == 302
    )
    _, client = member_with_client()
    assert client.get("/incidents/export/email/").status_code == 405


# The download link ---------------------------------------------------------------------


@pytest.fixture
def ready_job(canaries):  # noqa: F811
    user, client = member_with_client()
    client.get("/incidents/export.csv")
    (message,) = mail.outbox
    return user, client, link_in(message), ExportJob.objects.get(user=user)


def test_the_link_is_for_its_owner_only(ready_job, canaries):  # noqa: F811
    _, _, link, _ = ready_job
    for kind in ("registered", "expired_member", "member", "staff"):
        response = client_for(kind).get(link)
        assert response.status_code == 403, kind
        assert b"another account" in response.content
        assert gated_in(response.content, canaries) == []
    anonymous = Client().get(link)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_a_lapsed_member_gets_a_403_page_never_the_file(ready_job, canaries):  # noqa: F811
    user, client, link, _ = ready_job
    lapse(user)
    response = client.get(link)
    assert response.status_code == 403
    assert b"Your membership is not active" in response.content
    assert not response.streaming
    assert gated_in(response.content, canaries) == []
    # Renewed: the same link works again until it expires.
    SubscriptionFactory(user=user)
    assert client.get(link).status_code == 200


def test_an_expired_link_is_a_410(ready_job):
    _, client, link, job = ready_job
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    response = client.get(link)
    assert response.status_code == 410
    assert b"expired" in response.content


def test_the_signed_expiry_holds_even_if_the_job_says_otherwise(ready_job, settings):
    user, client, _, job = ready_job
    job.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    old_link = jobs.download_url(job)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() + datetime.timedelta(9))
    assert client.get(old_link).status_code == 410


def test_unknown_and_forged_links(ready_job):
    _, client, link, job = ready_job
    assert client.get("/exports/download/not-a-token/").status_code == 404
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert client.get(tampered).status_code == 404
    job.delete()
    gone = client.get(link)
    assert gone.status_code == 410


def test_delete_expired_exports_removes_the_files(ready_job, private_storage):
    _, client, link, job = ready_job
    path = storages["exports"].path(job.file_name)
    call_command("delete_expired_exports")
    assert storages["exports"].exists(job.file_name)  # not expired yet
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now())
    call_command("delete_expired_exports")
    job.refresh_from_db()
    assert job.state == ExportJob.State.EXPIRED and job.file_name == ""
    assert not storages["exports"].exists(path.rsplit("/", 1)[-1])
    assert client.get(link).status_code == 410
    # Jobs are forgotten after HISTORY_DAYS.
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=jobs.HISTORY_DAYS + 1)
    )
    call_command("delete_expired_exports")
    assert not ExportJob.objects.exists()


def test_deleting_the_account_deletes_the_file(ready_job, django_capture_on_commit_callbacks):
    user, _, _, job = ready_job
    name = job.file_name
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert not storages["exports"].exists(name)


# In the task: membership when it runs, the quota charged once ---------------------------


def test_a_member_who_lapsed_before_the_job_ran_gets_no_file(canaries):  # noqa: F811
    user, _ = member_with_client()
    job = ExportJob.objects.create(user=user, format="csv", query="")
    lapse(user)
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.REFUSED and job.file_name == "" and job.rows is None
    assert job.charged_rows is None
    (message,) = mail.outbox
    assert "not made" in message.subject
    assert gated_in(email_blob(message), canaries) == []
    assert not re.search(r"\d+ incidents", message.body)  # not even a count
    assert ExportQuota(None, member=True, user=user).used() == 0


def test_a_job_over_the_quota_is_refused_and_charges_nothing(canaries, settings):  # noqa: F811
    user, _ = member_with_client()
    settings.EXPORT_ROWS_PER_DAY = 3
    job = ExportJob.objects.create(user=user, format="csv", query="")
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.REFUSED
    assert "quota" in job.reason
    assert ExportQuota(None, member=True, user=user).used() == 0


def test_a_worker_dying_while_writing_reruns_without_a_second_charge(canaries, monkeypatch):  # noqa: F811
    user, _ = member_with_client()
    job = ExportJob.objects.create(user=user, format="json", query="")
    real = build.pieces

    def dies_halfway(*args, **kwargs):
        pieces = real(*args, **kwargs)
        yield next(pieces)
        raise SystemExit("worker killed")

    monkeypatch.setattr(build, "pieces", dies_halfway)
    with pytest.raises(SystemExit):
        jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.RUNNING and job.charged_rows == PUBLISHED
    quota = ExportQuota(None, member=True, user=user)
    assert quota.used() == PUBLISHED
    assert mail.outbox == []

    monkeypatch.setattr(build, "pieces", real)
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY and job.rows == PUBLISHED
    assert quota.used() == PUBLISHED  # charged once
    assert len(mail.outbox) == 1
    # Run again (enqueued twice): nothing changes, nothing is sent.
    jobs.make_export(job.pk)
    assert quota.used() == PUBLISHED and len(mail.outbox) == 1


def test_a_run_failing_before_the_email_leaves_no_file_and_a_retry_sends(canaries, monkeypatch):  # noqa: F811
    user, _ = member_with_client()
    job = ExportJob.objects.create(user=user, format="csv", query="")

    def smtp_down(*args, **kwargs):
        raise OSError("SMTP unreachable")

    monkeypatch.setattr(jobs, "ready_email", smtp_down)
    with pytest.raises(OSError):
        jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.RUNNING  # the ready state rolled back with the key
    assert not CompletedEvent.objects.filter(key=f"export-ready:{job.pk}").exists()
    files = storages["exports"]
    assert files.listdir("")[1] == []  # the failed run deleted its own file
    monkeypatch.undo()
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY and job.attempts == 2
    assert job.file_name == job.storage_name(2)  # the retry's own file, the only one
    assert files.listdir("")[1] == [job.storage_name(2)]
    assert ExportQuota(None, member=True, user=user).used() == PUBLISHED
    assert len(mail.outbox) == 1


# The account's Exports page -------------------------------------------------------------


def test_exports_page_lists_state_rows_expiry_and_link(ready_job):
    _, client, link, job = ready_job
    html = client.get("/accounts/exports/").content.decode()
    assert "Ready" in html and f">{PUBLISHED}<" in html
    (page_link,) = re.findall(r'href="(/exports/download/[^"]+)"', html)
    assert client.get(page_link).status_code == 200
    assert job.expires_at.strftime("%Y") in html


def test_exports_page_of_a_lapsed_member_shows_no_rows_nor_link(ready_job, canaries):  # noqa: F811
    user, client, link, _ = ready_job
    lapse(user)
    response = client.get("/accounts/exports/")
    html = response.content.decode()
    assert response.status_code == 200
    assert link not in html and f">{PUBLISHED}<" not in html
    assert "Your membership has lapsed" in html
    assert gated_in(response.content, canaries) == []
    # The view hands the template named fields only: never the job, its rows or reasons.
    (row,) = response.context["jobs"]
    assert not any(isinstance(v, ExportJob) for v in row.values())
    assert row["rows"] is None and row["reason"] == "" and row["url"] is None


def test_exports_page_needs_an_account(db):
    assert Client().get("/accounts/exports/").status_code == 302
    assert client_for("registered").get("/accounts/exports/").status_code == 200


# Your data ------------------------------------------------------------------------------


def test_your_data_has_saved_searches_alerts_token_names_and_export_jobs(ready_job):
    from accounts import tokens
    from incidents.models import SavedSearch

    user, client, _, job = ready_job
    saved = SavedSearch.objects.create(
        user=user, name="Ransomware in FR", query="country=FR", alerts="daily"
    )
    token, raw = tokens.create(user, "SIEM import")
    other = UserFactory()
    SavedSearch.objects.create(user=other, name="Someone else's", query="")
    response = client.post("/accounts/data/")
    data = response.json()
    assert data["saved_searches"] == [
        {
            "name": "Ransomware in FR",
            "query": "country=FR",
            "alerts": "daily",
            "created_at": saved.created_at.isoformat(),
            "last_alert_sent_at": None,
        }
    ]
    assert [t["name"] for t in data["api_tokens"]] == ["SIEM import"]
    (job,) = data["export_jobs"]
    assert job["state"] == "ready" and job["rows"] == PUBLISHED
    blob = response.content.decode()
    assert raw not in blob and token.digest not in blob
    assert saved.feed_token not in blob
    assert "Someone else" not in blob
    # A lapsed member's file: the jobs without their row counts.
    lapse(user)
    assert client.post("/accounts/data/").json()["export_jobs"][0]["rows"] is None


def test_a_lapsed_members_crawl_with_their_own_link_reaches_no_canary(ready_job, canaries):  # noqa: F811
    """The canary crawl (tests.test_canary) of a member who lapsed after their export was
    made, seeded with the emailed link itself and their Exports page."""
    from tests.test_canary import assert_no_canary_reached, crawl

    user, client, link, _ = ready_job
    lapse(user)
    responses = crawl(client, include_admin=False, extra=[link])
    assert_no_canary_reached("lapsed member with an export", responses, canaries)
    assert responses[link].status_code == 403
    assert responses["/accounts/exports/"].status_code == 200
