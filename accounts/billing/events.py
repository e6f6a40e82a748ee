"""Stripe's events as they arrive: parsing a verified body, and the shape the lifecycle needs.

The webhook checks the signature over the raw body first; only then ``parse`` reads the JSON,
with its nesting bounded (Python's parser recurses once per level: a couple of kilobytes of
brackets would raise RecursionError). A signature says Stripe sent an event, not that the
lifecycle can apply it: ``problem(event)`` names the first field the handlers could not use
(a text where an object belongs, a time beyond the year 9000, an amount that is not a whole
number), or a text that cannot be stored (PostgreSQL refuses NUL characters and lone
surrogates), and is None for an event the lifecycle can apply. It checks the envelope of
every event and, for the types the lifecycle handles, every field their handlers read; fields
may be absent or null unless said otherwise, as in Stripe's own objects. Reasons name a field,
never repeat its value (they are logged).
"""

import datetime
import json
import math
import re
from dataclasses import dataclass, field

from accounts.models import StripeEvent

# Deeper than any Stripe event (about eight levels, with expanded objects a few more).
MAX_DEPTH = 64
# Stripe's object ids are at most 255 characters (its API reference, "Object IDs").
ID_LENGTH = 255
TEXT_LENGTH = 255
# Handlers turn times into datetimes and add grace days and periods to them.
LATEST_TIME = int(datetime.datetime(9000, 1, 1, tzinfo=datetime.UTC).timestamp())
LARGEST_AMOUNT = 10**15  # in the currency's smallest unit

# A JSON string, or a quote left open to the end (a lone backslash may end it): every quote
# starts a match that succeeds without backtracking, so the scan is linear in the body.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def parse(payload: str):
    """The JSON value of a verified body; ValueError when it is not JSON (NaN and Infinity
    are not) or nests deeper than MAX_DEPTH."""
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", payload)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return json.loads(payload, parse_constant=_not_json)


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


class Malformed(Exception):
    """What is wrong with an event: a field's path and what it should have been."""


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _expected(path: str, what: str, value) -> Malformed:
    return Malformed(f"{path or 'the event'}: expected {what}, got {_kind(value)}")


@dataclass(frozen=True)
class Text:
    max_length: int = TEXT_LENGTH
    min_length: int = 0

    def check(self, value, path: str) -> None:
        if not isinstance(value, str):
            raise _expected(path, "a text", value)
        if not self.min_length <= len(value) <= self.max_length:
            raise Malformed(
                f"{path}: expected {self.min_length} to {self.max_length} characters,"
                f" got {len(value)}"
            )


@dataclass(frozen=True)
class Number:
    """A whole number from ``least`` to ``most`` (a Unix time, an amount)."""

    least: int
    most: int
    what: str = "a whole number"

    def check(self, value, path: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _expected(path, self.what, value)
        if not self.least <= value <= self.most:
            raise Malformed(f"{path}: {self.what} out of range")


@dataclass(frozen=True)
class Flag:
    def check(self, value, path: str) -> None:
        if not isinstance(value, bool):
            raise _expected(path, "true or false", value)


@dataclass(frozen=True)
class Obj:
    """An object whose named fields, when present and not null, have their kinds."""

    fields: dict = field(default_factory=dict)
    required: tuple = ()

    def check(self, value, path: str) -> None:
        if not isinstance(value, dict):
            raise _expected(path, "an object", value)
        for name, kind in self.fields.items():
            where = f"{path}.{name}" if path else name
            if value.get(name) is None:
                if name in self.required:
                    raise Malformed(f"{where}: missing")
                continue
            kind.check(value[name], where)


@dataclass(frozen=True)
class ListOf:
    """One of Stripe's list objects: ``{"object": "list", "data": [item, ...]}``."""

    item: Obj

    def check(self, value, path: str) -> None:
        if not isinstance(value, dict):
            raise _expected(path, "a list object", value)
        items = value.get("data")
        if items is None:
            return
        if not isinstance(items, list):
            raise _expected(f"{path}.data", "a list", items)
        for index, item in enumerate(items):
            self.item.check(item, f"{path}.data[{index}]")


ID = Text(max_length=ID_LENGTH, min_length=1)
TEXT = Text()
TIME = Number(0, LATEST_TIME, "a Unix time")
AMOUNT = Number(0, LARGEST_AMOUNT, "an amount")
FLAG = Flag()
METADATA = Obj({"plan": TEXT, "interval": TEXT})

# What each handler of accounts.billing.lifecycle reads.
CHECKOUT_SESSION = Obj(
    {
        "customer": ID,
        "subscription": ID,
        "client_reference_id": TEXT,
        "mode": TEXT,
        "payment_status": TEXT,
        "metadata": METADATA,
    }
)
SUBSCRIPTION = Obj(
    {
        "id": ID,
        "customer": ID,
        "status": TEXT,
        "start_date": TIME,
        "current_period_end": TIME,
        "cancel_at": TIME,
        "cancel_at_period_end": FLAG,
        "canceled_at": TIME,
        "ended_at": TIME,
        "metadata": METADATA,
        "items": ListOf(
            Obj(
                {
                    "current_period_end": TIME,
                    "price": Obj({"id": ID, "recurring": Obj({"interval": TEXT})}),
                }
            )
        ),
    },
    required=("id",),
)
INVOICE = Obj(
    {
        "customer": ID,
        "subscription": ID,
        "parent": Obj({"subscription_details": Obj({"subscription": ID})}),
        "lines": ListOf(Obj({"period": Obj({"end": TIME})})),
    }
)
CHARGE = Obj(
    {
        "id": ID,
        "customer": ID,
        "payment_intent": ID,
        "amount": AMOUNT,
        "amount_refunded": AMOUNT,
        "currency": TEXT,
        "refunded": FLAG,
    },
    required=("id",),
)
OBJECT_OF_TYPE = {
    "checkout.session.completed": CHECKOUT_SESSION,
    "customer.subscription.created": SUBSCRIPTION,
    "customer.subscription.updated": SUBSCRIPTION,
    "customer.subscription.deleted": SUBSCRIPTION,
    "invoice.paid": INVOICE,
    "invoice.payment_failed": INVOICE,
    "charge.refunded": CHARGE,
}
ENVELOPE = Obj(
    {
        "id": ID,
        "type": Text(max_length=StripeEvent._meta.get_field("type").max_length, min_length=1),
        "created": TIME,
        "data": Obj({"object": Obj()}, required=("object",)),
    },
    required=("id", "type", "created", "data"),
)


def problem(event) -> str | None:
    """Why the lifecycle cannot apply ``event`` (see the module docstring), or None."""
    try:
        ENVELOPE.check(event, "")
        shape = OBJECT_OF_TYPE.get(event["type"])
        if shape is not None:
            shape.check(event["data"]["object"], "data.object")
        _check_storable(event)
    except Malformed as malformed:
        return str(malformed)
    return None


def _check_storable(value) -> None:
    """Every text can be stored and every number written back as JSON."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise Malformed("a text holds a NUL character")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Malformed("a text holds a lone surrogate") from None
        elif isinstance(value, float) and not math.isfinite(value):
            raise Malformed("a number is too large")
