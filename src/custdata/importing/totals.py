"""Historic totals from a shop's export: how many orders a customer placed and how much they spent before their
orders were in custdata (Shopify's ``Total Orders`` and ``Total Spent``, WooCommerce's ``order_count`` and
``total_spent``).

They are kept in the customer's ``metadata`` under the key ``imported_totals:<id>`` (:data:`IMPORTED_TOTALS`
and the id the record was imported with): one key per imported record, so that a merge, which keeps the metadata
keys of every record, keeps each entry and never counts one twice. Analytics uses them for a customer none of whose orders are stored, and the orders as soon as
any are (:func:`custdata.analytics.lifetime_totals`): never both added. Like all metadata they are the person's
data: erasure removes them with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain import Customer, Money
from custdata.domain.personal import NOT_PERSONAL

#: The customer ``metadata`` key of imported totals: ``imported_totals:`` and the id the record was imported with.
IMPORTED_TOTALS = "imported_totals"


@attrs.frozen
class ImportedTotals:
    """A customer's orders count and amount spent as the export stated them, as of the import's time (the
    export's own time is not in the file). Either may be None when the export left it out."""

    orders_count: int | None = attrs.field(metadata=NOT_PERSONAL)
    amount_spent: Money | None = attrs.field(metadata=NOT_PERSONAL)
    as_of: datetime = attrs.field(metadata=NOT_PERSONAL)

    def to_json(self) -> dict[str, Any]:
        spent = self.amount_spent
        return {
            "orders_count": self.orders_count,
            "amount_spent": None if spent is None else str(spent.amount),
            "currency": None if spent is None else spent.currency,
            "as_of": self.as_of.isoformat(),
        }

    @classmethod
    def from_json(cls, value: Any) -> ImportedTotals:
        """The totals from their metadata form; a :class:`custdata.ValidationError` when it is not one."""
        if not isinstance(value, Mapping):
            raise ValidationError.single("", "must be an object with orders_count, amount_spent, currency, as_of")
        count = value.get("orders_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise ValidationError.single("orders_count", "must be a whole number of at least 0")
        spent = None
        if value.get("amount_spent") is not None:
            try:
                spent = Money(Decimal(str(value["amount_spent"])), str(value.get("currency")))
            except (InvalidOperation, ValueError):
                raise ValidationError.single("amount_spent", "is not an amount") from None
        try:
            as_of = datetime.fromisoformat(str(value.get("as_of")))
        except ValueError:
            raise ValidationError.single("as_of", "is not an ISO 8601 time") from None
        if as_of.tzinfo is None:
            raise ValidationError.single("as_of", "must name its UTC offset")
        return cls(count, spent, as_of)


def imported_totals(customer: Customer) -> dict[str, ImportedTotals]:
    """The imported totals a customer record holds, by the id each was imported with."""
    found = {}
    prefix = f"{IMPORTED_TOTALS}:"
    for key, value in customer.metadata.items():
        if key.startswith(prefix):
            try:
                found[key[len(prefix) :]] = ImportedTotals.from_json(value)
            except ValidationError as exc:
                raise exc.prefixed(f"metadata.{key}") from None
    return found
