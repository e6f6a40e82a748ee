"""Invoice requests: the form (plans, VAT ids, seats), the rate limit, the emails, and the
admin's "Mark paid" that activates a subscription once."""

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.access import is_member
from accounts.models import InvoiceRequest, Subscription
from accounts.selfserve import invoices
from accounts.selfserve.vat import normalise_vat_id, vat_id_error
from tests.factories import PlanFactory, UserFactory

URL = reverse("accounts:invoice_request")


@pytest.fixture
def plan(db):
    return PlanFactory(slug="individual", name="Individual", price=290, interval="year")


@pytest.fixture
def reader(db):
    return UserFactory()


@pytest.fixture
def client(reader):
    client = Client()
    client.force_login(reader)
    return client


def payload(**overrides):
    data = {
        "interval": "year",
        "company_name": "Example Research GmbH",
        "billing_address": "Hauptstraße 1\n10115 Berlin",
        "country": "DE",
        "vat_id": "DE 123 456 789",
        "billing_email": "accounts@example.de",
        "purchase_order": "PO-42",
    }
    data.update(overrides)
    return data


def post(client, plan_slug="individual", **overrides):
    return client.post(f"{URL}?plan={plan_slug}", payload(**overrides))


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_anonymous_is_sent_to_sign_in(db, plan):
    response = Client().get(f"{URL}?plan=individual")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert Client().post(f"{URL}?plan=individual", payload()).status_code == 302
    assert not InvoiceRequest.objects.exists()


def test_the_form_shows_the_plan(client, plan):
    response = client.get(f"{URL}?plan=individual")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Individual" in body
    assert 'name="vat_id"' in body


@pytest.mark.parametrize("typed", ["DE", "de", "Germany", " germany "])
def test_the_country_is_typed_by_name_or_code(client, plan, typed):
    assert post(client, country=typed).status_code == 302
    assert InvoiceRequest.objects.get().country == "DE"


def test_the_form_lists_no_country_names(client, plan):
    """Threat actors' locations are members-only: no list of every country on the page."""
    body = client.get(f"{URL}?plan=individual").content.decode()
    for name in ["Tuvalu", "Nauru", "Naoero", "Germany", "Zimbabwe"]:
        assert name not in body


def test_the_page_lists_my_requests_in_a_fixed_number_of_queries(
    client, reader, plan, django_assert_max_num_queries
):
    for _ in range(3):
        make_request(plan, user=reader)
    make_request(plan)  # someone else's
    # 1 session, 2 user, 3 the chosen plan, 4 is_member (the header's badge), 5 the plans
    # for sale, 6 my requests with their plans.
    with django_assert_max_num_queries(6):
        response = client.get(f"{URL}?plan=individual")
    assert len(response.context["requests"]) == 3


def test_without_a_plan_the_page_lists_the_plans(client, plan):
    PlanFactory(slug="team", name="Team", price=1490)
    body = client.get(URL).content.decode()
    assert "?plan=individual" in body
    assert "?plan=team" in body


@pytest.mark.parametrize("slug", ["nope", "complimentary", "hidden"])
def test_unknown_free_or_hidden_plan_is_404(client, plan, slug):
    PlanFactory(slug="complimentary", price=0, interval="none")
    PlanFactory(slug="hidden", price=100, is_public=False)
    assert client.get(f"{URL}?plan={slug}").status_code == 404
    assert post(client, plan_slug=slug).status_code == 404
    assert not InvoiceRequest.objects.exists()


def test_a_post_without_a_plan_is_404(client, plan):
    assert client.post(URL, payload()).status_code == 404


def test_a_request_is_saved_for_its_requester_and_acknowledged_by_email(client, reader, plan):
    response = post(client)
    assert response.status_code == 302
    request = InvoiceRequest.objects.get()
    assert request.user == reader
    assert request.plan == plan
    assert request.vat_id == "DE123456789"
    assert request.seats == 1
    assert request.status == InvoiceRequest.Status.PENDING
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [reader.email]
    assert "invoice request" in mail.outbox[0].subject.lower()
    assert "Example Research GmbH" in mail.outbox[0].body
    assert not is_member(fresh(reader))  # nothing is paid yet
    assert "Example Research GmbH" in client.get(URL).content.decode()


def test_an_individual_plan_takes_one_seat_whatever_is_posted(client, plan):
    assert post(client, seats="7").status_code == 302
    assert InvoiceRequest.objects.get().seats == 1


def test_a_team_plan_takes_several_seats(client, plan):
    PlanFactory(slug="team", name="Team", price=1490)
    assert post(client, plan_slug="team", seats="7").status_code == 302
    assert InvoiceRequest.objects.get().seats == 7
    assert post(client, plan_slug="team", seats="0").status_code == 400


@pytest.mark.parametrize(
    ("country", "vat_id"),
    [
        ("DE", "DE12345678"),  # one digit short
        ("DE", "FR12345678901"),  # another country's prefix
        ("FR", "123456789"),  # no prefix
        ("NL", "NL123456789"),  # the B01 suffix missing
        ("GR", "GR123456789"),  # Greece writes EL
    ],
)
def test_an_invalid_eu_vat_id_is_a_form_error(client, plan, country, vat_id):
    response = post(client, country=country, vat_id=vat_id)
    assert response.status_code == 400
    assert "vat_id" in response.context["form"].errors
    assert not InvoiceRequest.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize(
    ("country", "vat_id"),
    [
        ("DE", "de-123.456.789"),
        ("NL", "NL123456789B01"),
        ("GR", "EL123456789"),
        ("AT", "ATU12345678"),
        ("FR", "FRXX123456789"),
        ("CH", "CHE-123.456.789 MWST"),  # outside the EU: as typed
        ("US", ""),  # no VAT id at all
    ],
)
def test_valid_vat_ids(country, vat_id):
    assert vat_id_error(normalise_vat_id(vat_id), country) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"company_name": ""},
        {"billing_address": ""},
        {"country": "XX"},
        {"country": "Atlantis"},
        {"billing_email": "not-an-email"},
        {"interval": "decade"},
        {"company_name": "x" * 201},
    ],
)
def test_bad_input_is_a_form_error_not_a_500(client, plan, overrides):
    response = post(client, **overrides)
    assert response.status_code == 400
    assert not InvoiceRequest.objects.exists()


def test_csrf_is_required(reader, plan):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    response = client.post(f"{URL}?plan=individual", payload())
    assert response.status_code == 403
    assert not InvoiceRequest.objects.exists()


def test_requests_are_rate_limited_per_user(client, plan):
    statuses = [post(client, company_name=f"Company {i}").status_code for i in range(6)]
    assert statuses == [302] * 5 + [429]
    assert InvoiceRequest.objects.count() == 5
    body = client.post(f"{URL}?plan=individual", payload()).content.decode()
    assert "Too many attempts" in body
    other = Client()
    other.force_login(UserFactory())
    assert post(other).status_code == 302  # another user has their own allowance


# Mark paid


def make_request(plan, user=None, interval="year"):
    return InvoiceRequest.objects.create(
        user=user or UserFactory(),
        plan=plan,
        interval=interval,
        company_name="Example Research GmbH",
        billing_address="Berlin",
        country="DE",
    )


@pytest.fixture
def staff_client(db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    client.staff = staff
    return client


def mark_paid_in_admin(client, *requests):
    return client.post(
        reverse("admin:accounts_invoicerequest_changelist"),
        {"action": "mark_paid", "_selected_action": [str(r.pk) for r in requests]},
        follow=True,
    )


@pytest.mark.parametrize(("interval", "days"), [("year", (365, 366)), ("month", (28, 31))])
def test_mark_paid_activates_a_subscription_for_the_interval(staff_client, plan, interval, days):
    request = make_request(plan, interval=interval)
    response = mark_paid_in_admin(staff_client, request)
    assert response.status_code == 200
    assert "Activated 1 subscription(s)." in response.content.decode()
    request.refresh_from_db()
    subscription = request.subscription
    assert request.status == InvoiceRequest.Status.PAID
    assert request.paid_by == staff_client.staff
    assert abs(request.paid_at - timezone.now()) < datetime.timedelta(minutes=1)
    assert subscription.user == request.user
    assert subscription.plan == plan
    assert subscription.source == Subscription.Source.INVOICE
    assert subscription.status == Subscription.Status.ACTIVE
    assert days[0] <= (subscription.ends_at - subscription.starts_at).days <= days[1]
    assert is_member(fresh(request.user))
    assert [m.subject for m in mail.outbox][-1].endswith("Your membership is active")
    assert mail.outbox[-1].to == [request.user.email]


def test_mark_paid_twice_creates_one_subscription(staff_client, plan):
    request = make_request(plan)
    mark_paid_in_admin(staff_client, request)
    response = mark_paid_in_admin(staff_client, request)
    assert "Skipped 1 request(s)" in response.content.decode()
    assert Subscription.objects.count() == 1
    assert invoices.mark_paid(request.pk, staff_client.staff) is None
    assert Subscription.objects.count() == 1
    assert len(mail.outbox) == 1  # one activation email


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_staff_marking_paid_at_once_make_one_subscription():
    plan = PlanFactory(slug="individual")
    request = make_request(plan)
    staff = UserFactory(is_staff=True)
    barrier = threading.Barrier(2)
    results = []

    def attempt():
        try:
            barrier.wait()
            results.append(invoices.mark_paid(request.pk, staff))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(result is None for result in results) == [False, True]
    assert Subscription.objects.count() == 1


def test_mark_paid_skips_cancelled_requests_and_deleted_requesters(staff_client, plan):
    cancelled = make_request(plan)
    cancelled.status = InvoiceRequest.Status.CANCELLED
    cancelled.save()
    orphan = make_request(plan)
    orphan.user.delete()
    mark_paid_in_admin(staff_client, cancelled, orphan)
    assert not Subscription.objects.exists()


def test_the_queue_filters_by_status(staff_client, plan):
    pending = make_request(plan)
    pending.company_name = "Waiting Institute"
    pending.save()
    paid = make_request(plan)
    paid.company_name = "Paid Institute"
    paid.save()
    invoices.mark_paid(paid.pk, staff_client.staff)
    url = reverse("admin:accounts_invoicerequest_changelist")
    body = staff_client.get(url, {"status__exact": "pending"}).content.decode()
    assert "Waiting Institute" in body
    assert "Paid Institute" not in body
    body = staff_client.get(url, {"status__exact": "paid"}).content.decode()
    assert "Waiting Institute" not in body
    assert "Paid Institute" in body


@pytest.mark.parametrize("kind", ["anonymous", "registered"])
def test_non_staff_cannot_see_the_queue_or_mark_paid(db, plan, kind):
    request = make_request(plan)
    client = Client()
    if kind == "registered":
        client.force_login(UserFactory())
    url = reverse("admin:accounts_invoicerequest_changelist")
    assert client.get(url).status_code == 302
    client.post(url, {"action": "mark_paid", "_selected_action": [str(request.pk)]})
    assert not Subscription.objects.exists()
