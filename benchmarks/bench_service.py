"""The example shop service (examples/fastapi_shop) under load, against the same two endpoints on raw psycopg.

    python benchmarks/bench_service.py [--requests 300] [--concurrency 8] [--url postgresql://...] [--quick]

Both sides run under uvicorn on 127.0.0.1, each in a process of its own, against PostgreSQL (a throwaway server
is started without ``--url``), and are driven by one httpx async client at a fixed concurrency: half the requests
register a customer, the other half place an order as one of them (``POST /customers``, then ``POST /orders``
with the customer's bearer token).

Both sides do the same durable work and send the same mail, while the requests go on:

- **custdata**: the example service. A registration looks the address up (the answer is the same whether it
  has an account or not), opens the account and queues the sign-in mail in the outbox; an order reads the
  customer, places the order and queues its confirmation through the workflows, in one transaction each. The
  service's dispatcher (a lifespan task) sends the mails through its webhook notifier.
- **baseline**: a minimal FastAPI app in this file, written the way a user's own service would be on a psycopg
  ``AsyncConnectionPool``. Its request bodies are pydantic models, FastAPI's documented idiom, with the checks a
  careful user would declare and no more: an ``EmailStr`` address and a bounded ``given_name``; a three-letter
  currency code, one to 100 lines, each with a bounded sku and product name, a quantity from 1 to 10,000 and a
  ``Decimal`` unit price of at most two decimal places and not negative; unknown fields refused
  (``extra="forbid"``). Bad input is answered 422, FastAPI's way. A registration looks the address up, inserts the customer and a row in its own
  ``outbox`` table (the mail with the HMAC-signed token) in one transaction; an order checks the token, reads
  the customer and inserts the order, its lines and the confirmation's outbox row in one transaction. A
  background task of the app leases pending rows (``FOR UPDATE SKIP LOCKED``), POSTs each as a signed webhook
  and marks it sent.

On both sides the mails go to a webhook receiver in this process, polled every 0.05 s when idle; the orders
start once every sign-in token has arrived (that wait is not timed).

Both services run under the same server settings: one uvicorn process each on 127.0.0.1, log level ``warning``,
no access log, uvicorn's default event loop and HTTP parser; a connection pool of 2 to 10 connections each, the
same idle wait of each sender.

Reported: p50 and p99 latency of all requests and requests per second (the time of both phases); the ratio is
custdata's time over the baseline's, with the target 1.5. Beside it, each service's own CPU time (user and
system, read from ``/proc``) per request, from the start of the timed requests until every mail they owe has
reached the receiver: the mails' sending is part of a request's cost on both sides. With the throwaway server, the
CPU time PostgreSQL used in the same span (its postmaster and every process it started) is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from _report import record
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, EmailStr, Field

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "_support"))
from pg_test_server import PostgresServer  # noqa: E402

#: How long either side's sender waits when no mail is pending (seconds).
IDLE = "0.05"

ORDER = {"currency": "EUR", "lines": [{"sku": "MUG-1", "product_name": "Mug", "quantity": 2, "unit_price": "9.50"}]}


# --- the baseline: the same two endpoints on raw psycopg -------------------------------------------------------

BASELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id text PRIMARY KEY, email text NOT NULL, given_name text, created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS customers_email ON customers (lower(email));
CREATE TABLE IF NOT EXISTS orders (
    id text PRIMARY KEY, customer_id text NOT NULL REFERENCES customers (id), currency text NOT NULL,
    total numeric NOT NULL, placed_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id text NOT NULL REFERENCES orders (id), line int NOT NULL, sku text NOT NULL, product_name text NOT NULL,
    quantity int NOT NULL, unit_price numeric NOT NULL, PRIMARY KEY (order_id, line)
);
CREATE TABLE IF NOT EXISTS outbox (
    id text PRIMARY KEY, customer_id text NOT NULL, topic text NOT NULL, recipient text NOT NULL,
    subject text NOT NULL, body text NOT NULL, state text NOT NULL DEFAULT 'pending', attempts int NOT NULL DEFAULT 0,
    leased_until timestamptz, created_at timestamptz NOT NULL, sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at) WHERE state = 'pending';
"""

#: Lease a batch of pending mails (or mails whose lease ran out: a crashed sender), as a user's own sender would.
LEASE = """
UPDATE outbox SET leased_until = now() + interval '5 minutes', attempts = attempts + 1
 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND (leased_until IS NULL OR leased_until < now())
              ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING id, topic, recipient, subject, body
"""


class Registration(BaseModel):
    """The baseline's registration body."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    given_name: str | None = Field(default=None, min_length=1, max_length=256)


class Line(BaseModel):
    """One line of the baseline's order body."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=128)
    product_name: str = Field(min_length=1, max_length=512)
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class Placement(BaseModel):
    """The baseline's order body."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern="^[A-Z]{3}$")
    lines: list[Line] = Field(min_length=1, max_length=100)


def baseline_app(dsn: str, secret: bytes, mail_url: str, mail_secret: bytes, idle: float) -> Any:
    """Registration and order placement as a user's own service would write them on psycopg: each request's rows
    and the mail it owes (a row in ``outbox``, in the same transaction); a background task sends the mails."""
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(dsn, min_size=2, max_size=10, open=False)

    def sign(body: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(secret, body.encode(), hashlib.sha256).digest()).decode()

    async def queue_mail(conn: Any, customer_id: str, topic: str, recipient: str, subject: str, body: str) -> None:
        await conn.execute(
            "INSERT INTO outbox (id, customer_id, topic, recipient, subject, body, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (f"msg_{uuid.uuid4().hex}", customer_id, topic, recipient, subject, body, datetime.now(UTC)),
        )

    async def send_mails(stop: asyncio.Event) -> None:
        """Lease pending mails, POST each as a signed webhook, and mark it sent (the custdata side's dispatcher
        does the same through its webhook notifier)."""
        async with httpx.AsyncClient(timeout=10) as client:
            while not stop.is_set():
                async with pool.connection() as conn:
                    batch = await (await conn.execute(LEASE)).fetchall()
                for mail_id, topic, recipient, subject, body in batch:
                    payload = json.dumps(
                        {"id": mail_id, "topic": topic, "recipient": recipient, "subject": subject, "text": body}
                    ).encode()
                    stamp = str(int(time.time()))
                    signed = hmac.new(mail_secret, f"{mail_id}.{stamp}.".encode() + payload, hashlib.sha256)
                    headers = {
                        "content-type": "application/json",
                        "webhook-id": mail_id,
                        "webhook-timestamp": stamp,
                        "webhook-signature": "v1," + base64.b64encode(signed.digest()).decode(),
                    }
                    answer = await client.post(mail_url, content=payload, headers=headers)
                    async with pool.connection() as conn:
                        await conn.execute(
                            "UPDATE outbox SET state = %s, sent_at = now(), leased_until = NULL WHERE id = %s",
                            ("sent" if answer.status_code < 300 else "pending", mail_id),
                        )
                if not batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), idle)

    async def lifespan(app: FastAPI) -> Any:
        await pool.open()
        async with pool.connection() as conn:
            await conn.execute(BASELINE_SCHEMA)
        stop = asyncio.Event()
        sender = asyncio.create_task(send_mails(stop))
        yield
        stop.set()
        await sender
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/customers", status_code=202)
    async def register(payload: Registration) -> dict[str, str]:
        email = payload.email
        async with pool.connection() as conn, conn.transaction():
            found = await (
                await conn.execute("SELECT id FROM customers WHERE lower(email) = lower(%s)", (email,))
            ).fetchone()
            if found is None:
                customer_id, intro = f"cus_{uuid.uuid4().hex}", "welcome to the shop."
                await conn.execute(
                    "INSERT INTO customers (id, email, given_name, created_at) VALUES (%s, %s, %s, %s)",
                    (customer_id, email, payload.given_name, datetime.now(UTC)),
                )
            else:
                customer_id, intro = found[0], "someone asked to open an account with this address. If it was you:"
            token = f"{customer_id}.{sign(customer_id)}"
            text = f"Hello,\n\n{intro}\nSign in: https://shop.test/sign-in#token={token}\n"
            await queue_mail(conn, customer_id, "account", email, "Sign in to the shop", text)
        return {"status": "accepted", "detail": "Check your inbox to continue."}

    @app.post("/orders", status_code=201)
    async def place(payload: Placement, authorization: str = Header()) -> dict[str, Any]:
        customer_id, _, signature = authorization.removeprefix("Bearer ").partition(".")
        if not hmac.compare_digest(sign(customer_id), signature):
            raise HTTPException(401)
        order_id = f"ord_{uuid.uuid4().hex}"
        lines = payload.lines
        total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        async with pool.connection() as conn, conn.transaction():
            found = await conn.execute("SELECT email, given_name FROM customers WHERE id = %s", (customer_id,))
            customer = await found.fetchone()
            if customer is None:
                raise HTTPException(404)
            await conn.execute(
                "INSERT INTO orders (id, customer_id, currency, total, placed_at) VALUES (%s, %s, %s, %s, %s)",
                (order_id, customer_id, payload.currency, total, datetime.now(UTC)),
            )
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO order_lines VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (order_id, i + 1, line.sku, line.product_name, line.quantity, line.unit_price)
                        for i, line in enumerate(lines)
                    ],
                )
            listing = "".join(f"{line.quantity} x {line.product_name}  {line.unit_price}\n" for line in lines)
            text = f"Hello {customer[1] or ''},\n\nthank you for your order {order_id}:\n{listing}Total: {total}\n"
            await queue_mail(conn, customer_id, "transactional", customer[0], f"Your order {order_id}", text)
        return {"order_id": order_id, "total": str(total)}

    return app


# --- running the two services ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """A webhook receiver standing in for the mail gateway: it keeps the sign-in token of each address."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.count = 0
        lock = threading.Lock()  # the handler runs in a thread per connection
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    box.count += 1
                    if message["topic"] == "account":
                        box.tokens[message["recipient"]] = message["text"].split("#token=")[1].split()[0]
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/mail"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited with status {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not start within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# --- the load ---------------------------------------------------------------------------------------------------


async def drive(port: int, n: int, concurrency: int, tag: str, tokens_of: Any) -> tuple[list[float], float]:
    """Register ``n // 2`` customers, then place an order for each; latencies and the timed seconds."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as client:

        async def phase(requests: list[tuple[str, dict[str, Any], dict[str, str]]]) -> float:
            queue = list(reversed(requests))

            async def worker() -> None:
                while queue:
                    path, body, headers = queue.pop()
                    began = time.perf_counter()
                    answer = await client.post(path, json=body, headers=headers)
                    latencies.append(time.perf_counter() - began)
                    if answer.status_code >= 300:
                        raise RuntimeError(f"{path}: HTTP {answer.status_code} {answer.text[:300]}")
                    answers[body.get("email", "")] = answer.json()

            answers: dict[str, Any] = {}
            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            phase.answers = answers  # type: ignore[attr-defined]
            return time.perf_counter() - began

        emails = [f"load-{tag}-{i}@example.com" for i in range(n // 2)]
        timed = await phase([("/customers", {"email": e, "given_name": "Load"}, {}) for e in emails])
        tokens = await tokens_of(emails, phase.answers)  # type: ignore[attr-defined]
        orders = [("/orders", ORDER, {"authorization": f"Bearer {tokens[e]}"}) for e in emails]
        timed += await phase(orders)
    return latencies, timed


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) process ``pid`` has used so far; None where ``/proc`` is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(postmaster: int | None) -> float | None:
    """The CPU time the PostgreSQL server has used so far: its postmaster, its live processes (backends, writers)
    and those that ended; None without a server of our own or ``/proc``."""
    if postmaster is None:
        return None

    def used(pid: int, *, ended: bool = False) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if ended else 0)
        return ticks / os.sysconf("SC_CLK_TCK")

    try:
        total = used(postmaster, ended=True)
    except OSError:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[1]) == postmaster:
                total += used(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile: its time is the postmaster's now
    return total


def summary(latencies: list[float], seconds: float, cpu: float | None = None, server: float | None = None) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    text = f"p50 {cuts[49] * 1e3:.1f} ms, p99 {cuts[98] * 1e3:.1f} ms, {len(latencies) / seconds:.0f} req/s"
    if cpu is not None:
        text = f"{text}, {cpu / len(latencies) * 1e3:.2f} ms CPU per request"
    if server is not None:
        text = f"{text} (PostgreSQL {server / len(latencies) * 1e3:.2f} ms)"
    return text


def settle(mailbox: Mailbox, total: int) -> None:
    """Wait until the receiver has had ``total`` mails in all."""
    deadline = time.monotonic() + 120
    while mailbox.count < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{total - mailbox.count} mails did not arrive within 120 s")
        time.sleep(0.01)


def measured(
    port: int, pid: int, mailbox: Mailbox, n: int, concurrency: int, tag: str, tokens_of: Any, postmaster: int | None
) -> tuple[list[float], float, float | None, float | None]:
    """Warm the service up, then time ``n`` requests: their latencies, the seconds, and the CPU the service and the
    PostgreSQL server used for them, until the receiver has every mail they owe (a sign-in mail per registration, a
    confirmation per order)."""
    warm = mailbox.count + 16  # 8 sign-in mails and 8 confirmations
    asyncio.run(drive(port, 16, concurrency, f"warm-{tag}", tokens_of))
    settle(mailbox, warm)
    owed = mailbox.count + 2 * (n // 2)
    before, server_before = cpu_seconds(pid), server_cpu_seconds(postmaster)
    latencies, seconds = asyncio.run(drive(port, n, concurrency, tag, tokens_of))
    settle(mailbox, owed)
    after, server_after = cpu_seconds(pid), server_cpu_seconds(postmaster)
    cpu = None if before is None or after is None else after - before
    server = None if server_before is None or server_after is None else server_after - server_before
    return latencies, seconds, cpu, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per side: half register, half order")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    parser.add_argument("--url", help="an existing database to use instead of a throwaway server")
    parser.add_argument("--quick", action="store_true", help="60 requests, to check that it runs")
    parser.add_argument("--serve-baseline", nargs=2, metavar=("DSN", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        import uvicorn

        dsn, port = args.serve_baseline
        app = baseline_app(
            dsn,
            os.environ["BASELINE_SECRET"].encode(),
            os.environ["BASELINE_MAIL_URL"],
            os.environ["BASELINE_MAIL_SECRET"].encode(),
            float(os.environ["BASELINE_SEND_IDLE"]),
        )
        uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)
        return
    if args.quick:
        args.requests = 60

    server = None if args.url else PostgresServer.start()
    url = args.url or server.url("postgres")  # type: ignore[union-attr]
    postmaster = None
    if server is not None:
        with contextlib.suppress(OSError, ValueError):
            postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    try:
        run(url, args.requests, args.concurrency, postmaster)
    finally:
        if server is not None:
            server.stop()


def run(url: str, n: int, concurrency: int, postmaster: int | None = None) -> None:
    join = "&" if "?" in url else "?"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), str(ROOT / "src")])}
    mailbox = Mailbox()
    size = f"{n} requests, concurrency {concurrency}"
    try:
        port = free_port()
        shop_env = {
            **env,
            "SHOP_SECRET": secrets.token_hex(32),
            "SHOP_CARRIER_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            "SHOP_STORE_URL": f"{url}{join}schema=bench_service&pool_min_size=2&pool_max_size=10",
            "SHOP_NOTIFIER": f"webhook:{mailbox.url}",
            "SHOP_NOTIFIER_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            "SHOP_DISPATCH_IDLE": IDLE,
        }
        uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
        shop = start(
            [*uvicorn, "--log-level", "warning", "--no-access-log", "--factory", "fastapi_shop.app:create_app"],
            shop_env,
            port,
        )

        async def mailed(emails: list[str], _answers: Any) -> dict[str, str]:
            deadline = time.monotonic() + 120
            while not all(e in mailbox.tokens for e in emails):
                if time.monotonic() > deadline:
                    raise RuntimeError("the sign-in mails did not all arrive within 120 s")
                await asyncio.sleep(0.05)
            return mailbox.tokens

        try:
            ours, ours_seconds, ours_cpu, ours_server = measured(
                port, shop.pid, mailbox, n, concurrency, "ours", mailed, postmaster
            )
        finally:
            stop(shop)
        print(f"custdata example service: {summary(ours, ours_seconds, ours_cpu, ours_server)}", flush=True)

        with __import__("psycopg").connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bench_raw")
        port = free_port()
        base_env = {
            **env,
            "BASELINE_SECRET": secrets.token_hex(32),
            "BASELINE_MAIL_URL": mailbox.url,
            "BASELINE_MAIL_SECRET": secrets.token_hex(32),
            "BASELINE_SEND_IDLE": IDLE,
        }
        dsn = f"{url}{join}options=-csearch_path%3Dbench_raw"
        baseline = start([sys.executable, __file__, "--serve-baseline", dsn, str(port)], base_env, port)

        try:
            raw, raw_seconds, raw_cpu, raw_server = measured(
                port, baseline.pid, mailbox, n, concurrency, "raw", mailed, postmaster
            )
        finally:
            stop(baseline)
        print(f"raw psycopg endpoints:      {summary(raw, raw_seconds, raw_cpu, raw_server)}", flush=True)
    finally:
        mailbox.close()

    record(
        "service",
        "register, then order (example service, PostgreSQL)",
        ours_seconds,
        "the same endpoints on raw psycopg",
        raw_seconds,
        target=1.5,
        size=size,
        note=(
            f"custdata {summary(ours, ours_seconds, ours_cpu, ours_server)}; "
            f"raw {summary(raw, raw_seconds, raw_cpu, raw_server)}"
        ),
    )
    print(f"ratio {ours_seconds / raw_seconds:.2f} (target <= 1.50)")


if __name__ == "__main__":
    main()
