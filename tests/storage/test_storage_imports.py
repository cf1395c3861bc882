"""The storage layer stands on its own: it holds the outbox tables and the merged-id read helper, so that the
outbox, the workflows and the merge and privacy packages build on it and never the other way round.

Every ``import`` counts, at module level and inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "custdata"

#: Package -> the packages above it that it must not import.
FORBIDDEN = {
    "storage": {"outbox", "workflows", "merge", "privacy", "matching", "importing", "analytics", "customer360"},
    "outbox": {"workflows", "merge", "privacy", "matching", "importing", "analytics", "customer360"},
    "workflows": {"merge", "matching", "importing", "analytics", "customer360"},
}


def _imported_packages(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "custdata":
                names = [f"custdata.{alias.name}" for alias in node.names]
        else:
            continue
        found.extend((name.split(".")[1], node.lineno) for name in names if name.startswith("custdata."))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_lower_layer_imports_nothing_above_it(package: str) -> None:
    wrong = [
        f"{path.relative_to(SRC.parent)}:{line} imports custdata.{imported}"
        for path in sorted((SRC / package).rglob("*.py"))
        for imported, line in _imported_packages(path)
        if imported in FORBIDDEN[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_merge_helpers_are_the_storage_ones() -> None:
    import custdata.merge
    import custdata.merge.model
    import custdata.merge.service
    from custdata.storage import merges

    for name in ("MAX_CHAIN", "resolve"):
        assert getattr(custdata.merge, name) is getattr(merges, name)
    for name in ("follow_merges", "strip_undone_merge"):
        assert getattr(custdata.merge.service, name) is getattr(merges, name)
    assert custdata.merge.MERGE_EVENT == custdata.merge.model.MERGE_EVENT == merges.MERGE_EVENT
