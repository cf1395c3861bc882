"""Communication events (every message to or from a customer) and activity events (browsing, cart)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import attrs

from custdata.domain.checks import Checker, trusted
from custdata.domain.enums import Channel, CommunicationStatus, Direction, Topic
from custdata.domain.ids import (
    ActivityId,
    CommunicationId,
    CustomerId,
    OrderId,
    to_activity_id,
    to_communication_id,
    to_customer_id,
    to_optional_customer_id,
    to_optional_order_id,
)
from custdata.domain.personal import IDENTIFIER, LINKED, NOT_PERSONAL, PERSONAL

_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _.\-]{0,127}")


def _created(self: Any) -> Any:
    return self.created_at


@attrs.define(repr=False, on_setattr=attrs.setters.NO_OP)  # validate() types assigned ids
class CommunicationEvent:
    """One message to or from a customer.

    ``idempotency_key`` names the logical message (for example order id + topic + status) so that
    it is never delivered twice. A ``suppressed`` event carries the reason it was not sent.
    """

    id: CommunicationId = attrs.field(converter=to_communication_id, metadata=IDENTIFIER)
    customer_id: CustomerId = attrs.field(converter=to_customer_id, metadata=IDENTIFIER)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    topic: Topic = attrs.field(metadata=NOT_PERSONAL)
    created_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    direction: Direction = attrs.field(default=Direction.OUTBOUND, metadata=NOT_PERSONAL)
    status: CommunicationStatus = attrs.field(default=CommunicationStatus.QUEUED, metadata=NOT_PERSONAL)
    template: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    idempotency_key: str | None = attrs.field(default=None, metadata=IDENTIFIER)
    suppression_reason: str | None = attrs.field(default=None, metadata=PERSONAL)
    order_id: OrderId | None = attrs.field(default=None, converter=to_optional_order_id, metadata=IDENTIFIER)
    ticket_id: str | None = attrs.field(default=None, metadata=IDENTIFIER)
    subject: str | None = attrs.field(default=None, metadata=PERSONAL)
    body: str | None = attrs.field(default=None, metadata=PERSONAL)
    provider_id: str | None = attrs.field(default=None, metadata=LINKED)
    error: str | None = attrs.field(default=None, metadata=PERSONAL)
    sent_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    updated_at: datetime = attrs.field(default=attrs.Factory(_created, takes_self=True), metadata=NOT_PERSONAL)
    metadata: dict[str, Any] = attrs.field(default=attrs.Factory(dict), metadata=PERSONAL)
    version: int = attrs.field(default=0, metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        if not trusted():
            self.validate()

    def validate(self) -> None:
        check = Checker()
        check.identifier("id", self.id)
        check.identifier("customer_id", self.customer_id)
        check.enum("channel", self.channel, Channel)
        check.enum("topic", self.topic, Topic)
        check.timestamp("created_at", self.created_at)
        check.enum("direction", self.direction, Direction)
        check.enum("status", self.status, CommunicationStatus)
        check.text("template", self.template, optional=True, max_length=256)
        check.text("idempotency_key", self.idempotency_key, optional=True, max_length=512)
        if check.text("suppression_reason", self.suppression_reason, optional=True, max_length=512):
            if self.status == CommunicationStatus.SUPPRESSED and not self.suppression_reason:
                check.add("suppression_reason", "is required when the status is suppressed")
            elif self.status != CommunicationStatus.SUPPRESSED and self.suppression_reason:
                check.add("suppression_reason", "is only for suppressed events")
        check.identifier("order_id", self.order_id, optional=True)
        check.text("ticket_id", self.ticket_id, optional=True, max_length=128)
        check.text("subject", self.subject, optional=True, max_length=998)
        check.text("body", self.body, optional=True, max_length=1_000_000, multiline=True)
        check.text("provider_id", self.provider_id, optional=True, max_length=512)
        check.text("error", self.error, optional=True, max_length=4000, multiline=True)
        check.timestamp("sent_at", self.sent_at, optional=True)
        if check.timestamp("updated_at", self.updated_at) and isinstance(self.created_at, datetime):
            if self.created_at.tzinfo is not None and self.updated_at < self.created_at:
                check.add("updated_at", "is earlier than created_at")
        check.json_object("metadata", self.metadata)
        check.integer("version", self.version, minimum=0)
        check.done()
        self.id, self.customer_id = to_communication_id(self.id), to_customer_id(self.customer_id)
        self.order_id = to_optional_order_id(self.order_id)

    def __repr__(self) -> str:
        return (
            f"CommunicationEvent(id={self.id!r}, {self.direction.value} {self.channel.value} "
            f"{self.topic.value}, status={self.status.value})"
        )


@attrs.define(repr=False, on_setattr=attrs.setters.NO_OP)  # validate() types assigned ids
class ActivityEvent:
    """A Segment-style named event (``Product Viewed``, ``Cart Abandoned``, ...) with its properties.

    Anonymous activity carries an ``anonymous_id`` until the visitor is known.
    """

    id: ActivityId = attrs.field(converter=to_activity_id, metadata=IDENTIFIER)
    event: str = attrs.field(metadata=NOT_PERSONAL)
    occurred_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    customer_id: CustomerId | None = attrs.field(default=None, converter=to_optional_customer_id, metadata=IDENTIFIER)
    anonymous_id: str | None = attrs.field(default=None, metadata=LINKED)
    properties: dict[str, Any] = attrs.field(default=attrs.Factory(dict), metadata=PERSONAL)
    source: str | None = attrs.field(default=None, metadata=LINKED)

    def __attrs_post_init__(self) -> None:
        if not trusted():
            self.validate()

    def validate(self) -> None:
        check = Checker()
        check.identifier("id", self.id)
        if check.text("event", self.event, max_length=128) and not _EVENT_NAME.fullmatch(self.event):
            check.add("event", "must be a name such as 'Product Viewed'")
        check.timestamp("occurred_at", self.occurred_at)
        check.identifier("customer_id", self.customer_id, optional=True)
        check.text("anonymous_id", self.anonymous_id, optional=True, max_length=128)
        if self.customer_id is None and not self.anonymous_id:
            check.add("customer_id", "either customer_id or anonymous_id is required")
        check.json_object("properties", self.properties)
        check.text("source", self.source, optional=True, max_length=128)
        check.done()
        self.id, self.customer_id = to_activity_id(self.id), to_optional_customer_id(self.customer_id)

    def __repr__(self) -> str:
        return f"ActivityEvent(id={self.id!r}, event={self.event!r}, customer_id={self.customer_id!r})"
