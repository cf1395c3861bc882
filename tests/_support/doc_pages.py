"""Running a docs page's code: the tests of a guide's store take the store's code from the page itself, so that
the guide cannot drift away from working code."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def run_page(page: Path) -> dict[str, Any]:
    """Run the page's Python blocks in order, in a scratch folder, and return what they defined."""
    namespace: dict[str, Any] = {"__name__": f"{page.stem.replace('-', '_')}_page"}
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            for number, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), start=1):
                exec(compile(block, f"{page.name} block {number}", "exec"), namespace)
        finally:
            os.chdir(here)
    return namespace
