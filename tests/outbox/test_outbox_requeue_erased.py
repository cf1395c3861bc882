"""A dead letter whose message or customer was erased cannot be requeued: nothing is sent, nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custdata import Channel, Customer, EmailAddress, Topic, ValidationError
from custdata.merge import merge, preview
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.outbox import Dispatcher, OutboxState, OutboxUnitOfWork, RetryPolicy, enqueue, requeue
from custdata.privacy.erasure import erase_customer, redact_customer
from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema=requeue_{uuid.uuid4().hex[:12]}&pool_max_size=4")
    else:
        opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def dead_letters(store: Store, *customers: str) -> dict[str, str]:
    """One dead letter per customer (its retries ran out); their entry ids by customer."""
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        for who in customers:
            uow.customers.add(Customer(id=who, created_at=T0, email=EmailAddress(f"{who}@example.com")))
            message = Message(
                idempotency_key=f"ship-{who}",
                channel=Channel.EMAIL,
                topic=Topic.ORDER_SHIPPED,
                recipient=f"{who}@example.com",
                subject="Shipped",
                text=f"Hello {who}",
            )
            enqueue(uow, message, customer_id=who, now=T0)
        uow.commit()
    notifier = RecordingNotifier()
    notifier.fail_when(lambda m: SendResult.transient("busy"))
    Dispatcher(store, notifier, retry=RetryPolicy(max_attempts=1), clock=lambda: T0).drain()
    ids = {}
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        for who in customers:
            entry = uow.outbox.find(f"ship-{who}")
            assert entry is not None and entry.state == OutboxState.DEAD
            ids[who] = str(entry.id)
    return ids


def test_requeue_refuses_what_erasure_touched_and_keeps_the_rest(store: Store) -> None:
    ids = dead_letters(store, "cus_erased", "cus_redacted", "cus_merged", "cus_kept", "cus_survivor")
    erase_customer(store, "cus_erased", clock=lambda: T0 + timedelta(hours=1))
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        redacted = uow.customers.get("cus_redacted")  # erased by other means: the message is still there
        redact_customer(redacted, at=T0 + timedelta(hours=1))
        uow.customers.update(redacted)
        merge(uow, preview(uow, "cus_survivor", ["cus_merged"], at=T0), at=T0)
        uow.commit()
    later = T0 + timedelta(days=1)
    for who, why in (("cus_erased", "message was erased"), ("cus_redacted", "customer whose data was erased")):
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            with pytest.raises(ValidationError, match=why) as caught:
                requeue(uow, ids[who], now=later)
            assert caught.value.problems[0].path == "entry_id"
            uow.commit()
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert uow.outbox.get(ids["cus_erased"]).state == OutboxState.DEAD
        assert uow.outbox.get(ids["cus_redacted"]).state == OutboxState.DEAD
        for who in ("cus_kept", "cus_merged"):  # a merged customer's message answers to its survivor
            requeue(uow, ids[who], now=later)
        uow.commit()
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=lambda: later).drain()
    assert sorted(m.recipient for m in notifier.messages) == ["cus_kept@example.com", "cus_merged@example.com"]
