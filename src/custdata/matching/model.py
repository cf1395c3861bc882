"""The scoring model and what it produces: m/u probabilities per field and comparison level, the decision
thresholds, and candidate pairs that explain their score field by field.

Scores follow Fellegi and Sunter (1969): for each field the comparison lands on a *level* (``exact``,
``nickname``, ``typo``, ``different``...). ``m`` is the probability of that level when the two records are the
same customer, ``u`` when they are two different customers picked at random; the level adds
``log2(m / u)`` bits to the score. A missing value on either side adds nothing. The score is therefore the
log-likelihood ratio of "same customer" against "different customers", in bits.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from custdata._errors import ValidationError

#: The compared fields, in the order their evidence is listed.
FIELDS = ("given_name", "family_name", "birthday", "email", "phone", "street", "locality")

MISSING = "missing"


class Decision(enum.Enum):
    """What to do with a candidate pair, from its score and the thresholds."""

    AUTO_MERGE = "auto_merge"
    REVIEW = "review"
    DISTINCT = "distinct"


class Outcome(enum.Enum):
    """How one field compared: the same, nearly the same (typo, nickname, format), different, or absent."""

    AGREE = "agree"
    PARTIAL = "partial"
    DISAGREE = "disagree"
    MISSING = "missing"


#: The levels each comparator can return, best first, and the outcome each level counts as.
LEVELS: Mapping[str, Mapping[str, Outcome]] = MappingProxyType(
    {
        "given_name": {
            "exact": Outcome.AGREE,
            "nickname": Outcome.PARTIAL,
            "typo": Outcome.PARTIAL,
            "phonetic": Outcome.PARTIAL,
            "initial": Outcome.PARTIAL,
            "different": Outcome.DISAGREE,
        },
        "family_name": {
            "exact": Outcome.AGREE,
            "typo": Outcome.PARTIAL,
            "phonetic": Outcome.PARTIAL,
            "partial": Outcome.PARTIAL,
            "different": Outcome.DISAGREE,
        },
        "birthday": {
            "exact": Outcome.AGREE,
            "typo": Outcome.PARTIAL,
            "day_month_swapped": Outcome.PARTIAL,
            "different": Outcome.DISAGREE,
        },
        "email": {"exact": Outcome.AGREE, "typo": Outcome.PARTIAL, "different": Outcome.DISAGREE},
        "phone": {"exact": Outcome.AGREE, "typo": Outcome.PARTIAL, "different": Outcome.DISAGREE},
        "street": {
            "exact": Outcome.AGREE,
            "typo": Outcome.PARTIAL,
            "other_house": Outcome.DISAGREE,
            "different": Outcome.DISAGREE,
        },
        "locality": {
            "exact": Outcome.AGREE,
            "city": Outcome.AGREE,
            "typo": Outcome.PARTIAL,
            "other_postal_code": Outcome.PARTIAL,
            "different": Outcome.DISAGREE,
        },
    }
)

#: Fields whose agreement says little once a household trait agrees: people living together share an
#: address, a family name and often a landline. When the address agrees, family name and phone use the
#: ``same_address`` probabilities; when only the phone agrees, the family name does.
HOUSEHOLD_FIELDS = ("family_name", "phone")


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise ValidationError.single(attribute.name, "must be a probability in (0, 1]")


@attrs.frozen
class Level:
    """m and u for one comparison level; ``weight`` is ``log2(m / u)``.

    >>> Level(m=0.9, u=0.01).weight
    6.491853096329675
    """

    m: float = attrs.field(validator=_probability)
    u: float = attrs.field(validator=_probability)

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


_Table = Mapping[str, Mapping[str, Level]]


def _levels(**levels: tuple[float, float]) -> dict[str, Level]:
    return {name: Level(m, u) for name, (m, u) in levels.items()}


_DEFAULT: dict[str, dict[str, Level]] = {
    "given_name": _levels(
        exact=(0.84, 0.012),
        nickname=(0.06, 0.002),
        typo=(0.05, 0.002),
        phonetic=(0.02, 0.005),
        initial=(0.03, 0.004),
        different=(0.01, 0.95),
    ),
    "family_name": _levels(
        exact=(0.86, 0.004),
        typo=(0.06, 0.001),
        phonetic=(0.02, 0.002),
        partial=(0.04, 0.001),
        different=(0.02, 0.99),
    ),
    "birthday": _levels(
        exact=(0.92, 0.0001), typo=(0.04, 0.001), day_month_swapped=(0.02, 0.0002), different=(0.02, 0.998)
    ),
    "email": _levels(exact=(0.75, 0.00002), typo=(0.05, 0.0005), different=(0.2, 0.9995)),
    "phone": _levels(exact=(0.75, 0.00002), typo=(0.05, 0.0005), different=(0.2, 0.9995)),
    "street": _levels(exact=(0.75, 0.0005), typo=(0.15, 0.0005), other_house=(0.02, 0.01), different=(0.08, 0.989)),
    "locality": _levels(
        exact=(0.8, 0.005),
        city=(0.08, 0.02),
        typo=(0.02, 0.002),
        other_postal_code=(0.04, 0.02),
        different=(0.06, 0.95),
    ),
}

_SAME_ADDRESS: dict[str, dict[str, Level]] = {
    "family_name": _levels(exact=(0.86, 0.6), typo=(0.06, 0.02), phonetic=(0.02, 0.01), partial=(0.04, 0.05)),
    "phone": _levels(exact=(0.75, 0.3), typo=(0.05, 0.01)),
}


def _check_table(table: _Table, path: str) -> None:
    for field, levels in table.items():
        if field not in LEVELS:
            raise ValidationError.single(f"{path}.{field}", f"is not a compared field (one of {', '.join(FIELDS)})")
        for level, value in levels.items():
            if level not in LEVELS[field]:
                known = ", ".join(LEVELS[field])
                raise ValidationError.single(f"{path}.{field}.{level}", f"is not a level of {field} (one of {known})")
            if not isinstance(value, Level):
                raise ValidationError.single(f"{path}.{field}.{level}", "must be a Level(m, u)")


def _freeze(table: _Table) -> _Table:
    return MappingProxyType({field: MappingProxyType(dict(levels)) for field, levels in table.items()})


@attrs.frozen
class MatchModel:
    """m and u probabilities for every field and level, plus the household overrides.

    ``probabilities`` must give every level of every field (see :data:`LEVELS`); ``same_address`` gives the
    levels of :data:`HOUSEHOLD_FIELDS` to use when street and locality agree. Start from :meth:`default` and
    change single levels with :meth:`with_level`.
    """

    probabilities: _Table = attrs.field(converter=_freeze)
    same_address: _Table = attrs.field(converter=_freeze, factory=dict)

    def __attrs_post_init__(self) -> None:
        _check_table(self.probabilities, "probabilities")
        _check_table(self.same_address, "same_address")
        for field, levels in LEVELS.items():
            absent = [level for level in levels if level not in self.probabilities.get(field, {})]
            if absent:
                raise ValidationError.single(f"probabilities.{field}", f"lacks the levels {', '.join(absent)}")
        for field in self.same_address:
            if field not in HOUSEHOLD_FIELDS:
                raise ValidationError.single(f"same_address.{field}", "only family_name and phone have overrides")

    @classmethod
    def default(cls) -> MatchModel:
        """The built-in model, set by reasoning about typical shop data and checked on the synthetic data."""
        return cls(_DEFAULT, _SAME_ADDRESS)

    def with_level(self, field: str, level: str, m: float, u: float, *, same_address: bool = False) -> MatchModel:
        """A copy with one level's probabilities replaced.

        >>> round(MatchModel.default().with_level("email", "different", m=0.5, u=1.0).weight("email", "different"), 6)
        -1.0
        """
        table = self.same_address if same_address else self.probabilities
        changed = {f: dict(levels) for f, levels in table.items()}
        changed.setdefault(field, {})[level] = Level(m, u)
        if same_address:
            return MatchModel(self.probabilities, changed)
        return MatchModel(changed, self.same_address)

    def weight(self, field: str, level: str, *, same_address: bool = False) -> float:
        """The bits that ``level`` of ``field`` adds to a score (0 for a missing value)."""
        if level == MISSING:
            return 0.0
        if same_address and level in self.same_address.get(field, {}):
            return self.same_address[field][level].weight
        return self.probabilities[field][level].weight


@attrs.frozen
class FieldEvidence:
    """How one field of a candidate pair compared and how many bits it added; ``note`` explains unusual
    comparisons (names swapped, household weights). Never holds the compared values."""

    field: str
    outcome: Outcome
    level: str
    weight: float
    note: str = ""

    def __str__(self) -> str:
        note = f"  ({self.note})" if self.note else ""
        return f"{self.field:<12} {self.outcome.value:<9} {self.level:<18} {self.weight:+7.2f}{note}"


@attrs.frozen
class CandidatePair:
    """Two records that may be the same customer: their ids, the score in bits, the decision, and the evidence
    for every field. ``reason`` says why the decision is not what the score alone gives (empty otherwise):
    a pair with a registered account is held for review however high it scores."""

    left: str
    right: str
    score: float
    decision: Decision
    evidence: tuple[FieldEvidence, ...]
    reason: str = ""

    @property
    def ids(self) -> tuple[str, str]:
        return (self.left, self.right)

    def field(self, name: str) -> FieldEvidence:
        """The evidence for one field; raises ``KeyError`` for a field that is not compared."""
        for item in self.evidence:
            if item.field == name:
                return item
        raise KeyError(name)

    def fields_with(self, outcome: Outcome) -> tuple[str, ...]:
        """The names of the fields that compared with ``outcome``."""
        return tuple(item.field for item in self.evidence if item.outcome is outcome)

    def explain(self) -> str:
        """A table of the evidence, one field a line, for logs and review screens (it holds no personal data)."""
        reason = f" ({self.reason})" if self.reason else ""
        lines = [f"{self.left} ~ {self.right}: score {self.score:+.2f} -> {self.decision.value}{reason}"]
        lines.extend(f"  {item}" for item in self.evidence)
        return "\n".join(lines)
