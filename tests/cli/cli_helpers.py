"""Running the real ``custdata`` command in a subprocess, for the command line tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("custdata")


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, script: bool = False, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m custdata ARGS`` (or the installed ``custdata`` script) in ``cwd``, output captured."""
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "custdata"]
    environment = {k: v for k, v in os.environ.items() if k not in {"CUSTDATA_STORE", "CUSTDATA_DEBUG"}}
    environment.update(env or {})
    return subprocess.run(
        [*command, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, input=stdin
    )
