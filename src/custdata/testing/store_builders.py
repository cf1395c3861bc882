"""Builders of valid entities and awkward strings for store tests (used by :class:`custdata.testing.StoreContract`).

Each builder gives a valid entity with a unique id (and email, SKU...), with fields overridable by keyword.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from custdata._errors import (
    ValidationError,
)
from custdata.domain import (
    ActivityEvent,
    ActivityId,
    Channel,
    CommunicationEvent,
    CommunicationId,
    Customer,
    CustomerId,
    EmailAddress,
    Money,
    Order,
    OrderId,
    OrderLine,
    Topic,
)
from custdata.storage.ports import UnitOfWork

T0 = datetime(2024, 1, 1, tzinfo=UTC)
_sequence = itertools.count(1)

#: Strings that have broken stores before: quoting, SQL, LIKE wildcards, placeholders, NUL, surrogates, size.
HOSTILE = (
    "'",
    '"',
    "\\",
    "%",
    "_",
    "*",
    "?",
    "%s",
    "$1",
    ":id",
    "{doc}",
    "' OR '1'='1",
    "'; DROP TABLE customers; --",
    '") OR 1=1 --',
    "a\x00b",
    "\x00",
    "\ud800",
    "\u202e\u0000\u200b",
    "\n\r\t",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522" * 2000,
    "é" * 100_000,
)


#: Values that quoting, placeholders, ``LIKE`` wildcards, case folding or collation could get wrong when they are
#: the stored data rather than the search argument.
LOOKALIKES = (
    "'",
    "''",
    '"',
    "\\",
    "%",
    "%%",
    "_",
    "*",
    "?",
    "%s",
    "%(id)s",
    "$1",
    ":id",
    "{doc}",
    "?::jsonb",
    "' OR '1'='1",
    "x'); DROP TABLE customers; --",
    "Robert'); DELETE FROM customer_keys; --",
    "\u202eevil",
    "ß",
    "SS",
    "ss",
    "İ",
    "i",
    "🙂",
    "a b",
    "A",
    "a",
)


def storable_text(text: str) -> bool:
    """True when the model takes ``text`` as a tag, group and display name (non-empty, short, no control
    characters) and it is valid Unicode (a lone surrogate is not)."""
    try:
        text.encode("utf-8")
        make_customer(tags=frozenset({text}), groups=frozenset({text}), display_name=text)
    except (ValidationError, UnicodeEncodeError):
        return False
    return True


def _n() -> int:
    return next(_sequence)


def make_customer(**fields: Any) -> Customer:
    """A valid customer with a unique id and email; ``fields`` override the defaults."""
    n = _n()
    values: dict[str, Any] = {
        "id": CustomerId.new(),
        "created_at": T0 + timedelta(seconds=n),
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": EmailAddress(f"ada.{n}@example.com"),
    }
    values.update(fields)
    return Customer(**values)


def make_order(customer_id: str, **fields: Any) -> Order:
    """A valid one-line order of ``customer_id``."""
    n = _n()
    line = OrderLine(id="l1", sku=f"SKU-{n}", product_name="Shoe", quantity=1, unit_price=Money("10.00", "EUR"))
    values: dict[str, Any] = {
        "id": OrderId.new(),
        "customer_id": customer_id,
        "currency": "EUR",
        "lines": (line,),
        "placed_at": T0 + timedelta(seconds=n),
    }
    values.update(fields)
    return Order(**values)


def make_message(customer_id: str, **fields: Any) -> CommunicationEvent:
    """A valid outbound email event of ``customer_id``."""
    n = _n()
    values: dict[str, Any] = {
        "id": CommunicationId.new(),
        "customer_id": customer_id,
        "channel": Channel.EMAIL,
        "topic": Topic.ORDER_CONFIRMATION,
        "created_at": T0 + timedelta(seconds=n),
    }
    values.update(fields)
    return CommunicationEvent(**values)


def make_activity(customer_id: str | None, **fields: Any) -> ActivityEvent:
    """A valid ``Product Viewed`` event of ``customer_id`` (anonymous when None)."""
    n = _n()
    values: dict[str, Any] = {
        "id": ActivityId.new(),
        "event": "Product Viewed",
        "occurred_at": T0 + timedelta(seconds=n),
        "customer_id": customer_id,
        "anonymous_id": None if customer_id else f"anon-{n}",
    }
    values.update(fields)
    return ActivityEvent(**values)


def repository_for(uow: UnitOfWork, entity: object) -> Any:
    """The repository of ``uow`` that keeps entities like ``entity``."""
    for cls, name in (
        (Customer, "customers"),
        (Order, "orders"),
        (CommunicationEvent, "communications"),
        (ActivityEvent, "activity"),
    ):
        if isinstance(entity, cls):
            return getattr(uow, name)
    raise TypeError(f"no repository keeps {type(entity).__name__}")
