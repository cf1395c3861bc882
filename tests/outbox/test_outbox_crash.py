"""Dispatchers killed with SIGKILL mid-drain: every message still reaches a real SMTP server, duplicates bounded.

A real aiosmtpd server on 127.0.0.1 records every message it accepts; dispatcher processes drain a SQLite
outbox into it through :class:`custdata.notify.SMTPNotifier` and are killed at random moments while sending.
A dispatcher sends one message at a time and records each result as soon as it has it, so a kill can repeat
at most the one message in flight: duplicates at the server are at most one per kill. They carry the same
Message-ID (derived from the idempotency key), which is how they are counted here.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from outbox_smtp import Recorder

from custdata import CommunicationStatus, Customer, Topic
from custdata.notify import Message
from custdata.outbox import OutboxState
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.outbox.service import enqueue
from custdata.storage import walk
from custdata.storage.sqlite import SQLiteStore

CHILD = Path(__file__).with_name("dispatch_child.py")
MESSAGES = 80
KILLS = 5


def fill(path: Path) -> None:
    now = datetime.now(UTC)
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        uow.customers.add(Customer(id="cus_1", created_at=now - timedelta(days=1)))
        for i in range(MESSAGES):
            message = Message(
                idempotency_key=f"ord_{i}:shipped:shp_1:order_shipped",
                channel="email",
                topic=Topic.ORDER_SHIPPED,
                recipient=f"customer{i}@example.com",
                subject=f"Order {i} is on its way",
                text="Hello",
            )
            enqueue(uow, message, customer_id="cus_1", now=now)
        uow.commit()


def test_sigkilled_dispatchers_lose_nothing_and_repeat_at_most_one_message_per_kill(
    smtp: Recorder, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    recorder, port = smtp, smtp.port
    path = tmp_path / "outbox.db"
    fill(path)
    rng = random.Random(20240301)
    command = [sys.executable, str(CHILD), str(path), str(port)]
    kills = 0
    for _ in range(KILLS):
        before = recorder.count()
        child = subprocess.Popen(command)
        deadline = time.monotonic() + 30
        while recorder.count() == before and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # wait until it is sending
        time.sleep(rng.uniform(0.0, 0.15))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait(10)
    final = subprocess.run(command, timeout=120, check=False)
    assert final.returncode == 0
    duplicates = recorder.duplicates()
    print(f"\n{MESSAGES} messages, {kills} dispatchers killed, {recorder.count()} received, {duplicates} duplicates")
    record_property("kills", kills)  # in the JUnit XML report, for CI to keep the figures
    record_property("duplicates", duplicates)
    assert kills >= 3
    assert recorder.distinct() == MESSAGES  # none lost
    assert duplicates <= kills  # at most the message in flight, per kill
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert uow.outbox.count(OutboxState.SENT) == MESSAGES
        events = list(walk(lambda c: uow.communications.for_customer("cus_1", cursor=c, limit=500)))
        assert {e.status for e in events} == {CommunicationStatus.SENT}
        assert len({e.provider_id for e in events}) == MESSAGES
        assert store.integrity_check() == ["ok"]
