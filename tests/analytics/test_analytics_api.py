"""The public surface of custdata.analytics: sorted, documented in docstrings and in docs/analytics.md."""

from __future__ import annotations

from pathlib import Path

import custdata.analytics
import custdata.analytics.predictive

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def test_all_is_sorted_unique_and_importable() -> None:
    for module in (custdata.analytics, custdata.analytics.predictive):
        assert list(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert name.isupper() or getattr(module, name).__module__.startswith("custdata")


def test_every_public_name_has_a_docstring_and_a_mention_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    undocumented = [
        n
        for n in custdata.analytics.__all__
        if callable(getattr(custdata.analytics, n)) and not getattr(custdata.analytics, n).__doc__
    ]
    assert not undocumented
    missing = [n for n in custdata.analytics.__all__ if f"`{n}" not in text and f"{n}(" not in text]
    assert not missing, f"not mentioned in docs/analytics.md: {missing}"
