"""Log events and spans: the names are the table of docs/observability.md, every one is logged somewhere, and no
record or span of a whole run (workflows, dispatch with failures, erasure, retention) holds personal data."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Customer, EmailAddress, Money, Order, OrderLine, PhoneNumber
from custdata import _telemetry as telemetry
from custdata.notify import RecordingNotifier, SendResult
from custdata.outbox import Dispatcher
from custdata.privacy import RetentionPolicy, erase_customer, sweep
from custdata.storage import open_store
from custdata.workflows import Shop, Workflows

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "custdata"
PAGE = ROOT / "docs" / "observability.md"
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
ROW = re.compile(r"^\| `(?P<event>[a-z_.]+)` \| `(?P<logger>[a-z_.]+)` \| (?P<level>[A-Z]+) \|", re.MULTILINE)


def test_the_events_are_the_table_of_the_docs() -> None:
    documented = {m["event"]: (m["logger"], m["level"]) for m in ROW.finditer(PAGE.read_text(encoding="utf-8"))}
    assert documented == dict(telemetry.EVENTS)


def test_every_event_is_logged_somewhere_and_no_other_is() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py") if p.name != "_telemetry.py")
    for event in telemetry.EVENTS:
        assert f'"{event}"' in sources, f"{event} is never logged"
    for event in re.findall(r'log_event\(\s*\w+,\s*"([^"]+)"', sources):
        assert event in telemetry.EVENTS


def test_a_record_starts_with_its_event_and_carries_it(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("custdata.outbox")
    with caplog.at_level(logging.DEBUG, logger="custdata.outbox"):
        telemetry.log_event(logger, "outbox.sent", entry="msg_1", attempts=2, reason=None)
    (record,) = caplog.records
    assert record.getMessage() == "outbox.sent entry=msg_1 attempts=2"
    assert record.event == "outbox.sent"  # type: ignore[attr-defined]
    assert record.fields == {"entry": "msg_1", "attempts": 2}  # type: ignore[attr-defined]
    assert record.levelname == "INFO"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger("custdata")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _spans() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def run_everything(given_name: str, family_name: str, email: str, body: str, clock: list[datetime]) -> None:
    """Workflows, a dispatch with a sent message, an echoing transient failure and a permanent one, a timer,
    erasure and a retention sweep, all with the person's values in them."""
    store = open_store("memory://")
    with store.unit_of_work() as uow:
        for n in (1, 2, 3):
            uow.customers.add(
                Customer(
                    id=f"cus_{n}",
                    created_at=T0 - timedelta(days=400),
                    given_name=given_name,
                    family_name=family_name,
                    email=EmailAddress.parse(f"{n}{email}"),
                    phone=PhoneNumber.parse("+4930123456"),
                )
            )
        uow.commit()
    shop = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
    flows = Workflows(shop=shop, clock=lambda: clock[0])
    for n in (1, 2, 3):
        line = OrderLine("l1", "SKU-1", body, 1, Money("10.00", "EUR"), variant={"note": body})
        order = Order(id=f"ord_{n}", customer_id=f"cus_{n}", currency="EUR", lines=(line,), placed_at=T0)
        flows.place(store, order, now=clock[0] + timedelta(days=1) if n == 3 else None)  # one held for later
    notifier = RecordingNotifier()

    def reply(message: Any) -> SendResult | None:
        if message.recipient.startswith("2"):
            return SendResult.transient(f"451 {message.recipient} {given_name} busy")
        if message.recipient.startswith("3"):
            return SendResult.permanent(f"550 {family_name} <{message.recipient}> unknown", code=550)
        return None

    notifier.fail_when(reply)
    dispatcher = Dispatcher(store, notifier, clock=lambda: clock[0])
    dispatcher.drain()
    clock[0] = T0 + timedelta(days=2)
    dispatcher.drain()
    flows.run_due(store, now=T0 + timedelta(days=120))
    erase_customer(store, "cus_2", clock=lambda: clock[0])
    sweep(store, RetentionPolicy(communications=timedelta(days=1)), clock=lambda: T0 + timedelta(days=200))
    dispatcher.status()
    store.close()


def _texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args), repr(record.msg)]
    texts += [repr(v) for k, v in vars(record).items() if k in ("event", "fields")]
    if record.exc_info:
        texts.append(logging.Formatter().formatException(record.exc_info))
    return texts


names = st.from_regex(r"[A-Z][a-z]{5,9}", fullmatch=True).map(lambda s: f"Zq{s}")


@settings(max_examples=8, deadline=None)
@given(given_name=names, family_name=names, body=names, user=st.from_regex(r"[a-z]{6,10}", fullmatch=True))
def test_no_record_and_no_span_holds_personal_data(given_name: str, family_name: str, body: str, user: str) -> None:
    provider, exporter = _spans()
    handler = Capture()
    root = logging.getLogger("custdata")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    email = f"zz{user}@sentinel-mail.example"
    saved = telemetry._TRACER, telemetry._LOADED
    telemetry._TRACER, telemetry._LOADED = provider.get_tracer("custdata"), True
    try:
        run_everything(given_name, family_name, email, body, [T0])
    finally:
        telemetry._TRACER, telemetry._LOADED = saved
        root.removeHandler(handler)
        root.setLevel(level)
    events = {getattr(r, "event", None) for r in handler.records}
    # the run did log: sends, a retry, a failure, a held message, the erasure and the sweep
    assert {"outbox.sent", "outbox.retry", "outbox.failed", "workflow.held", "privacy.erased"} <= events
    assert "privacy.retention_sweep" in events
    spans = exporter.get_finished_spans()
    assert {"custdata.outbox.drain", "custdata.outbox.send", "custdata.workflow.handle"} <= {s.name for s in spans}
    secrets = [given_name, family_name, body, user, "sentinel-mail", "redacted"]
    for record in handler.records:
        for text in _texts(record):
            for secret in secrets:
                assert secret.lower() not in text.lower(), (secret, text)
    for span in spans:
        text = repr(dict(span.attributes or {})) + span.name
        for secret in secrets:
            assert secret.lower() not in text.lower(), (secret, text)


def test_spans_carry_the_drain_and_each_send() -> None:
    provider, exporter = _spans()
    saved = telemetry._TRACER, telemetry._LOADED
    telemetry._TRACER, telemetry._LOADED = provider.get_tracer("custdata"), True
    try:
        run_everything("Jane", "Doe", "@example.com", "Trail shoe", [T0])
    finally:
        telemetry._TRACER, telemetry._LOADED = saved
    spans = exporter.get_finished_spans()
    sends = [s for s in spans if s.name == "custdata.outbox.send"]
    drains = [s for s in spans if s.name == "custdata.outbox.drain"]
    assert {s.attributes["custdata.outcome"] for s in sends} >= {"sent", "pending", "failed"}
    assert all(s.parent is not None and s.parent.span_id in {d.context.span_id for d in drains} for s in sends)
    assert sum(int(d.attributes["custdata.sent"]) for d in drains) >= 1
    assert any("custdata.waiting" in d.attributes for d in drains)


def _fresh(code: str, *, block: bool) -> subprocess.CompletedProcess[str]:
    script = ("import sys\nsys.modules['opentelemetry'] = None\n" if block else "") + code
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


DISPATCH = """
from datetime import UTC, datetime, timedelta
from custdata import Customer, Topic
from custdata.notify import Message, RecordingNotifier
from custdata.outbox import Dispatcher, enqueue
from custdata.storage import open_store
t0 = datetime(2024, 5, 6, 9, tzinfo=UTC)
store = open_store("memory://")
with store.unit_of_work() as uow:
    uow.customers.add(Customer(id="cus_1", created_at=t0))
    enqueue(uow, Message(idempotency_key="k", channel="email", topic=Topic.ORDER_SHIPPED, recipient="a@b.example",
                         subject="s", text="t"), customer_id="cus_1", now=t0)
    uow.commit()
report = Dispatcher(store, RecordingNotifier(), clock=lambda: t0).drain()
print(report.sent, report.waiting, any(k.startswith("opentelemetry") and sys.modules[k] for k in list(sys.modules)))
"""


def test_without_opentelemetry_nothing_changes() -> None:
    result = _fresh("import sys\n" + DISPATCH, block=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "False"]


def test_with_opentelemetry_set_up_the_global_provider_gets_the_spans() -> None:
    setup = (
        "import sys\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "exporter = InMemorySpanExporter()\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "trace.set_tracer_provider(provider)\n"
    )
    code = setup + DISPATCH + "print(sorted({s.name for s in exporter.get_finished_spans()}))\n"
    result = _fresh(code, block=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["1", "0"]
    assert lines[1] == "['custdata.outbox.drain', 'custdata.outbox.send']"
