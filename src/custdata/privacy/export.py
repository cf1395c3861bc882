"""Right of access: everything a store holds about one customer, as one versioned JSON document.

The document (format ``custdata.customer-export``, :data:`EXPORT_VERSION` 1) is a JSON object:

- ``format``, ``format_version``, ``model_schema_version`` (the version of the models' serialized form, see
  :mod:`custdata.serialization`), ``exported_at`` (ISO 8601) and ``customer_id`` (for an id that was merged into
  another customer, that customer's: the person's data is there now);
- ``profile``: the customer as serialized by :func:`custdata.to_dict`, without ``addresses`` and ``consents``;
- ``addresses``: the address book, in order, the default shipping and billing addresses flagged;
- ``consent``: ``current`` (the record in force per purpose and channel) and ``history`` (every record, oldest
  first), each record with purpose, channel, state, recorded_at, opt_in_level and source;
- ``orders``, ``communications``, ``activity``: every record of the customer, serialized like the profile, in
  the stores' order (time, then id);
- ``counts``: how many of each, so a reader can check that nothing was cut off.

Private metadata (notes not shown to the customer) is included by default, as the law asks for everything
held; pass ``include_private_metadata=False`` to leave it out where a legal exception applies.
"""

from __future__ import annotations

import json
from typing import Any

from custdata.domain import Customer
from custdata.domain.checks import Checker
from custdata.privacy import consent
from custdata.privacy._clock import Clock, read, utc_now
from custdata.serialization import SCHEMA_KEY, SCHEMA_VERSION, to_dict
from custdata.storage.merges import resolve
from custdata.storage.ports import Store, walk

FORMAT = "custdata.customer-export"
EXPORT_VERSION = 1


def export_customer(
    store: Store,
    customer_id: str,
    *,
    include_private_metadata: bool = True,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """The export document of one customer (see the module docstring), read in one unit of work.

    Raises :class:`custdata.NotFoundError` for an unknown customer. An id that was merged into another customer
    exports the customer it ended up in (see :func:`custdata.merge.resolve`).
    """
    check = Checker()
    check.boolean("include_private_metadata", include_private_metadata)
    check.done()
    now = read(clock)
    with store.unit_of_work() as uow:
        customer = resolve(uow, customer_id)
        orders = list(walk(lambda c: uow.orders.for_customer(customer.id, cursor=c)))
        messages = list(walk(lambda c: uow.communications.for_customer(customer.id, cursor=c)))
        activity = list(walk(lambda c: uow.activity.for_customer(customer.id, cursor=c)))
    return {
        "format": FORMAT,
        "format_version": EXPORT_VERSION,
        "model_schema_version": SCHEMA_VERSION,
        "exported_at": now.isoformat(),
        "customer_id": str(customer.id),
        "profile": _profile(customer, include_private_metadata),
        "addresses": _addresses(customer),
        "consent": {
            "current": [_plain(r) for _, r in sorted(consent.current(customer).items())],
            "history": [_plain(r) for r in consent.history(customer)],
        },
        "orders": [_plain(o) for o in orders],
        "communications": [_plain(m) for m in messages],
        "activity": [_plain(a) for a in activity],
        "counts": {
            "addresses": len(customer.addresses),
            "consent_records": len(customer.consents),
            "orders": len(orders),
            "communications": len(messages),
            "activity": len(activity),
        },
    }


def export_customer_json(
    store: Store,
    customer_id: str,
    *,
    include_private_metadata: bool = True,
    indent: int | None = 2,
    clock: Clock = utc_now,
) -> str:
    """:func:`export_customer` as JSON text (UTF-8 characters kept as they are), ready to hand to the customer."""
    document = export_customer(store, customer_id, include_private_metadata=include_private_metadata, clock=clock)
    return json.dumps(document, ensure_ascii=False, indent=indent, sort_keys=False)


def _plain(obj: Any) -> dict[str, Any]:
    data = to_dict(obj)
    data.pop(SCHEMA_KEY, None)
    return data


def _profile(customer: Customer, include_private_metadata: bool) -> dict[str, Any]:
    data = _plain(customer)
    data.pop("addresses", None)
    data.pop("consents", None)
    if not include_private_metadata:
        data.pop("private_metadata", None)
    return data


def _addresses(customer: Customer) -> list[dict[str, Any]]:
    out = []
    for i, address in enumerate(customer.addresses):
        data = _plain(address)
        data["default_shipping"] = i == customer.default_shipping_address
        data["default_billing"] = i == customer.default_billing_address
        out.append(data)
    return out
