"""Commerce decisions over customers and orders: shipping options by customer (:mod:`.shipping`), regional
demand with spikes (:mod:`.demand`) and replenishment reminders (:mod:`.replenishment`).

A read layer beside :mod:`custdata.analytics`: it reads stores through their repositories and the
aggregate-query port, never their SQL. pandas and matplotlib (the ``notebook`` extra) are imported only by
:meth:`DemandReport.to_pandas` and :meth:`DemandReport.plot`.
"""

from custdata.commerce.demand import DemandReport, DemandSpike, DemandTrend, find_spikes, regional_demand_report
from custdata.commerce.replenishment import (
    ProductInterval,
    ReminderDue,
    due_reminders,
    queue_replenishment_reminders,
    repurchase_intervals,
)
from custdata.commerce.shipping import (
    EXPRESS,
    STANDARD,
    Cart,
    CartLine,
    InvalidAddresses,
    ShippingCustomer,
    ShippingLookup,
    ShippingOffer,
    ShippingOption,
    ShippingPolicy,
    address_key,
)

__all__ = [
    "EXPRESS",
    "STANDARD",
    "Cart",
    "CartLine",
    "DemandReport",
    "DemandSpike",
    "DemandTrend",
    "InvalidAddresses",
    "ProductInterval",
    "ReminderDue",
    "ShippingCustomer",
    "ShippingLookup",
    "ShippingOffer",
    "ShippingOption",
    "ShippingPolicy",
    "address_key",
    "due_reminders",
    "find_spikes",
    "queue_replenishment_reminders",
    "regional_demand_report",
    "repurchase_intervals",
]
