"""The contract's model check: a Hypothesis state machine driving a store and a plain model side by side."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from custdata._errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
)
from custdata.domain import (
    Customer,
    EmailAddress,
    Order,
)
from custdata.storage.ports import CustomerQuery, Store, walk
from custdata.testing.store_builders import (
    T0,
    make_customer,
    make_order,
)

# -- the state machine ---------------------------------------------------------------------------------------

_TAGS = ("a", "b", "c")


class _StoreMachine(RuleBasedStateMachine):
    """Random add / update / stale update / delete / rollback sequences of customers and their orders, checked
    against plain dicts."""

    make_store: Callable[[], Store]
    customers = Bundle("customers")

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make_store()
        self.model: dict[str, Customer] = {}
        self.held: dict[str, Customer] = {}
        self.orders: dict[str, Order] = {}

    def teardown(self) -> None:
        self.store.close()

    @rule(target=customers, tags=st.frozensets(st.sampled_from(_TAGS), max_size=2), mailbox=st.integers(0, 3))
    def add(self, tags: frozenset[str], mailbox: int) -> str:
        customer = make_customer(tags=tags, email=EmailAddress(f"box{mailbox}@example.com"))
        with self.store.unit_of_work() as uow:
            uow.customers.add(customer)
            uow.commit()
        self.model[customer.id] = customer
        return customer.id

    @rule(customer_id=customers, tags=st.frozensets(st.sampled_from(_TAGS), max_size=2), commit=st.booleans())
    def update(self, customer_id: str, tags: frozenset[str], commit: bool) -> None:
        with self.store.unit_of_work() as uow:
            if customer_id not in self.model:
                with pytest.raises(NotFoundError):
                    uow.customers.get(customer_id)
                return
            current = uow.customers.get(customer_id)
            assert current == self.model[customer_id]
            current.tags = tags
            uow.customers.update(current)
            assert uow.customers.get(customer_id) == current
            if commit:
                uow.commit()
                self.model[customer_id] = current

    @rule(customer_id=customers)
    def hold_a_copy(self, customer_id: str) -> None:
        with self.store.unit_of_work() as uow:
            found = uow.customers.get_many([customer_id])
        assert found == ({customer_id: self.model[customer_id]} if customer_id in self.model else {})
        if found:
            self.held[customer_id] = found[customer_id]  # type: ignore[index]

    @rule(customer_id=customers, mailbox=st.integers(0, 3))
    def update_the_held_copy(self, customer_id: str, mailbox: int) -> None:
        held = self.held.pop(customer_id, None)
        if held is None:
            return
        held.email = EmailAddress(f"box{mailbox}@example.com")
        stored = self.model.get(customer_id)
        with self.store.unit_of_work() as uow:
            if stored is None:
                with pytest.raises(NotFoundError):
                    uow.customers.update(held)
            elif stored.version != held.version:
                with pytest.raises(ConflictError):
                    uow.customers.update(held)
            else:
                uow.customers.update(held)
                uow.commit()
                self.model[customer_id] = held

    @rule(customer_id=customers)
    def lose_a_race(self, customer_id: str) -> None:
        if customer_id not in self.model:
            return
        with self.store.unit_of_work() as slow:
            mine = slow.customers.get(customer_id)
            with self.store.unit_of_work() as fast:
                theirs = fast.customers.get(customer_id)
                theirs.display_name = f"winner {theirs.version}"
                fast.customers.update(theirs)
                fast.commit()
            self.model[customer_id] = theirs
            mine.display_name = "loser"
            with pytest.raises(ConflictError):
                slow.customers.update(mine)

    @rule(customer_id=customers, commit=st.booleans())
    def delete(self, customer_id: str, commit: bool) -> None:
        with self.store.unit_of_work() as uow:
            if customer_id not in self.model:
                with pytest.raises(NotFoundError):
                    uow.customers.delete(customer_id)
                return
            if any(o.customer_id == customer_id for o in self.orders.values()):
                with pytest.raises(IntegrityError):
                    uow.customers.delete(customer_id)
                return
            uow.customers.delete(customer_id)
            if commit:
                uow.commit()
                del self.model[customer_id]

    @rule(customer_id=customers, minute=st.integers(0, 3), commit=st.booleans())
    def add_order(self, customer_id: str, minute: int, commit: bool) -> None:
        order = make_order(customer_id, placed_at=T0 + timedelta(minutes=minute))  # equal times: id decides
        with self.store.unit_of_work() as uow:
            if customer_id not in self.model:
                with pytest.raises(IntegrityError):
                    uow.orders.add(order)
                return
            uow.orders.add(order)
            if commit:
                uow.commit()
                self.orders[order.id] = order

    @rule(customer_id=customers, limit=st.integers(1, 3))
    def orders_of_customer(self, customer_id: str, limit: int) -> None:
        with self.store.unit_of_work() as uow:
            found = list(walk(lambda c: uow.orders.for_customer(customer_id, limit=limit, cursor=c)))
            assert uow.orders.count(customer_id=customer_id) == len(found)
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        assert found == sorted(mine, key=lambda o: (o.placed_at, o.id))

    @rule(data=st.data())
    def delete_an_order(self, data: st.DataObject) -> None:
        if not self.orders:
            return
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        with self.store.unit_of_work() as uow:
            uow.orders.delete(order_id, version=self.orders[order_id].version)
            uow.commit()
        del self.orders[order_id]

    @rule(mailbox=st.integers(0, 3))
    def find_by_email(self, mailbox: int) -> None:
        address = f"BOX{mailbox}@example.com"
        with self.store.unit_of_work() as uow:
            found = [c.id for c in uow.customers.find_by_email(address)]
        expected = sorted(k for k, c in self.model.items() if str(c.email).lower() == address.lower())
        assert found == expected

    @rule(tag=st.sampled_from(_TAGS), limit=st.integers(1, 3))
    def search_by_tag(self, tag: str, limit: int) -> None:
        query = CustomerQuery(tag=tag)
        with self.store.unit_of_work() as uow:
            found = list(walk(lambda c: uow.customers.search(query, limit=limit, cursor=c)))
            assert uow.customers.count(query) == len(found)
        assert found == [self.model[k] for k in sorted(k for k, c in self.model.items() if tag in c.tags)]

    @invariant()
    def counts_agree(self) -> None:
        with self.store.unit_of_work() as uow:
            assert uow.customers.count() == len(self.model)
            assert uow.orders.count() == len(self.orders)


def check_against_model(make_store: Callable[[], Store], *, examples: int = 12, steps: int = 20) -> None:
    """Run the state machine on stores made by ``make_store``; raises on the first disagreement."""
    machine = type("StoreMachine", (_StoreMachine,), {"make_store": staticmethod(make_store)})
    run_state_machine_as_test(
        machine, settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None)
    )
