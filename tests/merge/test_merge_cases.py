"""Merging customers on a memory store and on real SQLite files: rules, preview, provenance, moves, undo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    ConflictError,
    Customer,
    EmailAddress,
    IntegrityError,
    Money,
    NotFoundError,
    OperationalError,
    Order,
    OrderLine,
    PhoneNumber,
    Topic,
    ValidationError,
)
from custdata.merge import (
    MERGE_EVENT,
    MergeRecord,
    MergeRules,
    Rule,
    UndoRefusedError,
    merge,
    merges_of,
    preview,
    resolve,
    undo,
)
from custdata.storage import Store, open_store

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop.db"
    with open_store(url) as opened:
        yield opened


def _address(street: str) -> Address:
    return Address(
        first_name="Ana",
        last_name="Ruiz",
        street_address_1=street,
        city="Berlin",
        postal_code="10115",
        country_code="DE",
    )


def _seed(store: Store) -> None:
    old = Customer(
        id="cus_old",
        created_at=T0,
        updated_at=T0 + timedelta(days=1),
        given_name="Ana",
        family_name="Ruiz Garcia",
        email=EmailAddress("ana@example.com"),
        email_verified_at=T0 + timedelta(hours=1),
        phone=PhoneNumber.parse("+49 30 1234567"),
        addresses=(_address("Hauptstr. 1"),),
        default_shipping_address=0,
        tags=frozenset({"vip"}),
        metadata={"source": "shop", "tier": 1},
    )
    new = Customer(
        id="cus_new",
        created_at=T0 + timedelta(days=10),
        updated_at=T0 + timedelta(days=20),
        given_name="Anabel",
        family_name="Ruiz",
        email=EmailAddress("ANA.RUIZ@example.org"),
        other_emails=(EmailAddress("ana@Example.com"),),
        phone=PhoneNumber.parse("+49 170 1234567"),
        addresses=(_address("Hauptstr. 1"), _address("Ringstr. 9")),
        default_billing_address=1,
        is_guest=True,
        tags=frozenset({"newsletter"}),
        metadata={"tier": 2},
        locale="de",
    )
    line = OrderLine("l1", "SKU-1", "Mug", 1, Money(Decimal("9.50"), "EUR"))
    with store.unit_of_work() as uow:
        uow.customers.add_many([old, new])
        for i, owner in enumerate(("cus_old", "cus_new", "cus_new")):
            uow.orders.add(Order(f"ord_{i}", owner, "EUR", (line,), T0 + timedelta(days=i)))
        uow.communications.add(
            CommunicationEvent("msg_1", "cus_new", Channel.EMAIL, Topic.ORDER_CONFIRMATION, T0 + timedelta(days=2))
        )
        uow.activity.add(ActivityEvent("act_1", "Product Viewed", T0 + timedelta(days=3), customer_id="cus_new"))
        uow.commit()


def _merge(store: Store, rules: MergeRules | None = None) -> MergeRecord:
    with store.unit_of_work() as uow:
        record = merge(uow, preview(uow, "cus_old", ["cus_new"], rules=rules), at=T0 + timedelta(days=30))
        uow.commit()
    return record


def test_preview_writes_nothing_and_explains_every_field(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        plan = preview(uow, "cus_old", ["cus_new"], at=T0 + timedelta(days=30))
        assert (plan.orders, plan.communications, plan.activity) == (2, 1, 1)
        assert plan.result.given_name == "Anabel" and plan.field("given_name").sources == ("cus_new",)
        assert plan.result.family_name == "Ruiz Garcia" and plan.field("family_name").rule == "most_complete"
        # the verified address wins the primary slot though the other customer is more recent
        assert plan.result.email == EmailAddress("ana@example.com")
        assert plan.result.email_verified_at == T0 + timedelta(hours=1)
        assert [str(e) for e in plan.result.other_emails] == ["ANA.RUIZ@example.org"]
        assert plan.field("other_emails").sources == ("cus_new",)
        # the guest's phone is more recent but unverified: the registered account keeps its own primary
        assert plan.result.phone == PhoneNumber.parse("+49 30 1234567")
        assert plan.field("phone").rule == "registered_account" and plan.field("phone").sources == ("cus_old",)
        assert plan.result.other_phones == (PhoneNumber.parse("+49 170 1234567"),)
        assert len(plan.result.addresses) == 2 and plan.field("addresses").sources == ("cus_old", "cus_new")
        assert plan.result.shipping_address == _address("Hauptstr. 1")
        assert plan.result.billing_address == _address("Ringstr. 9")
        assert plan.result.tags == {"vip", "newsletter"} and plan.result.is_guest is False
        assert plan.result.metadata == {"source": "shop", "tier": 2}
        assert plan.result.created_at == T0 and plan.result.locale == "de"
        assert "given_name" in plan.changed_fields and "created_at" not in plan.changed_fields
        assert "Ana" not in repr(plan) and "example" not in repr(plan)
    with store.unit_of_work() as uow:
        assert uow.customers.get("cus_new").merged_into is None
        assert uow.orders.count(customer_id="cus_old") == 1


def test_rules_and_overrides_change_the_outcome(store: Store) -> None:
    _seed(store)
    rules = MergeRules(
        fields={"given_name": Rule.SURVIVOR, "email": Rule.MOST_RECENT, "metadata": Rule.SURVIVOR},
        overrides={"family_name": "Ruiz-Garcia", "phone": "+49 30 1234567"},
    )
    with store.unit_of_work() as uow:
        plan = preview(uow, "cus_old", ["cus_new"], rules=rules)
    assert plan.result.given_name == "Ana" and plan.field("given_name").rule == "survivor"
    assert plan.result.family_name == "Ruiz-Garcia" and plan.field("family_name").rule == "override"
    # most_recent would take the guest's unverified address: the registered account keeps its own
    assert plan.result.email == EmailAddress("ana@example.com") and plan.field("email").rule == "registered_account"
    assert plan.result.email_verified_at == T0 + timedelta(hours=1)
    assert plan.result.phone == PhoneNumber.parse("+49 30 1234567") and plan.field("phone").sources == ("cus_old",)
    assert plan.result.metadata == {"source": "shop", "tier": 1}


def test_bad_rules_and_overrides_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        MergeRules(fields={"email": Rule.MOST_COMPLETE, "shoe_size": Rule.SURVIVOR}, overrides={"tags": ["x"]})
    assert {p.path for p in caught.value.problems} == {"fields.email", "fields.shoe_size", "overrides.tags"}
    with pytest.raises(ValidationError, match="fields"):
        MergeRules(fields=["given_name"])  # type: ignore[arg-type]


def test_an_override_never_invents_a_contact_point(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError) as caught:
            preview(uow, "cus_old", ["cus_new"], rules=MergeRules(overrides={"email": "someone@else.com"}))
        assert caught.value.problems[0].path == "overrides.email"
        assert "someone" not in str(caught.value)
        with pytest.raises(ValidationError, match=r"overrides\.birthday"):
            preview(uow, "cus_old", ["cus_new"], rules=MergeRules(overrides={"birthday": "yesterday"}))


def test_merge_moves_everything_and_the_merged_id_resolves(store: Store) -> None:
    _seed(store)
    record = _merge(store)
    assert "Ana" not in repr(record) and record.moved_from("cus_new") == {
        "orders": 2,
        "communications": 1,
        "activity": 1,
    }
    with store.unit_of_work() as uow:
        assert uow.orders.count(customer_id="cus_old") == 3 and uow.orders.count(customer_id="cus_new") == 0
        assert uow.communications.count(customer_id="cus_old") == 1
        assert uow.activity.get("act_1").customer_id == "cus_old"
        tombstone = uow.customers.get("cus_new")
        assert tombstone.merged_into == "cus_old" and tombstone.email is None and not tombstone.addresses
        assert resolve(uow, "cus_new").id == "cus_old"
        assert [c.id for c in uow.customers.find_by_email("ana.ruiz@example.org")] == ["cus_old"]
        [kept] = merges_of(uow, "cus_old")
        assert kept == record
        assert uow.activity.get(record.id).event == MERGE_EVENT


def test_merge_refuses_a_stale_plan_and_writes_nothing(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        plan = preview(uow, "cus_old", ["cus_new"])
    with store.unit_of_work() as uow:
        customer = uow.customers.get("cus_new")
        customer.tags = frozenset({"changed"})
        uow.customers.update(customer)
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(ConflictError, match="cus_new"):
            merge(uow, plan)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.orders.count(customer_id="cus_new") == 2 and uow.customers.get("cus_new").merged_into is None


def test_preview_refuses_bad_requests(store: Store) -> None:
    _seed(store)
    _merge(store)
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError) as caught:
            preview(uow, "cus_old", ["cus_old", "cus_new", "cus_new"])
        assert [p.path for p in caught.value.problems] == ["merged_ids[0]", "merged_ids[2]"]
        with pytest.raises(ValidationError, match=r"merged_ids\[0\]: was merged"):
            preview(uow, "cus_old", ["cus_new"])
        with pytest.raises(ValidationError, match="merged_ids"):
            preview(uow, "cus_old", [])
        with pytest.raises(NotFoundError):
            preview(uow, "cus_old", ["cus_nobody"])


def test_undo_restores_both_customers_and_moves_records_back(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        before = {c: uow.customers.get(c) for c in ("cus_old", "cus_new")}
    record = _merge(store)
    with store.unit_of_work() as uow:
        done = undo(uow, record.id, at=T0 + timedelta(days=31))
        uow.commit()
    assert done.undone_at == T0 + timedelta(days=31)
    with store.unit_of_work() as uow:
        for customer_id, original in before.items():
            restored = uow.customers.get(customer_id)
            assert restored == _with_version(original, restored.version)
        assert uow.orders.count(customer_id="cus_new") == 2 and uow.orders.count(customer_id="cus_old") == 1
        assert uow.activity.get("act_1").customer_id == "cus_new"
        assert merges_of(uow, "cus_old")[0].undone_at is not None
        with pytest.raises(UndoRefusedError, match="undone already"):
            undo(uow, record)


def test_an_undone_merge_record_keeps_ids_but_no_snapshot_of_either_customer(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        before = {c: uow.customers.get(c) for c in ("cus_old", "cus_new")}
    record = _merge(store)
    with store.unit_of_work() as uow:
        undo(uow, record.id, at=T0 + timedelta(days=31))
        uow.commit()
    with store.unit_of_work() as uow:
        (done,) = merges_of(uow, "cus_old")
        event = uow.activity.get(record.id)
    assert (done.survivor_id, done.merged_ids, done.orders) == (record.survivor_id, record.merged_ids, record.orders)
    for kept, original in zip(done.before, record.before, strict=True):
        assert kept == Customer(id=original.id, created_at=original.created_at, is_guest=original.is_guest)
    text = repr(event.properties)
    for customer in before.values():
        for value in (customer.given_name, customer.family_name, customer.email, customer.phone):
            if value is not None:
                assert str(value) not in text


def test_undo_is_refused_once_a_customer_of_the_merge_was_erased(store: Store) -> None:
    from custdata.privacy.erasure import erase_customer

    _seed(store)
    record = _merge(store)
    erase_customer(store, "cus_new", purge=False, keep_activity_properties={"before", "versions", "provenance"})
    with store.unit_of_work() as uow:
        with pytest.raises(UndoRefusedError, match="erased"):
            undo(uow, record.id)
        assert uow.customers.get("cus_old").redacted_at is not None


def test_undo_refuses_when_something_changed_since(store: Store) -> None:
    _seed(store)
    record = _merge(store)
    with store.unit_of_work() as uow:
        order = uow.orders.get("ord_1")
        order.metadata = {"note": "changed after the merge"}
        uow.orders.update(order)
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(UndoRefusedError, match="ord_1") as caught:
            undo(uow, record.id)
        assert isinstance(caught.value, ConflictError)
    with store.unit_of_work() as uow:
        assert uow.customers.get("cus_new").merged_into == "cus_old"
        survivor = uow.customers.get("cus_old")
        survivor.given_name = "Ann"
        uow.customers.update(survivor)
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(UndoRefusedError, match="customer 'cus_old' changed"):
        undo(uow, record.id)


def test_undo_refuses_a_merge_whose_record_was_erased(store: Store) -> None:
    _seed(store)
    record = _merge(store)
    with store.unit_of_work() as uow:
        event = uow.activity.get(record.id)
        event.properties = {}
        uow.activity.update(event)
        uow.commit()
    with store.unit_of_work() as uow:
        assert merges_of(uow, "cus_old") == []
        with pytest.raises(UndoRefusedError, match="cannot be read"):
            undo(uow, record.id)
        with pytest.raises(UndoRefusedError, match="cannot be read"):
            undo(uow, "act_1")


def test_merges_of_merges_resolve_to_the_last_survivor(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        uow.customers.add(Customer("cus_third", created_at=T0, given_name="Ana"))
        uow.commit()
    _merge(store)
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_third", ["cus_old"]))
        uow.commit()
    with store.unit_of_work() as uow:
        assert resolve(uow, "cus_new").id == "cus_third"
        assert uow.orders.count(customer_id="cus_third") == 3


def test_resolve_reports_loops(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(Customer("cus_a", created_at=T0, merged_into="cus_b"))
        uow.customers.add(Customer("cus_b", created_at=T0, merged_into="cus_a"))
        uow.commit()
        with pytest.raises(IntegrityError, match="loop"):
            resolve(uow, "cus_a")
        with pytest.raises(NotFoundError):
            resolve(uow, "cus_missing")


def _with_version(customer: Customer, version: int) -> Customer:
    customer.version = version
    return customer


def test_merge_and_undo_are_logged_without_personal_data(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    _seed(store)
    with caplog.at_level("INFO", logger="custdata.merge"):
        record = _merge(store)
        with store.unit_of_work() as uow:
            undo(uow, record.id)
            uow.commit()
    text = caplog.text
    assert "2 orders, 1 communication events, 1 activity events" in text and "undone" in text
    assert "Ana" not in text and "example" not in text and "+49" not in text


class _FailingOrders:
    """The real order repository, except that the second update fails as a full disk would."""

    def __init__(self, real: Any) -> None:
        self._real, self._updates = real, 0

    def update(self, order: Order) -> None:
        self._updates += 1
        if self._updates == 2:
            raise OperationalError("database or disk is full")
        self._real.update(order)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _UnitOfWorkWithFailingOrders:
    def __init__(self, real: Any) -> None:
        self._real = real
        self.orders = _FailingOrders(real.orders)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_merge_that_fails_half_way_leaves_nothing_behind(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        plan = preview(uow, "cus_old", ["cus_new"])
        with pytest.raises(OperationalError):
            merge(_UnitOfWorkWithFailingOrders(uow), plan)
        uow.commit()  # a careless caller: the merge already rolled back, so nothing is written
    with store.unit_of_work() as uow:
        assert uow.customers.get("cus_new").merged_into is None
        assert uow.customers.get("cus_old").version == plan.before[0].version
        assert uow.orders.count(customer_id="cus_new") == 2
        assert uow.activity.count(customer_id="cus_old") == 0
