"""The replenishment-reminder rule: a message when a customer's usual time to buy a product again has passed.

When that time has come is learned from the order history by :mod:`custdata.commerce.replenishment`, which
records one activity event :data:`REPLENISHMENT_DUE` per customer, product and purchase whose interval has
passed (its id fixed by the purchase, so the reminder is decided once). This rule turns that event into a
message of the marketing topic :attr:`~custdata.domain.Topic.REPLENISHMENT`: the workflow policy then asks for
a marketing opt-in on the channel, applies frequency caps and quiet hours, and suppresses it for a customer
whose data was erased, like every other message.

The event's properties name the product (``sku``, ``product_name``) and the purchase (``order_id``,
``purchased_at``); they hold no personal data.
"""

from __future__ import annotations

from datetime import datetime

from custdata.domain import ActivityEvent, Customer, Topic
from custdata.workflows.rules import Rule, Trigger

#: The activity event that says a customer's usual interval for a product has passed.
REPLENISHMENT_DUE = "Replenishment Due"


def _variables(trigger: Trigger, customer: Customer) -> dict[str, object]:
    """``product_name`` and ``days_since_purchase`` from the event's properties."""
    properties = trigger.properties if isinstance(trigger, ActivityEvent) else {}
    name = properties.get("product_name")
    purchased = properties.get("purchased_at")
    days: int | None = None
    if isinstance(purchased, str):
        try:
            days = max(0, (trigger.occurred_at - datetime.fromisoformat(purchased)).days)
        except (ValueError, TypeError, OverflowError):
            days = None
    return {
        "product_name": name if isinstance(name, str) and name.strip() else "your usual order",
        "days_since_purchase": days if days is not None else "some",
    }


def replenishment_rule(event: str = REPLENISHMENT_DUE) -> Rule:
    """The rule: on ``event`` (an activity event), a :attr:`~custdata.domain.Topic.REPLENISHMENT` message."""
    return Rule(
        name="replenishment_reminder",
        on=event,
        topic=Topic.REPLENISHMENT,
        variables=_variables,
        provides={"product_name", "days_since_purchase"},
    )


__all__ = ["REPLENISHMENT_DUE", "replenishment_rule"]
