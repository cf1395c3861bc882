"""The sentinel helpers of ``tests/domain`` and the Jupyter display helper on sys.path (importlib mode)."""

from __future__ import annotations

import sys
from pathlib import Path

for HERE in (str(Path(__file__).resolve().parents[1] / "domain"), str(Path(__file__).resolve().parent)):
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
