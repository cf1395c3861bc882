"""``custdata dead-letters``: listing messages that could not be sent, and queueing them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_helpers import run_cli

from custdata import Channel, Customer, Topic, open_store
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.outbox import Dispatcher, OutboxState, OutboxUnitOfWork, RetryPolicy, enqueue

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _store_with_undelivered(path: Path) -> dict[str, str]:
    """Three messages: one dead (retries ran out), one failed for good, one sent; their ids by key."""
    with open_store(f"sqlite:///{path}") as store:
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            uow.customers.add(Customer(id="cus_1", created_at=T0))
            for key in ("busy", "refused", "fine"):
                message = Message(
                    idempotency_key=key,
                    channel=Channel.EMAIL,
                    topic=Topic.ORDER_SHIPPED,
                    recipient="jane.doe@example.com",
                    subject="Your order is on its way",
                    text="Hello Jane",
                )
                enqueue(uow, message, customer_id="cus_1", now=T0)
            uow.commit()
        notifier = RecordingNotifier()
        results = {"busy": SendResult.transient("mailbox busy"), "refused": SendResult.permanent("no such user")}
        notifier.fail_when(lambda m: results.get(m.idempotency_key))
        retry = RetryPolicy(max_attempts=2, base_delay=timedelta(0), jitter=0.0)
        dispatcher = Dispatcher(store, notifier, retry=retry)
        for _ in range(3):
            dispatcher.drain()
        dispatcher.close()
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            ids = {}
            for key in ("busy", "refused", "fine"):
                entry = uow.outbox.find(key)
                assert entry is not None
                ids[key] = str(entry.id)
            states = {key: uow.outbox.get(ids[key]).state for key in ids}
    assert states == {"busy": OutboxState.DEAD, "refused": OutboxState.FAILED, "fine": OutboxState.SENT}
    return ids


def _states(path: Path, ids: dict[str, str]) -> dict[str, OutboxState]:
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        return {key: uow.outbox.get(entry_id).state for key, entry_id in ids.items()}


def test_dead_letters_are_listed_without_personal_data(tmp_path: Path) -> None:
    ids = _store_with_undelivered(tmp_path / "shop.db")
    listed = run_cli("dead-letters", "--store", str(tmp_path / "shop.db"), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert ids["busy"] in listed.stdout and ids["refused"] not in listed.stdout
    assert "order_shipped by email, 2 attempt(s)" in listed.stdout and "mailbox busy" in listed.stdout
    assert listed.stdout.rstrip().endswith("1 message(s)")
    both = run_cli("dead-letters", "--failed", "--store", str(tmp_path / "shop.db"), cwd=tmp_path)
    assert ids["refused"] in both.stdout and "no such user" in both.stdout and "2 message(s)" in both.stdout
    for private in ("jane", "Hello", "Your order"):
        assert private not in both.stdout


def test_requeued_messages_go_out_with_the_next_dispatch(tmp_path: Path) -> None:
    store = tmp_path / "shop.db"
    ids = _store_with_undelivered(store)
    done = run_cli("dead-letters", "--store", str(store), "--requeue", ids["busy"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "requeued 1 message(s)" in done.stdout
    assert _states(store, ids) == {"busy": OutboxState.PENDING, "refused": OutboxState.FAILED, "fine": OutboxState.SENT}
    sent = run_cli("dispatch", "--store", str(store), "--folder", "out", cwd=tmp_path)
    assert sent.returncode == 0 and "sent 1," in sent.stdout
    assert _states(store, ids)["busy"] == OutboxState.SENT
    again = run_cli("dead-letters", "--failed", "--requeue-all", "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0 and "requeued 1 message(s)" in again.stdout
    assert _states(store, ids)["refused"] == OutboxState.PENDING


def test_requeue_refuses_unknown_and_undead_messages_and_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "shop.db"
    ids = _store_with_undelivered(store)
    before = _states(store, ids)
    unknown = run_cli("dead-letters", "--store", str(store), "--requeue", ids["busy"], "msg_nothing", cwd=tmp_path)
    assert unknown.returncode == 5, unknown.stderr
    sent = run_cli("dead-letters", "--store", str(store), "--requeue", ids["busy"], ids["fine"], cwd=tmp_path)
    assert sent.returncode == 3 and "entry_id" in sent.stderr
    assert _states(store, ids) == before  # one transaction: the dead one was not requeued either
    both = run_cli("dead-letters", "--store", str(store), "--requeue", "x", "--requeue-all", cwd=tmp_path)
    assert both.returncode == 2
