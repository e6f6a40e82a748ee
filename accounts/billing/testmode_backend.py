"""The offline test-mode payment backend (development only: refused when DEBUG is off).

Its checkout and "customer portal" are pages of ours (accounts.billing.testmode), which feed
Stripe-shaped events through the lifecycle; the backend itself only points at them.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

# Signs the test checkout's link (read back by accounts.billing.testmode.checkout).
SALT = "accounts.billing.testmode.checkout"


class TestModeBackend:
    test_mode = True

    def __init__(self):
        if not settings.DEBUG:
            raise ImproperlyConfigured("The test-mode payment backend runs only with DEBUG on.")

    def start_checkout(self, request, user, plan, interval: str) -> str:
        token = signing.dumps({"user": user.pk, "plan": plan.slug, "interval": interval}, salt=SALT)
        return reverse("billing:test_checkout", args=[token])

    def customer_portal_url(self, request, user) -> str:
        return reverse("billing:test_portal")

    def retrieve_subscription(self, subscription_id: str) -> None:
        return None  # nothing to ask: the events carry the whole state

    def subscription_of_payment(self, payment_intent_id: str) -> None:
        return None  # the lifecycle takes the customer's one running subscription

    def cancel_subscription(self, subscription_id: str) -> None:
        pass  # nothing charges in test mode; the local subscription is ended by the caller
