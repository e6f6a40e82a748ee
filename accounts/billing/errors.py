"""What a payment backend raises (re-exported by accounts.billing, where callers name them)."""


class CheckoutUnavailable(Exception):
    """The plan cannot be bought online with this backend (no price configured)."""


class NotCancelled(Exception):
    """A subscription paid online could not be ended at the payment provider."""
