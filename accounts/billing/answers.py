"""Stripe's answers the lifecycle needs while applying one event, asked outside its transaction.

A handler runs inside the transaction that stores and applies the event. When it needs to ask
Stripe (the current state of a subscription, which subscription a payment paid), it asks
``Answers``; without the answer yet, that raises ``NeedsStripe``, ``lifecycle.receive`` rolls
the transaction back, asks Stripe with no transaction open and runs the handler again with the
answer. No lock is held over the network.
"""

from . import get_backend


class NeedsStripe(Exception):
    """Raised inside the transaction by a handler that needs Stripe's answer to ``ask()``."""

    def __init__(self, key: tuple, ask):
        super().__init__(key)
        self.key, self.ask = key, ask


class Answers:
    """Stripe's answers for one event, asked outside the transaction (see the module doc)."""

    def __init__(self):
        self.known = {}

    def ask(self, need: NeedsStripe) -> None:
        if need.key in self.known:
            raise RuntimeError(f"Stripe was asked twice for {need.key}")
        self.known[need.key] = need.ask()

    @staticmethod
    def can_ask() -> bool:
        backend = get_backend()
        return backend is not None and not backend.test_mode

    def _get(self, key: tuple, ask_backend):
        if key in self.known:
            return self.known[key]
        if not self.can_ask():
            return None  # test mode: the events carry the whole state
        backend = get_backend()
        raise NeedsStripe(key, lambda: ask_backend(backend))

    def subscription(self, subscription_id: str) -> dict | None:
        """Stripe's current state of the subscription, when a Stripe key is configured."""
        return self._get(
            ("subscription", subscription_id),
            lambda backend: backend.retrieve_subscription(subscription_id),
        )

    def subscription_of_payment(self, payment_intent_id: str) -> str | None:
        """The id of the subscription whose invoice a payment paid ("" for none), None in
        test mode (nothing to ask)."""
        if not payment_intent_id:
            return None
        return self._get(
            ("payment", payment_intent_id),
            lambda backend: backend.subscription_of_payment(payment_intent_id),
        )
