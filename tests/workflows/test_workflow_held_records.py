"""The workflows take the customer and the order their caller holds in the unit of work (``Workflows.handle(...,
customers=, orders=)``, and ``PlaceOrder.apply(..., workflows=)``): the same decisions as when they read them,
without reading them again; a merged customer still leads to its survivor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from custdata import Customer, EmailAddress, Money, NotFoundError, Order, OrderLine, ValidationError
from custdata.commands import PlaceOrder
from custdata.lifecycle.apply import apply
from custdata.lifecycle.changes import Place
from custdata.outbox import OutboxState
from custdata.storage import Store, open_store
from custdata.storage.outbox.ports import OutboxUnitOfWork, outbox_unit_of_work
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import Shop, Workflows

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema=held_{uuid.uuid4().hex[:12]}&pool_max_size=4")
    else:
        opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


class Watched:
    """A unit of work whose customer and order reads are recorded."""

    def __init__(self, uow: OutboxUnitOfWork) -> None:
        self.uow = uow
        self.reads: list[str] = []
        outer = self

        class Reader:
            def __init__(self, repository: Any) -> None:
                self._repository = repository

            def get(self, key: str) -> Any:
                outer.reads.append(str(key))
                return self._repository.get(key)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._repository, name)

        self._customers = Reader(uow.customers)
        self._orders = Reader(uow.orders)

    @property
    def customers(self) -> Any:
        return self._customers

    @property
    def orders(self) -> Any:
        return self._orders

    @property
    def communications(self) -> Any:
        return self.uow.communications

    @property
    def activity(self) -> Any:
        return self.uow.activity

    @property
    def outbox(self) -> Any:
        return self.uow.outbox

    @property
    def timers(self) -> Any:
        return self.uow.timers

    def commit(self) -> None:
        self.uow.commit()

    def rollback(self) -> None:
        self.uow.rollback()

    def __enter__(self) -> Watched:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.uow.__exit__(kind, exc, tb)


def customer(customer_id: str, **fields: Any) -> Customer:
    return Customer(
        id=customer_id,
        created_at=T0 - timedelta(days=30),
        email=EmailAddress.parse(f"{customer_id}@example.com"),
        **fields,
    )


def order(order_id: str, customer_id: str) -> Order:
    line = OrderLine("l1", "MUG-1", "Mug", 2, Money("9.50", "EUR"))
    return Order(id=order_id, customer_id=customer_id, currency="EUR", lines=(line,), placed_at=T0)


def place(
    store: Store, placed: Order, *, held: bool, held_customer: Customer | None = None
) -> tuple[list[Any], list[str]]:
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    with outbox_unit_of_work(store) as inner:
        uow = Watched(inner)
        events = apply(placed, Place())
        uow.orders.add(placed)
        if held:
            assert held_customer is not None
            steps = flows.handle(uow, events, customers=[held_customer], orders=[placed])
        else:
            steps = flows.handle(uow, events)
        uow.commit()
    return steps, uow.reads


def test_held_records_give_the_same_steps_without_being_read_again(store: Store) -> None:
    with store.unit_of_work() as uow:
        for cid in ("cus_read", "cus_held"):
            uow.customers.add(customer(cid, given_name="Ada"))
        uow.commit()
    with store.unit_of_work() as uow:
        held = uow.customers.get("cus_held")
    read_steps, read = place(store, order("ord_read", "cus_read"), held=False)
    held_steps, none = place(store, order("ord_held", "cus_held"), held=True, held_customer=held)
    assert read == ["cus_read", "ord_read"] and none == []
    same = [(s.rule, s.action, s.key.replace("read", "held"), s.channel, s.due_at) for s in read_steps]
    assert same == [(s.rule, s.action, s.key, s.channel, s.due_at) for s in held_steps]
    assert [s.action for s in held_steps] == ["queued", "scheduled"]


def test_a_held_customer_merged_into_another_is_not_taken(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_survivor"))
        uow.customers.add(customer("cus_guest", merged_into="cus_survivor"))
        uow.commit()
    with store.unit_of_work() as uow:
        guest = uow.customers.get("cus_guest")
    steps, reads = place(store, order("ord_1", "cus_guest"), held=True, held_customer=guest)
    assert reads[:2] == ["cus_guest", "cus_survivor"]  # followed to the survivor, as without a held customer
    with outbox_unit_of_work(store) as uow:
        entry = uow.outbox.find(steps[0].key)
    assert entry is not None and entry.message is not None
    assert entry.message.recipient == "cus_survivor@example.com"


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [("customers", ["cus_1"], "customers[0]"), ("orders", [object()], "orders[0]")],
)
def test_held_records_of_the_wrong_type_are_refused_by_path(field: str, value: Any, path: str) -> None:
    store = open_store("memory://")
    with outbox_unit_of_work(store) as uow, pytest.raises(ValidationError) as caught:
        Workflows(shop=SHOP).handle(uow, [], **{field: value})
    assert [p.path for p in caught.value.problems] == [path]


def test_place_order_hands_its_records_to_the_workflows_in_its_unit_of_work(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_1"))
        uow.commit()
    command = PlaceOrder.from_payload(
        {"currency": "EUR", "lines": [{"sku": "MUG-1", "product_name": "Mug", "quantity": 1, "unit_price": "9.50"}]}
    )
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    placed = command.apply(store, "cus_1", currency="EUR", workflows=flows, clock=lambda: T0)
    with outbox_unit_of_work(store) as uow:
        [entry] = uow.outbox.for_customer("cus_1")
        assert entry.idempotency_key.startswith(f"{placed.order.id}:placed:order_confirmation")
        assert entry.state == OutboxState.PENDING and str(entry.order_id) == str(placed.order.id)
        assert [t.topic.value for t in uow.timers.pending("cus_1")] == ["re_engagement"]

    def fail(_uow: Any, _events: Any) -> None:
        raise RuntimeError("after the workflows")

    with pytest.raises(RuntimeError):  # the order and its messages are written together or not at all
        command.apply(store, "cus_1", currency="EUR", workflows=flows, then=fail, shipping=Decimal(0))
    with outbox_unit_of_work(store) as uow:
        assert len(uow.outbox.for_customer("cus_1")) == 1
    with pytest.raises(NotFoundError):
        command.apply(store, "cus_missing", currency="EUR", workflows=flows)
