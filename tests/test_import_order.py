"""Every package of custdata imports on its own, in a fresh interpreter: no import order hides a cycle."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import custdata

PACKAGES = sorted(info.name for info in pkgutil.iter_modules(custdata.__path__, "custdata."))


@pytest.mark.parametrize("name", PACKAGES)
def test_the_package_imports_first(name: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
