"""``custdata erase`` of ids no customer has any more, and ``custdata dead-letters`` after an erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_helpers import run_cli

from custdata import Channel, CommunicationId, Customer, Topic, open_store
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.outbox import Dispatcher, OutboxEntry, OutboxState, OutboxUnitOfWork, RetryPolicy, Timer, enqueue
from custdata.privacy.erasure import redact_customer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _message(key: str, recipient: str = "jane.doe@example.com") -> Message:
    return Message(
        idempotency_key=key,
        channel=Channel.EMAIL,
        topic=Topic.ORDER_SHIPPED,
        recipient=recipient,
        subject="Your order is on its way",
        text="Hello Jane Doe",
    )


def _leftovers(path: Path) -> str:
    """An outbox entry and a timer under the id of a customer who was deleted (as earlier retention sweeps did)."""
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        uow.customers.add(Customer(id="cus_gone", created_at=T0))
        entry = OutboxEntry(
            id=CommunicationId.new(),
            idempotency_key="ship-gone",
            customer_id="cus_gone",
            topic=Topic.ORDER_SHIPPED,
            channel=Channel.EMAIL,
            created_at=T0,
            available_at=T0,
            message=_message("ship-gone"),
        )
        assert uow.outbox.add(entry)
        uow.timers.schedule(
            Timer(
                key="cart-gone",
                rule="cart_reminder",
                topic=Topic.CART_REMINDER,
                customer_id="cus_gone",
                due_at=T0 + timedelta(days=1),
                created_at=T0,
                trigger={"email": "jane.doe@example.com"},
            )
        )
        uow.customers.delete("cus_gone")
        uow.commit()
        return str(entry.id)


def test_erase_clears_what_the_outbox_keeps_under_a_deleted_customers_id(tmp_path: Path) -> None:
    store = tmp_path / "shop.db"
    entry_id = _leftovers(store)
    unknown = run_cli("erase", "cus_gone", "cus_nobody", "--yes", "--store", str(store), cwd=tmp_path)
    assert unknown.returncode == 5 and "cus_nobody" in unknown.stderr and "nothing erased" in unknown.stderr
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert uow.outbox.get(entry_id).message is not None  # refused as a whole: nothing was erased
    erased = run_cli("erase", "cus_gone", "--yes", "--store", str(store), cwd=tmp_path)
    assert erased.returncode == 0, erased.stderr
    assert "erased cus_gone (no customer has this id any more)" in erased.stdout
    assert "1 outbox entries and 1 timers cleared, 1 pending messages cancelled" in erased.stdout
    assert "store purged" in erased.stdout
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        entry = uow.outbox.get(entry_id)
        assert (entry.state, entry.message) == (OutboxState.CANCELLED, None)
        timer = uow.timers.get("cart-gone")
        assert timer is not None and timer.trigger == {} and timer.state.value == "cancelled"
    data = b"".join(p.read_bytes() for p in tmp_path.glob("shop.db*"))
    assert b"jane.doe" not in data
    again = run_cli("erase", "cus_gone", "--yes", "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0 and "0 outbox entries and 0 timers cleared" in again.stdout


def _dead_letters(path: Path) -> dict[str, str]:
    """Two customers, each with a message whose retries ran out; the entries' ids by customer."""
    with open_store(f"sqlite:///{path}") as store:
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            for who in ("cus_erased", "cus_kept"):
                uow.customers.add(Customer(id=who, created_at=T0))
                enqueue(uow, _message(f"ship-{who}", f"{who}@example.com"), customer_id=who, now=T0)
            uow.commit()
        notifier = RecordingNotifier()
        notifier.fail_when(lambda m: SendResult.transient("mailbox busy"))
        dispatcher = Dispatcher(store, notifier, retry=RetryPolicy(max_attempts=1, base_delay=timedelta(0)))
        dispatcher.drain()
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            ids = {}
            for who in ("cus_erased", "cus_kept"):
                entry = uow.outbox.find(f"ship-{who}")
                assert entry is not None and entry.state == OutboxState.DEAD
                ids[who] = str(entry.id)
    return ids


def test_requeue_all_skips_erased_messages_and_says_so(tmp_path: Path) -> None:
    store = tmp_path / "shop.db"
    ids = _dead_letters(store)
    assert run_cli("erase", "cus_erased", "--yes", "--store", str(store), cwd=tmp_path).returncode == 0
    done = run_cli("dead-letters", "--requeue-all", "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"skipped {ids['cus_erased']}: an entry whose message was erased" in done.stdout
    assert "requeued 1 message(s)" in done.stdout
    named = run_cli("dead-letters", "--requeue", ids["cus_erased"], "--store", str(store), cwd=tmp_path)
    assert named.returncode == 3 and "message was erased" in named.stderr and "nothing requeued" in named.stderr
    notifier = RecordingNotifier()
    with open_store(f"sqlite:///{store}") as opened:
        Dispatcher(opened, notifier).drain()
        with opened.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            assert uow.outbox.get(ids["cus_erased"]).state == OutboxState.DEAD
    assert [m.recipient for m in notifier.messages] == ["cus_kept@example.com"]


def test_a_dead_letter_of_an_erased_customer_that_kept_its_message_is_not_requeued(tmp_path: Path) -> None:
    """An entry erased by nothing (the customer was redacted by other means): the customer decides."""
    store = tmp_path / "shop.db"
    ids = _dead_letters(store)
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        customer = uow.customers.get("cus_erased")
        redact_customer(customer, at=T0 + timedelta(days=1))
        uow.customers.update(customer)
        uow.commit()
    named = run_cli(
        "dead-letters", "--requeue", ids["cus_erased"], ids["cus_kept"], "--store", str(store), cwd=tmp_path
    )
    assert named.returncode == 3 and "customer whose data was erased" in named.stderr
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert {uow.outbox.get(i).state for i in ids.values()} == {OutboxState.DEAD}  # one transaction: none
    done = run_cli("dead-letters", "--requeue-all", "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0 and "customer whose data was erased" in done.stdout
    assert "requeued 1 message(s)" in done.stdout


def test_erase_names_the_new_id_of_a_customer_whose_id_was_made_from_its_address(tmp_path: Path) -> None:
    from custdata import EmailAddress
    from custdata.importing.convert import legacy_email_id

    store = tmp_path / "shop.db"
    old = str(legacy_email_id("shop", EmailAddress.parse("jane.doe@example.com")))
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        uow.customers.add(Customer(id=old, created_at=T0, email=EmailAddress("jane.doe@example.com")))
        uow.commit()
    erased = run_cli("erase", old, "--yes", "--store", str(store), cwd=tmp_path)
    assert erased.returncode == 0, erased.stderr
    new = erased.stdout.split("it is now ")[1].split(";")[0].strip()
    assert new.startswith("cus_") and new != old
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        assert [str(c.id) for c in uow.customers.search()] == [new]
    assert old.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("shop.db*"))
