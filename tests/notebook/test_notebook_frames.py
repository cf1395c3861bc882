"""Repository query results as records and DataFrames, from a SQLite file and the memory store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    PhoneNumber,
    Topic,
    ValidationError,
)
from custdata.analytics import MissingExtraError
from custdata.notebook import to_pandas, to_records
from custdata.storage import Store, open_store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'frames.db'}"
    with open_store(url) as opened:
        with opened.unit_of_work() as uow:
            uow.customers.add(
                Customer(
                    "cus_ann",
                    T0,
                    given_name="Ann",
                    family_name="Roe",
                    email=EmailAddress.parse("ann.roe@example.com"),
                    phone=PhoneNumber.parse("+4930123456"),
                    addresses=(
                        Address(street_address_1="Weg 1", city="Berlin", postal_code="10115", country_code="DE"),
                    ),
                    tags=frozenset({"vip"}),
                )
            )
            uow.customers.add(Customer("cus_bob", T0, is_guest=True))
            line = OrderLine("l1", "TEE", "T-shirt", 3, Money("19.90", "EUR"))
            uow.orders.add_many(
                Order(f"ord_{i}", "cus_ann", "EUR", (line,), T0 + timedelta(days=i), shipping=Money("4.90", "EUR"))
                for i in range(3)
            )
            uow.communications.add(CommunicationEvent("msg_1", "cus_ann", Channel.EMAIL, Topic.DELIVERED, T0))
            uow.activity.add(ActivityEvent("act_1", "Product Viewed", T0, anonymous_id="anon-1"))
            uow.commit()
        yield opened


def test_customers_leave_personal_data_out_unless_masked_or_revealed(store: Store) -> None:
    with store.unit_of_work() as uow:
        page = uow.customers.search()
    ann, bob = to_records(page)
    assert ann["customer_id"] == "cus_ann" and "given_name" not in ann and "email" not in ann
    assert ann["has_email"] is True and ann["tags"] == ["vip"] and ann["created_at"] == T0
    assert bob["has_email"] is False and bob["is_guest"] is True
    masked = to_records(page, personal="mask")[0]
    assert (masked["given_name"], masked["family_name"]) == ("A***", "R***")
    assert masked["email"] == "a***@example.com" and masked["phone"] == "+49***56"
    revealed = to_records(page, personal="reveal")[0]
    assert (revealed["given_name"], revealed["email"], revealed["phone"]) == (
        "Ann",
        "ann.roe@example.com",
        "+4930123456",
    )
    assert "Weg" not in repr(revealed)  # streets are not part of the rows at all


def test_orders_as_a_data_frame_with_exact_amounts(store: Store) -> None:
    with store.unit_of_work() as uow:
        frame = to_pandas(uow.orders.for_customer("cus_ann"))
    assert list(frame["order_id"]) == ["ord_0", "ord_1", "ord_2"]
    assert set(frame["total"]) == {Decimal("64.60")} and frame["items"].sum() == 9
    assert frame["placed_at"].iloc[1] == T0 + timedelta(days=1)
    assert list(frame.columns)[:3] == ["order_id", "customer_id", "placed_at"]


def test_messages_and_activity(store: Store) -> None:
    with store.unit_of_work() as uow:
        (message,) = to_records(uow.communications.page())
        (event,) = to_records(uow.activity.page())
    assert message["topic"] == "delivered" and message["channel"] == "email" and message["order_id"] is None
    assert event == {
        "activity_id": "act_1",
        "event": "Product Viewed",
        "customer_id": None,
        "anonymous_id": "anon-1",
        "occurred_at": T0,
        "source": None,
    }


def test_bad_input_and_missing_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    assert to_records([]) == [] and len(to_pandas(())) == 0
    customer = Customer("cus_1", T0)
    order = Order("ord_1", "cus_1", "EUR", (OrderLine("l1", "S", "P", 1, Money("1", "EUR")),), T0)
    with pytest.raises(ValidationError, match=r"items\[1\]: must be Customer like the first item"):
        to_records([customer, order])
    with pytest.raises(ValidationError, match=r"items\[0\]: must be a Customer, Order"):
        to_records([{"id": 1}])
    with pytest.raises(ValidationError, match="items: must be a Page or an iterable"):
        to_records("cus_1")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[notebook\]'"):
        to_pandas([customer])
