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
import json
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from custdata._errors import Problem, ValidationError

if TYPE_CHECKING:
    from custdata.matching.records import RecordLike

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

#: Fields whose ``exact`` level can be adjusted by the term frequency of the shared value: the first given
#: name, the family name and the postal code (for ``locality``).
TERM_FREQUENCY_FIELDS = ("given_name", "family_name", "locality")

#: The format version written by :meth:`MatchModel.to_json`; :meth:`MatchModel.from_json` reads it.
JSON_VERSION = 1
_JSON_FORMAT = "custdata.MatchModel"
#: The longest value a term-frequency table may hold (as :data:`custdata.matching.records.MAX_FIELD_LENGTH`).
_MAX_VALUE_LENGTH = 512


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_probability(value):
        raise ValidationError.single(attribute.name, "must be a probability in (0, 1]")


def _is_probability(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0.0 < value <= 1.0


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


def _freeze_frequencies(table: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({field: MappingProxyType(dict(values)) for field, values in table.items()})


def _check_frequencies(table: Mapping[str, Mapping[str, float]]) -> Iterable[Problem]:
    for field, values in table.items():
        path = f"term_frequencies.{field}"
        if field not in TERM_FREQUENCY_FIELDS:
            yield Problem(path, f"has no term frequencies (only {', '.join(TERM_FREQUENCY_FIELDS)})")
            continue
        if not isinstance(values, Mapping):
            yield Problem(path, "must map values to their frequencies")
            continue
        for value, frequency in values.items():
            if not isinstance(value, str) or not value or len(value) > _MAX_VALUE_LENGTH or "\x00" in value:
                yield Problem(
                    path, f"holds a value that is not a name or postal code of 1 to {_MAX_VALUE_LENGTH} characters"
                )
            elif not _is_probability(frequency) or frequency >= 1.0:
                yield Problem(f"{path}[{len(value)} characters]", "must be a frequency in (0, 1)")


@attrs.frozen
class FitSummary:
    """How :meth:`MatchModel.fit` went: whether expectation-maximisation converged and in how many
    iterations, the estimated share of candidate pairs that are matches (``match_share``, lambda), how many
    records, candidate pairs and random pairs it used, the seed of the random pairs, and the levels that kept
    their prior because the data never showed them (``"email.typo: m"``)."""

    converged: bool
    iterations: int
    max_iterations: int
    match_share: float
    records: int
    candidate_pairs: int
    random_pairs: int
    seed: int
    kept_prior: tuple[str, ...] = ()

    def notes(self) -> list[str]:
        """The summary in words, for :meth:`MatchModel.report`."""
        if self.converged:
            em = f"expectation-maximisation converged after {self.iterations} iterations"
        else:
            em = (
                f"expectation-maximisation did NOT converge within {self.max_iterations} iterations: m is the "
                "last estimate; raise max_iterations or check the data"
            )
        lines = [
            f"fitted on {self.records} records: u from {self.random_pairs} random pairs (seed {self.seed}), m from "
            f"{self.candidate_pairs} candidate pairs; {em}; match share {self.match_share:.4f}",
        ]
        if self.kept_prior:
            lines.append("kept their prior (never seen in the data): " + ", ".join(self.kept_prior))
        lines.append("same_address probabilities are not fitted: they are the starting model's")
        return lines


@attrs.frozen
class ModelReport:
    """Every level of a model with m, u and weight in bits: ``rows`` (dicts, e.g. for ``pandas.DataFrame``),
    ``notes`` (how the model was fitted, if it was), ``str(report)`` a text table."""

    rows: tuple[Mapping[str, Any], ...]
    notes: tuple[str, ...]
    converged: bool | None

    @property
    def text(self) -> str:
        header = f"{'table':<13} {'field':<12} {'level':<18} {'m':>10} {'u':>10} {'bits':>7}"
        lines = [header, "-" * len(header)]
        for row in self.rows:
            lines.append(
                f"{row['table']:<13} {row['field']:<12} {row['level']:<18} {row['m']:>10.6f} {row['u']:>10.6f} "
                f"{row['weight_bits']:>+7.2f}"
            )
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text


@attrs.frozen
class MatchModel:
    """m and u probabilities for every field and level, plus the household overrides.

    ``probabilities`` must give every level of every field (see :data:`LEVELS`); ``same_address`` gives the
    levels of :data:`HOUSEHOLD_FIELDS` to use when street and locality agree. Start from :meth:`default` and
    change single levels with :meth:`with_level`, or estimate them from your own records with :meth:`fit`.

    ``term_frequencies`` maps fields of :data:`TERM_FREQUENCY_FIELDS` to frequent values (folded first given
    names, folded family names, normalised postal codes) and the share of records holding each: an exact match
    on such a value uses its frequency as ``u`` (never a ``u`` below the level's own), so a common name counts
    less than a rare one. ``fit_summary`` says how :meth:`fit` went (``None`` for a model not fitted).
    """

    probabilities: _Table = attrs.field(converter=_freeze)
    same_address: _Table = attrs.field(converter=_freeze, factory=dict)
    # Frequent names and postal codes, each shared by many records: kept out of repr() all the same, so that
    # logging a model never prints names.
    term_frequencies: Mapping[str, Mapping[str, float]] = attrs.field(
        converter=_freeze_frequencies, factory=dict, kw_only=True, repr=False
    )
    fit_summary: FitSummary | None = attrs.field(default=None, kw_only=True)

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
        problems = list(_check_frequencies(self.term_frequencies))
        if problems:
            raise ValidationError(problems)
        if self.fit_summary is not None and not isinstance(self.fit_summary, FitSummary):
            raise ValidationError.single("fit_summary", "must be a FitSummary or None")

    @classmethod
    def default(cls) -> MatchModel:
        """The built-in model, set by reasoning about typical shop data and checked on the synthetic data."""
        return cls(_DEFAULT, _SAME_ADDRESS)

    @classmethod
    def fit(
        cls,
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
    ) -> MatchModel:
        """A model estimated from ``records`` without labels (see :func:`custdata.matching.training.fit_model`
        for the method and every argument). Deterministic for a given ``seed``."""
        from custdata.matching.training import fit_model

        return fit_model(
            records,
            start=start,
            seed=seed,
            random_pairs=random_pairs,
            max_iterations=max_iterations,
            tolerance=tolerance,
            term_frequencies=term_frequencies,
            min_count=min_count,
            default_region=default_region,
        )

    def with_level(self, field: str, level: str, m: float, u: float, *, same_address: bool = False) -> MatchModel:
        """A copy with one level's probabilities replaced.

        >>> round(MatchModel.default().with_level("email", "different", m=0.5, u=1.0).weight("email", "different"), 6)
        -1.0
        """
        table = self.same_address if same_address else self.probabilities
        changed = {f: dict(levels) for f, levels in table.items()}
        changed.setdefault(field, {})[level] = Level(m, u)
        if same_address:
            return attrs.evolve(self, same_address=changed)
        return attrs.evolve(self, probabilities=changed)

    def weight(self, field: str, level: str, *, same_address: bool = False) -> float:
        """The bits that ``level`` of ``field`` adds to a score (0 for a missing value)."""
        if level == MISSING:
            return 0.0
        if same_address and level in self.same_address.get(field, {}):
            return self.same_address[field][level].weight
        return self.probabilities[field][level].weight

    def term_frequency_weight(self, field: str, value: str) -> float | None:
        """The bits of an exact match of ``field`` on ``value`` when the term-frequency table holds the value:
        ``log2(m / max(frequency, u))`` with the ``exact`` level's m and u; ``None`` otherwise.

        >>> model = MatchModel(MatchModel.default().probabilities, term_frequencies={"family_name": {"smith": 0.25}})
        >>> model.term_frequency_weight("family_name", "smith") < model.weight("family_name", "exact")
        True
        """
        frequency = self.term_frequencies.get(field, {}).get(value)
        if frequency is None:
            return None
        exact = self.probabilities[field]["exact"]
        return math.log2(exact.m / max(frequency, exact.u))

    # -- JSON ------------------------------------------------------------------------------------

    def to_json(self, *, indent: int | None = 1) -> str:
        """The model as a JSON document (versioned; see :meth:`from_json`). It holds the m/u tables, the
        fit summary and the term-frequency tables: values shared by at least ``min_count`` records when fitted,
        never a value of one customer alone."""
        document: dict[str, Any] = {
            "format": _JSON_FORMAT,
            "version": JSON_VERSION,
            "probabilities": _table_document(self.probabilities),
            "same_address": _table_document(self.same_address),
            "term_frequencies": {
                field: dict(sorted(values.items())) for field, values in self.term_frequencies.items()
            },
            "fit": None
            if self.fit_summary is None
            else {**attrs.asdict(self.fit_summary), "kept_prior": list(self.fit_summary.kept_prior)},
        }
        return json.dumps(document, indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> MatchModel:
        """Read a model written by :meth:`to_json`. Every problem of the document is reported at once, as a
        :class:`custdata.ValidationError` naming the field (``probabilities.email.exact.m``); the document's
        values are never repeated in messages.

        >>> MatchModel.from_json(MatchModel.default().to_json()) == MatchModel.default()
        True
        """
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError.single("", "is not UTF-8 text") from None
        if not isinstance(text, str):
            raise ValidationError.single("", f"must be JSON text, not {type(text).__name__}")
        try:
            document = json.loads(text, parse_constant=_no_constant)
        except ValidationError:
            raise
        except RecursionError:
            raise ValidationError.single("", "is nested too deeply to be a match model") from None
        except ValueError as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "cannot be read"
            raise ValidationError.single("", f"is not JSON: {message}") from None
        return _from_document(document)

    # -- report ----------------------------------------------------------------------------------

    def report(self) -> ModelReport:
        """Each field's levels with m, u and weight in bits, then the household overrides; the notes say how the
        model was fitted (whether expectation-maximisation converged, which levels kept their prior) and
        which term-frequency tables it holds.

        >>> report = MatchModel.default().report()
        >>> report.rows[0]["field"], report.rows[0]["level"], round(report.rows[0]["weight_bits"], 2)
        ('given_name', 'exact', 6.13)
        """
        rows: list[Mapping[str, Any]] = []
        for table_name, table in (("probabilities", self.probabilities), ("same_address", self.same_address)):
            for field in FIELDS:
                for level in LEVELS[field]:
                    value = table.get(field, {}).get(level)
                    if value is None:
                        continue
                    rows.append(
                        {
                            "table": table_name,
                            "field": field,
                            "level": level,
                            "outcome": LEVELS[field][level].value,
                            "m": value.m,
                            "u": value.u,
                            "weight_bits": value.weight,
                        }
                    )
        notes = [] if self.fit_summary is None else self.fit_summary.notes()
        if self.fit_summary is None:
            notes.append("not fitted: hand-set probabilities")
        for field in TERM_FREQUENCY_FIELDS:
            values = self.term_frequencies.get(field)
            if values:
                top = max(values.values())
                notes.append(
                    f"term frequencies for {field}: {len(values)} frequent values (the most frequent held by "
                    f"{top:.2%} of records); an exact match on one of them uses its frequency as u"
                )
        converged = None if self.fit_summary is None else self.fit_summary.converged
        return ModelReport(tuple(rows), tuple(notes), converged)


def _table_document(table: _Table) -> dict[str, dict[str, dict[str, float]]]:
    return {
        field: {level: {"m": value.m, "u": value.u} for level, value in levels.items()}
        for field, levels in table.items()
    }


def _no_constant(name: str) -> None:
    raise ValidationError.single("", f"is not JSON: {name} is not a number JSON allows")


_FIT_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "converged": bool,
        "iterations": int,
        "max_iterations": int,
        "match_share": float,
        "records": int,
        "candidate_pairs": int,
        "random_pairs": int,
        "seed": int,
        "kept_prior": list,
    }
)


def _from_document(document: object) -> MatchModel:
    problems: list[Problem] = []
    if not isinstance(document, dict):
        raise ValidationError.single("", "must be a JSON object")
    if document.get("format") != _JSON_FORMAT:
        problems.append(Problem("format", f"must be {_JSON_FORMAT!r}"))
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append(Problem("version", "must be an integer"))
    elif version != JSON_VERSION:
        problems.append(Problem("version", f"is {version}, but this custdata reads version {JSON_VERSION}"))
    for key in document:
        if key not in ("format", "version", "probabilities", "same_address", "term_frequencies", "fit"):
            problems.append(Problem(str(key)[:64], "is not a part of a match model"))
    probabilities = _read_table(document.get("probabilities"), "probabilities", problems, required=True)
    same_address = _read_table(document.get("same_address", {}), "same_address", problems, required=False)
    frequencies = _read_frequencies(document.get("term_frequencies", {}), problems)
    summary = _read_fit(document.get("fit"), problems)
    if problems:
        raise ValidationError(problems)
    return MatchModel(probabilities, same_address, term_frequencies=frequencies, fit_summary=summary)


def _read_table(raw: object, path: str, problems: list[Problem], *, required: bool) -> dict[str, dict[str, Level]]:
    table: dict[str, dict[str, Level]] = {}
    if not isinstance(raw, dict):
        problems.append(Problem(path, "must be an object of fields"))
        return table
    for field, levels in raw.items():
        field_path = f"{path}.{str(field)[:64]}"
        if field not in LEVELS or (not required and field not in HOUSEHOLD_FIELDS):
            known = ", ".join(LEVELS if required else HOUSEHOLD_FIELDS)
            problems.append(Problem(field_path, f"is not a field of this table (one of {known})"))
            continue
        if not isinstance(levels, dict):
            problems.append(Problem(field_path, "must be an object of levels"))
            continue
        table[field] = {}
        for level, value in levels.items():
            level_path = f"{field_path}.{str(level)[:64]}"
            if level not in LEVELS[field]:
                problems.append(Problem(level_path, f"is not a level of {field} (one of {', '.join(LEVELS[field])})"))
                continue
            if not isinstance(value, dict) or set(value) != {"m", "u"}:
                problems.append(Problem(level_path, "must be an object with exactly m and u"))
                continue
            ok = True
            for name in ("m", "u"):
                if not _is_probability(value[name]):
                    problems.append(Problem(f"{level_path}.{name}", "must be a probability in (0, 1]"))
                    ok = False
            if ok:
                table[field][level] = Level(float(value["m"]), float(value["u"]))
        if required:
            absent = [level for level in LEVELS[field] if level not in levels]
            if absent:
                problems.append(Problem(field_path, f"lacks the levels {', '.join(absent)}"))
    if required:
        for field in FIELDS:
            if field not in raw:
                problems.append(Problem(f"{path}.{field}", "is missing"))
    return table


def _read_frequencies(raw: object, problems: list[Problem]) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    if not isinstance(raw, dict):
        problems.append(Problem("term_frequencies", "must be an object of fields"))
        return result
    for field, values in raw.items():
        path = f"term_frequencies.{str(field)[:64]}"
        if field not in TERM_FREQUENCY_FIELDS:
            problems.append(Problem(path, f"has no term frequencies (only {', '.join(TERM_FREQUENCY_FIELDS)})"))
            continue
        if not isinstance(values, dict):
            problems.append(Problem(path, "must be an object of values and their frequencies"))
            continue
        read = {value: frequency for value, frequency in values.items()}
        found = list(_check_frequencies({field: read}))
        if found:
            problems.extend(found)
            continue
        result[field] = {value: float(frequency) for value, frequency in read.items()}
    return result


def _read_fit(raw: object, problems: list[Problem]) -> FitSummary | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("fit", "must be an object or null"))
        return None
    values: dict[str, Any] = {}
    for key in raw:
        if key not in _FIT_FIELDS:
            problems.append(Problem(f"fit.{str(key)[:64]}", "is not a part of a fit summary"))
    for key, kind in _FIT_FIELDS.items():
        value: Any = raw.get(key)
        path = f"fit.{key}"
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif kind is float:
            ok = _is_probability(value) or (type(value) in (int, float) and value == 0)
        else:
            ok = isinstance(value, list) and all(isinstance(item, str) and len(item) <= 64 for item in value)
        if not ok:
            expected = {bool: "true or false", int: "a non-negative integer", float: "a share in [0, 1]"}
            problems.append(Problem(path, f"must be {expected.get(kind, 'a list of level names')}"))
            continue
        values[key] = tuple(value) if kind is list else (float(value) if kind is float else value)
    if len(values) != len(_FIT_FIELDS):
        return None
    return FitSummary(**values)


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
