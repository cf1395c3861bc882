"""The demo shop's pieces: valid, deterministic people and orders; the folder notifier."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.demo import DEFAULT_NOW, DemoSettings, demo_customers, run_demo
from custdata.notify import FolderNotifier, Message
from custdata.notify.result import Outcome
from custdata.storage import open_store, walk
from custdata.testing import Delivery, NotifierContract, NotifierHarness


def test_people_are_valid_deterministic_and_international() -> None:
    people = demo_customers(300, seed=3, now=DEFAULT_NOW)
    assert people == demo_customers(300, seed=3, now=DEFAULT_NOW)
    assert people != demo_customers(300, seed=4, now=DEFAULT_NOW)
    for customer in people.customers:
        customer.validate()
    countries = {a.country_code for c in people.customers for a in c.addresses}
    assert countries == {"DE", "GB", "FR", "ES", "US"}
    assert sum(1 for c in people.customers if c.addresses) > 280
    assert sum(1 for c in people.customers if c.phone) > 200
    ids = {c.id for c in people.customers}
    assert people.true_pairs and all(a in ids and b in ids for a, b in people.true_pairs)


def test_every_stored_order_is_valid_and_the_history_is_rich(tmp_path: Path) -> None:
    with open_store("memory://") as store:
        report = run_demo(store, DemoSettings(customers=200, days=3, seed=2, outbox_folder=tmp_path / "out"))
        with store.unit_of_work() as uow:
            orders = list(walk(lambda c: uow.orders.page(cursor=c, limit=500)))
    for order in orders:
        order.validate()
        assert order.placed_at <= DEFAULT_NOW
    statuses = {o.status.value for o in orders}
    assert {"delivered", "cancelled"} <= statuses
    events = {e.status.value for o in orders for s in o.shipments for e in s.events}
    assert {"in_transit", "delayed", "out_for_delivery", "delivered"} <= events
    assert report.counts["orders"] == len(orders)
    assert report.counts["returns"] > 0 and report.return_reasons
    assert len(list((tmp_path / "out").iterdir())) == report.outcomes["sent"]


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="customers"):
        DemoSettings(customers=0)
    with pytest.raises(ValidationError, match="days"):
        DemoSettings(days=400)
    with pytest.raises(ValidationError, match="now"):
        DemoSettings(now=datetime(2026, 1, 1))


def _message(key: str, text: str = "Hello") -> Message:
    return Message(
        idempotency_key=key,
        channel="email",
        topic="order_shipped",
        recipient="ada@example.com",
        subject="Hi",
        text=text,
    )


@settings(max_examples=25, deadline=None)
@given(key=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60))
def test_folder_notifier_one_file_per_key(tmp_path_factory: pytest.TempPathFactory, key: str) -> None:
    folder = tmp_path_factory.mktemp("msgs")
    notifier = FolderNotifier(folder)
    first = notifier.send(_message(key, "first"))
    second = notifier.send(_message(key, "second"))
    assert first.outcome == Outcome.SENT and first.provider_id == second.provider_id
    files = list(folder.iterdir())
    assert [f.name for f in files] == [first.provider_id]
    assert files[0].read_text(encoding="utf-8").endswith("second\n")


def test_folder_notifier_failures_are_results(tmp_path: Path) -> None:
    notifier = FolderNotifier(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    (tmp_path / "gone").write_text("a file where the folder was")
    result = notifier.send(_message("k"))
    assert result.outcome == Outcome.TRANSIENT_FAILURE
    with pytest.raises(ValidationError):
        notifier.send("not a message")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        FolderNotifier(42)  # type: ignore[arg-type]


def test_report_renders_every_figure(tmp_path: Path) -> None:
    with open_store("memory://") as store:
        report = run_demo(
            store, DemoSettings(customers=60, days=2, now=datetime(2026, 3, 1, tzinfo=UTC), outbox_folder=tmp_path)
        )
    text = report.render()
    for key in (*report.counts, *report.segments, *report.duplicates):
        assert key in text


def _read_delivery(path: Path) -> Delivery:
    head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines())
    unsubscribe = headers.get("List-Unsubscribe")
    return Delivery(
        identity=path.name,
        recipient=headers["To"],
        subject=headers.get("Subject"),
        text=body,
        unsubscribe_url=unsubscribe.strip("<>") if unsubscribe else None,
    )


class TestFolderNotifierContract(NotifierContract):
    def make_notifier(self) -> NotifierHarness:
        folder = Path(tempfile.mkdtemp())
        blocked = FolderNotifier(folder / "blocked")
        (folder / "blocked").rmdir()
        (folder / "blocked").write_text("not a folder")
        return NotifierHarness(
            notifier=FolderNotifier(folder / "out"),
            received=lambda: [_read_delivery(p) for p in sorted((folder / "out").iterdir())],
            unreachable=blocked,
            html=False,
            close=lambda: shutil.rmtree(folder, ignore_errors=True),
        )
