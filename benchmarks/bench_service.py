"""The example shop service (examples/fastapi_shop) under load, against the same two endpoints on raw psycopg.

    python benchmarks/bench_service.py [--requests 300] [--concurrency 8] [--url postgresql://...] [--quick]

Both sides run under uvicorn on 127.0.0.1, each in a process of its own, against PostgreSQL (a throwaway server
is started without ``--url``), and are driven by one httpx async client at a fixed concurrency: half the requests
register a customer, the other half place an order as one of them (``POST /customers``, then ``POST /orders``
with the customer's bearer token).

- **custdata**: the example service. A registration answers the same whether the address has an account or not
  and mails the sign-in token, so the service's dispatcher sends it (a webhook notifier posting to a receiver in
  this process) while the requests go on; the orders start once every token has arrived (that wait is not timed),
  and each order queues its confirmation, which the dispatcher sends too.
- **baseline**: a minimal FastAPI app in this file: the registration inserts a row and answers with an HMAC-signed
  token, the order checks the token, reads the customer and inserts the order and its lines with plain SQL, on a
  psycopg ``AsyncConnectionPool``.

Reported: p50 and p99 latency of all requests and requests per second (the time of both phases); the ratio is
custdata's time over the baseline's, with the target 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from fastapi import FastAPI, HTTPException, Request

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "_support"))
from pg_test_server import PostgresServer  # noqa: E402

ORDER = {"currency": "EUR", "lines": [{"sku": "MUG-1", "product_name": "Mug", "quantity": 2, "unit_price": "9.50"}]}


# --- the baseline: the same two endpoints on raw psycopg -------------------------------------------------------

BASELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id text PRIMARY KEY, email text NOT NULL, given_name text, created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_email ON customers (lower(email));
CREATE TABLE IF NOT EXISTS orders (
    id text PRIMARY KEY, customer_id text NOT NULL REFERENCES customers (id), currency text NOT NULL,
    total numeric NOT NULL, placed_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id text NOT NULL REFERENCES orders (id), line int NOT NULL, sku text NOT NULL, product_name text NOT NULL,
    quantity int NOT NULL, unit_price numeric NOT NULL, PRIMARY KEY (order_id, line)
);
"""


def baseline_app(dsn: str, secret: bytes) -> Any:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(dsn, min_size=2, max_size=10, open=False)

    def sign(body: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(secret, body.encode(), hashlib.sha256).digest()).decode()

    async def lifespan(app: FastAPI) -> Any:
        await pool.open()
        async with pool.connection() as conn:
            await conn.execute(BASELINE_SCHEMA)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/customers", status_code=201)
    async def register(request: Request) -> dict[str, str]:
        payload = await request.json()
        customer_id = f"cus_{uuid.uuid4().hex}"
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO customers (id, email, given_name, created_at) VALUES (%s, %s, %s, %s)",
                (customer_id, payload["email"], payload.get("given_name"), datetime.now(UTC)),
            )
        return {"customer_id": customer_id, "token": f"{customer_id}.{sign(customer_id)}"}

    @app.post("/orders", status_code=201)
    async def place(request: Request) -> dict[str, Any]:
        customer_id, _, signature = request.headers["authorization"].removeprefix("Bearer ").partition(".")
        if not hmac.compare_digest(sign(customer_id), signature):
            raise HTTPException(401)
        payload = await request.json()
        order_id = f"ord_{uuid.uuid4().hex}"
        lines = payload["lines"]
        total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
        async with pool.connection() as conn, conn.transaction():
            found = await conn.execute("SELECT id FROM customers WHERE id = %s", (customer_id,))
            if await found.fetchone() is None:
                raise HTTPException(404)
            await conn.execute(
                "INSERT INTO orders (id, customer_id, currency, total, placed_at) VALUES (%s, %s, %s, %s, %s)",
                (order_id, customer_id, payload["currency"], total, datetime.now(UTC)),
            )
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO order_lines VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (order_id, i + 1, line["sku"], line["product_name"], line["quantity"], line["unit_price"])
                        for i, line in enumerate(lines)
                    ],
                )
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
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
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


def summary(latencies: list[float], seconds: float) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return f"p50 {cuts[49] * 1e3:.1f} ms, p99 {cuts[98] * 1e3:.1f} ms, {len(latencies) / seconds:.0f} req/s"


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
        app = baseline_app(dsn, os.environ["BASELINE_SECRET"].encode())
        uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)
        return
    if args.quick:
        args.requests = 60

    server = None if args.url else PostgresServer.start()
    url = args.url or server.url("postgres")  # type: ignore[union-attr]
    try:
        run(url, args.requests, args.concurrency)
    finally:
        if server is not None:
            server.stop()


def run(url: str, n: int, concurrency: int) -> None:
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
            "SHOP_STORE_URL": f"{url}{join}schema=bench_service&pool_max_size=10",
            "SHOP_NOTIFIER": f"webhook:{mailbox.url}",
            "SHOP_NOTIFIER_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            "SHOP_DISPATCH_IDLE": "0.05",
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
            asyncio.run(drive(port, 16, concurrency, "warm", mailed))
            ours, ours_seconds = asyncio.run(drive(port, n, concurrency, "ours", mailed))
        finally:
            stop(shop)
        print(f"custdata example service: {summary(ours, ours_seconds)}", flush=True)

        with __import__("psycopg").connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bench_raw")
        port = free_port()
        base_env = {**env, "BASELINE_SECRET": secrets.token_hex(32)}
        dsn = f"{url}{join}options=-csearch_path%3Dbench_raw"
        baseline = start([sys.executable, __file__, "--serve-baseline", dsn, str(port)], base_env, port)

        async def answered(emails: list[str], answers: dict[str, Any]) -> dict[str, str]:
            return {e: answers[e]["token"] for e in emails}

        try:
            asyncio.run(drive(port, 16, concurrency, "warm", answered))
            raw, raw_seconds = asyncio.run(drive(port, n, concurrency, "raw", answered))
        finally:
            stop(baseline)
        print(f"raw psycopg endpoints:      {summary(raw, raw_seconds)}", flush=True)
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
        note=f"custdata {summary(ours, ours_seconds)}; raw {summary(raw, raw_seconds)}",
    )
    print(f"ratio {ours_seconds / raw_seconds:.2f} (target <= 1.50)")


if __name__ == "__main__":
    main()
