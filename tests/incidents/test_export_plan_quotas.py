"""Export quotas per plan (docs/exports.md, "Quotas"): a member's daily rows are their plan's
``export_rows_per_day`` (a team's seat holders: the team plan's), else EXPORT_ROWS_PER_DAY;
in the request and in the emailed export's job alike. The account's Exports page shows the
limit and what is left; a lapsed member's says the membership lapsed, and nothing more."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Plan, Subscription
from incidents.exports import jobs
from incidents.exports.quota import ExportQuota
from incidents.models import ExportJob
from tests.conftest import client_for
from tests.factories import PlanFactory, SubscriptionFactory, TeamFactory, seat_for
from tests.test_canary import canaries  # noqa: F401 - the canary fixture, reused

PUBLISHED = 5  # the published incidents of tests.test_canary's world


@pytest.fixture(autouse=True)
def _limits(settings, tmp_path):
    settings.EXPORT_ROWS_PER_DAY = 1000
    settings.EXPORT_EMAIL_THRESHOLD = 1000
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports"},
        },
    }


def member_on(plan):
    user = SubscriptionFactory(plan=plan).user
    client = Client()
    client.force_login(user)
    return user, client


def test_a_plans_limit_is_the_members_quota_in_the_request(canaries):  # noqa: F811
    _, client = member_on(PlanFactory(name="Tiny", export_rows_per_day=PUBLISHED + 1))
    first = client.get("/incidents/export.csv")
    assert first.status_code == 200 and first["X-Export-Rows-Remaining"] == "1"
    refused = client.get("/incidents/export.csv")
    assert refused.status_code == 429
    assert "quota of 6 rows" in refused.content.decode()


def test_a_team_seat_gets_the_team_plans_limit(db):
    team = TeamFactory(subscription=True)
    Plan.objects.filter(slug="team-plan").update(export_rows_per_day=4321)
    assert ExportQuota(None, member=True, user=seat_for(team)).limit == 4321


def test_without_a_plan_limit_the_setting_applies(db, settings):
    user, _ = member_on(PlanFactory(export_rows_per_day=None))
    assert ExportQuota(None, member=True, user=user).limit == settings.EXPORT_ROWS_PER_DAY


def test_the_emailed_export_uses_the_plan_when_it_runs(canaries):  # noqa: F811
    user, _ = member_on(PlanFactory(export_rows_per_day=PUBLISHED - 1))
    job = ExportJob.objects.create(user=user, format="csv", query="")
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.REFUSED and "quota" in job.reason
    # The plan changed before the next run: its new limit counts.
    Plan.objects.filter(pk=user.subscriptions.get().plan_id).update(export_rows_per_day=50)
    again = ExportJob.objects.create(user=user, format="json", query="")
    jobs.make_export(again.pk)
    again.refresh_from_db()
    assert again.state == ExportJob.State.READY and again.charged_rows == PUBLISHED


@pytest.mark.django_db
def test_the_seeded_plans_quotas():
    """Migration accounts 0010: Individual the setting's default, Team more."""
    limits = dict(Plan.objects.values_list("slug", "export_rows_per_day"))
    assert limits["individual"] == 100_000
    assert limits["team"] == 500_000


def test_the_exports_page_shows_the_limit_and_what_is_left(canaries):  # noqa: F811
    _, client = member_on(PlanFactory(name="Analyst", export_rows_per_day=2500))
    client.get("/incidents/export.csv")
    html = client.get("/accounts/exports/").content.decode()
    assert "Export quota: 2,500 rows a day, on the Analyst plan; 2,495 left today" in html


def test_the_tokens_page_shows_the_export_limit(db, settings):
    _, client = member_on(PlanFactory(name="Analyst", export_rows_per_day=2500))
    html = client.get("/accounts/tokens/").content.decode()
    assert "Export quota: 2,500 rows a day</strong>, on the Analyst plan" in html
    _, client = member_on(PlanFactory(export_rows_per_day=None))
    assert "Export quota: 1,000 rows a day</strong>, the site's default" in (
        client.get("/accounts/tokens/").content.decode()
    )
    assert "Export quota" not in client_for("registered").get("/accounts/tokens/").content.decode()


def test_a_lapsed_members_exports_page_says_so_with_no_quota_rows_or_links(canaries):  # noqa: F811
    user, client = member_on(PlanFactory(export_rows_per_day=PUBLISHED - 1))
    client.post("/incidents/export/email/", {"format": "csv", "query": ""})  # refused: quota
    client.get("/incidents/export.csv?country=FR")  # streamed
    ready = ExportJob.objects.create(
        user=user, format="json", query="", state="ready", rows=3, file_name="export-x.json"
    )
    ExportJob.objects.filter(pk=ready.pk).update(expires_at=timezone.now() + datetime.timedelta(1))
    member_html = client.get("/accounts/exports/").content.decode()
    assert "/exports/download/" in member_html and "quota" in member_html  # while a member
    Subscription.objects.filter(user=user).update(ends_at=timezone.now() - datetime.timedelta(1))
    response = client.get("/accounts/exports/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your membership has lapsed" in html and 'href="/pricing/"' in html
    assert "quota" not in html.lower()
    assert "/exports/download/" not in html and ">3<" not in html


def test_a_plan_with_a_limit_of_0_has_every_export_refused(canaries):  # noqa: F811
    """0 is a limit (exports turned off for that plan), not "the site's default"."""
    user, client = member_on(PlanFactory(name="Reader", export_rows_per_day=0))
    assert ExportQuota(None, member=True, user=user).limit == 0
    # Even an export of no rows.
    for url in ("/incidents/export.csv", "/incidents/export.json?organisation=no-such-org"):
        response = client.get(url)
        assert response.status_code == 429
        html = response.content.decode()
        assert "Your Reader plan includes no exports: its export quota is 0 rows a day" in html
        assert "Retry-After" not in response
    emailed = client.post("/incidents/export/email/", {"format": "csv", "query": ""})
    assert emailed.status_code == 429 and "Reader plan includes no exports" in (
        emailed.content.decode()
    )
    assert not ExportJob.objects.filter(user=user).exists()
    # A job asked before the plan changed is refused when it runs, its owner told why.
    job = ExportJob.objects.create(user=user, format="csv", query="organisation=no-such-org")
    jobs.make_export(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.REFUSED and "Reader plan includes no exports" in job.reason
    assert "Export quota: 0 rows a day</strong>, on the Reader plan" in (
        client.get("/accounts/tokens/").content.decode()
    )
