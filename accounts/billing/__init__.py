"""Buying membership online: the payment backend interface.

A backend has six members:

- ``start_checkout(request, user, plan, interval) -> str``: the URL to send the buyer to;
- ``customer_portal_url(request, user) -> str``: where a paying member manages card, plan,
  cancellation and invoices;
- ``retrieve_subscription(subscription_id) -> dict | None``: the provider's current state of a
  subscription (Stripe-shaped), or None when it cannot be asked;
- ``subscription_of_payment(payment_intent_id) -> str | None``: which subscription a payment
  paid ("" for none; None in test mode, which has nothing to ask): refunds;
- ``cancel_subscription(subscription_id)``: end it at the provider at once (account deletion,
  a refund in full);
- ``test_mode``: True for the offline development backend.

Whatever the backend, payments reach the membership rule only through Stripe-shaped events
applied by ``accounts.billing.lifecycle.receive``.
"""

import stripe
from django.conf import settings

from .errors import CheckoutUnavailable, NotCancelled
from .stripe_backend import StripeBackend
from .testmode_backend import TestModeBackend

__all__ = ["CheckoutUnavailable", "NotCancelled", "cancel_online", "get_backend"]


def cancel_online(subscription_ids) -> None:
    """End the provider's subscriptions ``subscription_ids`` at once (no more charges), before
    the portal ends them locally (account deletion, staff's "Cancel now"): a subscription
    ended only here would be charged on, and its next event would make it active again.
    Raises NotCancelled when the provider is not configured or refuses or cannot be reached."""
    subscription_ids = [s for s in subscription_ids if s]
    if not subscription_ids:
        return
    backend = get_backend()
    if backend is None:
        raise NotCancelled("Online payments are not configured.")
    for subscription_id in subscription_ids:
        try:
            backend.cancel_subscription(subscription_id)
        except stripe.StripeError as exc:
            raise NotCancelled(str(exc)) from exc


def get_backend():
    """Stripe when ``STRIPE_SECRET_KEY`` is set; the test-mode backend in development (DEBUG)
    without a key; otherwise None (the pricing page then offers the invoice request only)."""
    if settings.STRIPE_SECRET_KEY:
        return StripeBackend(settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE)
    if settings.DEBUG:
        return TestModeBackend()
    return None
