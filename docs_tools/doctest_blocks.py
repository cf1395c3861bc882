"""A griffe extension for the documentation site: docstring examples (``>>>`` lines and their output) become
fenced ``pycon`` code blocks, so that Markdown shows them as code instead of reading brackets as links."""

from __future__ import annotations

import ast
from typing import Any

import griffe


def fence_examples(text: str) -> str:
    """``text`` with every run of ``>>>`` / ``...`` lines and the output that follows them fenced as code."""
    out: list[str] = []
    in_example = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not in_example and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            in_example = True
        elif in_example and not stripped:
            out.append(f"{indent}```")
            in_example = False
        out.append(line)
    if in_example:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fence the examples of every docstring griffe loads."""

    def on_instance(self, *, node: ast.AST | griffe.ObjectNode, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_examples(obj.docstring.value)
