"""The Django admin: who may enter, what editors may touch, and the admin actions."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.access import is_member
from accounts.models import Subscription
from incidents.adminparts import CountrySelect
from incidents.models import Incident
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    SourceFactory,
    SubscriptionFactory,
    TechniqueFactory,
    ThreatActorFactory,
    UserFactory,
)

DAY = datetime.timedelta(days=1)
ADMIN_LOGIN = reverse("admin:login")


def editor():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def editor_client(db):
    return client_for(editor())


@pytest.fixture
def superuser_client(db):
    return client_for(UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def incident(db):
    incident = IncidentFactory(organisation__name="Acme Rockets", summary="Old summary.")
    CIAPostureFactory(incident=incident, notes="Payroll data copied.")
    SourceFactory(incident=incident, title="Acme statement")
    return incident


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def form_payload(form):
    """POST data reproducing what ``form`` shows (its initial values), as a browser sends it."""
    data = {}
    for name in form.fields:
        bound = form[name]
        value = bound.value()
        if value is None or value is False:
            continue  # unchecked box or empty field: the browser sends nothing
        if value is True:
            data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = str(value)
    return data


def change_form_payload(response):
    """The admin change form with its inlines, ready to POST back unchanged."""
    data = form_payload(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_payload(formset.management_form))
        for form in formset.forms:
            data.update(form_payload(form))
    return data


def run_action(client, model, action, objects):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(
        url, {"action": action, "_selected_action": [str(o.pk) for o in objects]}, follow=True
    )


# Who may enter


@pytest.mark.parametrize("kind", ["anonymous", "registered", "member"])
def test_non_staff_cannot_enter_the_admin(db, kind, incident):
    user = {
        "anonymous": None,
        "registered": UserFactory(),
        "member": SubscriptionFactory().user if kind == "member" else None,
    }[kind]
    client = client_for(user)
    for url in [reverse("admin:index"), change_url(incident)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(ADMIN_LOGIN), url
        html = client.get(url, follow=True).content.decode()
        assert "Site administration" not in html
        assert "Old summary." not in html
        assert "Payroll data copied." not in html


def test_editors_group_is_created_by_the_migration(db):
    group = Group.objects.get(name="Editors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"add_incident", "change_incident", "view_incident", "view_technique"} <= codenames
    assert not any(c.endswith(("_subscription", "_plan", "_user")) for c in codenames)


# Editors


def test_editor_can_open_incident_pages(editor_client, incident):
    for url in [
        reverse("admin:incidents_incident_changelist"),
        reverse("admin:incidents_incident_add"),
        change_url(incident),
    ]:
        response = editor_client.get(url)
        assert response.status_code == 200, url
    html = editor_client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert "Acme Rockets" in html


def test_editor_can_save_an_incident(editor_client, incident):
    page = editor_client.get(change_url(incident))
    data = change_form_payload(page)
    assert data["cia_posture-TOTAL_FORMS"] == "1"
    assert int(data["sources-TOTAL_FORMS"]) >= 1
    data["summary"] = "New summary after review."

    response = editor_client.post(change_url(incident), data)
    errors = response.context and response.context["adminform"].form.errors
    assert response.status_code == 302, errors
    assert response["Location"] == reverse("admin:incidents_incident_changelist")
    incident.refresh_from_db()
    assert incident.summary == "New summary after review."
    assert incident.cia_posture.notes == "Payroll data copied."  # inlines kept as they were
    assert incident.sources.get().title == "Acme statement"


def test_an_incident_the_form_publishes_is_queued_for_the_alerts(
    editor_client, django_capture_on_commit_callbacks
):
    """The admin's form is a writer: the first publication is announced to the saved
    searches' alerts (services.save_incident), once; a model save alone announces nothing."""
    from incidents.models import NewIncident

    draft = IncidentFactory(status="draft", organisation__name="Acme Rockets")
    assert not NewIncident.objects.exists()
    data = change_form_payload(editor_client.get(change_url(draft)))
    data["status"] = "published"
    with django_capture_on_commit_callbacks() as queued:
        response = editor_client.post(change_url(draft), data)
    assert response.status_code == 302
    assert list(NewIncident.objects.values_list("incident", flat=True)) == [draft.pk]
    assert len(queued) >= 1  # the matcher's task, enqueued when the form's transaction commits

    data["summary"] = "Edited once published."
    editor_client.post(change_url(draft), data)
    assert NewIncident.objects.count() == 1


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:accounts_subscription_changelist",
        "admin:accounts_plan_changelist",
        "admin:auth_user_changelist",
        "admin:accounts_subscription_add",
    ],
)
def test_editor_cannot_touch_memberships_or_users(editor_client, url_name):
    response = editor_client.get(reverse(url_name))
    assert response.status_code == 403


def test_editor_cannot_open_a_subscription(editor_client):
    sub = SubscriptionFactory()
    assert editor_client.get(change_url(sub)).status_code == 403


def test_staff_outside_editors_cannot_edit_incidents(incident):
    client = client_for(UserFactory(is_staff=True))
    assert client.get(reverse("admin:incidents_incident_changelist")).status_code == 403


# Incident actions


def test_unpublish_then_publish(superuser_client, incident):
    public = Client()
    assert public.get(incident.get_absolute_url()).status_code == 200

    response = run_action(superuser_client, Incident, "unpublish", [incident])
    assert response.status_code == 200
    assert "Unpublished 1 incident(s)." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.DRAFT
    assert public.get(incident.get_absolute_url()).status_code == 404

    response = run_action(superuser_client, Incident, "publish", [incident])
    assert "Published 1 incident(s)." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.PUBLISHED
    assert incident.published_at is not None
    assert public.get(incident.get_absolute_url()).status_code == 200


def test_publish_a_new_draft_sets_its_timestamp(superuser_client, db):
    draft = IncidentFactory(status=Incident.Status.DRAFT)
    other = IncidentFactory(status=Incident.Status.DRAFT)
    assert draft.published_at is None
    response = run_action(superuser_client, Incident, "publish", [draft])
    assert "Published 1 incident(s)." in response.content.decode()
    draft.refresh_from_db()
    other.refresh_from_db()
    assert draft.status == Incident.Status.PUBLISHED
    assert draft.published_at is not None
    assert other.status == Incident.Status.DRAFT  # only the selected one
    assert Client().get(draft.get_absolute_url()).status_code == 200


def test_editor_can_use_the_incident_actions(editor_client, incident):
    run_action(editor_client, Incident, "unpublish", [incident])
    incident.refresh_from_db()
    assert incident.status == Incident.Status.DRAFT


def test_incident_change_page_links_to_the_public_page(superuser_client, incident):
    html = superuser_client.get(change_url(incident)).content.decode()
    assert f'<a href="{incident.get_absolute_url()}">View on site</a>' in html
    draft = IncidentFactory(status=Incident.Status.DRAFT)
    html = superuser_client.get(change_url(draft)).content.decode()
    assert f'<a href="{draft.get_absolute_url()}">Preview (draft)</a>' in html


def test_publish_action_gives_drafts_public_slugs_drafts_never_shaped(superuser_client, db):
    """Issue 9.3: a draft for the same victim and month must not push a published one to -2."""
    draft = IncidentFactory(
        status=Incident.Status.DRAFT, organisation__name="Acme", date=datetime.date(2023, 3, 9)
    )
    published = IncidentFactory(organisation=draft.organisation, date=datetime.date(2023, 3, 20))
    assert published.slug == "2023-03-acme"
    assert not draft.slug.startswith("2023-03-acme")
    other = IncidentFactory(status=Incident.Status.DRAFT, organisation__name="Beta Corp")

    run_action(superuser_client, Incident, "publish", [draft, other])
    draft.refresh_from_db()
    other.refresh_from_db()
    assert (draft.slug, other.slug) == ("2023-03-acme-2", "2021-05-beta-corp")
    assert Client().get(draft.get_absolute_url()).status_code == 200

    run_action(superuser_client, Incident, "unpublish", [draft])
    run_action(superuser_client, Incident, "publish", [draft])
    draft.refresh_from_db()
    assert draft.slug == "2023-03-acme-2"  # once public, a slug is kept


def test_publishing_through_the_change_form_allocates_the_public_slug(editor_client, db):
    draft = IncidentFactory(
        status=Incident.Status.DRAFT, organisation__name="Acme", date=datetime.date(2023, 3, 9)
    )
    data = change_form_payload(editor_client.get(change_url(draft)))
    assert data["slug"] == draft.slug
    data["status"] = Incident.Status.PUBLISHED
    assert editor_client.post(change_url(draft), data).status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.slug) == ("published", "2023-03-acme")


def test_draft_preview_link_works_for_staff(superuser_client, db):
    draft = IncidentFactory(status=Incident.Status.DRAFT, summary="Preview me.")
    html = superuser_client.get(change_url(draft)).content.decode()
    assert f'<a href="{draft.get_absolute_url()}">Preview (draft)</a>' in html
    assert "Preview me." in superuser_client.get(draft.get_absolute_url()).content.decode()
    assert Client().get(draft.get_absolute_url()).status_code == 404


def test_admin_form_strips_control_characters(editor_client, incident):
    """Issue 9.2: text pasted from a word processor carries U+000B; it is never stored."""
    data = change_form_payload(editor_client.get(change_url(incident)))
    data["summary"] = "Line one\x0bline two\x1f, tab\tkept."
    response = editor_client.post(change_url(incident), data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.summary == "Line oneline two, tab\tkept."
    assert Client().get(reverse("incidents:incident_feed")).status_code == 200


# Subscription actions


def test_extend_30_days(superuser_client, db):
    now = timezone.now()
    running = SubscriptionFactory(ends_at=now + 10 * DAY)
    old_end = running.ends_at
    open_ended = SubscriptionFactory(ends_at=None)
    response = run_action(superuser_client, Subscription, "extend_30_days", [running, open_ended])
    assert "Extended 1 subscription(s) by 30 days." in response.content.decode()
    running.refresh_from_db()
    open_ended.refresh_from_db()
    assert running.ends_at == old_end + 30 * DAY
    assert open_ended.ends_at is None
    assert open_ended.status == Subscription.Status.ACTIVE


def test_extend_30_days_revives_an_expired_subscription_from_today(superuser_client, db):
    now = timezone.now()
    expired = SubscriptionFactory(
        status=Subscription.Status.EXPIRED, starts_at=now - 100 * DAY, ends_at=now - 5 * DAY
    )
    assert is_member(expired.user) is False
    run_action(superuser_client, Subscription, "extend_30_days", [expired])
    expired.refresh_from_db()
    assert expired.status == Subscription.Status.ACTIVE
    assert now + 29 * DAY < expired.ends_at <= timezone.now() + 30 * DAY
    user = type(expired.user).objects.get(pk=expired.user_id)
    assert is_member(user) is True


def test_cancel_now(superuser_client, db):
    sub = SubscriptionFactory()
    bystander = SubscriptionFactory()
    member_client = client_for(sub.user)
    assert member_client.get(reverse("accounts:membership")).context["is_member"] is True

    response = run_action(superuser_client, Subscription, "cancel_now", [sub])
    assert "Cancelled 1 subscription(s)." in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.cancelled_at is not None
    assert timezone.now() - sub.cancelled_at < datetime.timedelta(minutes=1)
    user = type(sub.user).objects.get(pk=sub.user_id)
    assert is_member(user) is False
    assert member_client.get(reverse("accounts:membership")).context["is_member"] is False
    bystander.refresh_from_db()
    assert bystander.status == Subscription.Status.ACTIVE


# Autocomplete


def test_technique_autocomplete_on_incident_offers_only_taggable(editor_client, db):
    TechniqueFactory(attack_id="T1566", name="Phishing")
    TechniqueFactory(attack_id="T1566.999", name="Phishing old revoked", is_revoked=True)
    TechniqueFactory(attack_id="T1566.998", name="Phishing deprecated", is_deprecated=True)
    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": "techniques",
            "term": "Phishing",
        },
    )
    assert response.status_code == 200
    texts = [r["text"] for r in response.json()["results"]]
    assert texts == ["T1566 Phishing"]


def test_technique_autocomplete_requires_staff(db):
    TechniqueFactory(attack_id="T1566", name="Phishing")
    client = client_for(SubscriptionFactory().user)
    response = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": "techniques",
            "term": "Phishing",
        },
    )
    assert response.status_code == 302
    assert "Phishing" not in response.content.decode()


def test_editor_cannot_look_up_users_through_autocomplete(editor_client):
    UserFactory(email="secret.member@example.org")
    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "accounts",
            "model_name": "subscription",
            "field_name": "user",
            "term": "secret",
        },
    )
    assert response.status_code == 403
    assert "secret.member" not in response.content.decode()


# Issue 25: the incident list fits 1280 px; the add page answers quickly at any catalogue size.


def test_incident_list_shows_status_and_times_in_compact_columns(superuser_client, incident):
    page = superuser_client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    for column in ["column-status", "column-published", "column-updated", "column-country_code"]:
        assert column in page
    published = timezone.localtime(incident.published_at).strftime("%Y-%m-%d\u00a0%H:%M")
    assert published in page
    assert f'<abbr title="{incident.country.name}">{incident.country.code}</abbr>' in page
    assert "css/admin_incidents.css" in page


def test_incident_add_page_lists_no_catalogue_rows_and_a_quick_country_menu(
    superuser_client, django_assert_max_num_queries
):
    for n in range(30):
        ThreatActorFactory(name=f"Actor {n}")
        TechniqueFactory()
        IncidentFactory(organisation__name=f"Victim {n}")
    # The session and user, the two-factor check, and nothing per row.
    with django_assert_max_num_queries(6):
        response = superuser_client.get(reverse("admin:incidents_incident_add"))
    page = response.content.decode()
    assert "Victim 7" not in page and "Actor 7" not in page  # autocompletes, not menus
    country = page.split('name="country"', 1)[1].split("</select>", 1)[0]
    assert country.count("<option") == 250  # the blank choice and 249 countries
    assert '<option value="GB">United Kingdom</option>' in country
    # Written in one pass (adminparts.CountrySelect), not one template per option.
    assert isinstance(response.context["adminform"].form.fields["country"].widget, CountrySelect)
