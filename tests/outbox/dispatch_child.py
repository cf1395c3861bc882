"""A dispatcher process for the crash test: drains a SQLite outbox to an SMTP server until nothing is left.

Run as ``python dispatch_child.py DB_PATH SMTP_PORT``; the test kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from custdata.notify import SMTPNotifier
from custdata.outbox import OutboxState
from custdata.outbox.dispatcher import Dispatcher, RetryPolicy
from custdata.storage.sqlite import SQLiteStore


def main(path: str, port: int) -> None:
    store = SQLiteStore(path)
    notifier = SMTPNotifier("127.0.0.1", port, sender="shop@example.com", security="none", timeout=10)
    dispatcher = Dispatcher(
        store,
        notifier,
        batch_size=5,
        lease=timedelta(seconds=2),
        lease_margin=timedelta(milliseconds=500),
        retry=RetryPolicy(base_delay=timedelta(milliseconds=100), max_attempts=50),
    )
    while True:
        dispatcher.drain()
        with store.unit_of_work() as uow:
            if uow.outbox.count(OutboxState.PENDING) == 0:  # type: ignore[attr-defined]
                break
        time.sleep(0.1)  # entries leased by a killed dispatcher come back when their lease expires
    dispatcher.close()
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
