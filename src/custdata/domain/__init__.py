"""The domain model: customers, addresses, orders and communication. No I/O happens here."""

from custdata.domain.address import Address
from custdata.domain.communication import ActivityEvent, CommunicationEvent
from custdata.domain.contact import EmailAddress, PhoneNumber
from custdata.domain.customer import (
    Company,
    CompanyMembership,
    ConsentRecord,
    Customer,
    DeliveryPreferences,
    Preferences,
)
from custdata.domain.enums import (
    Channel,
    CommunicationStatus,
    CompanyRole,
    ConsentPurpose,
    ConsentState,
    Direction,
    OptInLevel,
    OrderStatus,
    ReturnReason,
    ReturnStatus,
    Topic,
    TrackingStatus,
)
from custdata.domain.ids import ActivityId, CommunicationId, CompanyId, CustomerId, Identifier, OrderId
from custdata.domain.money import Money
from custdata.domain.order import (
    ORDER_TRANSITIONS,
    ExternalRef,
    Order,
    OrderLine,
    Return,
    ReturnLine,
    Shipment,
    StatusChange,
    TrackingEvent,
)
from custdata.domain.personal import (
    Personal,
    classification,
    fields_of_kind,
    personal_fields,
    unclassified_fields,
)

__all__ = [
    "ORDER_TRANSITIONS",
    "ActivityEvent",
    "ActivityId",
    "Address",
    "Channel",
    "CommunicationEvent",
    "CommunicationId",
    "CommunicationStatus",
    "Company",
    "CompanyId",
    "CompanyMembership",
    "CompanyRole",
    "ConsentPurpose",
    "ConsentRecord",
    "ConsentState",
    "Customer",
    "CustomerId",
    "DeliveryPreferences",
    "Direction",
    "EmailAddress",
    "ExternalRef",
    "Identifier",
    "Money",
    "OptInLevel",
    "Order",
    "OrderId",
    "OrderLine",
    "OrderStatus",
    "Personal",
    "PhoneNumber",
    "Preferences",
    "Return",
    "ReturnLine",
    "ReturnReason",
    "ReturnStatus",
    "Shipment",
    "StatusChange",
    "Topic",
    "TrackingEvent",
    "TrackingStatus",
    "classification",
    "fields_of_kind",
    "personal_fields",
    "unclassified_fields",
]
