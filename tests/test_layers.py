"""The packages of custdata import each other in one direction only: the layer order of docs/contributing.md.

Every ``import`` counts, at module level and inside functions (a lazy import is still a dependency). A package may
import the packages of its own layer that the table lists before it, and every package of a lower layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "custdata"

#: Bottom to top. Within a layer, a package may import the ones listed before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_errors", "_clock", "_version", "_telemetry"),
    ("domain",),
    ("serialization", "lifecycle", "notify"),
    ("storage",),
    ("outbox",),
    ("workflows", "aio"),
    ("merge", "importing", "privacy", "matching", "commands", "support"),
    ("analytics", "customer360", "commerce"),
    ("notebook",),
    ("demo", "cli", "__main__"),
)
#: Beside the layers, each with the highest layer it may import: the testing kits (any layer except the top two)
#: and the pytest plugin (which imports nothing of custdata, so that it loads where the test extra is missing).
BESIDE = {"testing": 7, "pytest_plugin": 0}
#: The package itself (``custdata/__init__.py``) is the public facade: it re-exports from the layers below the top.
FACADE = "(facade)"


def _rank(package: str) -> tuple[int, int]:
    for level, names in enumerate(LAYERS):
        if package in names:
            return level, names.index(package)
    if package in BESIDE:
        return BESIDE[package], -1
    raise AssertionError(f"package {package!r} is in no layer: add it to LAYERS and docs/contributing.md")


def _package(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return FACADE
    name = parts[1]
    return name[:-3] if name.endswith(".py") else name


def _imports() -> Iterator[tuple[str, str, str]]:
    """(importing package, imported package, where) for every import of another custdata package."""
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        module = ".".join(parts)
        source = _package(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = parts if is_package else parts[:-1]
                    base = base[: len(base) - node.level + 1]
                    targets = [".".join([*base, node.module] if node.module else base)]
                else:
                    targets = [node.module or ""]
                if targets == ["custdata"]:
                    targets = [f"custdata.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                if target != "custdata" and not target.startswith("custdata."):
                    continue
                imported = _package(target)
                if imported not in (source, FACADE) and source != FACADE:
                    yield source, imported, f"{path.relative_to(SRC.parent)}:{node.lineno}"


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    for package in packages:
        _rank(package)


def test_imports_follow_the_layer_order() -> None:
    wrong = []
    for source, imported, where in _imports():
        if _rank(imported) >= _rank(source) and not (source in BESIDE and _rank(imported)[0] <= BESIDE[source]):
            wrong.append(f"{where}: {source} imports {imported}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_no_package_imports_the_facade() -> None:
    """Inside the library, modules import from the package that defines a name, never from ``custdata`` itself
    (which imports them: that would be a cycle)."""
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "custdata":
                names = [alias.name for alias in node.names]
                if any((SRC / name).is_dir() or (SRC / f"{name}.py").exists() for name in names):
                    continue  # ``from custdata import merge``: a subpackage, checked above
                wrong.append(f"{path.relative_to(SRC.parent)}:{node.lineno}")
    assert not wrong, "modules importing names from the custdata facade:\n" + "\n".join(wrong)


def test_no_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for source, imported, _ in _imports():
        graph.setdefault(source, set()).add(imported)
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("packages import each other in a circle: " + " -> ".join(cycle))
            if nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node)
