"""Personal data taken out of orders and events, field by field as the personal-data marks say.

These are pure functions on the domain's models: erasure (:mod:`custdata.privacy.erasure`), retention, and the
workflows and imports that must not bring an erased customer's data back all use them.
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from custdata.domain.communication import ActivityEvent, CommunicationEvent
from custdata.domain.order import Order
from custdata.domain.personal import erased_values


def pseudonymise_order(order: Order, *, keep_metadata: Collection[str] = ()) -> Order:
    """A copy of ``order`` without personal data: the financials, lines and statuses stay."""
    # every field marked personal or linked goes, in the lines, shipments and returns too; the shipping address
    # goes as a whole, and the metadata keeps the keys asked for
    metadata = {k: v for k, v in order.metadata.items() if k in keep_metadata}
    return attrs.evolve(order, **erased_values(order, shipping_address=None, metadata=metadata))


def scrub_communication(event: CommunicationEvent) -> CommunicationEvent:
    """A copy of ``event`` without its content: subject, body, error, provider id and metadata."""
    # every field marked personal or linked goes; a suppressed event keeps a reason, one that says nothing
    reason = "the reason was erased" if event.suppression_reason is not None else None
    return attrs.evolve(event, **erased_values(event, suppression_reason=reason))


def scrub_activity(event: ActivityEvent, *, keep_properties: Collection[str] = ()) -> ActivityEvent:
    """A copy of ``event`` without its anonymous id and properties (except ``keep_properties``).

    An event with no customer keeps its anonymous id, which it needs to be valid: delete such events instead.
    """
    anonymous = event.anonymous_id if event.customer_id is None else None
    properties = {k: v for k, v in event.properties.items() if k in keep_properties}
    return attrs.evolve(event, **erased_values(event, anonymous_id=anonymous, properties=properties))


__all__ = ["pseudonymise_order", "scrub_activity", "scrub_communication"]
