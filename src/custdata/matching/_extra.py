"""The optional libraries duplicate detection needs, with an error naming the extra when they are missing."""

from __future__ import annotations

INSTALL_HINT = "custdata.matching needs rapidfuzz and jellyfish: pip install 'custdata[matching]'"

try:
    import jellyfish
    import rapidfuzz
    from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(INSTALL_HINT, name=exc.name) from exc

__all__ = ["INSTALL_HINT", "DamerauLevenshtein", "JaroWinkler", "jellyfish", "rapidfuzz"]
