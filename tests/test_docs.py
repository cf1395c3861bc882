"""Every ```python block in README.md and docs/*.md runs, what it prints is what the page says it prints, and every
docstring example passes.

A ```text block that directly follows a ```python block (nothing but blank lines between them) is that block's
output, and is compared with what the block printed: exactly, except that trailing whitespace at line ends and
blank lines at the end are ignored, and ``...`` in the text matches any text in its place (within a line or
across lines), for times, generated ids and other parts that vary from run to run. docs/testing.md says the same
for readers.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import pkgutil
import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import custdata

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("**/*.md")])
#: A fenced block: the opening fence with its language, the body, the closing fence, each fence on a line of its own.
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
ELLIPSIS = "..."


@attrs.frozen
class Example:
    """A ```python block of a page and, when a ```text block directly follows it, the output it shows."""

    code: str
    line: int
    output: str | None


def examples(text: str) -> list[Example]:
    """The page's python blocks in order, each with the text block that directly follows it (if any)."""
    blocks = list(FENCE.finditer(text))
    found: list[Example] = []
    for index, block in enumerate(blocks):
        if block["lang"] != "python":
            continue
        output = None
        if index + 1 < len(blocks):
            after = blocks[index + 1]
            if after["lang"] == "text" and not text[block.end() : after.start()].strip():
                output = after["body"]
        found.append(Example(block["body"], text.count("\n", 0, block.start()) + 1, output))
    return found


def normalise(output: str) -> str:
    """Trailing whitespace of each line and trailing blank lines dropped."""
    return "\n".join(line.rstrip() for line in output.splitlines()).rstrip("\n")


def output_matches(expected: str, printed: str) -> bool:
    """Whether ``printed`` is what ``expected`` shows, ``...`` in ``expected`` standing for any text."""
    want, got = normalise(expected), normalise(printed)
    if ELLIPSIS not in want:
        return want == got
    pattern = ".*?".join(re.escape(part) for part in want.split(ELLIPSIS))
    return re.fullmatch(pattern, got, re.DOTALL) is not None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run_and_print_what_the_page_shows(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for example in examples(page.read_text(encoding="utf-8")):
        code = compile(example.code, f"{page.name} line {example.line}", "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
        if example.output is not None:
            assert output_matches(example.output, printed.getvalue()), (
                f"{page.name}: the block at line {example.line} printed\n{printed.getvalue()}\n"
                f"but the page shows\n{example.output}"
            )


PAGE = """Intro.

```python
print("a")
```

```text
a
```

Then:

```python
x = 1
```

Said between.

```text
not output
```

```python
print(x)
```
```text
1
```
"""


def test_the_text_block_directly_after_a_python_block_is_its_output() -> None:
    assert examples(PAGE) == [
        Example('print("a")\n', 3, "a\n"),
        Example("x = 1\n", 13, None),
        Example("print(x)\n", 23, "1\n"),
    ]


@pytest.mark.parametrize(
    ("expected", "printed", "matches"),
    [
        ("a\nb\n", "a  \nb\n\n\n", True),
        ("a\nb\n", "a\nc\n", False),
        ("a\n", "a\nb\n", False),
        ("a\n\nb\n", "a\nb\n", False),
        ("  a\n", "a\n", False),
        ("created ... at ...\n", "created cus_4f2a at 2024-05-01 10:00\n", True),
        ("created ... at ...\n", "removed cus_4f2a at 2024-05-01 10:00\n", False),
        ("first\n...\nlast\n", "first\nx\ny\nlast\n", True),
        ("first\n...\nlast\n", "first\nx\ny\nlast but one\n", False),
        ("a.b(c)*\n", "a.b(c)*\n", True),
        ("a.b(c)*\n", "aXb(c)\n", False),
    ],
)
def test_output_comparison(expected: str, printed: str, matches: bool) -> None:
    assert output_matches(expected, printed) is matches


@given(st.text())
def test_any_printed_text_matches_itself_and_a_lone_ellipsis(printed: str) -> None:
    assert output_matches(printed, printed)
    assert output_matches(ELLIPSIS, printed)


def _modules() -> list[str]:
    names = [custdata.__name__]
    for info in pkgutil.walk_packages(custdata.__path__, prefix="custdata."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
