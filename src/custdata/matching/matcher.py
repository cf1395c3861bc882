"""The matcher: normalise records, find candidate pairs by blocking, score them and decide.

>>> from custdata.matching import Matcher
>>> pair = Matcher(default_region="US").compare(
...     {"id": "a", "first_name": "Jon", "last_name": "Smith", "phone": "(415) 555-0132", "email": "jon@example.com"},
...     {"id": "b", "first_name": "John", "last_name": "Smith", "phone": "+1 415 555 0132", "email": "JON@example.com"},
... )
>>> pair.decision.value, pair.field("given_name").level, pair.field("phone").outcome.value
('auto_merge', 'nickname', 'agree')
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from custdata._errors import Problem, ValidationError
from custdata.matching import compare
from custdata.matching.blocking import BlockingStats, all_pairs, candidate_pairs
from custdata.matching.model import (
    FIELDS,
    HOUSEHOLD_FIELDS,
    LEVELS,
    MISSING,
    CandidatePair,
    Decision,
    FieldEvidence,
    MatchModel,
    Outcome,
)
from custdata.matching.normalise import NormalisedRecord, normalise
from custdata.matching.records import to_record

if TYPE_CHECKING:
    from custdata.matching.engines import DuckDBEngine

#: Default thresholds, in bits: a pair this far above chance is merged without a look / shown for review.
AUTO_MERGE = 26.0
REVIEW = 16.0
#: The reason given for a pair that scores as sure but involves a registered account.
REGISTERED_REASON = "a registered account is never merged automatically"

_STREET_AGREES = frozenset(("exact", "typo"))
_LOCALITY_AGREES = frozenset(("exact", "typo", "city"))
#: Given-name levels that tell two members of a household apart; with any other level (a typo, an initial,
#: a missing name) a shared address or phone may be a household, so the household probabilities apply.
_TELLS_APART = frozenset(("exact", "nickname"))


def weigh(tables: Any, household: Any, levels: tuple[str, ...]) -> tuple[float, bool]:
    """A pair's score from its levels (the weight tables of the model and of people sharing an address), before
    term-frequency adjustments and rounding, and whether its family name counted as a household trait: the one
    reckoning of the Python engine's :meth:`Matcher._score` and the other engines' scores."""
    given, family, birthday, email, phone, street, locality = levels
    maybe_household = given not in _TELLS_APART
    address = maybe_household and street in _STREET_AGREES and locality in _LOCALITY_AGREES
    shared = address or (maybe_household and phone == "exact")
    total = (
        tables["given_name"][given]
        + (household if shared else tables)["family_name"][family]
        + tables["birthday"][birthday]
        + tables["email"][email]
        + (household if address else tables)["phone"][phone]
        + tables["street"][street]
        + tables["locality"][locality]
    )
    return total, shared


_TRY_SWAP = frozenset(("different", MISSING))
_Levels = tuple[str, str, str, str, str, str, str]


@attrs.frozen
class MatchResult:
    """The pairs found (best score first) and what it took: records read, pairs compared, blocking stats."""

    pairs: tuple[CandidatePair, ...]
    records: int
    compared: int
    blocking: BlockingStats | None

    def __iter__(self) -> Iterator[CandidatePair]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def with_decision(self, decision: Decision) -> tuple[CandidatePair, ...]:
        """The pairs that got ``decision``."""
        return tuple(pair for pair in self.pairs if pair.decision is decision)


def _threshold(name: str) -> Callable[[object, attrs.Attribute[float], float], None]:
    def check(_: object, __: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValidationError.single(name, "must be a number of bits")

    return check


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValidationError.single(attribute.name, "must be an integer of at least 2")


def _engine(_: object, __: attrs.Attribute[Any], value: object) -> None:
    from custdata.matching.engines import ENGINES, DuckDBEngine

    if not isinstance(value, DuckDBEngine) and (not isinstance(value, str) or value not in ENGINES):
        raise ValidationError.single("engine", f"must be one of {', '.join(ENGINES)}, or a DuckDBEngine")


@attrs.frozen
class Matcher:
    """Finds likely duplicates among customer records, rows or :class:`custdata.Customer` objects.

    ``auto_merge`` and ``review`` are score thresholds in bits (log2 likelihood ratio, see
    :class:`MatchModel`); pairs below ``review`` are dropped. A pair in which either record is a registered
    account (``is_guest`` False, as every registered :class:`custdata.Customer`) is never
    :attr:`Decision.AUTO_MERGE`, whatever it scores: it is held for review with the reason
    :data:`REGISTERED_REASON`, since matching evidence is not proof that whoever made the other record owns
    the account. Two guests, or records that do not say, are merged automatically from ``auto_merge`` up.
    ``default_region`` reads national phone numbers of records without a country. ``max_block_size`` and
    ``window`` bound the work per blocking key. ``engine`` runs :meth:`find_duplicates` in Python (the default),
    ``"duckdb"`` or ``"spark"``, with the same pairs (see :mod:`custdata.matching.engines`); a
    :class:`~custdata.matching.engines.DuckDBEngine` runs DuckDB with its own memory limit.
    """

    model: MatchModel = attrs.field(factory=MatchModel.default)
    auto_merge: float = attrs.field(default=AUTO_MERGE, validator=_threshold("auto_merge"), kw_only=True)
    review: float = attrs.field(default=REVIEW, validator=_threshold("review"), kw_only=True)
    default_region: str | None = attrs.field(default=None, kw_only=True)
    max_block_size: int = attrs.field(default=50, validator=_positive, kw_only=True)
    window: int = attrs.field(default=8, validator=_positive, kw_only=True)
    engine: str | DuckDBEngine = attrs.field(default="python", validator=_engine, kw_only=True)
    _tables: dict[str, dict[str, float]] = attrs.field(init=False, repr=False, eq=False)
    _household: dict[str, dict[str, float]] = attrs.field(init=False, repr=False, eq=False)
    _frequent: dict[str, dict[str, float]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.model, MatchModel):
            raise ValidationError.single("model", "must be a MatchModel")
        if self.review > self.auto_merge:
            raise ValidationError.single("review", "must not be above auto_merge")
        if self.default_region is not None and (
            not isinstance(self.default_region, str) or len(self.default_region) != 2
        ):
            raise ValidationError.single("default_region", "must be an ISO 3166 alpha-2 code such as 'DE'")
        tables = {f: {lv: self.model.weight(f, lv) for lv in LEVELS[f]} | {MISSING: 0.0} for f in FIELDS}
        household = {
            f: {lv: self.model.weight(f, lv, same_address=f in HOUSEHOLD_FIELDS) for lv in tables[f]} for f in FIELDS
        }
        frequent: dict[str, dict[str, float]] = {}
        for field, values in self.model.term_frequencies.items():
            for value in values:
                weight = self.model.term_frequency_weight(field, value)
                if weight is not None:
                    frequent.setdefault(field, {})[value] = weight
        object.__setattr__(self, "_tables", tables)
        object.__setattr__(self, "_household", household)
        object.__setattr__(self, "_frequent", frequent)

    # -- public ----------------------------------------------------------------------------------

    def normalise(self, records: Iterable[object]) -> list[NormalisedRecord]:
        """Normalise a batch; every bad row is reported at once, each with its position (``[3].phone``)."""
        result: list[NormalisedRecord] = []
        problems: list[Problem] = []
        ids: dict[str, int] = {}
        for position, item in enumerate(records):
            try:
                record = to_record(item, position)
            except ValidationError as exc:
                problems.extend(exc.problems)
                continue
            if record.id in ids:
                problems.append(Problem(f"[{position}].id", f"repeats the id of row {ids[record.id]}"))
                continue
            ids[record.id] = position
            result.append(normalise(record, self._region))
        if problems:
            raise ValidationError(problems)
        return result

    def compare(self, left: object, right: object) -> CandidatePair:
        """Score two records (records, rows or customers) against each other, with the full explanation.
        Errors name the side: ``[0]`` is ``left``, ``[1]`` is ``right``."""
        problems: list[Problem] = []
        records = []
        for position, item in enumerate((left, right)):
            try:
                records.append(normalise(to_record(item, position), self._region))
            except ValidationError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ValidationError(problems)
        a, b = records
        levels, swapped, total = self._score(a, b)
        return self._pair(a, b, levels, swapped, total)

    def find_duplicates(
        self,
        records: Iterable[object],
        *,
        blocking: bool = True,
        not_same: Collection[tuple[str, str]] | None = None,
    ) -> MatchResult:
        """Every pair scoring at least ``review``, best first. ``blocking=False`` compares all pairs, which
        is only sensible for a few thousand records; it exists to check what blocking misses. Pairs of ids in
        ``not_same`` (either order; a person decided they are different people, see
        :func:`custdata.matching.review.not_same_pairs`) are never listed."""
        different = _id_pairs(not_same)
        if self.engine != "python":
            from custdata.matching import engines

            if self._frequent:
                raise ValidationError.single(
                    "engine",
                    f"the {self.engine} engine does not apply a model's term-frequency adjustment; use "
                    "engine='python' for this model, or fit it with term_frequencies=False",
                )
            result = engines.find_duplicates(self, records, blocking=blocking)
            if not different:
                return result
            kept = tuple(p for p in result.pairs if _ordered(p.left, p.right) not in different)
            return attrs.evolve(result, pairs=kept)
        normalised = self.normalise(records)
        stats: BlockingStats | None
        pairs: Iterable[tuple[int, int]]
        if blocking:
            codes, stats = candidate_pairs(normalised, max_block_size=self.max_block_size, window=self.window)
            pairs = (divmod(code, len(normalised)) for code in codes)
        else:
            pairs, stats = all_pairs(len(normalised)), None
        found: list[CandidatePair] = []
        compared = 0
        score = self._score
        review = self.review
        for i, j in pairs:
            compared += 1
            a, b = normalised[i], normalised[j]
            levels, swapped, total = score(a, b)
            if total >= review and not (different and _ordered(a.id, b.id) in different):
                found.append(self._pair(a, b, levels, swapped, total))
        found.sort(key=lambda p: (-p.score, p.left, p.right))
        return MatchResult(tuple(found), len(normalised), compared, stats)

    # -- scoring ---------------------------------------------------------------------------------

    @property
    def _region(self) -> str | None:
        return self.default_region.upper() if self.default_region else None

    def _score(self, a: NormalisedRecord, b: NormalisedRecord) -> tuple[_Levels, bool, float]:
        """The levels of every field, whether the names matched the other way round, and the score. This is
        the inner loop of :meth:`find_duplicates`, hence the unrolled code."""
        tables = self._tables
        given_table, family_table = tables["given_name"], tables["family_name"]
        given = compare.given_name(a.given, b.given)
        family = compare.family_name(a.family, b.family)
        swapped = False
        if given in _TRY_SWAP or family in _TRY_SWAP:
            # Swapped names: a's given name against b's family name and the other way round. Trying both
            # assignments of the comparators keeps the score symmetric.
            best = given_table[given] + family_table[family]
            for one, other in ((a.given, b.family), (b.given, a.family)), ((b.given, a.family), (a.given, b.family)):
                cross_given = compare.given_name(*one)
                cross_family = compare.family_name(*other)
                cross = given_table[cross_given] + family_table[cross_family]
                if cross > best:
                    given, family, swapped, best = cross_given, cross_family, True, cross
        birthday = compare.birthday(a.birthday, b.birthday)
        email = compare.email(a.emails, b.emails)
        phone = compare.phone(a.phones, b.phones)
        street = compare.street(a.street, b.street)
        locality = compare.locality(a, b)
        levels = (given, family, birthday, email, phone, street, locality)
        total, shared = weigh(tables, self._household, levels)
        if self._frequent and not swapped:
            total += sum(self._frequency_adjustments(a, levels, shared))
        return levels, swapped, round(total, 4)

    def _frequency_adjustments(self, a: NormalisedRecord, levels: _Levels, shared: bool) -> tuple[float, ...]:
        """For each field, the bits to add when an exact match is on a frequent value (term-frequency
        adjustment: the value's frequency replaces ``u``); 0 elsewhere. Not applied to a family name counted
        as a household trait, nor to names compared the other way round."""
        frequent = self._frequent
        tables = self._tables
        adjust = [0.0] * len(FIELDS)
        for position, field, key in (
            (0, "given_name", a.given.first),
            (1, "family_name", a.family.full),
            (6, "locality", a.postal_code),
        ):
            if levels[position] != "exact" or field not in frequent or (position == 1 and shared):
                continue
            weight = frequent[field].get(key)
            if weight is not None:
                adjust[position] = weight - tables[field]["exact"]
        return tuple(adjust)

    def _pair(
        self, a: NormalisedRecord, b: NormalisedRecord, levels: _Levels, swapped: bool, total: float
    ) -> CandidatePair:
        address_agrees = levels[5] in _STREET_AGREES and levels[6] in _LOCALITY_AGREES
        household_note = "counted as a household trait: the " + ("address" if address_agrees else "phone") + " agrees"
        households = _household_fields(levels)
        adjustments = (0.0,) * len(FIELDS)
        if self._frequent and not swapped:
            adjustments = self._frequency_adjustments(a, levels, households[1])
        evidence = []
        for field, household, level, adjust in zip(FIELDS, households, levels, adjustments, strict=True):
            notes = []
            if swapped and field in ("given_name", "family_name"):
                notes.append("given and family name swapped")
            weight = self._tables[field][level]
            if household and self._household[field][level] != weight:
                weight = self._household[field][level]
                notes.append(household_note)
            if adjust:
                weight += adjust
                notes.append(f"term-frequency adjusted: a frequent value, {adjust:+.2f} bits")
            outcome = Outcome.MISSING if level == MISSING else LEVELS[field][level]
            evidence.append(FieldEvidence(field, outcome, level, round(weight, 4), "; ".join(notes)))
        reason = ""
        if total >= self.auto_merge:
            decision = Decision.AUTO_MERGE
            if a.is_guest is False or b.is_guest is False:
                decision = Decision.REVIEW
                reason = REGISTERED_REASON
        elif total >= self.review:
            decision = Decision.REVIEW
        else:
            decision = Decision.DISTINCT
        left, right = sorted((a.id, b.id))
        return CandidatePair(left, right, total, decision, tuple(evidence), reason)


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _id_pairs(pairs: Collection[tuple[str, str]] | None) -> frozenset[tuple[str, str]]:
    """``pairs`` as a set of sorted id pairs; a clear error for anything that is not pairs of ids."""
    if pairs is None:
        return frozenset()
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise ValidationError.single("not_same", "must be a collection of (id, id) pairs")
    result = set()
    for position, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(isinstance(item, str) for item in pair):
            raise ValidationError.single(f"not_same[{position}]", "must be a pair of two customer ids")
        result.add(_ordered(pair[0], pair[1]))
    return frozenset(result)


_NOT_HOUSEHOLD = (False,) * len(FIELDS)


def _household_fields(levels: _Levels) -> tuple[bool, ...]:
    """Which fields count with their household probabilities. Only when the given names do not clearly agree:
    then the family name counts as a household trait once the address or the phone agrees, and the phone
    once the address agrees. Identical records are therefore never discounted."""
    if levels[0] in _TELLS_APART:
        return _NOT_HOUSEHOLD
    address = levels[5] in _STREET_AGREES and levels[6] in _LOCALITY_AGREES
    phone = levels[4] == "exact"
    if not (address or phone):
        return _NOT_HOUSEHOLD
    return (False, True, False, False, address, False, False)
