"""Estimating a :class:`~custdata.matching.MatchModel` from records, without labels.

The method is the Fellegi-Sunter expectation-maximisation that Splink popularised:

1. ``u`` (how often a level happens between two *different* customers) is counted on pairs of records drawn
   at random (seeded): almost every random pair is two different people.
2. ``m`` (how often a level happens for the *same* customer) and the share of matches among the candidate
   pairs (lambda) are estimated by expectation-maximisation over the pairs that blocking proposes, with ``u``
   held fixed: each pair's probability of being a match is computed from the current ``m`` and lambda, then
   ``m`` and lambda are re-estimated from those probabilities, until nothing moves by more than
   ``tolerance`` or ``max_iterations`` is reached. The summary says which. As in Splink's training sessions,
   the pairs are grouped by the kind of blocking key that proposed them, and the fields a kind of key
   conditions on are left out of that group: pairs found through a shared address agree on the address by
   construction, so they teach nothing about how often a duplicate's address agrees, and housemates (same
   address, other given name) do not pass for duplicates because their addresses agree.
3. Term frequencies: the share of records holding each frequent first given name, family name and postal
   code. An exact match on a frequent value then uses that share as its ``u``, so "Smith" counts less than a
   rare name. Only values held by at least ``min_count`` records are kept, so the saved model names no one.

Guard rails: every probability is clamped into (0, 1); a level the data never shows (no random pair and no
candidate pair lands on it, e.g. the email levels of records without emails) keeps the starting model's value
and the report names it; the household (``same_address``) probabilities are the starting model's. The levels
and the explanation of a pair are the same as with the built-in model. The same records and seed give the same
model.

>>> from custdata.matching import Matcher, MatchModel, evaluate, generate_customers
>>> data = generate_customers(400, seed=5)
>>> model = MatchModel.fit(data.records, seed=1)
>>> model.fit_summary.converged, model == MatchModel.fit(data.records, seed=1)
(True, True)
>>> evaluate(Matcher(model).find_duplicates(data.records).pairs, data.true_pairs).f1 > 0.9
True
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from custdata._errors import ValidationError
from custdata.matching.blocking import KEY_FIELDS, pairs_by_kind
from custdata.matching.matcher import Matcher
from custdata.matching.matcher import _household_fields as household_fields
from custdata.matching.model import (
    FIELDS,
    LEVELS,
    MISSING,
    TERM_FREQUENCY_FIELDS,
    FitSummary,
    Level,
    MatchModel,
)
from custdata.matching.normalise import NormalisedRecord
from custdata.matching.records import RecordLike

#: Probabilities are kept inside [EPSILON, 1 - EPSILON].
EPSILON = 1e-6

_Pattern = tuple[str, ...]


def fit_model(
    records: Iterable[RecordLike],
    *,
    start: MatchModel | None = None,
    seed: int = 0,
    random_pairs: int = 50_000,
    max_iterations: int = 100,
    tolerance: float = 1e-4,
    term_frequencies: bool = True,
    min_count: int = 10,
    default_region: str | None = None,
    max_block_size: int = 50,
    window: int = 8,
) -> MatchModel:
    """Estimate m, u, lambda and term frequencies from ``records`` (records, rows or customers) without labels.

    ``start`` (default: :meth:`MatchModel.default`) gives the first ``m``, the values kept for levels the data
    never shows, and the household probabilities. ``random_pairs`` random pairs (drawn with ``seed``) estimate
    ``u``; expectation-maximisation runs at most ``max_iterations`` times and stops when no probability moves by
    more than ``tolerance``. ``term_frequencies=False`` fits no term-frequency tables; ``min_count`` is the
    fewest records a value must be held by to enter one. ``default_region``, ``max_block_size`` and ``window``
    are those of the :class:`Matcher` whose blocking proposes the candidate pairs. Raises
    :class:`custdata.ValidationError` naming a bad argument or a bad record.
    """
    _check_arguments(start, seed, random_pairs, max_iterations, tolerance, term_frequencies, min_count)
    start = start or MatchModel.default()
    matcher = Matcher(start, default_region=default_region, max_block_size=max_block_size, window=window)
    normalised = matcher.normalise(records)
    if len(normalised) < 2:
        raise ValidationError.single("records", "must hold at least two records to fit a model")

    # u: levels of random pairs.
    rng = random.Random(seed)
    count = len(normalised)
    total_pairs = count * (count - 1) // 2
    sampled = min(random_pairs, total_pairs)
    random_counts: Counter[_Pattern] = Counter()
    if sampled == total_pairs:
        chosen: Iterable[tuple[int, int]] = ((i, j) for i in range(count) for j in range(i + 1, count))
    else:
        chosen = _random_pairs(rng, count, sampled)
    for i, j in chosen:
        random_counts[_levels(matcher, normalised[i], normalised[j])] += 1
    kept_prior: list[str] = []
    u = _estimate(random_counts, start, "u", kept_prior)

    # m and lambda: expectation-maximisation over the candidate pairs, one session per kind of blocking key.
    by_kind = pairs_by_kind(normalised, max_block_size=max_block_size, window=window)
    grouped: dict[frozenset[str], set[int]] = {}
    for kind, found in sorted(by_kind.items()):
        grouped.setdefault(KEY_FIELDS[kind], set()).update(found)
    levels_of: dict[int, _Pattern] = {}
    sessions: list[Session] = []
    for conditioned, codes in sorted(grouped.items(), key=lambda item: sorted(item[0])):
        patterns: Counter[_Pattern] = Counter()
        for code in codes:
            pattern = levels_of.get(code)
            if pattern is None:
                i, j = divmod(code, count)
                pattern = levels_of[code] = _levels(matcher, normalised[i], normalised[j])
            patterns[pattern] += 1
        ordered = sorted(patterns.items())
        sessions.append(Session(conditioned, ordered, _first_share(ordered, start, matcher.review)))
    m, share, converged, iterations, m_kept = expectation_maximisation(sessions, u, start, max_iterations, tolerance)
    kept_prior.extend(m_kept)

    probabilities = {f: {lv: Level(m[f][lv], u[f][lv]) for lv in LEVELS[f]} for f in FIELDS}
    frequencies = _term_frequencies(normalised, probabilities, min_count) if term_frequencies else {}
    summary = FitSummary(
        converged=converged,
        iterations=iterations,
        max_iterations=max_iterations,
        match_share=share,
        records=count,
        candidate_pairs=len(levels_of),
        random_pairs=sampled,
        seed=seed,
        kept_prior=tuple(sorted(kept_prior)),
    )
    return MatchModel(probabilities, start.same_address, term_frequencies=frequencies, fit_summary=summary)


class Session(NamedTuple):
    """The candidate pairs proposed by one kind of blocking key: the fields that kind of key conditions on
    (their ``m`` is not learnt from these pairs, and they are left out of these pairs' match probability), the
    pairs as (levels of every field, number of pairs), and the first lambda."""

    conditioned: frozenset[str]
    patterns: Sequence[tuple[_Pattern, int]]
    share: float


def expectation_maximisation(
    sessions: Sequence[Session],
    u: Mapping[str, Mapping[str, float]],
    start: MatchModel,
    max_iterations: int,
    tolerance: float,
) -> tuple[dict[str, dict[str, float]], float, bool, int, list[str]]:
    """Fellegi-Sunter EM with ``u`` fixed, over one or more sessions of candidate pairs (see :class:`Session`).

    Each iteration computes every pair's match probability from the current ``m`` and its session's lambda,
    over the fields its session does not condition on; then ``m`` of each field is the expected share of each
    level among the matches of the sessions that do not condition on the field, and each session's lambda its
    expected share of matches. ``start`` gives the first ``m`` and the value of a level no pair shows. Returns
    ``m``, the overall share of matches among the sessions' pairs, whether it converged, the iterations run and
    the levels that kept their prior (``"email.typo: m"``)."""
    m = {f: {lv: level.m for lv, level in start.probabilities[f].items()} for f in FIELDS}
    shares = [session.share for session in sessions]
    totals = [sum(c for _, c in session.patterns) for session in sessions]
    if not any(totals):
        return m, 0.0, True, 0, [f"{f}.{lv}: m" for f in FIELDS for lv in LEVELS[f]]
    kept: list[str] = []
    expected_matches = 0.0
    for iteration in range(1, max_iterations + 1):
        tallies: dict[_Pattern, float] = {}
        new_shares = []
        expected_matches = 0.0
        for session, share, pairs in zip(sessions, shares, totals, strict=True):
            if not pairs:
                new_shares.append(share)
                continue
            used = tuple(field not in session.conditioned for field in FIELDS)
            weights = _posteriors(session.patterns, m, u, share, used, start)
            for (pattern, _), weight in zip(session.patterns, weights, strict=True):
                # A field counted with its household probabilities (fixed, the starting model's) teaches
                # nothing about its general m either.
                household = _household(pattern, start)
                masked = tuple(
                    level if keep and not shared else MISSING
                    for level, keep, shared in zip(pattern, used, household, strict=True)
                )
                tallies[masked] = tallies.get(masked, 0.0) + weight
            expected_matches += sum(weights)
            new_shares.append(_clamp(sum(weights) / pairs))
        kept = []
        new_m = _estimate(tallies, start, "m", kept)
        moved = max(
            [abs(a - b) for a, b in zip(new_shares, shares, strict=True)]
            + [abs(new_m[f][lv] - m[f][lv]) for f in FIELDS for lv in LEVELS[f]]
        )
        m, shares = new_m, new_shares
        if moved < tolerance:
            return m, expected_matches / sum(totals), True, iteration, kept
    return m, expected_matches / sum(totals), False, max_iterations, kept


def _check_arguments(
    start: object,
    seed: object,
    random_pairs: object,
    max_iterations: object,
    tolerance: object,
    term_frequencies: object,
    min_count: object,
) -> None:
    if start is not None and not isinstance(start, MatchModel):
        raise ValidationError.single("start", "must be a MatchModel or None")
    for name, value, least in (
        ("seed", seed, 0),
        ("random_pairs", random_pairs, 1),
        ("max_iterations", max_iterations, 1),
        ("min_count", min_count, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValidationError.single(name, f"must be an integer of at least {least}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
        raise ValidationError.single("tolerance", "must be a number between 0 and 1")
    if not isinstance(term_frequencies, bool):
        raise ValidationError.single("term_frequencies", "must be True or False")


def _random_pairs(rng: random.Random, count: int, wanted: int) -> Iterable[tuple[int, int]]:
    """``wanted`` distinct pairs ``(i, j)``, ``i < j``, drawn uniformly."""
    seen: set[tuple[int, int]] = set()
    while len(seen) < wanted:
        i, j = rng.randrange(count), rng.randrange(count)
        if i == j:
            continue
        pair = (i, j) if i < j else (j, i)
        if pair not in seen:
            seen.add(pair)
            yield pair


def _levels(matcher: Matcher, a: NormalisedRecord, b: NormalisedRecord) -> _Pattern:
    """The level of every field for a pair, exactly as the matcher compares them (names tried both ways)."""
    return matcher._score(a, b)[0]


def _clamp(p: float) -> float:
    return min(max(p, EPSILON), 1.0 - EPSILON)


def _estimate(
    counts: Mapping[_Pattern, float],
    start: MatchModel,
    which: str,
    kept_prior: list[str],
) -> dict[str, dict[str, float]]:
    """Per field, the (weighted) share of each level among the pairs where the field is not missing. A level
    with no weight at all keeps the starting model's value; the others share what is left."""
    result: dict[str, dict[str, float]] = {}
    for position, field in enumerate(FIELDS):
        tally = dict.fromkeys(LEVELS[field], 0.0)
        for pattern, weight in counts.items():
            level = pattern[position]
            if level != MISSING:
                tally[level] += weight
        prior = {lv: getattr(start.probabilities[field][lv], which) for lv in LEVELS[field]}
        unseen = [lv for lv, w in tally.items() if w <= 0.0]
        seen_total = sum(tally.values())
        left = max(1.0 - sum(prior[lv] for lv in unseen), EPSILON * len(LEVELS[field]))
        values = {}
        for level, weight in tally.items():
            if level in unseen:
                values[level] = _clamp(prior[level])
                kept_prior.append(f"{field}.{level}: {which}")
            else:
                values[level] = _clamp(left * weight / seen_total)
        result[field] = values
    return result


def _household(pattern: _Pattern, start: MatchModel) -> tuple[bool, ...]:
    """Which fields of a pair the matcher counts with the household (``same_address``) probabilities."""
    flags = household_fields(pattern)  # type: ignore[arg-type]
    return tuple(
        flag and level in start.same_address.get(field, {})
        for field, level, flag in zip(FIELDS, pattern, flags, strict=True)
    )


def _log_ratio(
    pattern: _Pattern,
    m: Mapping[str, Mapping[str, float]],
    u: Mapping[str, Mapping[str, float]],
    used: tuple[bool, ...],
    start: MatchModel,
) -> float:
    """The log likelihood ratio of a pair over the ``used`` fields, scored as the matcher scores it: a field
    counted as a household trait uses the starting model's household probabilities."""
    total = 0.0
    household = _household(pattern, start)
    for field, level, keep, shared in zip(FIELDS, pattern, used, household, strict=True):
        if keep and level != MISSING:
            if shared:
                level_probabilities = start.same_address[field][level]
                total += math.log(level_probabilities.m) - math.log(level_probabilities.u)
            else:
                total += math.log(m[field][level]) - math.log(u[field][level])
    return total


def _posteriors(
    ordered: Sequence[tuple[_Pattern, int]],
    m: Mapping[str, Mapping[str, float]],
    u: Mapping[str, Mapping[str, float]],
    share: float,
    used: tuple[bool, ...],
    start: MatchModel,
) -> list[float]:
    """The expected number of matches among the pairs of each pattern (count times the match probability),
    from the fields marked in ``used``."""
    prior = math.log(share) - math.log(1.0 - share)
    result = []
    for pattern, count in ordered:
        odds = prior + _log_ratio(pattern, m, u, used, start)
        probability = 1.0 / (1.0 + math.exp(-odds)) if odds > -700 else 0.0
        result.append(count * probability)
    return result


def _first_share(ordered: Sequence[tuple[_Pattern, int]], start: MatchModel, review: float) -> float:
    """The starting lambda: the share of candidate pairs that the starting model would flag for review."""
    pairs = sum(c for _, c in ordered)
    if not pairs:
        return 0.5
    flagged = 0
    for pattern, count in ordered:
        bits = sum(start.weight(field, level) for field, level in zip(FIELDS, pattern, strict=True))
        if bits >= review:
            flagged += count
    return min(max(flagged / pairs, 0.01), 0.99)


def _term_frequencies(
    records: Sequence[NormalisedRecord], probabilities: Mapping[str, Mapping[str, Level]], min_count: int
) -> dict[str, dict[str, float]]:
    """Frequent values of each term-frequency field: held by at least ``min_count`` records and by a larger
    share of records than the ``exact`` level's ``u`` (rarer values keep the level's own weight)."""
    values: dict[str, Counter[str]] = {field: Counter() for field in TERM_FREQUENCY_FIELDS}
    for record in records:
        if len(record.given.first) > 1:
            values["given_name"][record.given.first] += 1
        if record.family.full:
            values["family_name"][record.family.full] += 1
        if record.postal_code:
            values["locality"][record.postal_code] += 1
    result: dict[str, dict[str, float]] = {}
    for field, counts in values.items():
        total = sum(counts.values())
        floor = probabilities[field]["exact"].u
        frequent = {
            value: _clamp(n / total) for value, n in sorted(counts.items()) if n >= min_count and n / total > floor
        }
        if frequent:
            result[field] = frequent
    return result
