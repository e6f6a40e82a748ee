"""Stripe-shaped events and signatures for the billing tests.

Shapes follow Stripe's API reference for version 2026-10-28.endive (the version pinned by
stripe 16.1.0): a subscription's period is on its items, an invoice names its subscription
under ``parent.subscription_details``.
"""

import hashlib
import hmac
import json
import secrets
import time

SECRET = "whsec_test_portal_billing"


def sign(payload: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header made with Stripe's scheme: HMAC-SHA256 of
    ``"<timestamp>.<payload>"`` keyed with the endpoint secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(type_: str, obj: dict, *, created: int | None = None, event_id: str | None = None):
    return {
        "id": event_id or f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "type": type_,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "data": {"object": obj},
    }


def subscription(
    sub_id, customer, price, *, status="active", start, period_end, interval="month", **extra
):
    obj = {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "start_date": start,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "ended_at": None,
        "metadata": {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_" + sub_id,
                    "object": "subscription_item",
                    "price": {"id": price, "object": "price", "recurring": {"interval": interval}},
                    "current_period_start": start,
                    "current_period_end": period_end,
                }
            ],
        },
    }
    obj.update(extra)
    return obj


def checkout_session(customer, sub_id, user, *, plan="analyst", interval="month"):
    return {
        "id": f"cs_test_{secrets.token_hex(8)}",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": customer,
        "subscription": sub_id,
        "client_reference_id": str(user.pk),
        "payment_status": "paid",
        "status": "complete",
        "metadata": {"user_id": str(user.pk), "plan": plan, "interval": interval},
    }


def invoice(customer, sub_id, *, period_start, period_end, reason="subscription_cycle"):
    return {
        "id": f"in_{secrets.token_hex(8)}",
        "object": "invoice",
        "customer": customer,
        "billing_reason": reason,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "metadata": {}},
        },
        "lines": {
            "object": "list",
            "data": [{"period": {"start": period_start, "end": period_end}}],
        },
    }


def post_event(client, evt: dict, **sign_kwargs):
    payload = json.dumps(evt).encode()
    return client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, **sign_kwargs),
    )
