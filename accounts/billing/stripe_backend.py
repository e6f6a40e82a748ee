"""The Stripe backend: Checkout Sessions in subscription mode and the customer portal."""

import logging

import stripe
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import BillingCustomer

from .errors import CheckoutUnavailable

logger = logging.getLogger(__name__)


class StripeBackend:
    test_mode = False

    def __init__(self, api_key: str, *, api_base: str = ""):
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=2,
        )

    def customer_id(self, user) -> str:
        """The user's Stripe customer, created once and reused for every checkout."""
        known = BillingCustomer.objects.filter(user=user).first()
        if known is not None:
            return known.stripe_customer_id
        customer = self.client.v1.customers.create(
            params={"email": user.email, "metadata": {"user_id": str(user.pk)}},
            # Two racing first checkouts of one user make one customer at Stripe.
            options={"idempotency_key": f"portal-customer-{user.pk}"},
        )
        try:
            with transaction.atomic():
                BillingCustomer.objects.create(user=user, stripe_customer_id=customer.id)
        except IntegrityError:
            return BillingCustomer.objects.get(user=user).stripe_customer_id
        return customer.id

    def start_checkout(self, request, user, plan, interval: str) -> str:
        price = plan.stripe_price_id(interval)
        if not price:
            raise CheckoutUnavailable(f"{plan.slug} has no Stripe price for {interval}")
        return_url = request.build_absolute_uri(reverse("billing:checkout_return"))
        metadata = {"user_id": str(user.pk), "plan": plan.slug, "interval": interval}
        session = self.client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": self.customer_id(user),
                "client_reference_id": str(user.pk),
                "line_items": [{"price": price, "quantity": 1}],
                # Stripe replaces {CHECKOUT_SESSION_ID}; it must stay unescaped.
                "success_url": return_url + "?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": return_url + "?cancelled=1",
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            }
        )
        return session.url

    def customer_portal_url(self, request, user) -> str:
        customer = BillingCustomer.objects.get(user=user)
        session = self.client.v1.billing_portal.sessions.create(
            params={
                "customer": customer.stripe_customer_id,
                "return_url": request.build_absolute_uri(reverse("accounts:membership")),
            }
        )
        return session.url

    def cancel_subscription(self, subscription_id: str) -> None:
        """End the subscription at Stripe at once (no more charges); raises StripeError."""
        self.client.v1.subscriptions.cancel(subscription_id)

    def retrieve_subscription(self, subscription_id: str) -> dict | None:
        try:
            return self.client.v1.subscriptions.retrieve(subscription_id).to_dict()
        except stripe.StripeError:
            logger.warning("Could not fetch subscription %s from Stripe", subscription_id)
            return None

    def subscription_of_payment(self, payment_intent_id: str) -> str:
        """The subscription whose invoice the payment intent paid ("" when it paid none).
        Raises StripeError when Stripe cannot answer: the webhook then fails and Stripe
        delivers the event again (a refund must not be lost)."""
        payments = self.client.v1.invoice_payments.list(
            params={
                "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
                "expand": ["data.invoice"],
                "limit": 1,
            }
        ).to_dict()
        for payment in payments.get("data") or []:
            invoice = payment.get("invoice")
            if isinstance(invoice, dict):
                parent = (invoice.get("parent") or {}).get("subscription_details") or {}
                return parent.get("subscription") or ""
        return ""
