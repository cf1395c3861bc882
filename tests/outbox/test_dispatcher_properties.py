"""Whatever a notifier answers, attempt after attempt, the dispatcher ends every message in the state its answers
call for, delivers each at most once, keeps the customer's events in step, and never tries more than allowed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import CommunicationStatus, Customer, Topic
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.outbox import OutboxState
from custdata.outbox.dispatcher import Dispatcher, RetryPolicy
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.outbox.service import enqueue
from custdata.storage import open_store

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
MAX_ATTEMPTS = 4
ANSWERS = st.sampled_from(["sent", "transient", "permanent", "skipped", "raise"])
EVENT_STATUS = {
    OutboxState.SENT: CommunicationStatus.SENT,
    OutboxState.FAILED: CommunicationStatus.FAILED,
    OutboxState.DEAD: CommunicationStatus.FAILED,
    OutboxState.SKIPPED: CommunicationStatus.SUPPRESSED,
}


def expected(script: list[str]) -> tuple[OutboxState, int]:
    """The final state and the number of sends that the answers in ``script`` call for."""
    for attempt, answer in enumerate(script[:MAX_ATTEMPTS], start=1):
        if answer == "sent":
            return OutboxState.SENT, attempt
        if answer == "permanent":
            return OutboxState.FAILED, attempt
        if answer == "skipped":
            return OutboxState.SKIPPED, attempt
    return OutboxState.DEAD, MAX_ATTEMPTS


@settings(max_examples=40, deadline=None)
@given(
    scripts=st.lists(st.lists(ANSWERS, min_size=MAX_ATTEMPTS, max_size=MAX_ATTEMPTS), min_size=1, max_size=6),
    batch_size=st.integers(1, 4),
)
def test_every_message_ends_as_its_answers_say(scripts: list[list[str]], batch_size: int) -> None:
    store = open_store("memory://")
    now = [T0]
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        uow.customers.add(Customer(id="cus_1", created_at=T0 - timedelta(days=1)))
        for i in range(len(scripts)):
            message = Message(
                idempotency_key=f"k{i}",
                channel="sms",
                topic=Topic.ORDER_SHIPPED,
                recipient="+4930123456",
                text="On its way",
            )
            enqueue(uow, message, customer_id="cus_1", now=T0)
        uow.commit()
    calls: Counter[str] = Counter()

    def answer(message: Message) -> Any:
        index = int(message.idempotency_key[1:])
        reply = scripts[index][calls[message.idempotency_key]]
        calls[message.idempotency_key] += 1
        if reply == "raise":
            raise RuntimeError("the provider's client crashed")
        return {
            "sent": None,
            "transient": SendResult.transient("busy"),
            "permanent": SendResult.permanent("unknown number"),
            "skipped": SendResult.skipped("no SMS contract"),
        }[reply]

    notifier = RecordingNotifier()
    notifier.fail_when(answer)
    policy = RetryPolicy(max_attempts=MAX_ATTEMPTS, base_delay=timedelta(seconds=1), max_delay=timedelta(minutes=1))
    dispatcher = Dispatcher(store, notifier, batch_size=batch_size, retry=policy, clock=lambda: now[0])
    for _ in range(MAX_ATTEMPTS + 1):
        dispatcher.drain()
        now[0] += timedelta(minutes=2)  # past any backoff
    assert notifier.duplicates() == {}
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert uow.outbox.count(OutboxState.PENDING) == 0
        for i, script in enumerate(scripts):
            state, sends = expected(script)
            entry = uow.outbox.find(f"k{i}")
            assert entry is not None
            assert (entry.state, calls[f"k{i}"], entry.attempts) == (state, sends, sends), script
            assert uow.communications.get(entry.id).status == EVENT_STATUS[state]
    store.close()
