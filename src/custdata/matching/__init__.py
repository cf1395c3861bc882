"""Duplicate detection for customer records: normalise, block, compare, score and explain.

Needs the ``matching`` extra (rapidfuzz and jellyfish): ``pip install 'custdata[matching]'``.

>>> from custdata.matching import Matcher, evaluate, generate_customers
>>> data = generate_customers(300, seed=7)
>>> result = Matcher().find_duplicates(data.records)
>>> evaluate(result.pairs, data.true_pairs).f1 > 0.9
True
"""

from custdata.matching.blocking import BlockingStats, blocking_keys
from custdata.matching.evaluation import Accuracy, evaluate
from custdata.matching.matcher import AUTO_MERGE, REGISTERED_REASON, REVIEW, Matcher, MatchResult
from custdata.matching.model import (
    FIELDS,
    HOUSEHOLD_FIELDS,
    LEVELS,
    TERM_FREQUENCY_FIELDS,
    CandidatePair,
    Decision,
    FieldEvidence,
    FitSummary,
    Level,
    MatchModel,
    ModelReport,
    Outcome,
)
from custdata.matching.normalise import NormalisedRecord, normalise
from custdata.matching.records import COLUMN_ALIASES, CustomerRecord
from custdata.matching.sources import store_records
from custdata.matching.synthetic import SyntheticData, generate_customers

__all__ = [
    "AUTO_MERGE",
    "COLUMN_ALIASES",
    "FIELDS",
    "HOUSEHOLD_FIELDS",
    "LEVELS",
    "REGISTERED_REASON",
    "REVIEW",
    "TERM_FREQUENCY_FIELDS",
    "Accuracy",
    "BlockingStats",
    "CandidatePair",
    "CustomerRecord",
    "Decision",
    "FieldEvidence",
    "FitSummary",
    "Level",
    "MatchModel",
    "MatchResult",
    "Matcher",
    "ModelReport",
    "NormalisedRecord",
    "Outcome",
    "SyntheticData",
    "blocking_keys",
    "evaluate",
    "generate_customers",
    "normalise",
    "store_records",
]
