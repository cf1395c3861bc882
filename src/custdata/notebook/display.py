"""How notebooks show custdata objects as HTML: a registry of renderers and IPython's display formatters.

The model, analytics and customer 360 classes know nothing of notebooks (they have no ``_repr_html_``);
this module keeps which class renders how, and hands that to IPython's ``text/html`` formatter:

- ``import custdata.notebook`` in a running IPython or Jupyter session registers the renderings;
- ``%load_ext custdata.notebook`` does the same explicitly, and an IPython profile with
  ``c.InteractiveShellApp.extensions = ["custdata.notebook"]`` does it in every session;
- without IPython, :func:`custdata.notebook.to_html` and :func:`custdata.notebook.show` render from the same
  registry.

IPython itself is never imported here: a session that runs IPython has already imported it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol

#: A rendering: the object, ``reveal`` (None for the current :func:`~custdata.notebook.reveal_pii` setting)
#: and ``max_rows`` (None for the default), to HTML.
Renderer = Callable[[Any, "bool | None", "int | None"], str]

_RENDERERS: dict[type[Any], Renderer] = {}


class _HtmlFormatter(Protocol):
    def for_type(self, typ: type[Any], func: Callable[[Any], str] | None = None) -> Any: ...

    def pop(self, typ: type[Any], default: Any = ...) -> Any: ...


def register_html(cls: type[Any], renderer: Renderer) -> None:
    """Render instances of ``cls`` (and its subclasses) with ``renderer``, in :func:`to_html` and in a running
    IPython session."""
    _RENDERERS[cls] = renderer
    shell = running_ipython()
    if shell is not None:
        _html_formatter(shell).for_type(cls, _for_jupyter)


def renderer_for(cls: type[Any]) -> Renderer | None:
    """The renderer registered for ``cls`` or the nearest of its base classes; None when there is none."""
    for base in cls.__mro__:
        renderer = _RENDERERS.get(base)
        if renderer is not None:
            return renderer
    return None


def registered_types() -> tuple[type[Any], ...]:
    """The classes that have a rendering of their own, in the order they were registered."""
    return tuple(_RENDERERS)


def _for_jupyter(obj: Any) -> str:
    """What Jupyter shows: the registered rendering, personal data masked unless revealed."""
    renderer = renderer_for(type(obj))
    if renderer is None:  # pragma: no cover - IPython calls this only for registered types
        raise TypeError(f"no HTML rendering for {type(obj).__name__}")
    return renderer(obj, None, None)


def _html_formatter(shell: Any) -> _HtmlFormatter:
    formatter: _HtmlFormatter = shell.display_formatter.formatters["text/html"]
    return formatter


def running_ipython() -> Any | None:
    """The running IPython shell, or None outside IPython (IPython is not imported to find out)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext custdata.notebook``: register the HTML renderings with ``ipython``'s display formatter."""
    formatter = _html_formatter(ipython)
    for cls in _RENDERERS:
        formatter.for_type(cls, _for_jupyter)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext custdata.notebook``: take the renderings off ``ipython``'s display formatter again."""
    formatter = _html_formatter(ipython)
    for cls in _RENDERERS:
        formatter.pop(cls, None)
