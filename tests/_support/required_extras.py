"""Optional libraries in tests: skipped on a developer's machine without them, a failure in CI.

CI (``$CI`` set) installs every extra, so a library missing there is a broken install, never a reason to leave
tests unrun. Use :func:`require` wherever ``pytest.importorskip`` would otherwise go::

    np = require("numpy", "analytics")
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(module: str, extra: str) -> ModuleType:
    """Import and return ``module``, which the install option ``extra`` brings (``pip install 'custdata[extra]'``).

    When it cannot be imported the calling test (or, at module level, the whole module) fails under CI and is
    skipped with the reason elsewhere.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = f"{module} is not installed (pip install 'custdata[{extra}]'): {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must have every extra, but {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
