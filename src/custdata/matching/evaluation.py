"""Accuracy of duplicate detection against known duplicates: pairwise precision, recall and F1."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import attrs

from custdata.matching.model import CandidatePair, Decision


@attrs.frozen
class Accuracy:
    """Pairwise counts and the measures derived from them.

    >>> a = Accuracy(true_positives=8, false_positives=2, false_negatives=0)
    >>> a.precision, a.recall, round(a.f1, 4)
    (0.8, 1.0, 0.8889)
    """

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
            f"(tp {self.true_positives}, fp {self.false_positives}, fn {self.false_negatives})"
        )


def evaluate(
    pairs: Iterable[CandidatePair],
    true_pairs: Collection[tuple[str, str]],
    *,
    decisions: Collection[Decision] = (Decision.AUTO_MERGE, Decision.REVIEW),
) -> Accuracy:
    """Compare found pairs with the known duplicate pairs (each ``(smaller id, larger id)``). Pairs count as
    found when their decision is in ``decisions``: by default everything flagged for merge or review."""
    truth = {tuple(sorted(p)) for p in true_pairs}
    found = {(p.left, p.right) for p in pairs if p.decision in decisions}
    hits = len(found & truth)
    return Accuracy(hits, len(found) - hits, len(truth) - hits)
