"""The optional libraries duplicate detection needs, with an error naming the extra when they are missing."""

from __future__ import annotations

from custdata._errors import MissingExtraError

try:
    import jellyfish
    import rapidfuzz
    from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingExtraError(exc.name or "rapidfuzz", "matching", "custdata.matching") from exc

__all__ = ["DamerauLevenshtein", "JaroWinkler", "jellyfish", "rapidfuzz"]
