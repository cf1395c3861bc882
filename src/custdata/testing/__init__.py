"""Helpers for testing code that uses custdata: Hypothesis strategies for every model.

Needs the test extra: ``pip install custdata[test]``.
"""

from custdata.testing import strategies

__all__ = ["strategies"]
