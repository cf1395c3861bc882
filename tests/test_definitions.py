"""Things defined once: the clock, the version and the field checks each live in one module that the rest import."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import custdata
from custdata import ValidationError, _clock, _version
from custdata.domain import checks

ROOT = Path(__file__).resolve().parent.parent


SRC = ROOT / "src" / "custdata"
CLOCK_NAMES = {"Clock", "utc_now", "_utc_now"}


def _definitions(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in CLOCK_NAMES:
            yield node.name, node.lineno
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in CLOCK_NAMES:
                    yield target.id, node.lineno


def test_the_clock_and_the_default_time_are_defined_only_in_custdata_clock() -> None:
    copies = [
        f"{path.relative_to(SRC.parent)}:{line} defines {name}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "_clock.py"
        for name, line in _definitions(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert copies == []
    assert sorted(name for name, _ in _definitions(ast.parse((SRC / "_clock.py").read_text(encoding="utf-8")))) == [
        "Clock",
        "utc_now",
    ]


@pytest.mark.parametrize(
    "module",
    ["custdata.notify.typing", "custdata.notify.smtp", "custdata.outbox.dispatcher"],
)
def test_the_clock_names_that_modules_offer_are_the_one_clock(module: str) -> None:
    names = vars(importlib.import_module(module))
    assert names["Clock"] is _clock.Clock
    assert names.get("utc_now", _clock.utc_now) is _clock.utc_now


def test_the_default_clock_is_now_in_utc() -> None:
    before = datetime.now(UTC)
    now = _clock.utc_now()
    assert before <= now <= datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])))
def test_read_returns_what_a_sound_clock_says(moment: datetime) -> None:
    assert _clock.read(lambda: moment) is moment


@pytest.mark.parametrize(
    ("clock", "path", "message"),
    [
        (None, "clock", "must be a function returning the current time"),
        ("now", "clock", "must be a function returning the current time"),
        (lambda: None, "clock()", "is required"),
        (lambda: "2026-01-01T00:00:00+00:00", "clock()", "must be a datetime"),
        (lambda: datetime(2026, 1, 1), "clock()", "must be timezone-aware (include an offset such as +00:00)"),
    ],
)
def test_read_names_the_clock_when_it_is_bad(clock: object, path: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _clock.read(clock)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in raised.value.problems] == [(path, message)]


def test_the_version_is_written_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    source = ROOT / project["tool"]["hatch"]["version"]["path"]
    assert source.resolve() == Path(_version.__file__).resolve()
    written = re.findall(r"""^__version__\s*=\s*["']([^"']+)["']""", source.read_text(encoding="utf-8"), re.M)
    assert written == [custdata.__version__]
    assert custdata.__version__ is _version.__version__


def test_the_cli_reports_that_version(capsys: pytest.CaptureFixture[str]) -> None:
    from custdata.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    assert capsys.readouterr().out.strip() == f"custdata {_version.__version__}"


def test_no_module_imports_the_checks_by_their_former_private_name() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for folder in ("src", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if path != ROOT / "src" / "custdata" / "domain" / "_checks.py"
        and "custdata.domain._checks" in path.read_text(encoding="utf-8").replace(chr(10), " ")
        and path != Path(__file__).resolve()
    )
    assert users == []


def test_the_former_name_of_the_checks_still_works() -> None:
    former = importlib.import_module("custdata.domain._checks")
    public = [name for name, value in vars(checks).items() if getattr(value, "__module__", None) == checks.__name__]
    assert public
    for name in [*public, "_TRUSTED", "MAX_TEXT", "MAX_LONG_TEXT", "MAX_JSON_DEPTH"]:
        assert getattr(former, name) is getattr(checks, name), name
