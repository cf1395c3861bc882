"""Puts ``examples/`` on ``sys.path`` so that the example services import as packages (``fastapi_shop``)."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)
