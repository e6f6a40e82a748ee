"""The accounts app's models, one module per subject; imported from here."""

from .billing import BillingCustomer, InvoiceRequest, RejectedStripeEvent, StripeEvent
from .plans import MembershipOverview, Plan, Subscription, SubscriptionChange, SubscriptionQuerySet
from .teams import Team, TeamInvitation, TeamSeat
from .tokens import ApiToken
from .trials import SharedMailbox, Trial, TrialClaim

__all__ = [
    "ApiToken",
    "BillingCustomer",
    "InvoiceRequest",
    "MembershipOverview",
    "Plan",
    "RejectedStripeEvent",
    "SharedMailbox",
    "StripeEvent",
    "Subscription",
    "SubscriptionChange",
    "SubscriptionQuerySet",
    "Team",
    "TeamInvitation",
    "TeamSeat",
    "Trial",
    "TrialClaim",
]
