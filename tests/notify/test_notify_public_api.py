"""The notify package's public surface: curated, documented, and light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import custdata.notify

EXPECTED = {
    "AppriseNotifier",
    "AsyncWebhookNotifier",
    "Attempt",
    "ChannelRouter",
    "ClosableNotifier",
    "FolderNotifier",
    "Message",
    "Notifier",
    "Outcome",
    "RecordingNotifier",
    "SMTPNotifier",
    "SMTPSecurity",
    "SendResult",
    "WebhookNotifier",
}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "notifiers.md"


def test_all_is_sorted_curated_and_documented() -> None:
    assert list(custdata.notify.__all__) == sorted(custdata.notify.__all__)
    assert set(custdata.notify.__all__) == EXPECTED
    text = DOCS.read_text(encoding="utf-8")
    for name in custdata.notify.__all__:
        assert getattr(custdata.notify, name).__doc__, f"custdata.notify.{name} has no docstring"
        assert f"`{name}" in text or f"{name}(" in text or f".{name}" in text, f"{name} is not in docs/notifiers.md"


def test_importing_notify_pulls_in_no_test_or_heavy_dependencies() -> None:
    code = (
        "import sys, custdata.notify\n"
        "heavy = {'aiosmtpd', 'trustme', 'hypothesis', 'pytest', 'cryptography', 'requests', 'httpx'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
