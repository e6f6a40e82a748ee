"""The admin's lists and forms: the incident list's status and dataset columns, its country
filter as one menu, and a new subscription's default end."""

import datetime
import re
from types import SimpleNamespace

from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription
from tests.factories import IncidentFactory, PlanFactory, UserFactory

URL = reverse("admin:incidents_incident_changelist")


def superuser_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_incident_list_shows_status_and_dataset(db):
    IncidentFactory(organisation__name="Acme Rockets", status="draft")
    html = superuser_client().get(URL).content.decode()
    assert "column-status" in html
    assert "column-dataset" in html
    assert "Draft" in html


def test_the_country_filter_is_one_menu(db):
    IncidentFactory(country="DE")
    client = superuser_client()
    html = client.get(URL).content.decode()
    menu = re.search(r'<select class="admin-dropdown-filter"[^>]*>(.*?)</select>', html, re.S)
    assert menu, "no country menu"
    assert '<option value="?country__exact=DE">Germany</option>' in menu.group(1)
    assert '<a href="?country__exact=DE">' not in html  # not a column of links
    assert "/static/js/admin_dropdown_filter.js" in html
    filtered = client.get(URL, {"country__exact": "DE"}).content.decode()
    assert '<option value="?country__exact=DE" selected>Germany</option>' in filtered


# A new subscription in the admin lasts one period of its plan unless staff say otherwise.


def _save_new_subscription(rf, *, interval, open_ended=False, ends_at=None):
    staff = UserFactory(is_staff=True, is_superuser=True)
    request = rf.post("/")
    request.user = staff
    model_admin = admin.site._registry[Subscription]
    start = timezone.make_aware(datetime.datetime(2026, 1, 31, 9, 0))
    sub = Subscription(
        user=UserFactory(), plan=PlanFactory(interval=interval), starts_at=start, ends_at=ends_at
    )
    form = SimpleNamespace(cleaned_data={"open_ended": open_ended}, changed_data=["user", "plan"])
    model_admin.save_model(request, sub, form, change=False)
    sub.refresh_from_db()
    return sub


def test_a_new_subscription_defaults_to_its_plans_period(rf, db):
    assert _save_new_subscription(rf, interval="year").ends_at == timezone.make_aware(
        datetime.datetime(2027, 1, 31, 9, 0)
    )
    assert _save_new_subscription(rf, interval="month").ends_at == timezone.make_aware(
        datetime.datetime(2026, 2, 28, 9, 0)
    )


def test_an_open_ended_subscription_is_asked_for(rf, db):
    assert _save_new_subscription(rf, interval="year", open_ended=True).ends_at is None
    assert _save_new_subscription(rf, interval="none").ends_at is None
    chosen = timezone.make_aware(datetime.datetime(2026, 3, 1))
    assert _save_new_subscription(rf, interval="year", ends_at=chosen).ends_at == chosen


def test_the_add_form_offers_no_end_date(db):
    html = superuser_client().get(reverse("admin:accounts_subscription_add")).content.decode()
    assert 'name="open_ended"' in html
    assert "Empty: one period of the plan from the start" in html
