"""Commands against real stores (memory, a SQLite file, PostgreSQL): registration never attaches to or
overwrites another customer, updates are partial and optimistic, erased and merged customers take no new data,
consent levels are the server's, orders get the server's ids, times and currency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import attrs
import pytest

from custdata import (
    Channel,
    ConflictError,
    ConsentPurpose,
    ConsentState,
    Customer,
    CustomerId,
    EmailAddress,
    ErrorCode,
    NotFoundError,
    OptInLevel,
    OrderId,
    PhoneNumber,
    ValidationError,
)
from custdata.commands import (
    AddAddress,
    CreateGuest,
    Ids,
    PlaceOrder,
    RegisterCustomer,
    RemoveAddress,
    SetConsent,
    SetDefaultAddress,
    UpdateAddress,
    UpdateProfile,
)
from custdata.privacy import erase_customer
from custdata.storage import Store

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
BERLIN = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "street_address_1": "Hauptstr. 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country_code": "DE",
}
LONDON = {
    "last_name": "Hopper",
    "street_address_1": "10 Downing St",
    "city": "London",
    "postal_code": "SW1A 2AA",
    "country_code": "GB",
}


def clock() -> datetime:
    return NOW


def numbered() -> Ids:
    customers, orders = count(1), count(1)
    return Ids(customer=lambda: CustomerId(f"cus_{next(customers)}"), order=lambda: OrderId(f"ord_{next(orders)}"))


def _all(store: Store) -> dict[str, Customer]:
    with store.unit_of_work() as uow:
        return {str(c.id): c for c in uow.customers.search(limit=500)}


def _get(store: Store, customer_id: str) -> Customer:
    with store.unit_of_work() as uow:
        return uow.customers.get(customer_id)


def _register(store: Store, email: str = "jane@example.com", ids: Ids | None = None, **profile: Any) -> Customer:
    command = RegisterCustomer.from_payload({"email": email, **profile})
    result = command.apply(store, ids=ids or Ids(), clock=clock)
    assert result.customer is not None
    return result.customer


# -- registration ----------------------------------------------------------------------------------------------


def test_registration_takes_its_id_and_times_from_the_server(store: Store) -> None:
    customer = _register(store, ids=numbered(), given_name="Jane", locale="de_at")
    stored = _get(store, "cus_1")
    assert stored == customer
    assert (stored.created_at, stored.updated_at, stored.version) == (NOW, NOW, 0)
    assert not stored.is_guest and stored.email_verified_at is None and stored.locale == "de-AT"
    assert (stored.tags, stored.groups, stored.private_metadata, stored.consents) == (frozenset(), frozenset(), {}, ())


@pytest.mark.parametrize("again", ["jane@example.com", "JANE@Example.com", " jane@EXAMPLE.COM "])
def test_registering_a_held_address_writes_nothing_and_names_the_account(store: Store, again: str) -> None:
    first = _register(store)
    before = _all(store)
    result = RegisterCustomer.from_payload({"email": again, "given_name": "Mallory"}).apply(store, clock=clock)
    assert result.customer is None and result.existing == first.id
    assert _all(store) == before


def test_an_address_held_as_another_email_of_an_account_is_held_too(store: Store) -> None:
    owner = _register(store, "owner@example.com")
    owner.other_emails = (EmailAddress.parse("second@example.com"),)
    with store.unit_of_work() as uow:
        uow.customers.update(owner)
        uow.commit()
    before = _all(store)
    result = RegisterCustomer.from_payload({"email": "second@example.com"}).apply(store, clock=clock)
    assert result.existing == owner.id and _all(store) == before


def test_guests_with_the_address_stay_apart_from_a_new_account(store: Store) -> None:
    guest = CreateGuest.from_payload({"email": "jane@example.com", "given_name": "J"}).apply(store, clock=clock)
    placed = PlaceOrder.from_payload(
        {"currency": "EUR", "lines": [{"sku": "A", "product_name": "Shirt", "quantity": 1, "unit_price": "9.99"}]}
    ).apply(store, guest.id, currency="EUR", clock=clock)
    account = _register(store)
    assert account.id != guest.id and not account.is_guest
    assert _get(store, guest.id) == guest
    with store.unit_of_work() as uow:
        assert uow.orders.get(placed.order.id).customer_id == guest.id
        assert uow.orders.count(customer_id=account.id) == 0


def test_a_guest_checkout_never_touches_the_registered_account(store: Store) -> None:
    account = _register(store)
    guest = CreateGuest.from_payload({"email": "JANE@example.com", "family_name": "X"}).apply(store, clock=clock)
    assert guest.is_guest and guest.id != account.id
    assert _get(store, account.id) == account


def test_an_erased_or_merged_holder_does_not_block_registration(store: Store) -> None:
    first = _register(store)
    erase_customer(store, first.id)
    second = RegisterCustomer.from_payload({"email": "jane@example.com"}).apply(store, clock=clock)
    assert second.customer is not None and second.customer.id != first.id


# -- profile updates -------------------------------------------------------------------------------------------


def test_an_update_changes_what_it_names_clears_nulls_and_merges_objects(store: Store) -> None:
    customer = _register(
        store,
        given_name="Jane",
        family_name="Doe",
        display_name="JD",
        metadata={"a": {"b": 1, "c": 2}, "d": 3},
        preferences={"delivery": {"window": "am", "instructions": "ring"}},
    )
    later = NOW + timedelta(hours=1)
    updated = UpdateProfile.from_payload(
        {
            "expected_version": customer.version,
            "given_name": "Janet",
            "display_name": None,
            "metadata": {"a": {"b": None, "e": 4}},
            "preferences": {"delivery": {"instructions": None, "eco_packaging": True}},
        }
    ).apply(store, customer.id, clock=lambda: later)
    assert (updated.given_name, updated.family_name, updated.display_name) == ("Janet", "Doe", None)
    assert updated.metadata == {"a": {"c": 2, "e": 4}, "d": 3}
    delivery = updated.preferences.delivery
    assert (delivery.window, delivery.instructions, delivery.eco_packaging) == ("am", None, True)
    assert updated.version == customer.version + 1 and updated.updated_at == later
    assert _get(store, customer.id) == updated


def test_a_stale_version_is_a_conflict_and_writes_nothing(store: Store) -> None:
    customer = _register(store)
    UpdateProfile.from_payload({"expected_version": 0, "given_name": "A"}).apply(store, customer.id, clock=clock)
    before = _get(store, customer.id)
    with pytest.raises(ConflictError) as caught:
        UpdateProfile.from_payload({"expected_version": 0, "given_name": "B"}).apply(store, customer.id, clock=clock)
    assert caught.value.error_code is ErrorCode.VERSION_CONFLICT
    assert caught.value.to_problem_details()["status"] == 409
    assert _get(store, customer.id) == before


def test_a_new_phone_is_not_verified(store: Store) -> None:
    customer = _register(store, phone="+49301234567")
    customer.phone_verified_at = NOW
    with store.unit_of_work() as uow:
        uow.customers.update(customer)
        uow.commit()
    same = UpdateProfile.from_payload({"expected_version": 1, "phone": "+49 30 1234567"}).apply(store, customer.id)
    assert same.phone_verified_at == NOW
    other = UpdateProfile.from_payload({"expected_version": 2, "phone": "+14155552671"}).apply(store, customer.id)
    assert other.phone == PhoneNumber.parse("+14155552671") and other.phone_verified_at is None


def test_erased_and_merged_customers_take_no_new_data(store: Store) -> None:
    erased = _register(store, "erased@example.com")
    erase_customer(store, erased.id)
    survivor = _register(store, "survivor@example.com")
    merged = CreateGuest.from_payload({"email": "merged@example.com"}).apply(store, clock=clock)
    merged.merged_into = survivor.id
    with store.unit_of_work() as uow:
        uow.customers.update(merged)
        uow.commit()
    for gone in (erased.id, merged.id):
        before = _get(store, gone)
        version = before.version
        commands: list[Any] = [
            UpdateProfile.from_payload({"expected_version": version, "given_name": "Back"}),
            AddAddress.from_payload({"expected_version": version, "address": BERLIN}),
            SetConsent.from_payload(
                {"expected_version": version, "purpose": "marketing", "channel": "email", "subscribed": True}
            ),
        ]
        for command in commands:
            kwargs = {"source": "web"} if isinstance(command, SetConsent) else {}
            with pytest.raises(NotFoundError) as caught:
                command.apply(store, gone, **kwargs)
            assert caught.value.to_problem_details()["status"] == 404
        with pytest.raises(NotFoundError):
            PlaceOrder.from_payload(
                {"currency": "EUR", "lines": [{"sku": "A", "product_name": "B", "quantity": 1, "unit_price": "1"}]}
            ).apply(store, gone, currency="EUR")
        assert _get(store, gone) == before


def test_the_primary_email_cannot_be_changed_by_an_update() -> None:
    with pytest.raises(ValidationError) as caught:
        UpdateProfile.from_payload({"expected_version": 0, "email": "other@example.com"})
    assert [(p.path, p.code) for p in caught.value.problems] == [("email", ErrorCode.FORBIDDEN_FIELD)]


# -- consent ---------------------------------------------------------------------------------------------------


def _consent(store: Store, customer_id: str, subscribed: bool, **options: Any) -> Customer:
    version = _get(store, customer_id).version
    payload = {"expected_version": version, "purpose": "marketing", "channel": "email", "subscribed": subscribed}
    return SetConsent.from_payload(payload).apply(store, customer_id, source="web:preferences", **options)


def test_a_self_service_grant_is_a_single_opt_in_at_most(store: Store) -> None:
    customer = _register(store)
    record = _consent(store, customer.id, True).consent(ConsentPurpose.MARKETING, Channel.EMAIL)
    assert record is not None
    assert (record.state, record.opt_in_level) == (ConsentState.SUBSCRIBED, OptInLevel.SINGLE)


def test_double_opt_in_stays_pending_until_confirmed(store: Store) -> None:
    customer = _register(store)
    record = _consent(store, customer.id, True, double_opt_in=True).consent(ConsentPurpose.MARKETING, Channel.EMAIL)
    assert record is not None and record.state == ConsentState.PENDING


def test_granting_again_keeps_a_confirmed_consent(store: Store) -> None:
    from custdata.privacy import consent

    customer = _register(store)
    consent.request_confirmation(customer, "marketing", "email", at=NOW, source="signup")
    consent.confirm(customer, "marketing", "email", at=NOW, source="link")
    with store.unit_of_work() as uow:
        uow.customers.update(customer)
        uow.commit()
    after = _consent(store, customer.id, True)
    record = after.consent(ConsentPurpose.MARKETING, Channel.EMAIL)
    assert record is not None and record.opt_in_level == OptInLevel.CONFIRMED
    withdrawn = _consent(store, customer.id, False).consent(ConsentPurpose.MARKETING, Channel.EMAIL)
    assert withdrawn is not None and withdrawn.state == ConsentState.UNSUBSCRIBED


@pytest.mark.parametrize("field", ["opt_in_level", "state", "recorded_at", "source"])
def test_a_payload_cannot_name_a_level_a_state_a_time_or_a_source(field: str) -> None:
    payload = {"expected_version": 0, "purpose": "marketing", "channel": "email", "subscribed": True}
    with pytest.raises(ValidationError) as caught:
        SetConsent.from_payload({**payload, field: "confirmed"})
    assert [(p.path, p.code) for p in caught.value.problems] == [(field, ErrorCode.FORBIDDEN_FIELD)]


# -- the address book ------------------------------------------------------------------------------------------


def test_the_address_book_changes_by_index_and_keeps_its_defaults_right(store: Store) -> None:
    customer = _register(store)
    book = AddAddress.from_payload({"expected_version": 0, "address": BERLIN, "default_billing": True}).apply(
        store, customer.id
    )
    book = AddAddress.from_payload({"expected_version": 1, "address": LONDON, "default_shipping": True}).apply(
        store, customer.id
    )
    assert (book.default_billing_address, book.default_shipping_address) == (0, 1)
    book = UpdateAddress.from_payload(
        {
            "expected_version": 2,
            "index": 1,
            "address": {"street_address_2": "Flat 2", "last_name": None, "first_name": "Grace"},
        }
    ).apply(store, customer.id)
    assert (book.addresses[1].street_address_2, book.addresses[1].last_name) == ("Flat 2", "")
    assert book.addresses[1].city == "LONDON"
    book = RemoveAddress.from_payload({"expected_version": 3, "index": 0}).apply(store, customer.id)
    assert len(book.addresses) == 1 and book.addresses[0].country_code == "GB"
    assert (book.default_billing_address, book.default_shipping_address) == (None, 0)
    book = SetDefaultAddress.from_payload({"expected_version": 4, "billing": 0, "shipping": None}).apply(
        store, customer.id
    )
    assert (book.default_billing_address, book.default_shipping_address) == (0, None)
    assert _get(store, customer.id) == book


def test_an_index_beyond_the_book_is_out_of_range_and_writes_nothing(store: Store) -> None:
    customer = _register(store)
    for command in (
        RemoveAddress.from_payload({"expected_version": 0, "index": 0}),
        UpdateAddress.from_payload({"expected_version": 0, "index": 0, "address": {"city": "Bonn"}}),
        SetDefaultAddress.from_payload({"expected_version": 0, "shipping": 3}),
    ):
        with pytest.raises(ValidationError) as caught:
            command.apply(store, customer.id)
        assert {p.code for p in caught.value.problems} == {ErrorCode.OUT_OF_RANGE}
    assert _get(store, customer.id) == customer


def test_an_address_that_breaks_its_countrys_rules_is_refused_with_its_codes() -> None:
    with pytest.raises(ValidationError) as caught:
        AddAddress.from_payload({"expected_version": 0, "address": {**BERLIN, "postal_code": "1"}})
    assert [(p.path, p.code) for p in caught.value.problems] == [("address.postal_code", ErrorCode.POSTAL_CODE_FORMAT)]
    with pytest.raises(ValidationError) as caught:
        AddAddress.from_payload({"expected_version": 0, "address": {**BERLIN, "phone": "+1", "postal_code": "1"}})
    assert {(p.path, p.code) for p in caught.value.problems} == {
        ("address.phone", ErrorCode.INVALID_PHONE),
        ("address.postal_code", ErrorCode.POSTAL_CODE_FORMAT),
    }
    with pytest.raises(ValidationError) as caught:  # a field that cannot be read is not reported twice
        AddAddress.from_payload({"expected_version": 0, "address": {**BERLIN, "city": 5}})
    assert [(p.path, p.code) for p in caught.value.problems] == [("address.city", ErrorCode.INVALID_TYPE)]
    with pytest.raises(ValidationError) as caught:
        AddAddress.from_payload({"expected_version": 0, "address": {**BERLIN, "country_code": "QQ", "zip": "1"}})
    assert {(p.path, p.code) for p in caught.value.problems} == {
        ("address.zip", ErrorCode.UNKNOWN_FIELD),
        ("address.country_code", ErrorCode.COUNTRY_CODE),
    }


# -- orders ----------------------------------------------------------------------------------------------------

ORDER = {
    "currency": "EUR",
    "lines": [
        {"sku": "TEE-1", "product_name": "Shirt", "quantity": 2, "unit_price": "19.99"},
        {"sku": "CAP-1", "product_name": "Cap", "quantity": 1, "unit_price": "5.00"},
    ],
}


def test_an_order_gets_the_servers_ids_times_and_totals(store: Store) -> None:
    customer = _register(store)
    book = AddAddress.from_payload({"expected_version": 0, "address": BERLIN, "default_shipping": True}).apply(
        store, customer.id
    )
    seen: list[Any] = []
    placed = PlaceOrder.from_payload(ORDER).apply(
        store,
        customer.id,
        currency="eur",
        shipping=Decimal("4.90"),
        ids=numbered(),
        clock=clock,
        then=lambda uow, events: seen.append(events),
    )
    order = placed.order
    assert (order.id, order.customer_id, order.placed_at, order.status.value) == ("ord_1", customer.id, NOW, "placed")
    assert [line.id for line in order.lines] == ["1", "2"]
    assert str(order.total.amount) == "49.88" and order.shipping_address == book.addresses[0]
    assert seen == [placed.events] and placed.events
    with store.unit_of_work() as uow:
        assert uow.orders.get("ord_1") == order


def test_an_order_in_another_currency_or_at_another_price_is_refused(store: Store) -> None:
    customer = _register(store)
    command = PlaceOrder.from_payload(ORDER)
    with pytest.raises(ValidationError) as caught:
        command.apply(store, customer.id, currency="USD")
    assert [(p.path, p.code) for p in caught.value.problems] == [("currency", ErrorCode.CURRENCY_MISMATCH)]
    prices = {"TEE-1": Decimal("19.99")}
    with pytest.raises(ValidationError) as caught:
        command.apply(store, customer.id, currency="EUR", prices=prices.get)
    assert [(p.path, p.code) for p in caught.value.problems] == [("lines[1].sku", ErrorCode.NOT_FOUND)]
    with store.unit_of_work() as uow:
        assert uow.orders.count() == 0


def test_a_failure_after_placing_stores_nothing(store: Store) -> None:
    customer = _register(store)

    def fail(uow: Any, events: Any) -> None:
        raise RuntimeError("the workflow failed")

    with pytest.raises(RuntimeError):
        PlaceOrder.from_payload(ORDER).apply(store, customer.id, currency="EUR", then=fail)
    with store.unit_of_work() as uow:
        assert uow.orders.count() == 0


@pytest.mark.parametrize(
    "field", ["id", "customer_id", "status", "placed_at", "total", "subtotal", "shipping", "tax", "version"]
)
def test_an_order_payload_cannot_set_what_the_server_sets(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PlaceOrder.from_payload({**ORDER, field: "x"})
    assert [(p.path, p.code) for p in caught.value.problems] == [(field, ErrorCode.FORBIDDEN_FIELD)]


def test_amounts_the_currency_cannot_hold_are_refused() -> None:
    line = {"sku": "A", "product_name": "B", "quantity": 1, "unit_price": "1.005"}
    with pytest.raises(ValidationError) as caught:
        PlaceOrder.from_payload({"currency": "EUR", "lines": [line, {**line, "unit_price": 1.5}]})
    assert [(p.path, p.code) for p in caught.value.problems] == [("lines[1].unit_price", ErrorCode.INVALID_TYPE)]
    with pytest.raises(ValidationError) as caught:
        PlaceOrder.from_payload({"currency": "EUR", "lines": [line]})
    assert [(p.path, p.code) for p in caught.value.problems] == [("lines[0].unit_price", ErrorCode.OUT_OF_RANGE)]
    with pytest.raises(ValidationError) as caught:
        PlaceOrder.from_payload({"currency": "EUX", "lines": [line]})
    assert [(p.path, p.code) for p in caught.value.problems] == [("currency", ErrorCode.CURRENCY_CODE)]


def test_commands_do_not_show_personal_data_in_repr() -> None:
    command = RegisterCustomer.from_payload({"email": "jane.secret@example.com", "given_name": "Janesecret"})
    update = UpdateProfile.from_payload({"expected_version": 0, "family_name": "Doesecret"})
    assert "secret" not in repr(command) and "secret" not in repr(update)
    assert attrs.has(type(command))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_registrations_of_one_address_at_once_make_one_account(kind: str, tmp_path: Any) -> None:
    import threading

    from custdata import open_store

    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'race.db'}"
    with open_store(url) as shared:
        barrier = threading.Barrier(4)
        results: list[Any] = []

        def register() -> None:
            command = RegisterCustomer.from_payload({"email": "race@example.com"})
            barrier.wait()
            results.append(command.apply(shared))

        threads = [threading.Thread(target=register) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        created = [r.customer for r in results if r.customer is not None]
        assert len(results) == 4 and len(created) == 1
        assert {r.existing for r in results if r.customer is None} == {created[0].id}
        assert list(_all(shared)) == [created[0].id]


def test_registrations_of_one_address_that_overlap_make_one_account(store: Store, monkeypatch: Any) -> None:
    """Two registrations of one address whose look-ups run at the same moment (each waits up to a second for the
    other's) make one account on every store, PostgreSQL's many writers included."""
    import threading

    with store.unit_of_work() as uow:
        repository = type(uow.customers)
    meet = threading.Barrier(2)
    find = repository.find_by_email

    def find_together(self: Any, email: Any) -> Any:
        try:
            meet.wait(timeout=1.0)  # a store that holds the address lets only one registration get this far
        except threading.BrokenBarrierError:
            pass
        return find(self, email)

    monkeypatch.setattr(repository, "find_by_email", find_together)
    results: list[Any] = []

    def register() -> None:
        results.append(RegisterCustomer.from_payload({"email": "Overlap@example.com"}).apply(store))

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    created = [r.customer for r in results if r.customer is not None]
    assert len(results) == 2 and len(created) == 1
    assert [r.existing for r in results if r.customer is None] == [created[0].id]
    assert list(_all(store)) == [created[0].id]
