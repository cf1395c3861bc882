"""Draining the outbox on SQLite, against a bare sqlite3 loop doing the same writes, and to a local SMTP server.

    python benchmarks/bench_outbox.py [--n 10000] [--smtp 2000] [--repeat 2] [--quick]   # SMTP needs aiosmtpd

1. **Outbox vs bare sqlite3.** custdata: ``enqueue`` N email messages (an outbox entry and a queued
   communication event each, 100 per unit of work), then a :class:`~custdata.outbox.Dispatcher` drains them to a
   :class:`~custdata.notify.RecordingNotifier` (leases of 100, each result recorded in its own transaction).
   Baseline, same SQLite file settings (WAL, ``synchronous=NORMAL``), same tables and the same transactions: a
   bare loop with ``sqlite3`` that inserts the same rows (documents built with ``json.dumps``), leases them with
   the same UPDATE, reads each message back with ``json.loads``, hands the notifier the same message, and updates
   the outbox row and the communication document. Prints both times and their ratio (target <= 3.0).
2. **To SMTP.** The dispatcher drains M messages to an aiosmtpd server (its own process, Sink handler) through
   :class:`~custdata.notify.SMTPNotifier`; baseline: the same notifier sending the same messages in a plain loop
   (no outbox). Prints messages per second for both.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _report import record
from bench_smtp import start_server

from custdata import Customer
from custdata.domain import CommunicationId
from custdata.notify import Message, RecordingNotifier, SMTPNotifier
from custdata.outbox.dispatcher import Dispatcher
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.outbox.service import enqueue
from custdata.storage.records import micros
from custdata.storage.sqlite import SQLiteStore

BATCH = 100
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def make_messages(n: int, prefix: str = "ord") -> list[Message]:
    return [
        Message(
            idempotency_key=f"{prefix}_{i:06d}:shipped:shp_1:order_shipped",
            channel="email",
            topic="order_shipped",
            recipient=f"customer{i}@example.com",
            subject=f"Your order {i} is on its way",
            text=f"Hello,\n\nyour order {i} has shipped with DHL.\nTrack it: https://track.example/{i}\n",
            order_id=f"{prefix}_{i:06d}",
        )
        for i in range(n)
    ]


def new_store(folder: Path, name: str) -> SQLiteStore:
    store = SQLiteStore(folder / name)
    with store.unit_of_work() as uow:
        uow.customers.add(Customer(id="cus_1", created_at=NOW - timedelta(days=1)))
        uow.commit()
    return store


# -- custdata --------------------------------------------------------------------------------------------------


def run_custdata(folder: Path, messages: list[Message]) -> tuple[float, float, int]:
    store = new_store(folder, f"custdata-{time.perf_counter_ns()}.db")
    notifier = RecordingNotifier()
    start = time.perf_counter()
    for i in range(0, len(messages), BATCH):
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            for message in messages[i : i + BATCH]:
                enqueue(uow, message, customer_id="cus_1", now=NOW, template="order_shipped.email.en")
            uow.commit()
    enqueued = time.perf_counter()
    report = Dispatcher(store, notifier, batch_size=BATCH, clock=lambda: NOW).drain()
    drained = time.perf_counter()
    store.close()
    assert report.sent == len(messages) == len(notifier), report
    return enqueued - start, drained - enqueued, report.sent


# -- the bare loop ----------------------------------------------------------------------------------------------

_INSERT_OUTBOX = (
    "INSERT INTO outbox (id, idempotency_key, customer_id, order_id, topic, channel, state, created_us, "
    "available_us, updated_us, attempts, lease_owner, lease_us, last_error, reason, provider_id, message) "
    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0, NULL, NULL, NULL, NULL, NULL, ?) "
    "ON CONFLICT (idempotency_key) DO NOTHING"
)
_INSERT_EVENT = (
    "INSERT INTO communications (id, version, customer_id, order_id, created_us, updated_us, idempotency_key, doc) "
    "VALUES (?, 0, ?, ?, ?, ?, ?, ?)"
)


def run_bare(folder: Path, messages: list[Message]) -> tuple[float, float, int]:
    """The same rows and transactions, written by hand with sqlite3 and json."""
    path = folder / f"bare-{time.perf_counter_ns()}.db"
    new_store(folder, path.name).close()  # the same tables and indexes
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    notifier = RecordingNotifier()
    now_us = micros(NOW)
    when = NOW.isoformat()
    start = time.perf_counter()
    for i in range(0, len(messages), BATCH):
        conn.execute("BEGIN IMMEDIATE")
        for m in messages[i : i + BATCH]:
            entry_id = str(CommunicationId.new())
            doc = {
                "idempotency_key": m.idempotency_key,
                "channel": "email",
                "topic": "order_shipped",
                "recipient": m.recipient,
                "text": m.text,
                "subject": m.subject,
                "order_id": m.order_id,
                "locale": "en",
            }
            cur = conn.execute(
                _INSERT_OUTBOX,
                (
                    entry_id,
                    m.idempotency_key,
                    "cus_1",
                    m.order_id,
                    "order_shipped",
                    "email",
                    now_us,
                    now_us,
                    now_us,
                    json.dumps(doc),
                ),
            )
            if cur.rowcount == 1:
                event = {
                    "id": entry_id,
                    "customer_id": "cus_1",
                    "channel": "email",
                    "topic": "order_shipped",
                    "created_at": when,
                    "status": "queued",
                    "template": "order_shipped.email.en",
                    "idempotency_key": m.idempotency_key,
                    "order_id": m.order_id,
                    "subject": m.subject,
                    "body": m.text,
                    "updated_at": when,
                    "version": 0,
                }
                conn.execute(
                    _INSERT_EVENT, (entry_id, "cus_1", m.order_id, now_us, now_us, m.idempotency_key, json.dumps(event))
                )
        conn.execute("COMMIT")
    enqueued = time.perf_counter()
    by_key = {m.idempotency_key: m for m in messages}
    sent = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        token = os.urandom(12).hex()
        count = conn.execute(
            "UPDATE outbox SET lease_owner = ?, lease_us = ?, lease_token = ?, attempts = attempts + 1, updated_us = ? "
            "WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND available_us <= ? "
            "AND (lease_us IS NULL OR lease_us <= ?) ORDER BY available_us, id LIMIT ?)",
            ("bare", now_us + 300_000_000, token, now_us, now_us, now_us, BATCH),
        ).rowcount
        rows = conn.execute(
            "SELECT id, idempotency_key, message FROM outbox WHERE state = 'pending' AND lease_token = ?", (token,)
        ).fetchall()
        conn.execute("COMMIT")
        if count == 0:
            break
        for entry_id, key, doc in rows:
            json.loads(doc)
            result = notifier.send(by_key[key])
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE outbox SET state = 'sent', provider_id = ?, lease_owner = NULL, lease_us = NULL, "
                "lease_token = NULL, updated_us = ? WHERE id = ? AND lease_owner = ? AND state = 'pending'",
                (result.provider_id, now_us, entry_id, "bare"),
            )
            version, event_doc = conn.execute(
                "SELECT version, doc FROM communications WHERE id = ?", (entry_id,)
            ).fetchone()
            event = json.loads(event_doc)
            event.update(status="sent", provider_id=result.provider_id, sent_at=when, version=version + 1)
            conn.execute(
                "UPDATE communications SET version = ?, updated_us = ?, doc = ? WHERE id = ? AND version = ?",
                (version + 1, now_us, json.dumps(event), entry_id, version),
            )
            conn.execute("COMMIT")
            sent += 1
    drained = time.perf_counter()
    conn.close()
    assert sent == len(messages) == len(notifier)
    return enqueued - start, drained - enqueued, sent


# -- SMTP -------------------------------------------------------------------------------------------------------


def run_smtp(folder: Path, m: int) -> tuple[float, float]:
    """Seconds to send ``m`` messages through the outbox, and with the notifier in a plain loop."""
    server, port = start_server()
    try:
        messages = make_messages(m, prefix="smtp")
        notifier = SMTPNotifier("127.0.0.1", port, sender="orders@shop.example", security="none")
        start = time.perf_counter()
        for message in messages:
            assert notifier.send(message).ok
        plain = time.perf_counter() - start
        notifier.close()
        store = new_store(folder, f"smtp-{time.perf_counter_ns()}.db")
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            for message in messages:
                enqueue(uow, message, customer_id="cus_1", now=NOW)
            uow.commit()
        notifier = SMTPNotifier("127.0.0.1", port, sender="orders@shop.example", security="none")
        start = time.perf_counter()
        report = Dispatcher(store, notifier, batch_size=BATCH, clock=lambda: NOW).drain()
        through = time.perf_counter() - start
        notifier.close()
        store.close()
        assert report.sent == m, report
        return through, plain
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="messages drained to the RecordingNotifier")
    parser.add_argument("--smtp", type=int, default=2_000, help="messages drained to the SMTP server (0: skip)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; the best is reported")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it runs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.smtp, args.repeat = 500, 100, 1
    messages = make_messages(args.n)
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as scratch:
        folder = Path(scratch)
        ours = min((run_custdata(folder, messages) for _ in range(args.repeat)), key=lambda r: r[0] + r[1])
        bare = min((run_bare(folder, messages) for _ in range(args.repeat)), key=lambda r: r[0] + r[1])
        print(f"{args.n} messages, SQLite (WAL, synchronous=NORMAL), best of {args.repeat}")
        print(f"{'':28}{'enqueue':>10}{'drain':>10}{'total':>10}")
        for name, (enq, drain, _) in (("custdata outbox", ours), ("bare sqlite3 loop", bare)):
            print(f"{name:28}{enq:>9.2f}s{drain:>9.2f}s{enq + drain:>9.2f}s")
        ratios = (ours[0] / bare[0], ours[1] / bare[1], (ours[0] + ours[1]) / (bare[0] + bare[1]))
        print(f"{'ratio (target <= 3.0)':28}{ratios[0]:>10.2f}{ratios[1]:>10.2f}{ratios[2]:>10.2f}")
        size = f"{args.n:,}"
        bare_name = "bare sqlite3 loop, same rows and transactions"
        record(
            "outbox",
            "enqueue + drain to RecordingNotifier",
            ours[0] + ours[1],
            bare_name,
            bare[0] + bare[1],
            target=3.0,
            size=size,
        )
        record("outbox", "drain only", ours[1], bare_name, bare[1], size=size)
        if args.smtp:
            through, plain = run_smtp(folder, args.smtp)
            print(f"\n{args.smtp} messages to a local SMTP server (aiosmtpd Sink, own process)")
            print(f"  through the outbox (Dispatcher + SMTPNotifier): {args.smtp / through:8.0f} messages/s")
            print(f"  SMTPNotifier in a plain loop (no outbox):        {args.smtp / plain:8.0f} messages/s")
            rate = f"{args.smtp / through:.0f} messages/s through the outbox, {args.smtp / plain:.0f} without"
            record(
                "outbox",
                "drain to a local SMTP server",
                through,
                "SMTPNotifier in a plain loop",
                plain,
                size=f"{args.smtp:,}",
                note=rate,
            )


if __name__ == "__main__":
    main()
