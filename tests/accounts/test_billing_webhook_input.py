"""What the Stripe webhook does with hostile or malformed input (issue 21, items 4 and 5).

Unsigned, too large, too deep or unparsable: a short plain 4xx, logged at WARNING without a
traceback, before anything is parsed or stored. Signed but malformed (a field of the wrong
kind or out of range): recorded as rejected with the reason, shown to staff in the admin,
answered 200 so that Stripe stops delivering it, and never applied. The property at the end
mutates valid events at random and posts them signed: every answer is a 200.
"""

# ruff: noqa: F811 (the fixtures plan, buyer and webhook_secret come from the webhook tests)

import json
import logging
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.billing import events
from accounts.models import RejectedStripeEvent, StripeEvent, Subscription
from tests.accounts.billing_helpers import (
    checkout_session,
    event,
    invoice,
    post_event,
    sign,
    subscription,
)
from tests.accounts.test_billing_refunds_and_order import charge
from tests.accounts.test_billing_webhook import (  # noqa: F401 (fixtures)
    DAY,
    buy,
    buyer,
    now,
    plan,
    state,
    webhook_secret,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("webhook_secret")
URL = "/billing/stripe/webhook/"


def post(client, payload: bytes, signature: str | None = None):
    extra = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(URL, data=payload, content_type="application/json", **extra)


def refusals(caplog):
    """The webhook's log records; none may be an error or carry a traceback."""
    records = [r for r in caplog.records if r.name.startswith("accounts.billing")]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records), records
    return records


# -- item 4: unsigned, too large, too deep ------------------------------------------------

BRACKETS = b"[" * 1000 + b"]" * 1000  # 2 KB; Python's parser recursed once per level


def test_two_kilobytes_of_brackets_unsigned_are_a_400_and_a_warning(client, db, caplog):
    with caplog.at_level(logging.WARNING):
        response = post(client, BRACKETS)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"Invalid signature."
    assert "signature" in refusals(caplog)[0].getMessage()
    assert not StripeEvent.objects.exists() and not RejectedStripeEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [None, "t=1,v1=nonsense", "garbage"],
    ids=["missing", "wrong", "garbage"],
)
def test_the_signature_is_checked_before_the_body_is_parsed(client, db, signature):
    with mock.patch("json.loads", side_effect=AssertionError("parsed before the signature")):
        response = post(client, b'{"id": "evt_1"}', signature)
    assert response.status_code == 400


def test_a_signature_header_with_other_than_ascii_is_a_400(client, db):
    """hmac.compare_digest, which the library compares signatures with, raises TypeError
    on such text (a 500 before)."""
    payload = b'{"id": "evt_1"}'
    signature = sign(payload).rsplit(",", 1)[0] + ",v1=\u00e9"
    response = post(client, payload, signature)
    assert response.status_code == 400
    assert response.content == b"Invalid signature."


def test_signed_brackets_nested_too_deeply_are_a_400_and_a_warning(client, db, caplog):
    with caplog.at_level(logging.WARNING):
        response = post(client, BRACKETS, sign(BRACKETS))
    assert response.status_code == 400
    assert response.content == b"Invalid payload."
    assert "nested deeper than 64" in refusals(caplog)[0].getMessage()


def test_a_signed_event_nested_deeper_than_the_bound_is_not_applied(client, plan, buyer):
    deep = "x"
    for _ in range(events.MAX_DEPTH):
        deep = {"a": deep}
    sub = subscription("sub_1", "cus_buyer", "price_analyst_month", start=now(), period_end=now())
    sub["metadata"] = {"deep": deep}
    response = post_event(client, event("customer.subscription.created", sub))
    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_brackets_inside_texts_do_not_count_as_nesting(client, plan, buyer):
    """Stripe's texts (descriptions, metadata) may hold brackets of any number."""
    sub = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=now(), period_end=now() + DAY
    )
    sub["metadata"] = {"note": "[{" * 500 + '\\"[' * 100}
    assert post_event(client, event("customer.subscription.created", sub)).status_code == 200
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_a_body_above_the_limit_is_413_unread(client, plan, buyer, caplog, settings):
    assert settings.STRIPE_WEBHOOK_MAX_BYTES == 256 * 1024
    sub = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=now(), period_end=now() + DAY
    )
    sub["metadata"] = {"padding": "x" * (256 * 1024)}
    with caplog.at_level(logging.WARNING):
        response = post_event(client, event("customer.subscription.created", sub))
    assert response.status_code == 413
    assert response.content == b"Payload too large."
    assert "more than 262144 bytes" in refusals(caplog)[0].getMessage()
    assert not Subscription.objects.exists() and not StripeEvent.objects.exists()
    # The limit is a setting: the same body is applied under a larger one.
    settings.STRIPE_WEBHOOK_MAX_BYTES = 512 * 1024
    assert post_event(client, event("customer.subscription.created", sub)).status_code == 200
    assert Subscription.objects.exists()


# -- item 5: signed but malformed ---------------------------------------------------------


def _subscription_updated(**changes):
    sub = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=now(), period_end=now() + 30 * DAY
    )
    sub.update(changes)
    return event("customer.subscription.updated", sub, created=now() + 1)


def _far_period_end():
    evt = _subscription_updated()
    evt["data"]["object"]["items"]["data"][0]["current_period_end"] = 10**12
    return evt


def _invoice_period_end_abc():
    paid = invoice("cus_buyer", "sub_1", period_start=now(), period_end=now() + 30 * DAY)
    paid["lines"]["data"][0]["period"]["end"] = "abc"
    return event("invoice.paid", paid, created=now() + 1)


def _refund_of_amount_x():
    refund = charge()
    refund["amount"] = "x"
    return event("charge.refunded", refund, created=now() + 1)


def _long_event_id():
    return dict(_subscription_updated(cancel_at_period_end=True), id="evt_" + "x" * 296)


def _created_far_ahead():
    return dict(_subscription_updated(cancel_at_period_end=True), created=10**12)


def _nul_in_metadata():
    return _subscription_updated(metadata={"plan": "analyst\x00"})


MALFORMED = {
    "items as a text": (
        lambda: _subscription_updated(items="abc"),
        "data.object.items: expected a list object, got a text",
    ),
    "current_period_end 10^12": (
        _far_period_end,
        "data.object.items.data[0].current_period_end: a Unix time out of range",
    ),
    "invoice line period end abc": (
        _invoice_period_end_abc,
        "data.object.lines.data[0].period.end: expected a Unix time, got a text",
    ),
    "refund amount x": (_refund_of_amount_x, "data.object.amount: expected an amount, got a text"),
    "event id of 300 characters": (_long_event_id, "id: expected 1 to 255 characters, got 300"),
    "created 10^12": (_created_far_ahead, "created: a Unix time out of range"),
    "NUL in a text": (_nul_in_metadata, "a text holds a NUL character"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_signed_malformed_event_is_recorded_as_rejected_and_answered_200(
    client, plan, buyer, caplog, case
):
    make, reason = MALFORMED[case]
    buy(client, plan, buyer)
    before, stored = state(), StripeEvent.objects.count()
    evt = make()
    with caplog.at_level(logging.WARNING):
        response = post_event(client, evt)
    assert response.status_code == 200
    assert response.content.decode() == f"rejected: {reason}"
    assert state() == before  # nothing applied
    assert StripeEvent.objects.count() == stored
    rejected = RejectedStripeEvent.objects.get()
    assert rejected.reason == reason
    assert rejected.type == evt["type"]
    assert rejected.event_id == evt["id"][:255]
    assert json.loads(rejected.payload) == evt
    [warning] = refusals(caplog)
    assert "rejected" in warning.getMessage()


def test_a_lone_surrogate_or_an_endless_number_is_rejected_not_stored_as_json(client, db):
    for payload, reason in [
        (b'{"id": "evt_1", "type": "x\\ud800", "created": 1, "data": {"object": {}}}', "a text"),
        (b'{"id": "evt_2", "type": "x", "created": 1, "data": {"object": {"n": 1e400}}}', "a num"),
    ]:
        response = post(client, payload, sign(payload))
        assert response.status_code == 200
        assert response.content.startswith(b"rejected: " + reason.encode())
    assert RejectedStripeEvent.objects.count() == 2
    assert not StripeEvent.objects.exists()


def test_an_event_id_of_200_characters_is_applied(client, plan, buyer):
    """Stripe's ids are up to 255 characters (its API reference): such an event is applied
    (it was a 500 on PostgreSQL, whose column held 100)."""
    sub_id = "sub_" + "s" * 196
    start = now()
    obj = subscription(sub_id, "cus_buyer", "price_analyst_month", start=start, period_end=start)
    evt = event("customer.subscription.created", obj, event_id="evt_" + "e" * 196)
    assert post_event(client, evt).status_code == 200
    assert StripeEvent.objects.get().event_id == evt["id"]
    sub = Subscription.objects.get()
    assert sub.stripe_subscription_id == sub_id
    assert sub.changes.get().event_id == evt["id"]


@pytest.mark.parametrize("interval", ["fortnightly", "week"])
def test_a_subscription_by_an_interval_the_portal_does_not_sell_is_applied(
    client, plan, buyer, interval
):
    """Found by its plan's slug in its metadata, not by its price: the interval is recorded
    only when it is a month or a year (a longer one was a 500 on PostgreSQL)."""
    start = now()
    obj = subscription(
        "sub_1", "cus_buyer", "price_other", start=start, period_end=start + DAY, interval=interval
    )
    obj["metadata"] = {"plan": "analyst"}
    assert post_event(client, event("customer.subscription.created", obj)).status_code == 200
    sub = Subscription.objects.get()
    assert (sub.plan, sub.billing_interval, sub.status) == (plan, "", Subscription.Status.ACTIVE)


def test_rejected_events_are_listed_read_only_for_staff(client, plan, buyer):
    post_event(client, _invoice_period_end_abc())
    post_event(client, _subscription_updated(items="abc"))
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = staff.get("/admin/accounts/rejectedstripeevent/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "period.end: expected a Unix time, got a text" in html
    assert "data.object.items: expected a list object" in html
    filtered = staff.get("/admin/accounts/rejectedstripeevent/?type=invoice.paid").content.decode()
    assert "period.end" in filtered and "data.object.items" not in filtered
    assert staff.get("/admin/accounts/rejectedstripeevent/add/").status_code == 403
    rejected = RejectedStripeEvent.objects.first()
    change = staff.get(f"/admin/accounts/rejectedstripeevent/{rejected.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    member = Client()
    member.force_login(buyer)
    assert member.get("/admin/accounts/rejectedstripeevent/").status_code == 302


# -- the property: signed events mutated at random ----------------------------------------


def _valid_events(user):
    start = now()
    sub = subscription(
        "sub_1", "cus_buyer", "price_analyst_month", start=start, period_end=start + 30 * DAY
    )
    bill = invoice("cus_buyer", "sub_1", period_start=start, period_end=start + 30 * DAY)
    by_metadata = subscription(
        "sub_3", "cus_buyer", "price_other", start=start, period_end=start + DAY, interval="week"
    )
    by_metadata["metadata"] = {"plan": "analyst", "interval": "month"}
    return [
        event("checkout.session.completed", checkout_session("cus_buyer", "sub_2", user)),
        event("customer.subscription.created", dict(sub, id="sub_2")),
        event("customer.subscription.updated", dict(sub, cancel_at_period_end=True)),
        event("customer.subscription.deleted", dict(sub, status="canceled", ended_at=start)),
        event("customer.subscription.created", by_metadata),
        event("invoice.paid", bill),
        event("invoice.payment_failed", bill),
        event("charge.refunded", charge(refunded_amount=100)),
        event("customer.created", {"id": "cus_2"}),
    ]


def _paths(value, path=()):
    """Every place in ``value`` a mutation may replace: keys of objects, items of lists."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


hostile = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from([0, -1, 1, 10**12, 2**63, 2**64, -(2**63) - 1, 10**30, 253402300800]),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["", "abc", "x", "month", "year", "active", "past_due", "canceled"]),
        st.sampled_from(["cus_buyer", "sub_1", "analyst", "price_analyst_month", "x" * 300]),
        st.text(max_size=20),
        st.text(alphabet=st.sampled_from(["\x00", "\ud800", "é", "[", "{", '"', "\\"])),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the project
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_signed_events_mutated_at_random_are_applied_ignored_or_rejected(client, plan, buyer, data):
    if not Subscription.objects.exists():
        buy(client, plan, buyer, start=now() - DAY)
    evt = data.draw(st.sampled_from(_valid_events(buyer)), label="event")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(list(_paths(evt))[1:]), label="path")
        parent = evt
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans(), label="delete"):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(hostile, label="value")
    payload = json.dumps(evt).encode()
    rejected = RejectedStripeEvent.objects.count()
    with transaction.atomic():  # a database error must not poison the examples after it
        response = post(client, payload, sign(payload))
    assert response.status_code == 200, response.content
    if response.content.startswith(b"rejected: "):
        assert RejectedStripeEvent.objects.count() == rejected + 1
    else:
        assert events.problem(json.loads(payload)) is None


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    header=st.one_of(
        st.none(),
        st.text(max_size=80),
        st.tuples(st.text(max_size=20), st.text(max_size=70)).map(lambda t: f"t={t[0]},v1={t[1]}"),
    ),
    signed=st.booleans(),
)
def test_random_bodies_and_signature_headers_are_answered_without_a_failure(
    client, db, body, header, signed
):
    with transaction.atomic():
        response = post(client, body, sign(body) if signed else header)
    if not signed:
        assert response.status_code == 400
        assert response.content == b"Invalid signature."
    else:
        assert response.status_code in (200, 400), response.content
