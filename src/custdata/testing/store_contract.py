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

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from custdata._errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    ProgrammingError,
    StoreError,
    ValidationError,
)
from custdata.domain import (
    ActivityEvent,
    ActivityId,
    Address,
    Channel,
    CommunicationEvent,
    CommunicationId,
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    Money,
    Order,
    OrderId,
    OrderLine,
    PhoneNumber,
    Topic,
)
from custdata.domain._checks import trusting
from custdata.storage.ports import CustomerQuery, Page, Store, UnitOfWork, walk
from custdata.storage.records import name_key

T = TypeVar("T")

T0 = datetime(2024, 1, 1, tzinfo=UTC)
_sequence = itertools.count(1)

#: Strings that have broken stores before: quoting, SQL, LIKE wildcards, placeholders, NUL, surrogates, size.
HOSTILE = (
    "'",
    '"',
    "\\",
    "%",
    "_",
    "*",
    "?",
    "%s",
    "$1",
    ":id",
    "{doc}",
    "' OR '1'='1",
    "'; DROP TABLE customers; --",
    '") OR 1=1 --',
    "a\x00b",
    "\x00",
    "\ud800",
    "\u202e\u0000\u200b",
    "\n\r\t",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522" * 2000,
    "é" * 100_000,
)


#: Values that quoting, placeholders, ``LIKE`` wildcards, case folding or collation could get wrong when they are
#: the stored data rather than the search argument.
LOOKALIKES = (
    "'",
    "''",
    '"',
    "\\",
    "%",
    "%%",
    "_",
    "*",
    "?",
    "%s",
    "%(id)s",
    "$1",
    ":id",
    "{doc}",
    "?::jsonb",
    "' OR '1'='1",
    "x'); DROP TABLE customers; --",
    "Robert'); DELETE FROM customer_keys; --",
    "\u202eevil",
    "ß",
    "SS",
    "ss",
    "İ",
    "i",
    "🙂",
    "a b",
    "A",
    "a",
)


def storable_text(text: str) -> bool:
    """True when the model takes ``text`` as a tag, group and display name (non-empty, short, no control
    characters) and it is valid Unicode (a lone surrogate is not)."""
    try:
        text.encode("utf-8")
        make_customer(tags=frozenset({text}), groups=frozenset({text}), display_name=text)
    except (ValidationError, UnicodeEncodeError):
        return False
    return True


def _n() -> int:
    return next(_sequence)


def make_customer(**fields: Any) -> Customer:
    """A valid customer with a unique id and email; ``fields`` override the defaults."""
    n = _n()
    values: dict[str, Any] = {
        "id": CustomerId.new(),
        "created_at": T0 + timedelta(seconds=n),
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": EmailAddress(f"ada.{n}@example.com"),
    }
    values.update(fields)
    return Customer(**values)


def make_order(customer_id: str, **fields: Any) -> Order:
    """A valid one-line order of ``customer_id``."""
    n = _n()
    line = OrderLine(id="l1", sku=f"SKU-{n}", product_name="Shoe", quantity=1, unit_price=Money("10.00", "EUR"))
    values: dict[str, Any] = {
        "id": OrderId.new(),
        "customer_id": customer_id,
        "currency": "EUR",
        "lines": (line,),
        "placed_at": T0 + timedelta(seconds=n),
    }
    values.update(fields)
    return Order(**values)


def make_message(customer_id: str, **fields: Any) -> CommunicationEvent:
    """A valid outbound email event of ``customer_id``."""
    n = _n()
    values: dict[str, Any] = {
        "id": CommunicationId.new(),
        "customer_id": customer_id,
        "channel": Channel.EMAIL,
        "topic": Topic.ORDER_CONFIRMATION,
        "created_at": T0 + timedelta(seconds=n),
    }
    values.update(fields)
    return CommunicationEvent(**values)


def make_activity(customer_id: str | None, **fields: Any) -> ActivityEvent:
    """A valid ``Product Viewed`` event of ``customer_id`` (anonymous when None)."""
    n = _n()
    values: dict[str, Any] = {
        "id": ActivityId.new(),
        "event": "Product Viewed",
        "occurred_at": T0 + timedelta(seconds=n),
        "customer_id": customer_id,
        "anonymous_id": None if customer_id else f"anon-{n}",
    }
    values.update(fields)
    return ActivityEvent(**values)


class StoreContract:
    """Subclass with one method, :meth:`make_store`; pytest runs every ``test_*`` below against it."""

    def make_store(self) -> Store:
        """A fresh, empty store. Subclasses must implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_store()")

    def writer_stores(self, store: Store, count: int) -> list[Store]:
        """Handles on ``store``'s data for ``count`` concurrent writers; by default they share ``store``.

        Override to open extra handles on the same data (closed by the contract afterwards unless they are
        ``store`` itself).
        """
        return [store] * count

    def run_concurrently(self, jobs: list[Callable[[], T]]) -> list[T]:
        """Run ``jobs`` at the same time and return their results (exceptions re-raised); threads by default."""
        results: list[Any] = [None] * len(jobs)
        errors: list[BaseException] = []

        def run(i: int, job: Callable[[], T]) -> None:
            try:
                results[i] = job()
            except BaseException as exc:  # noqa: BLE001 - handed to the test below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a concurrent writer did not finish within 120 s"
        if errors:
            raise errors[0]
        return results

    # -- helpers --------------------------------------------------------------------------------------------

    @contextmanager
    def opened(self) -> Iterator[Store]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    @staticmethod
    def put(store: Store, *entities: Any) -> None:
        """Add entities in one committed unit of work, each to the repository of its type."""
        with store.unit_of_work() as uow:
            for entity in entities:
                repository_for(uow, entity).add(entity)
            uow.commit()

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

    # -- look-ups and searches ---------------------------------------------------------------------------------

    def test_find_by_email_uses_the_canonical_form(self) -> None:
        with self.opened() as store:
            jane = make_customer(
                email=EmailAddress("Jane.Doe@Example.COM"), other_emails=(EmailAddress("JD@shop.example.org"),)
            )
            other = make_customer()
            self.put(store, jane, other)
            with store.unit_of_work() as uow:
                for probe in ("jane.doe@example.com", " JANE.DOE@example.com", EmailAddress("jane.doe@EXAMPLE.com")):
                    assert uow.customers.find_by_email(probe) == [jane]
                assert uow.customers.find_by_email("jd@shop.example.org") == [jane]
                assert uow.customers.find_by_email("nobody@example.com") == []
                with pytest.raises(ValidationError):
                    uow.customers.find_by_email("not an email")
                jane.email = EmailAddress("jane@new.example.com")
                jane.other_emails = ()
                uow.customers.update(jane)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.customers.find_by_email("jane.doe@example.com") == []
                assert uow.customers.find_by_email("JANE@new.example.com") == [jane]

    def test_find_by_email_returns_every_customer_sharing_it_in_id_order(self) -> None:
        with self.opened() as store:
            guests = [make_customer(email=EmailAddress("shared@example.com"), is_guest=True) for _ in range(3)]
            self.put(store, *guests)
            with store.unit_of_work() as uow:
                assert [c.id for c in uow.customers.find_by_email("Shared@example.com")] == sorted(g.id for g in guests)

    def test_find_by_phone_uses_e164(self) -> None:
        with self.opened() as store:
            berlin = PhoneNumber.parse("030 1234567", "DE")
            mobile = PhoneNumber.parse("+44 7400 123456")
            customer = make_customer(phone=berlin, other_phones=(mobile,))
            self.put(store, customer, make_customer())
            with store.unit_of_work() as uow:
                assert uow.customers.find_by_phone("+49 30 1234567") == [customer]
                assert uow.customers.find_by_phone("030 1234567", region="DE") == [customer]
                assert uow.customers.find_by_phone(mobile) == [customer]
                assert uow.customers.find_by_phone("+49 30 7654321") == []
                with pytest.raises(ValidationError):
                    uow.customers.find_by_phone("call me maybe")

    def test_find_by_external_ref_and_idempotency_key(self) -> None:
        with self.opened() as store:
            customer = make_customer()
            order = make_order(customer.id, external_ref=ExternalRef("shopify", "5001"))
            message = make_message(customer.id, idempotency_key="k-1")
            self.put(store, customer, order, make_order(customer.id), message)
            with store.unit_of_work() as uow:
                assert uow.orders.find_by_external_ref(ExternalRef("shopify", "5001")) == order
                assert uow.orders.find_by_external_ref(ExternalRef("woocommerce", "5001")) is None
                assert uow.communications.find_by_idempotency_key("k-1") == message
                assert uow.communications.find_by_idempotency_key("k-2") is None
            duplicates = (
                make_order(customer.id, external_ref=ExternalRef("shopify", "5001")),
                make_message(customer.id, idempotency_key="k-1"),
            )
            for duplicate in duplicates:
                with store.unit_of_work() as uow, pytest.raises(IntegrityError):
                    repository_for(uow, duplicate).add(duplicate)

    def test_search_by_name_prefix_ignores_case_and_matches_any_name(self) -> None:
        with self.opened() as store:
            olaf = make_customer(given_name="Ólafur", family_name="Straße", display_name=None)
            obrien = make_customer(given_name="Seán", family_name="O'Brien %_", display_name="Captain")
            plain = make_customer(given_name="Ada", family_name="Lovelace")
            self.put(store, olaf, obrien, plain)
            cases = {
                "ól": {olaf.id},
                "ÓLAFUR STR": {olaf.id},
                "strasse": {olaf.id},
                "o'brien %": {obrien.id},
                "o'brien x": set(),
                "%": set(),
                "_": set(),
                "capt": {obrien.id},
                "a": {plain.id},
                "seán o'b": {obrien.id},
            }
            with store.unit_of_work() as uow:
                for prefix, expected in cases.items():
                    query = CustomerQuery(name_prefix=prefix)
                    assert {c.id for c in uow.customers.search(query)} == expected, prefix
                    assert uow.customers.count(query) == len(expected), prefix

    def test_search_by_tag_group_country_and_time_ranges(self) -> None:
        with self.opened() as store:
            berlin = Address(last_name="X", street_address_1="Hauptstr. 1", city="Berlin", postal_code="10115",
                             country_code="DE")  # fmt: skip
            paris = Address(last_name="Y", street_address_1="1 Rue de Rivoli", city="Paris", postal_code="75001",
                            country_code="FR")  # fmt: skip
            a = make_customer(tags=frozenset({"vip", "%"}), groups=frozenset({"wholesale"}), addresses=(berlin,))
            b = make_customer(tags=frozenset({"vip"}), addresses=(paris, berlin), created_at=T0 + timedelta(days=10))
            c = make_customer(groups=frozenset({"wholesale"}), created_at=T0 + timedelta(days=20))
            c.updated_at = T0 + timedelta(days=30)
            self.put(store, a, b, c)
            cases = [
                (CustomerQuery(tag="vip"), {a.id, b.id}),
                (CustomerQuery(tag="VIP"), set()),
                (CustomerQuery(tag="%"), {a.id}),
                (CustomerQuery(group="wholesale"), {a.id, c.id}),
                (CustomerQuery(country="DE"), {a.id, b.id}),
                (CustomerQuery(country="fr"), {b.id}),
                (CustomerQuery(tag="vip", country="FR"), {b.id}),
                (CustomerQuery(created_from=T0 + timedelta(days=10)), {b.id, c.id}),
                (CustomerQuery(created_to=T0 + timedelta(days=10)), {a.id}),
                (CustomerQuery(created_from=b.created_at, created_to=c.created_at), {b.id}),
                (CustomerQuery(updated_from=T0 + timedelta(days=25)), {c.id}),
                (CustomerQuery(updated_to=T0 + timedelta(days=25), group="wholesale"), {a.id}),
            ]
            with store.unit_of_work() as uow:
                for query, expected in cases:
                    assert {x.id for x in uow.customers.search(query)} == expected, query
                    assert uow.customers.count(query) == len(expected), query
                assert uow.customers.count() == 3

    def test_customer_histories_come_in_time_order_across_pages(self) -> None:
        with self.opened() as store:
            customer, other = make_customer(), make_customer()
            moments = [T0 + timedelta(hours=h) for h in (5, 1, 3, 3, 3, 2, 4, 3)]
            orders = [make_order(customer.id, placed_at=m) for m in moments]
            messages = [make_message(customer.id, created_at=m) for m in moments]
            events = [make_activity(customer.id, occurred_at=m) for m in moments]
            self.put(store, customer, other, *orders, *messages, *events, make_order(other.id))
            expected = {
                "orders": [o.id for o in sorted(orders, key=lambda o: (o.placed_at, o.id))],
                "communications": [m.id for m in sorted(messages, key=lambda m: (m.created_at, m.id))],
                "activity": [e.id for e in sorted(events, key=lambda e: (e.occurred_at, e.id))],
            }
            with store.unit_of_work() as uow:
                for name, ids in expected.items():
                    repository: Any = getattr(uow, name)

                    def fetch(cursor: str | None, r: Any = repository) -> Page[Any]:
                        return r.for_customer(customer.id, limit=3, cursor=cursor)  # type: ignore[no-any-return]

                    walked = list(walk(fetch))
                    assert [x.id for x in walked] == ids, name
                    assert repository.count(customer_id=customer.id) == len(moments)
                    assert list(repository.for_customer("nobody")) == []
                assert uow.orders.count() == len(moments) + 1

    # -- pagination -------------------------------------------------------------------------------------------

    def test_pages_cover_everything_once_in_id_order(self) -> None:
        with self.opened() as store:
            customers = [make_customer() for _ in range(23)]
            orders = [make_order(customers[0].id) for _ in range(11)]
            self.put(store, *customers, *orders)
            with store.unit_of_work() as uow:
                pages = []
                cursor = None
                while True:
                    page = uow.customers.search(limit=5, cursor=cursor)
                    pages.append(page)
                    if page.next_cursor is None:
                        break
                    cursor = page.next_cursor
                assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
                assert [c.id for p in pages for c in p] == sorted(c.id for c in customers)
                assert len(uow.customers.search(limit=23)) == 23
                assert uow.customers.search(limit=23).next_cursor is None
                walked = list(walk(lambda c: uow.orders.page(limit=4, cursor=c)))
                assert [o.id for o in walked] == sorted(o.id for o in orders)

    def test_bad_limits_and_cursors_are_validation_errors(self) -> None:
        with self.opened() as store:
            customers = [make_customer() for _ in range(3)]
            self.put(store, *customers)
            with store.unit_of_work() as uow:
                for limit in (0, -1, 10_001, "5", 2.0, True):
                    with pytest.raises(ValidationError):
                        uow.customers.search(limit=limit)  # type: ignore[arg-type]
                foreign = uow.orders.page(limit=1).next_cursor or uow.customers.search(limit=1).next_cursor
                for cursor in ("garbage", "", "e30", foreign if uow.orders.count() else "bm90IGEgY3Vyc29y", 42):
                    with pytest.raises(ValidationError):
                        uow.customers.search(cursor=cursor)  # type: ignore[arg-type]
                orders_cursor = uow.customers.search(limit=1).next_cursor
                with pytest.raises(ValidationError):
                    uow.orders.page(cursor=orders_cursor)

    def test_pagination_is_stable_under_inserts_and_deletes(self) -> None:
        with self.opened() as store:
            stem = CustomerId.new()[:-6]
            initial = [make_customer(id=f"{stem}{i:04d}0") for i in range(40)]
            self.put(store, *initial)
            seen: list[str] = []
            deleted: set[str] = set()
            cursor: str | None = None
            step = 0
            while True:
                with store.unit_of_work() as uow:
                    page = uow.customers.search(CustomerQuery(name_prefix="ada"), limit=6, cursor=cursor)
                seen.extend(c.id for c in page)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
                step += 1
                with store.unit_of_work() as uow:
                    for i in (step * 3, 39 - step, step * 5):
                        uow.customers.add(make_customer(id=f"{stem}{i:04d}{step % 9 + 1}"))
                    victim = initial[min(39, step * 6 + 8)].id
                    if victim not in deleted:
                        uow.customers.delete(victim)
                        deleted.add(victim)
                    uow.commit()
            assert len(seen) == len(set(seen)), "a record came twice"
            assert seen == sorted(seen), "pages left id order"
            missing = {c.id for c in initial} - deleted - set(seen)
            assert not missing, f"{len(missing)} records that existed throughout were skipped"

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

    # -- awkward values ----------------------------------------------------------------------------------------

    def test_unicode_and_very_long_values_survive(self) -> None:
        with self.opened() as store:
            name = "\U0001d504\U0001d521\U0001d51e ß Ω 漢字 🙂 \u0301e" * 10
            customer = make_customer(
                given_name=name[:256],
                tags=frozenset({"ταγ", "🙂" * 100}),
                metadata={"κλειδί": "値" * 50_000, "nested": [[{"deep": "🙂"}]] * 100},
            )
            message = make_message(customer.id, body="Grüße 🙂\n" * 100_000, subject="Ü" * 998)
            self.put(store, customer, message)
            with store.unit_of_work() as uow:
                assert uow.customers.get(customer.id) == customer
                assert uow.communications.get(message.id) == message
                assert uow.customers.search(CustomerQuery(name_prefix=name[:40].upper())).items == (customer,)
                assert uow.customers.search(CustomerQuery(tag="🙂" * 100)).items == (customer,)

    def test_hostile_strings_through_every_search_path(self) -> None:
        with self.opened() as store:
            customer = make_customer(tags=frozenset({"x"}))
            self.put(store, customer, make_order(customer.id))
            with store.unit_of_work() as uow:
                for text in HOSTILE:
                    self._probe(uow, text, customer)
                assert uow.customers.count() == 1 and uow.orders.count() == 1
                assert uow.customers.get(customer.id) == customer

            @given(text=st.text(max_size=40))
            @settings(max_examples=40, deadline=None)
            def probe_generated(text: str) -> None:
                with store.unit_of_work() as uow:
                    self._probe(uow, text, customer)

            probe_generated()

    def test_hostile_values_are_stored_and_found_by_exactly_themselves(self) -> None:
        texts = [*LOOKALIKES, *(f"{t} [{i}]" for i, t in enumerate(LOOKALIKES)), *(t[:98] for t in HOSTILE)]
        accepted = list(dict.fromkeys(t for t in texts if storable_text(t)))
        assert "' OR '1'='1" in accepted and "%" in accepted and "ß" in accepted
        with self.opened() as store:
            self._store_and_find(store, accepted)

            @given(texts=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4, unique=True))
            @settings(max_examples=15, deadline=None)
            def generated(texts: list[str]) -> None:
                with store.unit_of_work() as uow:
                    fresh = [t for t in texts if storable_text(t) and not uow.customers.count(CustomerQuery(tag=t))]
                self._store_and_find(store, fresh)

            generated()

    def _store_and_find(self, store: Store, texts: list[str]) -> None:
        """One customer (with an order and a message) per text, the text in every indexed field it can go in,
        all side by side; then every text finds exactly its own records."""
        made = {}
        for text in texts:
            customer = make_customer(tags=frozenset({text}), groups=frozenset({text}), display_name=text)
            order = make_order(customer.id, external_ref=ExternalRef("shop", text))
            message = make_message(customer.id, idempotency_key=text)
            made[text] = (customer, order, message)
        self.put(store, *(entity for records in made.values() for entity in records))
        with store.unit_of_work() as uow:
            for text, (customer, order, message) in made.items():
                assert uow.customers.search(CustomerQuery(tag=text)).items == (customer,), repr(text)
                assert uow.customers.count(CustomerQuery(group=text)) == 1, repr(text)
                assert uow.orders.find_by_external_ref(ExternalRef("shop", text)) == order, repr(text)
                assert uow.communications.find_by_idempotency_key(text) == message, repr(text)
                assert uow.customers.get(customer.id) == customer
                found = walk(lambda c: uow.customers.search(CustomerQuery(name_prefix=text), cursor=c))  # noqa: B023
                assert customer.id in {c.id for c in found}, repr(text)

    @staticmethod
    def _probe(uow: UnitOfWork, text: str, seeded: Customer) -> None:
        """Every search path given ``text`` finds nothing (or ``seeded`` where it truly matches) or refuses it
        with a ValidationError; none lets the database see the text as anything but a value."""
        customers, orders = uow.customers, uow.orders
        names = [name_key(n) for n in ("Ada", "Lovelace", "Ada Lovelace")]
        prefix = name_key(text)
        truly = {
            "name_prefix": bool(prefix) and any(n.startswith(prefix) for n in names),
            "tag": text in seeded.tags,
        }
        calls: list[Callable[[], object]] = [
            lambda: customers.find_by_email(text),
            lambda: customers.find_by_phone(text),
            lambda: customers.find_by_phone(text, region="DE"),
            lambda: customers.get_many([text]),
            lambda: orders.get_many([text, "also-missing"]),
            lambda: uow.communications.find_by_idempotency_key(text),
            lambda: orders.for_customer(text).items,
            lambda: uow.communications.for_customer(text).items,
            lambda: uow.activity.for_customer(text).items,
            lambda: orders.count(customer_id=text),
        ]
        if text.strip():
            for field in ("name_prefix", "tag", "group", "country"):
                query = CustomerQuery(**{field: text})  # type: ignore[arg-type]
                if truly.get(field):
                    assert customers.search(query).items == (seeded,) and customers.count(query) == 1
                else:
                    calls += [partial(_search_items, customers, query), partial(customers.count, query)]
        with trusting():
            ref = ExternalRef(platform=text, id=text)
        calls.append(lambda: orders.find_by_external_ref(ref))
        for call in calls:
            try:
                result = call()
            except ValidationError:
                continue
            except StoreError as exc:
                raise AssertionError(f"a search path raised {type(exc).__name__} on a hostile string") from None
            assert result in ([], {}, (), None, 0), "a hostile string matched a record"
        for repository in (customers, orders):
            with pytest.raises((NotFoundError, ValidationError)):
                repository.get(text)
        cursor_calls: list[Callable[[], object]] = [
            lambda: customers.search(cursor=text),
            lambda: orders.page(cursor=text),
            lambda: uow.communications.page(cursor=text),
            lambda: uow.activity.page(cursor=text),
            lambda: orders.for_customer(seeded.id, cursor=text),
            lambda: uow.communications.for_customer(seeded.id, cursor=text),
        ]
        for call in cursor_calls:
            with pytest.raises(ValidationError):
                call()

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
        check_against_model(self.make_store)


def _search_items(customers: Any, query: CustomerQuery) -> tuple[Any, ...]:
    return customers.search(query).items  # type: ignore[no-any-return]


def repository_for(uow: UnitOfWork, entity: object) -> Any:
    """The repository of ``uow`` that keeps entities like ``entity``."""
    for cls, name in (
        (Customer, "customers"),
        (Order, "orders"),
        (CommunicationEvent, "communications"),
        (ActivityEvent, "activity"),
    ):
        if isinstance(entity, cls):
            return getattr(uow, name)
    raise TypeError(f"no repository keeps {type(entity).__name__}")


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
