"""Workflows: declarative rules from domain events to messages, templates, and the policy deciding each send.

::

    workflows = Workflows(shop=Shop(name="Example Shop", url="https://shop.example", secret=b"..." * 8))
    with store.unit_of_work() as uow:
        events = apply(order, change)
        uow.orders.update(order)
        workflows.handle(uow, events)   # messages land in the outbox with the change
        uow.commit()
    workflows.run_due(store)            # timers: review requests, re-engagement, cart reminders

A :class:`custdata.outbox.Dispatcher` then sends what the outbox holds.
"""

from custdata.workflows.context import Shop, available
from custdata.workflows.defaults import (
    ORDER_UPDATES,
    default_registry,
    default_rules,
    default_templates,
    no_order_since,
    order_still_delivered,
)
from custdata.workflows.engine import Step, Workflows
from custdata.workflows.policy import (
    INTERRUPTING,
    MARKETING_TOPICS,
    Decision,
    FrequencyCap,
    Policy,
    default_contact,
    quiet_until,
)
from custdata.workflows.replenishment import REPLENISHMENT_DUE, replenishment_rule
from custdata.workflows.rules import Due, Rule, trigger_key
from custdata.workflows.templates import (
    COMMON_VARIABLES,
    OPTIONAL_VARIABLES,
    TOPIC_VARIABLES,
    Rendered,
    Template,
    TemplateRegistry,
)

__all__ = [
    "COMMON_VARIABLES",
    "INTERRUPTING",
    "MARKETING_TOPICS",
    "OPTIONAL_VARIABLES",
    "ORDER_UPDATES",
    "REPLENISHMENT_DUE",
    "TOPIC_VARIABLES",
    "Decision",
    "Due",
    "FrequencyCap",
    "Policy",
    "Rendered",
    "Rule",
    "Shop",
    "Step",
    "Template",
    "TemplateRegistry",
    "Workflows",
    "available",
    "default_contact",
    "default_registry",
    "default_rules",
    "default_templates",
    "no_order_since",
    "order_still_delivered",
    "quiet_until",
    "replenishment_rule",
    "trigger_key",
]
