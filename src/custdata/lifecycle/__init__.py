"""The order lifecycle: changes applied to an order move its status forward and emit domain events.

::

    events = apply(order, CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.IN_TRANSIT, now)))

``apply`` changes the order in place (all or nothing) and returns the events: what workflows turn into
messages, and what the business listens to (a failed delivery, say) before the customer hears of it. The rules
live in the order: each change is dispatched to the :class:`custdata.Order` method of the same name
(``CarrierUpdate`` to :meth:`custdata.Order.carrier_update`), and the event classes are those of
:mod:`custdata.domain.order_events`.
"""

from custdata.lifecycle.apply import CHAIN, RETURN_TRANSITIONS, STAGE, apply, shipment_stage
from custdata.lifecycle.changes import (
    CHANGE_TYPES,
    AddShipment,
    Cancel,
    CarrierUpdate,
    Change,
    Deliver,
    FlagAddressInvalid,
    Pack,
    Pay,
    Place,
    Refund,
    RequestReturn,
    Ship,
    UpdateReturn,
)
from custdata.lifecycle.events import (
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
    event_from_dict,
    event_to_dict,
)

__all__ = [
    "CHAIN",
    "CHANGE_TYPES",
    "EVENT_TYPES",
    "RETURN_TRANSITIONS",
    "STAGE",
    "AddShipment",
    "Cancel",
    "CarrierUpdate",
    "Change",
    "Deliver",
    "DeliveryDelayed",
    "DeliveryFailed",
    "DeliveryProblem",
    "FlagAddressInvalid",
    "OrderCancelled",
    "OrderEvent",
    "OrderPacked",
    "OrderPaid",
    "OrderPlaced",
    "OrderShipped",
    "OutForDelivery",
    "Pack",
    "Pay",
    "Place",
    "Refund",
    "RefundIssued",
    "RequestReturn",
    "ReturnEvent",
    "ReturnRequested",
    "ReturnUpdated",
    "Ship",
    "ShipmentDelivered",
    "ShipmentEvent",
    "UpdateReturn",
    "apply",
    "event_from_dict",
    "event_to_dict",
    "shipment_stage",
]
