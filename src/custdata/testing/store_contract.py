"""``StoreContract``: the behaviour every custdata store must show, as a pytest test class to subclass.

::

    from custdata.testing.store_contract import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore(...)          # a fresh, empty store each time

pytest collects only the subclass (the name of this class does not start with ``Test``). The contract
covers every repository operation, transactions and rollback, optimistic concurrency with two real
concurrent writers, pagination stability under inserts and deletes, Unicode and very long values, hostile
strings through every search path and as stored values, ``purge_residue``, and a Hypothesis state machine
comparing the store with a plain model.

Two hooks may be overridden: :meth:`StoreContract.writer_stores` (give each concurrent writer its own
handle on the same data, for stores whose objects must not be shared between threads) and
:meth:`StoreContract.run_concurrently` (how the writers run; threads by default).
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings

from custdata._errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    ProgrammingError,
    ValidationError,
)
from custdata.domain import (
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    Order,
    OrderId,
)
from custdata.storage.ports import CustomerQuery, Store, UnitOfWork
from custdata.testing._store_searches import StoreContractBase
from custdata.testing.store_builders import (
    HOSTILE,
    LOOKALIKES,
    T0,
    make_activity,
    make_customer,
    make_message,
    make_order,
    repository_for,
    storable_text,
)
from custdata.testing.store_machine import check_against_model

__all__ = [
    "HOSTILE",
    "LOOKALIKES",
    "T0",
    "StoreContract",
    "check_against_model",
    "make_activity",
    "make_customer",
    "make_message",
    "make_order",
    "repository_for",
    "storable_text",
]


class StoreContract(StoreContractBase):
    """Subclass with one method, :meth:`make_store`; pytest runs every ``test_*`` here and in the base class
    (look-ups, searches, pagination, awkward values) against it.

    ``model_check_examples`` is how many random operation sequences the model check runs (more find rarer
    faults, at the cost of time).
    """

    model_check_examples: int = 12

    # -- every operation, for every repository ------------------------------------------------------------

    def test_store_and_unit_of_work_follow_the_protocols(self) -> None:
        with self.opened() as store:
            assert isinstance(store, Store)
            assert isinstance(store.url, str)
            with store.unit_of_work() as uow:
                assert isinstance(uow, UnitOfWork)

    def test_added_entities_come_back_equal(self) -> None:
        with self.opened() as store:
            customer = make_customer(tags=frozenset({"vip"}), metadata={"source": "shop", "n": [1, 2.5, None]})
            order = make_order(customer.id, external_ref=ExternalRef("shopify", "1001"))
            message = make_message(customer.id, order_id=order.id, idempotency_key="ord-1001-confirmation")
            activity = make_activity(customer.id, properties={"sku": "SKU-1"})
            self.put(store, customer, order, message, activity)
            with store.unit_of_work() as uow:
                assert uow.customers.get(customer.id) == customer
                assert uow.orders.get(order.id) == order
                assert uow.communications.get(message.id) == message
                assert uow.activity.get(activity.id) == activity
                assert type(uow.customers.get(customer.id).id) is CustomerId

    def test_generated_entities_round_trip(self) -> None:
        from custdata.testing import strategies as cst

        with self.opened() as store:

            @given(customer=cst.customers(), order=cst.orders())
            @settings(max_examples=15, deadline=None)
            def round_trip(customer: Customer, order: Order) -> None:
                customer.id, order.id = CustomerId.new(), OrderId.new()  # examples repeat ids and refs
                order.customer_id = customer.id
                if order.external_ref is not None:
                    order.external_ref = ExternalRef(order.external_ref.platform, order.id)
                self.put(store, customer, order)
                with store.unit_of_work() as uow:
                    assert uow.customers.get(customer.id) == customer
                    assert uow.orders.get(order.id) == order
                    assert uow.orders.for_customer(customer.id).items == (order,)

            round_trip()

    def test_missing_ids_raise_not_found(self) -> None:
        with self.opened() as store, store.unit_of_work() as uow:
            for repository in (uow.customers, uow.orders, uow.communications, uow.activity):
                with pytest.raises(NotFoundError) as caught:
                    repository.get("missing-1")
                assert isinstance(caught.value, LookupError)
                with pytest.raises(NotFoundError):
                    repository.delete("missing-1")

    def test_duplicate_ids_are_integrity_errors(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            with store.unit_of_work() as uow, pytest.raises(IntegrityError):
                uow.customers.add(make_customer(id=customer.id))
            with store.unit_of_work() as uow:
                assert uow.customers.count() == 1

    def test_get_many_returns_what_exists_keyed_by_id(self) -> None:
        with self.opened() as store:
            customers = [make_customer() for _ in range(5)]
            self.put(store, *customers)
            wanted = [customers[0].id, "missing-1", customers[3].id, customers[0].id]
            with store.unit_of_work() as uow:
                found = uow.customers.get_many(wanted)
                assert found == {customers[0].id: customers[0], customers[3].id: customers[3]}
                assert uow.customers.get_many([]) == {}

    def test_add_many_adds_every_entity_in_batches(self) -> None:
        with self.opened() as store:
            customers = [make_customer() for _ in range(1203)]
            with store.unit_of_work() as uow:
                assert uow.customers.add_many(iter(customers)) == 1203
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.customers.count() == 1203
                found = uow.customers.get_many(c.id for c in customers)
                assert len(found) == 1203 and found[customers[-1].id] == customers[-1]

    def test_add_many_with_a_bad_entity_writes_nothing_once_rolled_back(self) -> None:
        with self.opened() as store:
            first = make_customer()
            batch = [make_customer() for _ in range(700)] + [make_customer(id=first.id)]
            with store.unit_of_work() as uow:
                uow.customers.add(first)
                with pytest.raises(IntegrityError):
                    uow.customers.add_many(batch)
            with store.unit_of_work() as uow:
                assert uow.customers.count() == 0

    def test_update_bumps_the_version_and_stores_the_change(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            for expected in (1, 2):
                with store.unit_of_work() as uow:
                    current = uow.customers.get(customer.id)
                    current.display_name = f"Countess {expected}"
                    uow.customers.update(current)
                    assert current.version == expected
                    uow.commit()
                with store.unit_of_work() as uow:
                    stored = uow.customers.get(customer.id)
                    assert stored.version == expected and stored.display_name == f"Countess {expected}"

    def test_stale_update_conflicts_and_writes_nothing(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            with store.unit_of_work() as uow:
                fresh = uow.customers.get(customer.id)
                uow.customers.update(fresh)
                uow.commit()
            customer.display_name = "stale"
            with store.unit_of_work() as uow:
                with pytest.raises(ConflictError) as caught:
                    uow.customers.update(customer)
                assert (caught.value.expected, caught.value.actual) == (0, 1)
                assert customer.version == 0
                uow.commit()
            with store.unit_of_work() as uow:
                stored = uow.customers.get(customer.id)
                assert stored.version == 1 and stored.display_name is None

    def test_update_of_a_missing_entity_is_not_found(self) -> None:
        with self.opened() as store, store.unit_of_work() as uow:
            with pytest.raises(NotFoundError):
                uow.customers.update(make_customer())
            with pytest.raises(NotFoundError):
                uow.activity.update(make_activity(None))

    def test_every_repository_updates_with_versions(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            order, message, event = make_order(customer.id), make_message(customer.id), make_activity(customer.id)
            self.put(store, customer, order, message, event)
            with store.unit_of_work() as uow:
                order.metadata = {"gift": True}
                uow.orders.update(order)
                message.subject = "Thanks"
                uow.communications.update(message)
                event.properties = {"sku": "X"}
                uow.activity.update(event)
                uow.commit()
            assert order.version == 1 and message.version == 1
            with store.unit_of_work() as uow:
                assert uow.orders.get(order.id) == order
                assert uow.communications.get(message.id) == message
                assert uow.activity.get(event.id) == event
                with pytest.raises(ConflictError):
                    uow.orders.update(make_order(customer.id, id=order.id))

    def test_delete_honours_the_version(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            with store.unit_of_work() as uow:
                with pytest.raises(ConflictError):
                    uow.customers.delete(customer.id, version=3)
                uow.customers.delete(customer.id, version=0)
                uow.commit()
            with store.unit_of_work() as uow:
                with pytest.raises(NotFoundError):
                    uow.customers.get(customer.id)
                assert uow.customers.find_by_email(customer.email) == []  # type: ignore[arg-type]

    def test_references_to_customers_are_enforced(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            for orphan in (make_order("nobody"), make_message("nobody"), make_activity("nobody")):
                with store.unit_of_work() as uow, pytest.raises(IntegrityError):
                    repository_for(uow, orphan).add(orphan)
            order = make_order(customer.id)
            self.put(store, order)
            with store.unit_of_work() as uow, pytest.raises(IntegrityError):
                uow.customers.delete(customer.id)
            with store.unit_of_work() as uow:
                uow.orders.delete(order.id)
                uow.customers.delete(customer.id)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.customers.count() == 0 and uow.orders.count() == 0

    def test_invalid_entities_are_refused_and_never_stored(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            broken = make_customer()
            broken.given_name = "bad\x00name"
            with store.unit_of_work() as uow:
                with pytest.raises(ValidationError):
                    uow.customers.add(broken)
                with pytest.raises(ValidationError):
                    uow.customers.add("not a customer")  # type: ignore[arg-type]
                stale = uow.customers.get(customer.id)
                stale.tags = frozenset({""})
                with pytest.raises(ValidationError):
                    uow.customers.update(stale)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.customers.get(customer.id) == customer and uow.customers.count() == 1

    # -- units of work --------------------------------------------------------------------------------------

    def test_leaving_without_commit_rolls_back(self) -> None:
        with self.opened() as store:
            kept, dropped = make_customer(), make_customer()
            self.put(store, kept)
            with store.unit_of_work() as uow:
                uow.customers.add(dropped)
                current = uow.customers.get(kept.id)
                current.display_name = "changed"
                uow.customers.update(current)
            with pytest.raises(RuntimeError), store.unit_of_work() as uow:
                uow.customers.add(dropped)
                uow.customers.delete(kept.id)
                raise RuntimeError("boom")
            with store.unit_of_work() as uow:
                uow.customers.add(dropped)
                uow.rollback()
                assert uow.customers.count() == 1
            with store.unit_of_work() as uow:
                assert uow.customers.get(kept.id) == kept
                assert uow.customers.get_many([dropped.id]) == {}
                assert uow.customers.count() == 1

    def test_uncommitted_writes_stay_private_and_commit_publishes_them(self) -> None:
        with self.opened() as store:
            customer, changed = make_customer(tags=frozenset({"a"})), make_customer()
            self.put(store, changed)
            with store.unit_of_work() as writer:
                writer.customers.add(customer)
                current = writer.customers.get(changed.id)
                current.tags = frozenset({"moved"})
                writer.customers.update(current)
                assert writer.customers.get(customer.id) == customer
                assert writer.customers.count(CustomerQuery(tag="moved")) == 1
                with store.unit_of_work() as reader:
                    self._assert_invisible(reader, customer, changed)
                writer.commit()
                with store.unit_of_work() as reader:
                    assert reader.customers.get(customer.id) == customer
                    assert reader.customers.get(changed.id).tags == frozenset({"moved"})
                    assert reader.customers.find_by_email(customer.email) == [customer]  # type: ignore[arg-type]

    @staticmethod
    def _assert_invisible(reader: UnitOfWork, customer: Customer, changed: Customer) -> None:
        with pytest.raises(NotFoundError):
            reader.customers.get(customer.id)
        assert reader.customers.get_many([customer.id]) == {}
        assert reader.customers.find_by_email(customer.email) == []  # type: ignore[arg-type]
        assert reader.customers.count() == 1
        assert [c.id for c in reader.customers.search()] == [changed.id]
        assert reader.customers.search(CustomerQuery(tag="a")).items == ()
        assert reader.customers.get(changed.id) == changed

    def test_reads_after_a_commit_are_fresh(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            self.put(store, customer)
            with store.unit_of_work() as uow:
                assert uow.customers.get(customer.id).version == 0
                assert uow.customers.find_by_email(customer.email) == [customer]  # type: ignore[arg-type]
            for round_ in range(1, 4):
                with store.unit_of_work() as uow:
                    current = uow.customers.get(customer.id)
                    current.email = EmailAddress(f"round{round_}@example.com")
                    uow.customers.update(current)
                    uow.commit()
                with store.unit_of_work() as uow:
                    stored = uow.customers.get(customer.id)
                    assert stored.version == round_ and str(stored.email) == f"round{round_}@example.com"
                    assert uow.customers.get_many([customer.id])[customer.id].version == round_
                    assert [c.version for c in uow.customers.search()] == [round_]
                    assert [c.id for c in uow.customers.find_by_email(f"round{round_}@example.com")] == [customer.id]

    def test_a_unit_of_work_goes_on_after_commit(self) -> None:
        with self.opened() as store:
            first, second = make_customer(), make_customer()
            with store.unit_of_work() as uow:
                uow.customers.add(first)
                uow.commit()
                uow.customers.add(second)
            with store.unit_of_work() as uow:
                assert [c.id for c in uow.customers.search()] == [first.id]

    def test_units_of_work_are_used_once_and_only_inside_their_block(self) -> None:
        with self.opened() as store:
            uow = store.unit_of_work()
            with pytest.raises(ProgrammingError):
                uow.customers.count()
            with uow:
                uow.customers.count()
            with pytest.raises(ProgrammingError):
                uow.customers.get("x")
            with pytest.raises(ProgrammingError), uow:
                pass
        with pytest.raises(ProgrammingError):
            store.unit_of_work()
        store.close()

    def test_objects_handed_out_are_copies(self) -> None:
        with self.opened() as store:
            customer = make_customer(metadata={"list": [1]})
            self.put(store, customer)
            with store.unit_of_work() as uow:
                got = uow.customers.get(customer.id)
                got.given_name = "Someone"
                got.metadata["list"].append(2)
                uow.commit()
            customer.given_name = "Else"
            with store.unit_of_work() as uow:
                stored = uow.customers.get(customer.id)
                assert stored.given_name == "Ada" and stored.metadata == {"list": [1]}

    # -- concurrency --------------------------------------------------------------------------------------------

    def test_interleaved_read_modify_write_reports_the_conflict(self) -> None:
        with self.opened() as store:
            customer = make_customer(metadata={"n": 0})
            self.put(store, customer)
            with store.unit_of_work() as first:
                mine = first.customers.get(customer.id)
                with store.unit_of_work() as second:
                    theirs = second.customers.get(customer.id)
                    theirs.metadata = {"n": 1}
                    second.customers.update(theirs)
                    second.commit()
                mine.metadata = {"n": 100}
                with pytest.raises(ConflictError):
                    first.customers.update(mine)
                first.commit()
            with store.unit_of_work() as uow:
                stored = uow.customers.get(customer.id)
                assert stored.metadata == {"n": 1} and stored.version == 1

    def test_two_concurrent_writers_lose_no_update(self) -> None:
        rounds = 6
        with self.opened() as store:
            customer = make_customer(metadata={"n": 0})
            self.put(store, customer)
            handles = self.writer_stores(store, 2)
            barrier = threading.Barrier(2)

            def writer(handle: Store) -> int:
                try:
                    return write(handle)
                except BaseException:
                    barrier.abort()  # the other writer must not wait for one that has failed
                    raise

            def write(handle: Store) -> int:
                conflicts = 0
                for _ in range(rounds):
                    synchronised = True
                    for _attempt in range(50):
                        with handle.unit_of_work() as uow:
                            current = uow.customers.get(customer.id)
                            if synchronised:
                                barrier.wait(timeout=60)
                                synchronised = False
                            current.metadata = {"n": current.metadata["n"] + 1}
                            try:
                                uow.customers.update(current)
                                uow.commit()
                                break
                            except ConflictError:
                                conflicts += 1
                    else:
                        raise AssertionError("a writer met a conflict on every one of 50 attempts")
                return conflicts

            try:
                conflicts = self.run_concurrently([lambda h=h: writer(h) for h in handles])  # type: ignore[misc]
            finally:
                for handle in handles:
                    if handle is not store:
                        handle.close()
            with store.unit_of_work() as uow:
                stored = uow.customers.get(customer.id)
            assert stored.metadata == {"n": 2 * rounds}, "an update was lost"
            assert stored.version == 2 * rounds
            assert sum(conflicts) >= rounds, "writers that read the same version must see a conflict"

    # -- purging residue -------------------------------------------------------------------------------------

    def test_purge_residue_keeps_live_data_and_the_store_usable(self) -> None:
        with self.opened() as store:
            kept, gone, changed = make_customer(), make_customer(), make_customer(given_name="Bartholomew")
            order = make_order(kept.id)
            self.put(store, kept, gone, changed, order)
            with store.unit_of_work() as uow:
                uow.customers.delete(gone.id)
                changed.given_name = "Cuthbert"
                uow.customers.update(changed)
                uow.commit()
            store.purge_residue()
            store.purge_residue()  # nothing left to purge is fine too
            later = make_customer()
            self.put(store, later)
            with store.unit_of_work() as uow:
                expected = {kept.id: kept, changed.id: changed, later.id: later}
                assert uow.customers.get_many([kept.id, gone.id, changed.id, later.id]) == expected
                assert uow.customers.search(CustomerQuery(name_prefix="Bartholomew")).items == ()
                assert uow.customers.search(CustomerQuery(name_prefix="Cuthbert")).items == (changed,)
                assert uow.orders.get(order.id) == order
                assert uow.customers.count() == 3
        with pytest.raises(ProgrammingError):
            store.purge_residue()

    # -- the model check ---------------------------------------------------------------------------------------

    def test_behaves_like_a_dictionary_under_random_operations(self) -> None:
        check_against_model(self.make_store, examples=self.model_check_examples)
