"""The model, analytics and customer 360 classes know nothing of notebooks: ``custdata.notebook`` registers their
HTML with IPython's display formatter, on import in a running session or with ``%load_ext``."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jupyter_display import jupyter_html

import custdata
import custdata.analytics
import custdata.notebook
from custdata import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.customer360 import Customer360
from custdata.notebook.display import registered_types

SRC = Path(custdata.__file__).resolve().parent
#: Packages below the notebook layer: they must not reach up to it, not even inside a function.
LOWER = ("domain", "analytics", "customer360")


def _notebook_imports(source: str, module_name: str, *, is_package: bool = False) -> list[int]:
    """The lines where ``source`` (module ``module_name``) imports custdata.notebook: absolutely, relatively or
    through importlib."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_name.rsplit(".", node.level - 1 if is_package else node.level)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Call) and any(isinstance(arg, ast.Constant) for arg in node.args):
            names = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        if any(name == "custdata.notebook" or name.startswith("custdata.notebook.") for name in names):
            found.append(getattr(node, "lineno", 0))
    return found


def test_the_lower_layers_import_nothing_from_the_notebook_package() -> None:
    files = [path for package in LOWER for path in sorted((SRC / package).rglob("*.py"))]
    assert len(files) > 10
    hits = {}
    for path in files:
        name = ".".join(("custdata", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        lines = _notebook_imports(path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py")
        if lines:
            hits[str(path.relative_to(SRC))] = lines
    assert hits == {}


def test_the_import_check_sees_lazy_and_relative_imports() -> None:
    code = """
    def _repr_html_(self):
        from custdata.notebook.render import to_html
        from ..notebook import show
        import importlib
        return importlib.import_module("custdata.notebook")
    """
    assert _notebook_imports(textwrap.dedent(code), "custdata.domain.customer") == [3, 4, 6]
    assert _notebook_imports("from .. import notebook", "custdata.domain.customer") == [1]
    assert _notebook_imports("from . import notebook", "custdata", is_package=True) == [1]
    assert _notebook_imports("from ..domain import personal\nimport custdata.notebooks", "custdata.analytics.x") == []


SHOWN = (Customer, Order, CommunicationEvent, ActivityEvent, Customer360)


def test_no_displayed_class_carries_its_own_html() -> None:
    results = [
        cls
        for name in custdata.analytics.__all__
        if isinstance(cls := getattr(custdata.analytics, name), type) and hasattr(cls, "to_records")
    ]
    assert len(results) > 10
    for cls in (*SHOWN, *results):
        assert not hasattr(cls, "_repr_html_"), cls.__name__
        assert any(issubclass(cls, registered) for registered in registered_types()), cls.__name__


def test_jupyter_shows_a_customer_masked_and_revealed_inside_reveal_pii() -> None:
    from datetime import UTC, datetime

    jane = Customer("cus_1", datetime(2024, 1, 1, tzinfo=UTC), given_name="Jane", family_name="Roe")
    assert "Jane" not in jupyter_html(jane) and "J***" in jupyter_html(jane)
    with custdata.notebook.reveal_pii():
        assert "Jane Roe" in jupyter_html(jane)


SESSION = """
import sys
from datetime import UTC, datetime

from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
from custdata import Customer
from custdata.analytics import nps

jane = Customer("cus_1", datetime(2024, 1, 1, tzinfo=UTC), given_name="Jane")


def html(obj):
    return shell.display_formatter.format(obj)[0].get("text/html", "")


assert "custdata.notebook" not in sys.modules and html(jane) == "" and html(nps([9])) == ""
{how}
assert "J***" in html(jane) and "Jane" not in html(jane) and "<th>score</th>" in html(nps([9]))
if {unload}:
    shell.run_line_magic("unload_ext", "custdata.notebook")
    assert html(jane) == "" and html(nps([9])) == ""
print("ok")
"""


@pytest.mark.parametrize(
    ("how", "unload"),
    [("import custdata.notebook", False), ("shell.run_line_magic('load_ext', 'custdata.notebook')", True)],
)
def test_an_ipython_session_shows_html_after_importing_or_loading_the_extension(
    how: str, unload: bool, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC.parent), "IPYTHONDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SESSION.format(how=how, unload=unload)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
