"""Two dispatcher processes drain one outbox at the same moment into a real SMTP server on 127.0.0.1, on one SQLite
file and on one PostgreSQL schema: every message arrives exactly once, and both processes did part of the work.
Dispatchers started again afterwards send nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from outbox_smtp import Recorder

from custdata import CommunicationStatus, Customer, Topic
from custdata.notify import Message
from custdata.outbox import OutboxState
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.outbox.service import enqueue
from custdata.storage import Store, open_store, walk

CHILD = Path(__file__).with_name("dispatch_child.py")
MESSAGES = 120


def fill(store: Store) -> None:
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        uow.customers.add(Customer(id="cus_1", created_at=now - timedelta(days=1)))
        for i in range(MESSAGES):
            message = Message(
                idempotency_key=f"ord_{i}:placed:order_confirmation",
                channel="email",
                topic=Topic.ORDER_CONFIRMATION,
                recipient=f"customer{i}@example.com",
                subject=f"Thank you for order {i}",
                text="Hello",
            )
            enqueue(uow, message, customer_id="cus_1", now=now)
        uow.commit()


def race(where: str, recorder: Recorder, folder: Path) -> list[int]:
    """Start two dispatcher processes on ``where``, let them go at once, wait; how many each one sent."""
    folder.mkdir(exist_ok=True)
    go = folder / "go"
    children = []
    for n in range(2):
        ready = folder / f"ready{n}"
        command = [sys.executable, str(CHILD), where, str(recorder.port), str(ready), str(go)]
        children.append((subprocess.Popen(command, stdout=subprocess.PIPE, text=True), ready))
    deadline = time.monotonic() + 60
    while not all(ready.exists() for _, ready in children):
        assert time.monotonic() < deadline, "the dispatcher processes did not start"
        assert all(child.poll() is None for child, _ in children), "a dispatcher process failed to start"
        time.sleep(0.01)
    go.touch()
    sent = []
    for child, _ in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        found = re.search(r"sent=(\d+) lost=(\d+)", out)
        assert found is not None, out
        assert found.group(2) == "0"  # no lease ran out under a dispatcher
        sent.append(int(found.group(1)))
    return sent


def check(store: Store, recorder: Recorder, sent: list[int]) -> None:
    assert recorder.distinct() == MESSAGES  # none lost
    assert recorder.duplicates() == 0  # none delivered twice
    assert sum(sent) == MESSAGES and min(sent) > 0, sent  # both took part
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert uow.outbox.count(OutboxState.SENT) == MESSAGES
        events = list(walk(lambda c: uow.communications.for_customer("cus_1", cursor=c, limit=500)))
    assert len(events) == MESSAGES and {e.status for e in events} == {CommunicationStatus.SENT}


def test_two_dispatcher_processes_on_one_sqlite_file_deliver_each_message_once(smtp: Recorder, tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store:
        fill(store)
        sent = race(str(path), smtp, tmp_path / "first")
        check(store, smtp, sent)
        assert race(str(path), smtp, tmp_path / "again") == [0, 0]  # started after everything was sent
        assert smtp.count() == MESSAGES


def test_two_dispatcher_processes_on_one_postgres_schema_deliver_each_message_once(
    smtp: Recorder, pg_url: str, tmp_path: Path
) -> None:
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema=outbox_{uuid.uuid4().hex[:12]}&pool_max_size=2"
    with open_store(url) as store:
        fill(store)
        sent = race(url, smtp, tmp_path)
        check(store, smtp, sent)
