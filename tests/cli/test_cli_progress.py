"""The progress bar of long commands: the rate per second and, with a total, the time left."""

from __future__ import annotations

import io
import time

import pytest

from custdata.cli import _common
from custdata.cli._common import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rate_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    out = _Terminal()
    bar = ProgressBar(out, unit="lines")
    bar.update("customers", 0, 3_000)
    now[0] += 10
    bar.update("customers", 1_000, 3_000)  # 100 lines a second, 2,000 to go: 20 seconds
    last = out.getvalue().split("\r")[-1]
    assert "33% 1000/3000" in last and "100 lines/s" in last and "ETA 0:20" in last
    now[0] += 3_600
    bar.update("customers", 1_500, None)
    last = out.getvalue().split("\r")[-1]  # no total: the count and the rate, no time left
    assert last.startswith("customers  1500 0.4 lines/s") and "ETA" not in last


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0:00"), (59.6, "1:00"), (61, "1:01"), (3_725, "1:02:05")])
def test_time_left_reads_as_a_clock(seconds: float, shown: str) -> None:
    assert _common._clock(seconds) == shown
