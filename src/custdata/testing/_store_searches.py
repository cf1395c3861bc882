"""The base of :class:`custdata.testing.StoreContract`: its hooks and helpers, and the checks of look-ups,
searches, pagination and awkward values (the rest are in :mod:`custdata.testing.store_contract`)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata._errors import (
    IntegrityError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from custdata.domain import (
    Address,
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    PhoneNumber,
)
from custdata.domain.checks import trusting
from custdata.storage.ports import CustomerQuery, KeepsSuppressions, Page, Store, UnitOfWork, find_by_emails, walk
from custdata.storage.records import name_key
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

T = TypeVar("T")


class StoreContractBase:
    """Hooks, helpers and the read-side checks of the store contract; subclass :class:`StoreContract`."""

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

    # -- look-ups and searches ---------------------------------------------------------------------------------

    def test_find_by_email_uses_the_canonical_form(self) -> None:
        """find_by_email() matches the canonical form (case-folded, trimmed) of the primary and other emails, and
        follows updates.
        """
        with self.opened() as store:
            jane = make_customer(
                email=EmailAddress("Jane.Doe@Example.COM"), other_emails=(EmailAddress("JD@shop.example.org"),)
            )
            other = make_customer()
            self.put(store, jane, other)
            with store.unit_of_work() as uow:
                for probe in ("jane.doe@example.com", " JANE.DOE@example.com", EmailAddress("jane.doe@EXAMPLE.com")):
                    found = uow.customers.find_by_email(probe)
                    assert found == [jane], f"the email {probe!r} must find its customer whatever its case or spaces"
                found = uow.customers.find_by_email("jd@shop.example.org")
                assert found == [jane], "other emails must be found too, in their canonical form"
                assert uow.customers.find_by_email("nobody@example.com") == [], "an unknown email found a customer"
                with pytest.raises(ValidationError):
                    uow.customers.find_by_email("not an email")
                jane.email = EmailAddress("jane@new.example.com")
                jane.other_emails = ()
                uow.customers.update(jane)
                uow.commit()
            with store.unit_of_work() as uow:
                found = uow.customers.find_by_email("jane.doe@example.com")
                assert found == [], "an email the customer no longer has still finds it"
                found = uow.customers.find_by_email("JANE@new.example.com")
                assert found == [jane], "the customer's new email does not find it"

    def test_find_by_email_returns_every_customer_sharing_it_in_id_order(self) -> None:
        """find_by_email() returns every customer sharing an email, in id order."""
        with self.opened() as store:
            guests = [make_customer(email=EmailAddress("shared@example.com"), is_guest=True) for _ in range(3)]
            self.put(store, *guests)
            with store.unit_of_work() as uow:
                found = [c.id for c in uow.customers.find_by_email("Shared@example.com")]
                assert found == sorted(g.id for g in guests), "every customer sharing the email, in id order"

    def test_find_by_emails_finds_what_find_by_email_finds_for_each(self) -> None:
        """find_by_emails() (:func:`custdata.storage.find_by_emails`) gives, for each address by its canonical form,
        what find_by_email() finds for it: customers sharing addresses, other emails, updates and deletes in the
        unit of work, addresses given twice or in any case; a string that is no address is a ValidationError."""
        mailboxes = [f"box{i}@example.com" for i in range(5)]
        address = st.sampled_from(mailboxes).map(EmailAddress)
        with self.opened() as store:
            known: list[Customer] = []

            @given(
                st.lists(
                    st.tuples(st.none() | address, st.lists(address, max_size=2, unique_by=str), st.booleans()),
                    max_size=4,
                ),
                st.lists(st.sampled_from(mailboxes).map(lambda m: m.upper() if m < "box2" else f" {m}"), max_size=6),
                st.integers(0, 3),
            )
            @settings(max_examples=15, deadline=None)
            def same_as_one_by_one(people: list[Any], probes: list[str], change: int) -> None:
                with store.unit_of_work() as uow:
                    for primary, others, guest in people:
                        others = [e for e in others if primary is None or e.canonical != primary.canonical]
                        customer = make_customer(email=primary, other_emails=tuple(others), is_guest=guest)
                        uow.customers.add(customer)
                        known.append(customer)
                    if known and change:  # the unit of work's own writes are seen: an update, or a delete
                        victim = known[change % len(known)]
                        if change == 1:
                            uow.customers.delete(victim.id)
                            known.remove(victim)
                        else:
                            current = uow.customers.get(victim.id)
                            current.email, current.other_emails = EmailAddress(mailboxes[change]), ()
                            uow.customers.update(current)
                    found = find_by_emails(uow.customers, probes)
                    expected = {EmailAddress(p).canonical: uow.customers.find_by_email(p) for p in probes}
                    assert found == expected, "find_by_emails() must find for each address what find_by_email() finds"
                    uow.commit()

            same_as_one_by_one()
            with store.unit_of_work() as uow:
                assert find_by_emails(uow.customers, []) == {}, "no address, no customers"
                with pytest.raises(ValidationError) as raised:
                    find_by_emails(uow.customers, ["box0@example.com", "not an email"])
                assert raised.value.problems[0].path == "emails[1]", "the problem must name the address at fault"
                with pytest.raises(ValidationError):
                    find_by_emails(uow.customers, "box0@example.com")

    def test_a_suppression_list_keeps_digests_once_and_only_when_committed(self) -> None:
        """On a store whose customer repository keeps a suppression list (:class:`custdata.storage.KeepsSuppressions`):
        digests added are found in the same unit of work, kept by a commit, gone after a rollback, and counted once;
        anything but 64 lower-case hex digits is a ValidationError naming it. Skipped for a store without one."""
        first, second, third = (hashlib.sha256(text).hexdigest() for text in (b"1", b"2", b"3"))
        with self.opened() as store:
            with store.unit_of_work() as uow:
                assert _kept(uow).suppress([first, second, first]) == 2, "two new digests, one given twice"
                assert _kept(uow).suppressed([first, third]) == {first}, "the unit of work sees its own additions"
                uow.commit()
            with store.unit_of_work() as uow:
                assert _kept(uow).suppress([second, third]) == 1, "a digest on the list is not new"
                assert _kept(uow).suppressed([first, second, third]) == {first, second, third}
                uow.rollback()
                assert _kept(uow).suppressed([first, second, third]) == {first, second}, "rolled back"
                assert _kept(uow).unsuppress([first, third]) == 1, "only digests on the list are taken off"
                assert _kept(uow).suppressed([first, second]) == {second}, "taken off in this unit of work"
                assert _kept(uow).suppress([first]) == 1, "a digest taken off can go on again"
                assert _kept(uow).unsuppress([second]) == 1
                uow.commit()
            with store.unit_of_work() as uow:
                assert _kept(uow).suppressed([first, second, third]) == {first}, "the changes kept by the commit"
                for bad in (first.upper(), first[:-1], "g" * 64, 7):
                    with pytest.raises(ValidationError) as raised:
                        _kept(uow).suppressed([first, bad])  # type: ignore[list-item]
                    assert raised.value.problems[0].path == "digests[1]", "the problem must name the digest at fault"
                with pytest.raises(ValidationError):
                    _kept(uow).suppress(first)
                assert _kept(uow).suppressed([]) == set()

    def test_find_by_phone_uses_e164(self) -> None:
        """find_by_phone() matches the E.164 form of the primary and other phones, however the number is written."""
        with self.opened() as store:
            berlin = PhoneNumber.parse("030 1234567", "DE")
            mobile = PhoneNumber.parse("+44 7400 123456")
            customer = make_customer(phone=berlin, other_phones=(mobile,))
            self.put(store, customer, make_customer())
            with store.unit_of_work() as uow:
                assert uow.customers.find_by_phone("+49 30 1234567") == [customer], "the international form"
                assert uow.customers.find_by_phone("030 1234567", region="DE") == [customer], "the national form"
                assert uow.customers.find_by_phone(mobile) == [customer], "other phones must be found too"
                assert uow.customers.find_by_phone("+49 30 7654321") == [], "an unknown phone found a customer"
                with pytest.raises(ValidationError):
                    uow.customers.find_by_phone("call me maybe")

    def test_find_by_external_ref_and_idempotency_key(self) -> None:
        """Orders are found by external reference and messages by idempotency key; both are unique (IntegrityError)."""
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
        """A name prefix search ignores case, matches the start of any name, and takes % and _ as plain characters."""
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
        """search() and count() filter by exact tag, group and country, and by half-open ranges of creation and update
        times.
        """
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

    def test_search_by_merged_into_finds_the_records_merged_into_a_customer(self) -> None:
        """A merged_into search finds exactly the records merged directly into a customer, and follows updates."""
        with self.opened() as store:
            survivor, other = make_customer(), make_customer()
            merged = [make_customer(merged_into=survivor.id) for _ in range(3)]
            deeper = make_customer(merged_into=merged[0].id)
            elsewhere = make_customer(merged_into=other.id)
            self.put(store, survivor, other, *merged, deeper, elsewhere)
            with store.unit_of_work() as uow:
                query = CustomerQuery(merged_into=str(survivor.id))
                found = [c.id for c in walk(lambda c: uow.customers.search(query, limit=2, cursor=c))]
                assert found == sorted((c.id for c in merged), key=str)
                assert uow.customers.count(query) == 3
                assert {c.id for c in uow.customers.search(CustomerQuery(merged_into=str(merged[0].id)))} == {deeper.id}
                assert uow.customers.count(CustomerQuery(merged_into=str(deeper.id))) == 0
                # the link follows updates: a record split off again is no longer found, a new link is
                back = uow.customers.get(merged[1].id)
                back.merged_into = None
                uow.customers.update(back)
                moved = uow.customers.get(elsewhere.id)
                moved.merged_into = survivor.id
                uow.customers.update(moved)
                assert {c.id for c in uow.customers.search(query)} == {merged[0].id, merged[2].id, elsewhere.id}
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.customers.count(CustomerQuery(merged_into=str(survivor.id))) == 3
                assert uow.customers.count(CustomerQuery(merged_into=str(other.id))) == 0
            with pytest.raises(ValidationError) as caught:
                CustomerQuery(merged_into="  ")
            assert caught.value.problems[0].path == "merged_into"

    def test_activity_mentioning_a_value_finds_events_of_that_name_on_any_timeline(self) -> None:
        """activity.mentioning() finds the events of one name that hold a string value anywhere in their properties, on
        any timeline.
        """
        with self.opened() as store:
            a, b = make_customer(), make_customer()
            self.put(store, a, b)
            named = [
                make_activity(a.id, event="Linked", properties={"ids": [str(b.id)], "n": 1}),
                make_activity(b.id, event="Linked", properties={"deep": {"to": {str(b.id): [str(b.id)]}}}),
                make_activity(a.id, event="Linked", properties={"odd": 'quo"te %_\\ ü ' + str(b.id)}),
            ]
            other = [
                make_activity(a.id, event="Linked", properties={"ids": [str(b.id) + "x"]}),
                make_activity(a.id, event="Other", properties={"ids": [str(b.id)]}),
                make_activity(b.id, event="Linked", properties={}),
            ]
            self.put(store, *named, *other)
            with store.unit_of_work() as uow:
                found = uow.activity.mentioning("Linked", str(b.id))
                assert [e.id for e in found] == sorted((e.id for e in named[:2]), key=str)
                assert [e.id for e in uow.activity.mentioning("Linked", named[2].properties["odd"])] == [named[2].id]
                assert [e.id for e in uow.activity.mentioning("Linked", "%")] == []
                assert uow.activity.mentioning("Linked", "\x00") == []
                for bad in ("", None):
                    with pytest.raises(ValidationError):
                        uow.activity.mentioning("Linked", bad)  # type: ignore[arg-type]

    def test_customer_histories_come_in_time_order_across_pages(self) -> None:
        """A customer's orders, messages and activity are listed in time order (then id order), across pages."""
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
        """Pages cover every record once, in id order, and the last page has no next cursor."""
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
                assert [len(p) for p in pages] == [5, 5, 5, 5, 3], "every page but the last must be full"
                covered = [c.id for p in pages for c in p]
                assert covered == sorted(c.id for c in customers), "pages must cover every record once, in id order"
                assert len(uow.customers.search(limit=23)) == 23
                assert uow.customers.search(limit=23).next_cursor is None, "the last page must have no next cursor"
                walked = list(walk(lambda c: uow.orders.page(limit=4, cursor=c)))
                assert [o.id for o in walked] == sorted(o.id for o in orders), "pages of orders, in id order"

    def test_bad_limits_and_cursors_are_validation_errors(self) -> None:
        """Bad limits, forged cursors and cursors of another listing raise ValidationError."""
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
        """A walk through the pages, with inserts and deletes between pages, never repeats a record nor skips one that
        stayed.
        """
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

    # -- awkward values ----------------------------------------------------------------------------------------

    def test_unicode_and_very_long_values_survive(self) -> None:
        """Unicode of every plane and very long values are stored, and found, unchanged."""
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
                assert uow.customers.get(customer.id) == customer, "a customer with long Unicode values changed"
                assert uow.communications.get(message.id) == message, "a message with a long Unicode body changed"
                found = uow.customers.search(CustomerQuery(name_prefix=name[:40].upper())).items
                assert found == (customer,), "a long Unicode name is not found by its prefix"
                found = uow.customers.search(CustomerQuery(tag="🙂" * 100)).items
                assert found == (customer,), "a long Unicode tag is not found"

    def test_hostile_strings_through_every_search_path(self) -> None:
        """Hostile strings (quotes, SQL, wildcards, NUL, surrogates, huge ones) as search arguments match nothing or
        raise ValidationError.
        """
        with self.opened() as store:
            customer = make_customer(tags=frozenset({"x"}))
            self.put(store, customer, make_order(customer.id))
            with store.unit_of_work() as uow:
                for text in HOSTILE:
                    self._probe(uow, text, customer)
                assert (uow.customers.count(), uow.orders.count()) == (1, 1), "a hostile search changed the data"
                assert uow.customers.get(customer.id) == customer, "a hostile search changed the customer"

            @given(text=st.text(max_size=40))
            @settings(max_examples=40, deadline=None)
            def probe_generated(text: str) -> None:
                with store.unit_of_work() as uow:
                    self._probe(uow, text, customer)

            probe_generated()

    def test_hostile_values_are_stored_and_found_by_exactly_themselves(self) -> None:
        """Look-alike values (quotes, wildcards, case and collation twins) stored side by side are each found by exactly
        themselves.
        """
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


def _search_items(customers: Any, query: CustomerQuery) -> tuple[Any, ...]:
    return customers.search(query).items  # type: ignore[no-any-return]


def _kept(uow: UnitOfWork) -> KeepsSuppressions:
    """The unit of work's customer repository if it keeps a suppression list; the test is skipped otherwise."""
    customers = uow.customers
    if not isinstance(customers, KeepsSuppressions):
        pytest.skip("this store keeps no suppression list")
    return customers
