"""custdata's pytest plugin: a failing check of a contract kit names the promise that broke.

pytest loads this module by itself wherever custdata is installed (the ``pytest11`` entry point ``custdata``);
``-p no:custdata`` turns it off. When a check that :class:`custdata.testing.StoreContract`,
:class:`custdata.testing.OutboxContract` or :class:`custdata.testing.NotifierContract` defines fails in your
subclass, the failure report gains a ``custdata contract`` section naming the kit, the check and the promise it
holds the code to, below the assertion with the values it compared (the kits' assertions are rewritten by
pytest like those of your own tests).

The plugin imports nothing from :mod:`custdata.testing`: a project with pytest but without the test extra (no
Hypothesis) runs its tests as before, and pays for nothing it does not use.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator

import pytest

#: The modules of the contract kits.
_KITS = "custdata.testing."
#: The title of the report section this plugin adds.
SECTION = "custdata contract"


def promise_of(item: pytest.Item) -> tuple[str, str, str] | None:
    """``(kit, check, promise)`` when ``item`` runs a check defined by a custdata contract kit, else None.

    The kit is the first class of the kits in the test class's ancestry (``StoreContract`` for a subclass of it),
    the check the name of the test method, the promise the first paragraph of its docstring (its name, spelled
    out, when it has none). A check that the subclass overrides is its own, not the kit's.
    """
    function = getattr(item, "function", None)
    cls = getattr(item, "cls", None)
    if function is None or cls is None or not str(getattr(function, "__module__", "")).startswith(_KITS):
        return None
    kit = next((k for k in cls.__mro__ if k.__module__.startswith(_KITS)), None)
    if kit is None:
        return None
    name = str(getattr(function, "__name__", item.name))
    doc = inspect.getdoc(function)
    if doc:
        promise = " ".join(doc.split("\n\n", 1)[0].split())
    else:
        promise = name.removeprefix("test_").replace("_", " ").capitalize() + "."
    return kit.__name__, name, promise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    if call.when == "call" and isinstance(report, pytest.TestReport) and report.failed:
        found = promise_of(item)
        if found is not None:
            kit, check, promise = found
            report.sections.append((SECTION, f"{kit}.{check} found this promise broken:\n{promise}"))
    return report
