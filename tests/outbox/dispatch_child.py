"""A dispatcher process for the multi-process tests: drains an outbox to an SMTP server until nothing is left.

Run as ``python dispatch_child.py STORE SMTP_PORT [READY_FILE GO_FILE]``: ``STORE`` is a SQLite file path or a
store URL. With the two files, it creates ``READY_FILE`` once its store is open and waits for ``GO_FILE`` before
sending, so that several dispatchers start at the same moment. It prints how many messages it sent.
The crash test kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from custdata.notify import SMTPNotifier
from custdata.outbox import DrainReport, OutboxState
from custdata.outbox.dispatcher import Dispatcher, RetryPolicy
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore


def main(where: str, port: int, ready: Path | None = None, go: Path | None = None) -> None:
    store: Store = open_store(where) if "://" in where else SQLiteStore(where)
    notifier = SMTPNotifier("127.0.0.1", port, sender="shop@example.com", security="none", timeout=10)
    dispatcher = Dispatcher(
        store,
        notifier,
        batch_size=5,
        lease=timedelta(seconds=2),
        lease_margin=timedelta(milliseconds=500),
        retry=RetryPolicy(base_delay=timedelta(milliseconds=100), max_attempts=50),
    )
    if ready is not None and go is not None:
        ready.touch()
        while not go.exists():
            time.sleep(0.005)
    total = DrainReport()
    while True:
        total.add(dispatcher.drain())
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            if uow.outbox.count(OutboxState.PENDING) == 0:
                break
        time.sleep(0.1)  # entries leased by another (or a killed) dispatcher: wait for their result or expiry
    dispatcher.close()
    store.close()
    print(f"sent={total.sent} lost={total.lost}", flush=True)


if __name__ == "__main__":
    files = [Path(p) for p in sys.argv[3:5]]
    main(sys.argv[1], int(sys.argv[2]), *files)
