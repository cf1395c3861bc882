"""The error only analytics raises, a model that could not be fitted (``MissingExtraError`` is shared by every
module with an optional dependency and lives in :mod:`custdata._errors`).

::

    CustdataError
     └── FitError (RuntimeError)           a model was not fitted, or its fit did not converge
"""

from __future__ import annotations

from custdata._errors import CustdataError


class FitError(CustdataError, RuntimeError):
    """A model was used before it was fitted, or its fit did not converge."""
