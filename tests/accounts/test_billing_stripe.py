"""The Stripe backend against a local HTTP server that answers like Stripe's API.

localstripe (PyPI, 1.15.10) was checked first: it implements customers, plans, subscriptions
and invoices but no Checkout Sessions, no billing-portal sessions and no Price objects, which
are what this backend calls, so it cannot stand in here.

The answers below are therefore Stripe-shaped JSON written from Stripe's API reference for API
version 2026-10-28.endive (the version stripe 16.1.0 sends in ``Stripe-Version``), reduced to
the fields the portal reads; they were NOT captured from the live API (this machine cannot
reach it). Recorded: ``POST /v1/customers`` (a customer), ``POST /v1/checkout/sessions`` (a
subscription-mode session with its ``url``), ``POST /v1/billing_portal/sessions`` (a portal
session with its ``url``), ``GET /v1/subscriptions/<id>`` (an active subscription whose period
is on its item), ``DELETE /v1/subscriptions/<id>`` (that subscription, canceled),
``GET /v1/invoice_payments`` (one invoice payment, its invoice expanded, naming that
subscription under ``parent``) and a 400 ``invalid_request_error`` for an unknown price. The
server records every request, so the tests assert what the backend sent, through the real
``stripe`` library.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import connection, connections
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult

from accounts.access import is_member
from accounts.models import BillingCustomer, StripeEvent, Subscription
from tests.accounts.billing_helpers import SECRET, event, invoice, post_event, subscription
from tests.accounts.test_jobs import DATABASE_QUEUE, run_queue
from tests.factories import PlanFactory, UserFactory

NOW = int(time.time())
PERIOD_END = NOW + 30 * 24 * 3600

RECORDED = {
    ("POST", "/v1/customers"): (
        200,
        {"id": "cus_R3c0rded", "object": "customer", "email": "buyer@example.org", "metadata": {}},
    ),
    ("POST", "/v1/checkout/sessions"): (
        200,
        {
            "id": "cs_test_R3c0rded",
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "customer": "cus_R3c0rded",
            "url": "https://checkout.stripe.com/c/pay/cs_test_R3c0rded",
        },
    ),
    ("POST", "/v1/billing_portal/sessions"): (
        200,
        {
            "id": "bps_R3c0rded",
            "object": "billing_portal.session",
            "customer": "cus_R3c0rded",
            "url": "https://billing.stripe.com/p/session/test_R3c0rded",
        },
    ),
    ("DELETE", "/v1/subscriptions/sub_R3c0rded"): (
        200,
        {
            **subscription(
                "sub_R3c0rded",
                "cus_R3c0rded",
                "price_analyst_month",
                start=NOW - 60,
                period_end=PERIOD_END,
            ),
            "status": "canceled",
        },
    ),
    ("GET", "/v1/subscriptions/sub_R3c0rded"): (
        200,
        subscription(
            "sub_R3c0rded",
            "cus_R3c0rded",
            "price_analyst_month",
            start=NOW - 60,
            period_end=PERIOD_END,
        ),
    ),
}
RECORDED[("GET", "/v1/invoice_payments")] = (
    200,
    {
        "object": "list",
        "url": "/v1/invoice_payments",
        "has_more": False,
        "data": [
            {
                "id": "inpay_R3c0rded",
                "object": "invoice_payment",
                "amount_paid": 2900,
                "currency": "eur",
                "is_default": True,
                "status": "paid",
                "payment": {"type": "payment_intent", "payment_intent": "pi_R3c0rded"},
                "invoice": {
                    "id": "in_R3c0rded",
                    "object": "invoice",
                    "customer": "cus_R3c0rded",
                    "parent": {
                        "type": "subscription_details",
                        "subscription_details": {"subscription": "sub_R3c0rded", "metadata": {}},
                    },
                },
            }
        ],
    },
)
UNKNOWN_PRICE = (
    400,
    {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "param": "line_items[0][price]",
            "message": "No such price: 'price_gone'",
        }
    },
)


class FakeStripe(BaseHTTPRequestHandler):
    requests: list = []
    # The test thread's database connection, and how many atomic blocks it had open at each
    # request (Stripe must never be called while the portal holds a transaction).
    watched = None
    depths: list = []

    def _answer(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = parse_qs(self.rfile.read(length).decode()) if length else {}
        self.requests.append((method, self.path, body, dict(self.headers)))
        if self.watched is not None:
            self.depths.append(len(self.watched.atomic_blocks))
        status, payload = RECORDED.get(
            (method, self.path.split("?")[0]),
            (404, {"error": {"type": "invalid_request_error", "message": "not recorded"}}),
        )
        if body.get("line_items[0][price]") == ["price_gone"]:
            status, payload = UNKNOWN_PRICE
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def do_DELETE(self):
        self._answer("DELETE")

    def log_message(self, *args):
        pass


def _free_port():
    for port in range(9400, 9450):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 9400-9449")


@pytest.fixture
def fake_stripe(settings):
    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeStripe.requests = []
    # The object itself: django.db.connection would look up the server thread's connection.
    FakeStripe.watched, FakeStripe.depths = connections["default"], []
    settings.STRIPE_SECRET_KEY = "sk_test_portal"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.DEBUG = False
    yield FakeStripe.requests
    FakeStripe.watched = None
    server.shutdown()
    server.server_close()


@pytest.fixture
def plan(db):
    return PlanFactory(
        slug="analyst",
        name="Analyst",
        is_for_sale=True,
        monthly_price=29,
        yearly_price=290,
        stripe_monthly_price_id="price_analyst_month",
        stripe_yearly_price_id="price_gone",
    )


@pytest.fixture
def buyer_client(db):
    user = UserFactory(email="buyer@example.org")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_checkout_creates_a_customer_once_and_a_subscription_session(
    fake_stripe, plan, buyer_client
):
    response = buyer_client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_R3c0rded"
    user = buyer_client.user
    assert BillingCustomer.objects.get(user=user).stripe_customer_id == "cus_R3c0rded"

    (m1, path1, customer, h1), (m2, path2, session, _) = fake_stripe
    assert (m1, path1) == ("POST", "/v1/customers")
    assert customer["email"] == ["buyer@example.org"]
    assert h1["Authorization"] == "Bearer sk_test_portal"
    assert h1["Idempotency-Key"] == f"portal-customer-{user.pk}"
    assert (m2, path2) == ("POST", "/v1/checkout/sessions")
    assert session["mode"] == ["subscription"]
    assert session["customer"] == ["cus_R3c0rded"]
    assert session["client_reference_id"] == [str(user.pk)]
    assert session["line_items[0][price]"] == ["price_analyst_month"]
    assert session["success_url"] == [
        "http://testserver/billing/return/?session_id={CHECKOUT_SESSION_ID}"
    ]
    assert session["cancel_url"] == ["http://testserver/billing/return/?cancelled=1"]
    assert session["subscription_data[metadata][plan]"] == ["analyst"]

    # The second checkout reuses the customer.
    buyer_client.post("/billing/checkout/", {"plan": "analyst", "interval": "month"})
    assert [p for _, p, _, _ in fake_stripe].count("/v1/customers") == 1


def test_stripe_refusing_the_checkout_is_a_clear_page_not_a_500(fake_stripe, plan, buyer_client):
    response = buyer_client.post("/billing/checkout/", {"plan": "analyst", "interval": "year"})
    assert response.status_code == 503
    assert "nothing was charged" in response.content.decode()


def test_plan_without_a_stripe_price_cannot_be_bought(fake_stripe, buyer_client, db):
    PlanFactory(slug="unpriced", is_for_sale=True, monthly_price=5)
    response = buyer_client.post("/billing/checkout/", {"plan": "unpriced", "interval": "month"})
    assert response.status_code == 404
    assert fake_stripe == []


def test_customer_portal(fake_stripe, plan, buyer_client):
    BillingCustomer.objects.create(user=buyer_client.user, stripe_customer_id="cus_R3c0rded")
    response = buyer_client.post("/billing/manage/")
    assert response["Location"] == "https://billing.stripe.com/p/session/test_R3c0rded"
    [(method, path, body, _)] = fake_stripe
    assert (method, path) == ("POST", "/v1/billing_portal/sessions")
    assert body["customer"] == ["cus_R3c0rded"]
    assert body["return_url"] == ["http://testserver/accounts/membership/"]


def test_an_invoice_for_an_unseen_subscription_fetches_it_from_stripe(
    fake_stripe, plan, buyer_client
):
    BillingCustomer.objects.create(user=buyer_client.user, stripe_customer_id="cus_R3c0rded")
    paid = invoice("cus_R3c0rded", "sub_R3c0rded", period_start=NOW, period_end=PERIOD_END)
    assert post_event(Client(), event("invoice.paid", paid)).status_code == 200
    assert ("GET", "/v1/subscriptions/sub_R3c0rded") in [(m, p) for m, p, _, _ in fake_stripe]
    sub = Subscription.objects.get()
    assert sub.stripe_subscription_id == "sub_R3c0rded"
    assert int(sub.ends_at.timestamp()) == PERIOD_END
    assert is_member(buyer_client.user) is True


def test_a_stale_event_is_replaced_by_stripes_current_state(fake_stripe, plan, buyer_client):
    BillingCustomer.objects.create(user=buyer_client.user, stripe_customer_id="cus_R3c0rded")
    current = subscription(
        "sub_R3c0rded", "cus_R3c0rded", "price_analyst_month", start=NOW - 60, period_end=PERIOD_END
    )
    post_event(Client(), event("customer.subscription.updated", current, created=NOW))
    fake_stripe.clear()
    stale = dict(current, status="incomplete")
    response = post_event(Client(), event("customer.subscription.created", stale, created=NOW - 30))
    assert response.status_code == 200
    assert [(m, p) for m, p, _, _ in fake_stripe] == [("GET", "/v1/subscriptions/sub_R3c0rded")]
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def _paying_member(plan, stripe_id):
    user = UserFactory(email="leaving@example.org")
    user.set_password("leaving-portal-2026")
    user.save()
    Subscription.objects.create(
        user=user, plan=plan, source=Subscription.Source.PAYMENT, stripe_subscription_id=stripe_id
    )
    client = Client()
    client.force_login(user)
    return user, client


def test_deleting_an_account_cancels_its_subscription_at_stripe_first(fake_stripe, plan):
    user, client = _paying_member(plan, "sub_R3c0rded")
    response = client.post(
        "/accounts/delete/", {"password": "leaving-portal-2026", "confirm": "on"}
    )
    assert response.status_code == 302
    assert ("DELETE", "/v1/subscriptions/sub_R3c0rded") in [(m, p) for m, p, _, _ in fake_stripe]
    assert not type(user).objects.filter(pk=user.pk).exists()


def test_an_account_whose_subscription_stripe_cannot_cancel_is_kept(fake_stripe, plan):
    user, client = _paying_member(plan, "sub_Unkn0wn")
    response = client.post(
        "/accounts/delete/", {"password": "leaving-portal-2026", "confirm": "on"}
    )
    assert response.status_code == 503
    assert "could not be cancelled" in response.content.decode()
    assert ("DELETE", "/v1/subscriptions/sub_Unkn0wn") in [(m, p) for m, p, _, _ in fake_stripe]
    user.refresh_from_db()
    assert is_member(type(user).objects.get(pk=user.pk))


def test_staff_cancel_now_cancels_at_stripe_and_keeps_what_stripe_cannot_cancel(fake_stripe, plan):
    """The admin's "Cancel now" on a subscription paid online ends it at Stripe first (as
    account deletion does): else Stripe charges on and its next event re-activates it."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    recorded = Subscription.objects.create(
        user=UserFactory(),
        plan=plan,
        source=Subscription.Source.PAYMENT,
        stripe_subscription_id="sub_R3c0rded",
    )
    unknown = Subscription.objects.create(
        user=UserFactory(),
        plan=plan,
        source=Subscription.Source.PAYMENT,
        stripe_subscription_id="sub_Unkn0wn",
    )
    response = admin.post(
        "/admin/accounts/subscription/",
        {"action": "cancel_now", "_selected_action": [recorded.pk, unknown.pk]},
        follow=True,
    )
    assert response.status_code == 200
    sent = [(m, p) for m, p, _, _ in fake_stripe]
    assert ("DELETE", "/v1/subscriptions/sub_R3c0rded") in sent
    assert ("DELETE", "/v1/subscriptions/sub_Unkn0wn") in sent
    recorded.refresh_from_db()
    unknown.refresh_from_db()
    assert recorded.status == Subscription.Status.CANCELLED
    assert unknown.status == Subscription.Status.ACTIVE
    assert "Kept subscription sub_Unkn0wn" in response.content.decode()


def _stripe_paid_member(buyer_client):
    BillingCustomer.objects.create(user=buyer_client.user, stripe_customer_id="cus_R3c0rded")
    current = subscription(
        "sub_R3c0rded", "cus_R3c0rded", "price_analyst_month", start=NOW - 60, period_end=PERIOD_END
    )
    post_event(Client(), event("customer.subscription.created", current, created=NOW - 60))
    assert is_member(buyer_client.user)


def _refund(charge_id="ch_R3c0rded"):
    charge = {
        "id": charge_id,
        "object": "charge",
        "customer": "cus_R3c0rded",
        "amount": 2900,
        "amount_refunded": 2900,
        "refunded": True,
        "currency": "eur",
        "payment_intent": "pi_R3c0rded",
    }
    return event("charge.refunded", charge)


def test_a_full_refund_asks_stripe_which_subscription_and_cancels_it_there(
    fake_stripe, plan, buyer_client
):
    _stripe_paid_member(buyer_client)
    fake_stripe.clear()
    assert post_event(Client(), _refund()).status_code == 200
    sub = Subscription.objects.get()
    assert sub.status == Subscription.Status.CANCELLED
    assert not is_member(type(buyer_client.user).objects.get(pk=buyer_client.user.pk))
    sent = [(m, p.split("?")[0]) for m, p, _, _ in fake_stripe]
    assert sent == [
        ("GET", "/v1/invoice_payments"),  # which invoice, hence subscription, was paid
        ("GET", "/v1/subscriptions/sub_R3c0rded"),  # the queued cancellation: still running?
        ("DELETE", "/v1/subscriptions/sub_R3c0rded"),
    ]
    asked = fake_stripe[0][1]
    assert "payment%5Bpayment_intent%5D=pi_R3c0rded" in asked
    assert "expand%5B0%5D=data.invoice" in asked


def test_no_stripe_call_happens_inside_a_transaction(fake_stripe, plan, buyer_client):
    """Each Stripe request is made with as many atomic blocks open as the test itself holds:
    the lifecycle asks Stripe before its transaction, and the refund's cancellation waits in
    the queue for a worker."""
    baseline = len(connection.atomic_blocks)
    BillingCustomer.objects.create(user=buyer_client.user, stripe_customer_id="cus_R3c0rded")
    paid = invoice("cus_R3c0rded", "sub_R3c0rded", period_start=NOW, period_end=PERIOD_END)
    with override_settings(TASKS=DATABASE_QUEUE):
        assert post_event(Client(), event("invoice.paid", paid, created=NOW)).status_code == 200
        stale = subscription(
            "sub_R3c0rded", "cus_R3c0rded", "price_analyst_month", status="incomplete",
            start=NOW - 60, period_end=PERIOD_END,
        )  # fmt: skip
        post_event(Client(), event("customer.subscription.created", stale, created=NOW - 60))
        assert post_event(Client(), _refund()).status_code == 200
        sent = [(m, p.split("?")[0]) for m, p, _, _ in fake_stripe]
        assert sent == [
            ("GET", "/v1/subscriptions/sub_R3c0rded"),  # an invoice for an unseen subscription
            ("GET", "/v1/subscriptions/sub_R3c0rded"),  # an older event than the state
            ("GET", "/v1/invoice_payments"),  # a refund
        ]
        assert FakeStripe.depths == [baseline] * 3
        assert DBTaskResult.objects.filter(task_path__endswith="cancel_online_subscription")
        run_queue()
    assert ("DELETE", "/v1/subscriptions/sub_R3c0rded") in [(m, p) for m, p, _, _ in fake_stripe]
    assert Subscription.objects.get().status == Subscription.Status.CANCELLED


def test_deleting_an_account_calls_stripe_outside_its_transaction(fake_stripe, plan):
    baseline = len(connection.atomic_blocks)
    user, client = _paying_member(plan, "sub_R3c0rded")
    assert (
        client.post(
            "/accounts/delete/", {"password": "leaving-portal-2026", "confirm": "on"}
        ).status_code
        == 302
    )
    assert [(m, p) for m, p, _, _ in fake_stripe] == [("DELETE", "/v1/subscriptions/sub_R3c0rded")]
    assert FakeStripe.depths == [baseline]


def test_a_refund_stripe_cannot_place_is_refused_for_redelivery(
    fake_stripe, plan, buyer_client, monkeypatch
):
    """Stripe not answering which subscription was paid: 500, nothing stored (Stripe delivers
    the event again), and the redelivery applies it."""
    _stripe_paid_member(buyer_client)
    refund = _refund()
    monkeypatch.setitem(
        RECORDED, ("GET", "/v1/invoice_payments"), (500, {"error": {"type": "api_error"}})
    )
    client = Client(raise_request_exception=False)
    assert post_event(client, refund).status_code == 500
    assert not StripeEvent.objects.filter(event_id=refund["id"]).exists()
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    monkeypatch.undo()
    assert post_event(client, refund).status_code == 200
    assert Subscription.objects.get().status == Subscription.Status.CANCELLED
