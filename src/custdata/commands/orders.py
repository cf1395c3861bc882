"""Placing an order from a storefront's payload: lines by sku, quantity and unit price in the shop's currency.
The order's id, status, timestamps and totals are the server's."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs

from custdata._clock import Clock, utc_now
from custdata._errors import ErrorCode, Problem, ValidationError
from custdata.commands._base import ADDRESS, DEFAULT_IDS, Command, Ids, build_address, live_customer, now_from, run
from custdata.commands._fields import DecimalText, Field, Integer, ListOf, Shape, Text
from custdata.domain import Address, Money, Order, OrderLine
from custdata.domain.order_events import OrderEvent
from custdata.domain.personal import NESTED, NOT_PERSONAL, masked_repr
from custdata.storage.outbox.ports import OutboxUnitOfWork
from custdata.storage.ports import Store, UnitOfWork

if TYPE_CHECKING:
    from custdata.workflows import Workflows

#: The most lines one order placed through a command may have.
MAX_LINES = 100

_LINE = Shape(
    (
        Field("sku", Text(128), required=True),
        Field("product_name", Text(512), required=True),
        Field("quantity", Integer(1, 10_000), required=True),
        Field("unit_price", DecimalText(), required=True, description="in the order's currency, such as '19.99'"),
    ),
    forbidden={"id": "is assigned by the server", "total": "is computed by the server"},
)

_ORDER_MANAGED = {
    name: "is set by the server"
    for name in (
        "id",
        "customer_id",
        "status",
        "placed_at",
        "updated_at",
        "version",
        "history",
        "shipments",
        "returns",
        "subtotal",
        "total",
        "tax",
        "shipping",
        "discount",
        "taxes_included",
        "external_ref",
        "metadata",
    )
}


@attrs.frozen
class Placed:
    """The stored order and the events placing it raised (hand them to your workflow engine, or use ``then``)."""

    order: Order = attrs.field(metadata=NESTED)
    events: tuple[OrderEvent, ...] = attrs.field(metadata=NESTED)

    __repr__ = masked_repr


@attrs.frozen
class _Line:
    sku: str = attrs.field(metadata=NOT_PERSONAL)
    product_name: str = attrs.field(metadata=NOT_PERSONAL)
    quantity: int = attrs.field(metadata=NOT_PERSONAL)
    unit_price: Decimal = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen
class PlaceOrder(Command):
    """An order of ``lines`` for the authenticated customer, in ``currency`` (which must be the shop's), shipped
    to ``shipping_address`` (the customer's default shipping address when left out)."""

    SHAPE: ClassVar[Shape] = Shape(
        (
            Field("currency", Text(3), required=True, description="ISO 4217; must be the shop's currency"),
            Field("lines", ListOf(_LINE, max_items=MAX_LINES, min_items=1), required=True),
            Field("shipping_address", ADDRESS),
        ),
        forbidden=_ORDER_MANAGED,
    )

    currency: str = attrs.field(metadata=NOT_PERSONAL)
    lines: tuple[_Line, ...] = attrs.field(metadata=NESTED)
    shipping_address: Address | None = attrs.field(default=None, metadata=NESTED)

    __repr__ = masked_repr

    @classmethod
    def _build(cls, values: dict[str, Any]) -> PlaceOrder:
        problems: list[Problem] = []
        currency = values.get("currency", "")
        try:
            Money(0, currency)
        except ValidationError as exc:
            if "currency" in values:
                problems.extend(Problem("currency", p.message, code=p.code) for p in exc.problems)
        lines = tuple(_Line(**line) for line in values.get("lines", ()))
        if not problems and "currency" in values:
            for i, line in enumerate(lines):
                try:
                    Money(line.unit_price, currency)
                except ValidationError as exc:
                    where = f"lines[{i}].unit_price"
                    problems.extend(Problem(where, p.message, code=p.code) for p in exc.problems)
        address = None
        if "shipping_address" in values:
            try:
                address = build_address(values["shipping_address"], "shipping_address")
            except ValidationError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ValidationError(problems)
        return cls(currency.upper(), lines, address)

    def apply(
        self,
        store: Store,
        customer_id: str,
        *,
        currency: str,
        prices: Callable[[str], Decimal | None] | None = None,
        shipping: Decimal = Decimal(0),
        tax: Decimal = Decimal(0),
        taxes_included: bool = False,
        ids: Ids = DEFAULT_IDS,
        clock: Clock = utc_now,
        then: Callable[[UnitOfWork, tuple[OrderEvent, ...]], object] | None = None,
        workflows: Workflows | None = None,
    ) -> Placed:
        """Place the order for the live customer ``customer_id`` in the shop's ``currency``.

        ``prices`` (sku to unit price, None for an unknown sku), when given, is the price list the payload's
        prices must match. ``shipping`` and ``tax`` are the server's amounts. ``then(uow, events)`` runs in the
        same unit of work before it commits (for example a workflow engine's ``handle``), so the order and what
        follows from it are stored together or not at all.

        ``workflows``, when given, decides the order's messages in the same unit of work (before ``then``), handed
        the customer and the order this command has just read and written, so it reads neither again. The store's
        units of work must have an outbox (:class:`custdata.ValidationError` at ``uow`` otherwise, nothing
        written).
        """
        problems: list[Problem] = []
        if self.currency != currency.upper():
            problems.append(
                Problem("currency", f"must be the shop's currency {currency.upper()}", code=ErrorCode.CURRENCY_MISMATCH)
            )
        elif prices is not None:
            for i, line in enumerate(self.lines):
                price = prices(line.sku)
                if price is None:
                    problems.append(
                        Problem(f"lines[{i}].sku", "is not a product of the shop", code=ErrorCode.NOT_FOUND)
                    )
                elif price != line.unit_price:
                    problems.append(
                        Problem(
                            f"lines[{i}].unit_price", "is not the shop's price for this product", code=ErrorCode.INVALID
                        )
                    )
        if problems:
            raise ValidationError(problems)
        now = now_from(clock)

        def work(uow: UnitOfWork) -> Placed:
            customer = live_customer(uow, customer_id, None)
            order = Order(
                id=ids.order(),
                customer_id=customer.id,
                currency=self.currency,
                lines=tuple(
                    OrderLine(
                        id=str(i + 1),
                        sku=line.sku,
                        product_name=line.product_name,
                        quantity=line.quantity,
                        unit_price=Money(line.unit_price, self.currency),
                    )
                    for i, line in enumerate(self.lines)
                ),
                placed_at=now,
                shipping_address=self.shipping_address or customer.shipping_address,
                shipping=Money(shipping, self.currency),
                tax=Money(tax, self.currency),
                taxes_included=taxes_included,
            )
            events = order.place()
            uow.orders.add(order)
            if workflows is not None:
                workflows.handle(cast(OutboxUnitOfWork, uow), events, customers=(customer,), orders=(order,))
            if then is not None:
                then(uow, events)
            return Placed(order, events)

        return run(store, work)


__all__ = ["MAX_LINES", "PlaceOrder", "Placed"]
