"""Errors that only analytics raises: a missing optional extra and a model that could not be fitted.

::

    CustdataError
     ├── MissingExtraError (ImportError)   an optional dependency is not installed
     └── FitError (RuntimeError)           a model was not fitted, or its fit did not converge
"""

from __future__ import annotations

from custdata._errors import CustdataError


class MissingExtraError(CustdataError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` command that adds it."""

    def __init__(self, module: str, extra: str) -> None:
        self.module, self.extra = module, extra
        super().__init__(
            f"this needs the optional dependency {module!r}; install it with: pip install 'custdata[{extra}]'",
            name=module,
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.module, self.extra))


class FitError(CustdataError, RuntimeError):
    """A model was used before it was fitted, or its fit did not converge."""
