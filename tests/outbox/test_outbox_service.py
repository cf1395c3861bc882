"""Bad input to the outbox service functions is a ValidationError naming the argument, and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Customer, Topic, ValidationError
from custdata.notify import Message
from custdata.outbox import enqueue
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.storage import open_store

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
MESSAGE = Message(
    idempotency_key="ord_1:shipped:order_shipped",
    channel="email",
    topic=Topic.ORDER_SHIPPED,
    recipient="jane@example.com",
    subject="Your order is on its way",
    text="Hello",
)
BAD = {
    "customer_id": st.one_of(st.just(""), st.just("has space"), st.integers(), st.none(), st.text(min_size=200)),
    "now": st.one_of(st.none(), st.just("2024-03-01"), st.just(T0.replace(tzinfo=None)), st.integers()),
    "available_at": st.one_of(st.just("tomorrow"), st.just(T0.replace(tzinfo=None)), st.floats()),
    "message": st.one_of(st.none(), st.just({"idempotency_key": "k"}), st.text()),
}


@settings(max_examples=40)
@given(data=st.data(), field=st.sampled_from(sorted(BAD)))
def test_bad_arguments_name_the_argument_and_write_nothing(data: st.DataObject, field: str) -> None:
    arguments: dict[str, Any] = {"message": MESSAGE, "customer_id": "cus_1", "now": T0, "available_at": None}
    arguments[field] = data.draw(BAD[field])
    with open_store("memory://") as store, store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        uow.customers.add(Customer(id="cus_1", created_at=T0 - timedelta(days=1)))
        message = arguments.pop("message")
        with pytest.raises(ValidationError) as caught:
            enqueue(uow, message, **arguments)
        assert caught.value.problems[0].path == field
        assert uow.outbox.count() == 0 and uow.communications.count() == 0
