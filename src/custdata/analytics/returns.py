"""Return rates per customer, per product or variant, and per variant attribute ("size 42 keeps coming back").

Rates count items: quantity returned / quantity bought, over orders that were not cancelled. A return
counts while it is requested, open, received or closed; declined and cancelled returns brought nothing
back. The reasons given are summed per reason code so the cause shows next to the rate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import each
from custdata.analytics._results import Table
from custdata.analytics.metrics import ratio
from custdata.domain import CustomerId, Order, OrderLine

# Returns in the states of COUNTED_RETURNS count: the items are on their way back or are back (the rule is kept
# in custdata.domain.order_rules, for every reader; the name stays importable from here).
from custdata.domain.order_rules import COUNTED_RETURNS as COUNTED_RETURNS
from custdata.domain.order_rules import is_sold, return_counts


def _returned(order: Order) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Quantities returned per line id, and the quantity per reason code per line id."""
    quantities: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for ret in order.returns:
        if return_counts(ret):
            for line in ret.lines:
                quantities[line.line_id] += line.quantity
                reasons.setdefault(line.line_id, Counter())[line.reason.value] += line.quantity
    return quantities, reasons


def _sold_lines(orders: Iterable[Order]) -> Iterator[tuple[Order, OrderLine, int, Counter[str]]]:
    """Each line of each order that was not cancelled, with the quantity returned and the reasons."""
    for order in each(orders, Order, "orders"):
        if not is_sold(order):
            continue
        quantities, reasons = _returned(order)
        for line in order.lines:
            yield order, line, quantities.get(line.id, 0), reasons.get(line.id, Counter())


def _reasons(counter: Counter[str]) -> dict[str, int]:
    """Reason codes by quantity, most frequent first, ties in alphabetical order."""
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


# -- per customer ---------------------------------------------------------------------------------


@attrs.frozen
class CustomerReturns:
    """A customer's returns: items bought and returned, and orders with at least one return."""

    customer_id: CustomerId
    orders: int
    orders_with_returns: int
    items: int
    items_returned: int
    return_rate: float


@attrs.frozen(repr=False)
class CustomerReturnRates(Table[CustomerReturns]):
    """Return rate per customer, sorted by customer id."""

    row_type = CustomerReturns


def return_rates_by_customer(orders: Iterable[Order]) -> CustomerReturnRates:
    """Per customer: items returned / items bought, and how many orders had a return."""
    tally: dict[CustomerId, list[int]] = {}  # orders, orders with returns, items, returned
    for order in each(orders, Order, "orders"):
        if not is_sold(order):
            continue
        quantities, _ = _returned(order)
        returned = sum(quantities.values())
        row = tally.setdefault(order.customer_id, [0, 0, 0, 0])
        row[0] += 1
        row[1] += 1 if returned else 0
        row[2] += order.item_count
        row[3] += returned
    return CustomerReturnRates(
        tuple(
            CustomerReturns(customer_id, n, with_returns, items, returned, ratio(returned, items) or 0.0)
            for customer_id, (n, with_returns, items, returned) in sorted(tally.items())
        )
    )


# -- per product and variant ------------------------------------------------------------------------


@attrs.frozen
class ProductReturns:
    """Returns of one product (``variant`` empty) or one variant of it, such as ``{"size": "42"}``."""

    sku: str
    variant: Mapping[str, str] = attrs.field(hash=False)
    product_name: str
    sold: int
    returned: int
    return_rate: float
    reasons: Mapping[str, int] = attrs.field(hash=False)

    @property
    def label(self) -> str:
        """``SKU`` or ``SKU (colour=red, size=42)``."""
        if not self.variant:
            return self.sku
        return f"{self.sku} ({', '.join(f'{k}={v}' for k, v in self.variant.items())})"


@attrs.frozen(repr=False)
class ProductReturnRates(Table[ProductReturns]):
    """Return rates per product or variant, highest rate first (then most returned, then by label)."""

    row_type = ProductReturns


class _Item:
    __slots__ = ("name", "named_at", "reasons", "returned", "sold")

    def __init__(self) -> None:
        self.sold = self.returned = 0
        self.reasons: Counter[str] = Counter()
        self.name = ""
        self.named_at: tuple[datetime, str] | None = None

    def add(self, order: Order, line: OrderLine, returned: int, reasons: Counter[str]) -> None:
        self.sold += line.quantity
        self.returned += returned
        self.reasons.update(reasons)
        # the name from the newest order, so a renamed product shows its current name
        stamp = (order.placed_at, str(order.id))
        if self.named_at is None or stamp > self.named_at or (stamp == self.named_at and line.product_name > self.name):
            self.name, self.named_at = line.product_name, stamp


def return_rates_by_product(
    orders: Iterable[Order], *, by_variant: bool = True, min_sold: int = 1
) -> ProductReturnRates:
    """Return rate per SKU and variant (``by_variant=True``) or per SKU; products with fewer than
    ``min_sold`` items sold are left out, so that one returned pair out of one does not top the list.
    """
    if isinstance(min_sold, bool) or not isinstance(min_sold, int) or min_sold < 1:
        raise ValidationError.single("min_sold", "must be an integer of at least 1")
    items: dict[tuple[str, tuple[tuple[str, str], ...]], _Item] = {}
    for order, line, returned, reasons in _sold_lines(orders):
        variant = tuple(sorted(line.variant.items())) if by_variant else ()
        items.setdefault((line.sku, variant), _Item()).add(order, line, returned, reasons)
    rows = [
        ProductReturns(
            sku, dict(variant), item.name, item.sold, item.returned, item.returned / item.sold, _reasons(item.reasons)
        )
        for (sku, variant), item in items.items()
        if item.sold >= min_sold
    ]
    rows.sort(key=lambda r: (-r.return_rate, -r.returned, r.sku, tuple(r.variant.items())))
    return ProductReturnRates(tuple(rows))


# -- per attribute value ----------------------------------------------------------------------------


@attrs.frozen
class AttributeReturns:
    """Returns of every item whose variant has ``attribute`` = ``value``, across products."""

    attribute: str
    value: str
    sold: int
    returned: int
    return_rate: float
    reasons: Mapping[str, int] = attrs.field(hash=False)


@attrs.frozen(repr=False)
class AttributeReturnRates(Table[AttributeReturns]):
    """Return rates per value of one variant attribute, highest rate first."""

    row_type = AttributeReturns


def return_rates_by_attribute(orders: Iterable[Order], attribute: str, *, min_sold: int = 1) -> AttributeReturnRates:
    """Return rate per value of a variant attribute (``"size"``) across all products; lines without the
    attribute are skipped.
    """
    if not isinstance(attribute, str) or not attribute.strip():
        raise ValidationError.single("attribute", "must be a variant attribute name such as 'size'")
    if isinstance(min_sold, bool) or not isinstance(min_sold, int) or min_sold < 1:
        raise ValidationError.single("min_sold", "must be an integer of at least 1")
    tally: dict[str, list[int]] = {}
    reasons: dict[str, Counter[str]] = {}
    for _, line, returned, why in _sold_lines(orders):
        value = line.variant.get(attribute)
        if value is None:
            continue
        row = tally.setdefault(value, [0, 0])
        row[0] += line.quantity
        row[1] += returned
        reasons.setdefault(value, Counter()).update(why)
    rows = [
        AttributeReturns(attribute, value, sold, returned, returned / sold, _reasons(reasons[value]))
        for value, (sold, returned) in tally.items()
        if sold >= min_sold
    ]
    rows.sort(key=lambda r: (-r.return_rate, -r.returned, r.value))
    return AttributeReturnRates(tuple(rows))
