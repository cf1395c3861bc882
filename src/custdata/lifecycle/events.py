"""Domain events: what happened to an order, as immutable facts that workflows turn into messages.

The event classes are defined in :mod:`custdata.domain.order_events` (the :class:`custdata.Order` raises them)
and importable from here. Events serialize with :func:`event_to_dict` / :func:`event_from_dict` so that timers
can keep them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from custdata._errors import ValidationError
from custdata.domain.order_events import (
    EVENT_STATUS,
    EVENT_TYPES,
    DeliveryDelayed,
    DeliveryFailed,
    DeliveryProblem,
    OrderCancelled,
    OrderEvent,
    OrderPacked,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    OutForDelivery,
    RefundIssued,
    ReturnEvent,
    ReturnRequested,
    ReturnUpdated,
    ShipmentDelivered,
    ShipmentEvent,
    stamp,
)
from custdata.serialization import SCHEMA_KEY, from_dict, to_dict

__all__ = [
    "EVENT_STATUS",
    "EVENT_TYPES",
    "DeliveryDelayed",
    "DeliveryFailed",
    "DeliveryProblem",
    "OrderCancelled",
    "OrderEvent",
    "OrderPacked",
    "OrderPaid",
    "OrderPlaced",
    "OrderShipped",
    "OutForDelivery",
    "RefundIssued",
    "ReturnEvent",
    "ReturnRequested",
    "ReturnUpdated",
    "ShipmentDelivered",
    "ShipmentEvent",
    "event_from_dict",
    "event_to_dict",
    "stamp",
]


def event_to_dict(event: OrderEvent) -> dict[str, Any]:
    """``event`` as JSON-safe data, its kind under ``"event"``."""
    if not isinstance(event, OrderEvent) or type(event) not in EVENT_TYPES.values():
        raise ValidationError.single("event", f"must be an order event, not {type(event).__name__}")
    data = to_dict(event)
    data.pop(SCHEMA_KEY, None)
    return {"event": event.name, **data}


def event_from_dict(data: Any) -> OrderEvent:
    """The event that :func:`event_to_dict` produced; a ValidationError with paths for anything else."""
    if not isinstance(data, dict):
        raise ValidationError.single("", f"must be an object, not {type(data).__name__}")
    body = dict(data)
    kind = body.pop("event", None)
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError.single("event", f"must be one of {', '.join(sorted(EVENT_TYPES))}")
    event: OrderEvent = from_dict(cls, body)
    if not isinstance(event.occurred_at, datetime) or event.occurred_at.tzinfo is None:
        raise ValidationError.single("occurred_at", "must be timezone-aware (include an offset such as +00:00)")
    return event
