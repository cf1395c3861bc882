"""Merge duplicate customers into a survivor, with per-field rules, a preview, provenance and undo.

>>> from custdata.merge import MergeRules, Rule
>>> MergeRules(fields={"family_name": Rule.MOST_RECENT}).rule("family_name").value
'most_recent'

- :mod:`custdata.merge.rules`: :class:`Rule`, :class:`MergeRules`, :class:`FieldProvenance`;
- :mod:`custdata.merge.model`: :class:`MergePlan` (the preview) and :class:`MergeRecord` (kept on the timeline);
- :mod:`custdata.merge.service`: :func:`preview`, :func:`merge`, :func:`undo`, :func:`resolve`,
  :func:`merges_of`, inside the caller's unit of work.
"""

from custdata.merge.model import MERGE_EVENT, MergePlan, MergeRecord, MovedRecord, UndoRefusedError
from custdata.merge.rules import CHOSEN_FIELDS, FieldProvenance, MergeRules, Rule
from custdata.merge.service import MAX_CHAIN, merge, merges_of, preview, resolve, undo

__all__ = [
    "CHOSEN_FIELDS",
    "MAX_CHAIN",
    "MERGE_EVENT",
    "FieldProvenance",
    "MergePlan",
    "MergeRecord",
    "MergeRules",
    "MovedRecord",
    "Rule",
    "UndoRefusedError",
    "merge",
    "merges_of",
    "preview",
    "resolve",
    "undo",
]
