"""The contract kits as a package: the test extra they need, the pytest entry point, assertion rewriting, promises."""

from __future__ import annotations

import importlib.metadata
import inspect
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from _pytest.assertion.rewrite import AssertionRewritingHook

import custdata.pytest_plugin as plugin
import custdata.testing
from custdata.testing import NotifierContract, OutboxContract, StoreContract

ROOT = Path(__file__).resolve().parent.parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
KITS = (StoreContract, OutboxContract, NotifierContract)


def _fresh_interpreter(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# -- the test extra ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["pytest", "hypothesis"])
def test_without_the_test_extra_the_kits_name_the_command_that_installs_it(missing: str) -> None:
    out = _fresh_interpreter(
        "import sys\n"
        f"sys.modules[{missing!r}] = None  # as if it were not installed\n"
        "import custdata\n"
        "try:\n"
        "    import custdata.testing\n"
        "except custdata.MissingExtraError as exc:\n"
        "    print(exc.module, exc.extra, isinstance(exc, ImportError), '|', exc)\n"
        "print('imported' if 'custdata.testing.store_contract' in sys.modules else 'nothing imported')\n"
    )
    assert out.splitlines() == [
        f"{missing} test True | custdata.testing needs the optional dependency {missing!r}; "
        "install it with: pip install 'custdata[test]'",
        "nothing imported",
    ]


def test_the_plugin_imports_without_the_test_extra_and_without_the_kits() -> None:
    out = _fresh_interpreter(
        "import sys\n"
        "sys.modules['hypothesis'] = None\n"
        "import custdata.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('custdata.testing') or m == 'hypothesis'))\n"
    )
    assert out == "['hypothesis']"  # only the blocked entry itself: nothing imported the kits


def test_the_test_extra_holds_what_the_kits_import() -> None:
    extra = {
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
        for requirement in PYPROJECT["project"]["optional-dependencies"]["test"]
    }
    assert {"pytest", "hypothesis"} <= extra


# -- the entry point ---------------------------------------------------------------------------------------------


def test_the_pytest_entry_point_names_the_plugin_module() -> None:
    declared = PYPROJECT["project"]["entry-points"]["pytest11"]
    assert declared == {"custdata": "custdata.pytest_plugin"}
    loaded = importlib.metadata.EntryPoint(name="custdata", value=declared["custdata"], group="pytest11").load()
    assert loaded is plugin
    # pytest accepts it: every hook implementation matches a hook of pytest's, by name and arguments
    manager = pytest.PytestPluginManager()
    assert manager.register(loaded, "custdata") == "custdata"
    assert manager.hook.pytest_runtest_makereport.get_hookimpls()[-1].plugin is plugin


def test_the_installed_metadata_declares_the_same_entry_point() -> None:
    installed = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "custdata"]
    if not installed:
        pytest.skip("the installed custdata predates its pytest entry point: reinstall it (pip install -e .)")
    assert [ep.value for ep in installed] == [PYPROJECT["project"]["entry-points"]["pytest11"]["custdata"]]


# -- assertion rewriting ----------------------------------------------------------------------------------------


def test_every_module_of_the_kit_is_registered_for_rewriting() -> None:
    modules = {f"custdata.testing.{m.name}" for m in pkgutil.iter_modules(custdata.testing.__path__)}
    assert set(custdata.testing._KIT_MODULES) == modules


def test_the_kits_assertions_are_rewritten_under_pytest(pytestconfig: pytest.Config) -> None:
    if pytestconfig.getoption("assertmode") != "rewrite":
        pytest.skip("assertion rewriting is turned off for this run (--assert=plain)")
    for name in custdata.testing._KIT_MODULES:
        module = sys.modules[name]
        assert isinstance(module.__loader__, AssertionRewritingHook), f"{name} was imported without rewriting"


# -- promises -----------------------------------------------------------------------------------------------------


def _checks(kit: type) -> list[tuple[str, Any]]:
    return [(name, member) for name, member in inspect.getmembers(kit, inspect.isfunction) if name.startswith("test_")]


@pytest.mark.parametrize("kit", KITS, ids=lambda k: k.__name__)
def test_every_check_states_its_promise_in_one_paragraph(kit: type) -> None:
    checks = _checks(kit)
    assert len(checks) >= 10
    for name, function in checks:
        doc = inspect.getdoc(function)
        assert doc, f"{kit.__name__}.{name} states no promise"
        first = doc.split("\n\n", 1)[0]
        assert first.endswith("."), f"{kit.__name__}.{name}: the promise is one paragraph, a sentence"


def _item(cls: type, name: str) -> pytest.Item:
    return cast(pytest.Item, SimpleNamespace(cls=cls, function=getattr(cls, name), name=name))


@pytest.mark.parametrize("kit", KITS, ids=lambda k: k.__name__)
def test_a_check_inherited_from_a_kit_names_the_kit_and_its_promise(kit: type) -> None:
    class TestMine(kit):  # type: ignore[misc]
        pass

    class TestTheirs(TestMine):
        pass

    for name, function in _checks(kit):
        expected = (kit.__name__, name, " ".join(inspect.getdoc(function).split("\n\n")[0].split()))  # type: ignore[union-attr]
        assert plugin.promise_of(_item(TestMine, name)) == expected
        assert plugin.promise_of(_item(TestTheirs, name)) == expected


def test_a_check_of_the_projects_own_names_no_promise() -> None:
    class TestMine(StoreContract):
        def test_get_many_returns_what_exists_keyed_by_id(self) -> None:
            """Stricter."""

        def test_something_else(self) -> None:
            pass

    for name in ("test_get_many_returns_what_exists_keyed_by_id", "test_something_else"):
        assert plugin.promise_of(_item(TestMine, name)) is None
    plain = cast(pytest.Item, SimpleNamespace(cls=None, function=test_a_check_of_the_projects_own_names_no_promise))
    assert plugin.promise_of(plain) is None


def test_a_check_without_a_docstring_is_named_by_its_name() -> None:
    kit = type("Kit", (), {"__module__": "custdata.testing.store_contract"})

    def test_writes_stay_put(self: object) -> None:
        pass

    test_writes_stay_put.__module__ = "custdata.testing.store_contract"
    kit.test_writes_stay_put = test_writes_stay_put  # type: ignore[attr-defined]
    user = type("TestUser", (kit,), {})
    assert plugin.promise_of(_item(user, "test_writes_stay_put")) == ("Kit", "test_writes_stay_put", "Writes stay put.")
