"""What Jupyter shows for an object: IPython's own display formatter with ``custdata.notebook`` loaded."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from IPython.core.formatters import DisplayFormatter

import custdata.notebook

SHELL = SimpleNamespace(display_formatter=DisplayFormatter())
custdata.notebook.load_ipython_extension(SHELL)


def jupyter_html(obj: object) -> str:
    """The ``text/html`` a notebook displays for ``obj``; fails when there is none."""
    data: dict[str, Any] = SHELL.display_formatter.format(obj, include={"text/html"})[0]
    html = data.get("text/html")
    assert isinstance(html, str), f"no HTML for {type(obj).__name__}"
    return html
