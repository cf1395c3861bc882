"""The vocabularies of the model, as string enums whose values are what the serialized form holds."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a message reaches a customer (or a customer reaches us)."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    CHAT = "chat"
    PHONE = "phone"
    SOCIAL = "social"
    PORTAL = "portal"
    WEBHOOK = "webhook"


class ConsentPurpose(StrEnum):
    """What a consent covers. Transactional messages need none; marketing needs an opt-in."""

    MARKETING = "marketing"
    ANALYTICS = "analytics"
    PERSONALISATION = "personalisation"
    THIRD_PARTY = "third_party"


class ConsentState(StrEnum):
    """The state of a consent, as Shopify names it."""

    NOT_SUBSCRIBED = "not_subscribed"
    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    REDACTED = "redacted"


class OptInLevel(StrEnum):
    """How an opt-in was obtained: single, or confirmed (double opt-in)."""

    UNKNOWN = "unknown"
    SINGLE = "single"
    CONFIRMED = "confirmed"


class CompanyRole(StrEnum):
    """A customer's role in their company."""

    ADMIN = "admin"
    BUYER = "buyer"
    APPROVER = "approver"
    VIEWER = "viewer"


class OrderStatus(StrEnum):
    """Where an order stands; :data:`custdata.ORDER_TRANSITIONS` says which status may follow which."""

    PLACED = "placed"
    PAID = "paid"
    PACKED = "packed"
    SHIPPED = "shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class TrackingStatus(StrEnum):
    """Shopify's shipment statuses."""

    LABEL_PURCHASED = "label_purchased"
    LABEL_PRINTED = "label_printed"
    CONFIRMED = "confirmed"
    READY_FOR_PICKUP = "ready_for_pickup"
    CARRIER_PICKED_UP = "carrier_picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    FAILURE = "failure"


class ReturnStatus(StrEnum):
    """Where a return stands."""

    REQUESTED = "requested"
    OPEN = "open"
    RECEIVED = "received"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class ReturnReason(StrEnum):
    """Why a line came back."""

    WRONG_SIZE = "wrong_size"
    WRONG_ITEM = "wrong_item"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    NOT_AS_DESCRIBED = "not_as_described"
    CHANGED_MIND = "changed_mind"
    ARRIVED_LATE = "arrived_late"
    OTHER = "other"


class Direction(StrEnum):
    """Outbound (to the customer) or inbound (from the customer)."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Topic(StrEnum):
    """What a message is about. Marketing topics (review request, re-engagement, cart reminder, replenishment
    reminder) need an opt-in."""

    ORDER_CONFIRMATION = "order_confirmation"
    ORDER_PACKED = "order_packed"
    ORDER_SHIPPED = "order_shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_DELAYED = "delivery_delayed"
    DELIVERY_FAILED = "delivery_failed"
    ORDER_CANCELLED = "order_cancelled"
    RETURN_UPDATE = "return_update"
    REFUND_ISSUED = "refund_issued"
    REVIEW_REQUEST = "review_request"
    RE_ENGAGEMENT = "re_engagement"
    CART_REMINDER = "cart_reminder"
    REPLENISHMENT = "replenishment"
    SUPPORT = "support"
    ACCOUNT = "account"

    @property
    def is_marketing(self) -> bool:
        """Marketing topics need a recorded opt-in; the rest are transactional."""
        return self in _MARKETING


_MARKETING = frozenset({Topic.REVIEW_REQUEST, Topic.RE_ENGAGEMENT, Topic.CART_REMINDER, Topic.REPLENISHMENT})


class CommunicationStatus(StrEnum):
    """Where a message stands: queued, sent, delivered (and opened, clicked), bounced, failed, suppressed (with a reason), or received (inbound)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    RECEIVED = "received"
