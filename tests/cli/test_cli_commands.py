"""``custdata export``, ``segments``, ``dedupe`` and ``dispatch`` end to end, on a small demo store."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from cli_helpers import run_cli

from custdata import Customer, EmailAddress, Money, Order, OrderLine, from_json
from custdata.demo import DEMO_SHOP
from custdata.outbox import outbox_status
from custdata.storage import open_store, walk
from custdata.workflows import Workflows


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    result = run_cli("demo", "--customers", "250", "--days", "2", "--seed", "3", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "custdata.db"


def _copy(store: Path, folder: Path) -> Path:
    target = folder / "shop.db"
    shutil.copy(store, target)
    return target


def test_export_records_as_json_lines(demo_store: Path, tmp_path: Path) -> None:
    model: type[Customer] | type[Order]
    for kind, model in (("customers", Customer), ("orders", Order)):
        result = run_cli("export", kind, "--store", str(demo_store), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) > 100
        items: list[Customer | Order] = [from_json(model, line) for line in lines[:50]]
        assert [str(i.id) for i in items] == sorted(str(i.id) for i in items)
    written = run_cli("export", "activity", "-o", "a.jsonl", "--store", str(demo_store), cwd=tmp_path)
    assert written.returncode == 0 and "activity written to a.jsonl" in written.stderr
    with open_store(f"sqlite:///{demo_store}") as store, store.unit_of_work() as uow:
        assert len((tmp_path / "a.jsonl").read_text().splitlines()) == uow.activity.count()


def test_export_one_customer(demo_store: Path, tmp_path: Path) -> None:
    result = run_cli("export", "customer", "cus_demo000001", "--store", str(demo_store), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "custdata.customer-export" and document["customer_id"] == "cus_demo000001"
    assert document["counts"]["orders"] == len(document["orders"])
    missing = run_cli("export", "customer", "cus_nobody", "--store", str(demo_store), cwd=tmp_path)
    assert missing.returncode == 5 and "cus_nobody" in missing.stderr and "Traceback" not in missing.stderr
    assert run_cli("export", "customer", "--store", str(demo_store), cwd=tmp_path).returncode == 2
    assert run_cli("export", "orders", "x", "--store", str(demo_store), cwd=tmp_path).returncode == 2


def test_segments(demo_store: Path, tmp_path: Path) -> None:
    result = run_cli("segments", "--as-of", "2026-06-30T12:00Z", "--json", "--store", str(demo_store), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sizes = json.loads(result.stdout)
    assert sum(sizes["rfm"].values()) > 200 and sizes["segments"]["VIP"] > 0
    text = run_cli("segments", "--as-of", "2026-06-30", "--store", str(demo_store), cwd=tmp_path)
    assert "Champions" in text.stdout and "first-time shoppers" in text.stdout
    bad = run_cli("segments", "--as-of", "soon", "--store", str(demo_store), cwd=tmp_path)
    assert bad.returncode == 2 and "--as-of" in bad.stderr


def test_dedupe_report_and_merge(demo_store: Path, tmp_path: Path) -> None:
    store = _copy(demo_store, tmp_path)
    listed = run_cli("dedupe", "--json", "--store", str(store), cwd=tmp_path)
    pairs = [json.loads(line) for line in listed.stdout.splitlines()]
    assert pairs and all(p["evidence"] for p in pairs)
    assert "@" not in listed.stdout  # ids and evidence only, no personal data
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        guests = {str(c.id) for c in walk(lambda cursor: uow.customers.search(cursor=cursor)) if c.is_guest}
    # pairs with a registered account are held for review, however high they score; only guests merge
    held = [p for p in pairs if p["reason"]]
    assert held and all(p["decision"] == "review" and p["score"] >= 26 for p in held)
    assert all({p["left"], p["right"]} <= guests for p in pairs if p["decision"] == "auto_merge")
    merged = run_cli("dedupe", "--merge", "--show", "0", "--store", str(store), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "merged" in merged.stdout
    after = run_cli("dedupe", "--json", "--store", str(store), cwd=tmp_path)
    assert not [line for line in after.stdout.splitlines() if '"auto_merge"' in line]


def _place_orders(store_path: Path, count: int) -> None:
    workflows = Workflows(shop=DEMO_SHOP)
    now = datetime.now(UTC)
    with open_store(f"sqlite:///{store_path}") as store:
        with store.unit_of_work() as uow:
            if not uow.customers.get_many(["cus_cli"]):
                uow.customers.add(Customer(id="cus_cli", created_at=now, email=EmailAddress.parse("cli@example.com")))
                uow.commit()
        for i in range(count):
            order = Order(
                id=f"ord_cli_{i}_{now.timestamp()}",
                customer_id="cus_cli",
                currency="EUR",
                lines=(OrderLine("l1", "SKU", "Thing", 1, Money("10.00", "EUR")),),
                placed_at=datetime.now(UTC),
            )
            workflows.place(store, order)


def test_dispatch_once_and_follow(demo_store: Path, tmp_path: Path) -> None:
    store = _copy(demo_store, tmp_path)
    _place_orders(store, 2)
    once = run_cli("dispatch", "--store", str(store), "--folder", "out", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    sent = int(once.stdout.split("sent ")[1].split(",")[0])
    assert sent >= 1 and len(list((tmp_path / "out").iterdir())) == sent
    again = run_cli("dispatch", "--store", str(store), "--folder", "out", cwd=tmp_path).stdout
    assert "sent 0," in again
    # what still waits is said, as the library counts it
    with open_store(f"sqlite:///{store}") as opened:
        status = outbox_status(opened)
    assert f"waiting {status.waiting}" in again
    assert ("next due" in again) == (status.next_due_at is not None)
    assert run_cli("dispatch", "--store", str(store), cwd=tmp_path).returncode == 2  # where to? no default
    command = [sys.executable, "-m", "custdata", "dispatch", "--follow", "--idle", "0.2", "--store", str(store)]
    command += ["--folder", "custdata-messages"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        _place_orders(store, 1)
        deadline = time.monotonic() + 30
        folder = tmp_path / "custdata-messages"
        while time.monotonic() < deadline and not (folder.exists() and any(folder.iterdir())):
            time.sleep(0.2)
        assert folder.exists() and any(folder.iterdir())
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "sent 1," in out or "sent 2," in out


def test_dispatch_usage_errors(tmp_path: Path) -> None:
    result = run_cli("dispatch", "--smtp", "127.0.0.1:2525", "--store", str(tmp_path / "s.db"), cwd=tmp_path)
    assert result.returncode == 2 and "--sender" in result.stderr


@pytest.mark.parametrize(
    "command", ["demo", "import", "export", "dedupe", "segments", "erase", "dispatch", "dead-letters"]
)
def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    result = run_cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--store" in result.stdout


def test_top_level_help_and_version(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, script=True)
    assert result.returncode == 0 and "Exit codes" in result.stdout
    assert run_cli("--version", cwd=tmp_path).stdout.startswith("custdata ")
    assert run_cli(cwd=tmp_path).returncode == 2


def test_erase(demo_store: Path, tmp_path: Path) -> None:
    store = _copy(demo_store, tmp_path)
    with open_store(f"sqlite:///{store}") as opened, opened.unit_of_work() as uow:
        customer = next(c for c in uow.customers.search(limit=50) if c.email is not None)
    assert customer.email is not None
    email = customer.email.value.encode()
    refused = run_cli("erase", str(customer.id), "--store", str(store), cwd=tmp_path, stdin="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    missing = run_cli("erase", str(customer.id), "cus_nobody", "--yes", "--store", str(store), cwd=tmp_path)
    assert missing.returncode == 5 and "nothing erased" in missing.stderr
    assert email in store.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("shop.db-*"))
    erased = run_cli("erase", str(customer.id), "--yes", "--store", str(store), cwd=tmp_path)
    assert erased.returncode == 0, erased.stderr
    assert "store purged" in erased.stdout
    leftovers = store.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("shop.db-*"))
    assert email not in leftovers
    export = json.loads(run_cli("export", "customer", str(customer.id), "--store", str(store), cwd=tmp_path).stdout)
    assert export["profile"]["redacted_at"] is not None and export["profile"]["email"] is None


def test_export_into_a_closed_pipe_stops_quietly(demo_store: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "custdata", "export", "orders", "--store", str(demo_store)]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(200)
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert b"Traceback" not in process.stderr.read()


class _PortZeroController(Controller):
    """An aiosmtpd controller on a free port chosen by the kernel."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 2.0.0 OK: queued"


def test_dispatch_through_a_real_smtp_server(demo_store: Path, tmp_path: Path) -> None:
    store = _copy(demo_store, tmp_path)
    _place_orders(store, 2)
    inbox = _Inbox()
    controller = _PortZeroController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        address = f"127.0.0.1:{controller.port}"
        args = ("dispatch", "--smtp", address, "--security", "none", "--sender", "shop@example.com")
        result = run_cli(*args, "--store", str(store), cwd=tmp_path)
    finally:
        controller.stop()
    assert result.returncode == 0, result.stderr
    sent = int(result.stdout.split("sent ")[1].split(",")[0])
    assert sent >= 1 and len(inbox.messages) == sent
    assert any(b"cli@example.com" in m for m in inbox.messages)
