"""The review queue: pairs that wait for a person go out as a CSV file or a self-contained HTML page, and the
person's decisions come back in as merges or as "not the same person" marks.

- :func:`review_pairs` finds the pairs of a store, leaving out those a person already marked as different;
- :func:`export_review` writes the pairs held for review, each with a :func:`pair_id` bound to both customers'
  ids, versions and creation times, and with masked personal values unless ``reveal=True``;
- :func:`read_decisions` reads a decisions file (the page's JSON download, or the CSV with its ``decision``
  column filled in) as untrusted input: every problem is a :class:`custdata.ValidationError` naming the line or
  entry and the field;
- :func:`apply_review_decisions` checks every decision against the store as it is now and carries out the
  sound ones: "same" through :func:`custdata.merge.merge`, "not the same" as a mark in both customers'
  ``private_metadata`` under :data:`NOT_SAME_KEY` (ids only), which :func:`not_same_pairs` reads through merge
  chains and :meth:`Matcher.find_duplicates` honours.

A decision is refused, with its reason in the :class:`ReviewReport`, when its pair id does not match the two
customers as they are now (either changed since the file was made, or the id is forged), when either customer
was merged or erased since, when the two no longer score at least the matcher's ``review`` threshold (a pair
that would not be proposed cannot be decided), when they were marked as different people, and for "same" when
both are registered accounts. A registered account merged with a guest survives, and keeps its own primary email
and phone (see :mod:`custdata.merge.rules`).
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from custdata._errors import ConflictError, NotFoundError, Problem, ValidationError
from custdata.domain import Customer
from custdata.matching.matcher import Matcher, MatchResult
from custdata.matching.model import FIELDS, CandidatePair, Decision
from custdata.matching.records import CustomerRecord
from custdata.merge import MAX_CHAIN, MergeRules, merge, preview
from custdata.merge.rules import NOT_SAME_KEY, marks_in, not_same_marks
from custdata.storage.ports import Store, UnitOfWork, walk

__all__ = [
    "DECISIONS_FORMAT",
    "NOT_SAME_KEY",
    "MergedPair",
    "Refusal",
    "ReviewDecision",
    "ReviewReport",
    "Verdict",
    "apply_review_decisions",
    "export_review",
    "not_same_pairs",
    "pair_id",
    "read_decisions",
    "review_pairs",
]

#: The ``format`` of a decisions file in JSON (the page's download).
DECISIONS_FORMAT = "custdata-review-decisions"
_DECISIONS_VERSION = 1
#: The largest decisions file read, in bytes.
MAX_DECISIONS_BYTES = 16 * 1024 * 1024
_PAIR_ID = re.compile(r"rv1-[0-9a-f]{32}")
_MAX_ID = 200
_MASK = "\u2022\u2022\u2022"
_PAGE = 1000


class Verdict(enum.StrEnum):
    """A person's decision on a pair."""

    SAME = "same"
    NOT_SAME = "not_same"
    SKIP = "skip"


@attrs.frozen
class ReviewDecision:
    """One decision from a decisions file: the pair id, the two customer ids (in id order) and the verdict."""

    pair_id: str
    left: str
    right: str
    verdict: Verdict


@attrs.frozen
class MergedPair:
    """A "same person" decision carried out: ``merged`` went into ``survivor`` by the merge ``merge_id``
    (undo it with :func:`custdata.merge.undo`)."""

    decision: ReviewDecision
    survivor: str
    merged: str
    merge_id: str


@attrs.frozen
class Refusal:
    """A decision that was not carried out, and why."""

    decision: ReviewDecision
    reason: str


@attrs.frozen
class ReviewReport:
    """What :func:`apply_review_decisions` did with each decision."""

    merged: tuple[MergedPair, ...] = ()
    not_same: tuple[ReviewDecision, ...] = ()
    skipped: tuple[ReviewDecision, ...] = ()
    refused: tuple[Refusal, ...] = ()

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"merged {len(self.merged)}, marked not the same {len(self.not_same)}, skipped {len(self.skipped)}, "
            f"refused {len(self.refused)}"
        )


# -- pair ids and marks ----------------------------------------------------------------------------------------


def pair_id(first: Customer, second: Customer) -> str:
    """The id of the pair as the two customers are now: a digest of both ids, versions and creation times, in
    id order. Any change to either customer (a new version) gives another id, so a decision taken on an old
    page no longer fits."""
    if not isinstance(first, Customer) or not isinstance(second, Customer):
        raise ValidationError.single("customers", "must be two Customer objects")
    a, b = sorted((first, second), key=lambda c: str(c.id))
    text = "\x1f".join(f"{c.id}\x1e{c.version}\x1e{c.created_at.isoformat()}" for c in (a, b))
    return "rv1-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def not_same_pairs(source: Store | UnitOfWork) -> frozenset[tuple[str, str]]:
    """The pairs of current customers (each in id order) that a person decided are different people: the marks
    under :data:`NOT_SAME_KEY` of every customer, each id followed through merge chains to the customer that
    absorbed it. Pass the result to :meth:`Matcher.find_duplicates` as ``not_same``."""
    if isinstance(source, UnitOfWork):
        return _not_same(_customers(source))
    if isinstance(source, Store):
        with source.unit_of_work() as uow:
            return _not_same(_customers(uow))
    raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")


def _customers(uow: UnitOfWork) -> Iterator[tuple[str, str | None, bool, tuple[str, ...]]]:
    """Each customer's id, the customer it was merged into, whether it was erased, and its not-same marks: read
    from the stored documents where the store hands them over (no customer is built), else page by page."""
    from custdata.storage.aggregates import customer_documents_of

    documents = customer_documents_of(uow)
    if documents is None:
        for c in walk(lambda cursor: uow.customers.search(limit=_PAGE, cursor=cursor)):
            merged = None if c.merged_into is None else str(c.merged_into)
            yield str(c.id), merged, c.redacted_at is not None, not_same_marks(c)
        return
    for doc in documents.customer_documents(page_size=_PAGE):
        merged = doc.get("merged_into")
        erased = doc.get("redacted_at") is not None
        yield str(doc["id"]), None if merged is None else str(merged), erased, marks_in(doc.get("private_metadata"))


def _not_same(customers: Iterable[tuple[str, str | None, bool, tuple[str, ...]]]) -> frozenset[tuple[str, str]]:
    merged_into: dict[str, str] = {}
    marks: dict[str, tuple[str, ...]] = {}
    for customer_id, into, erased, own in customers:
        if into is not None:
            merged_into[customer_id] = into
        elif not erased and own:
            marks[customer_id] = own

    def resolve(key: str) -> str:
        for _ in range(MAX_CHAIN):
            nxt = merged_into.get(key)
            if nxt is None:
                return key
            key = nxt
        return key

    pairs = set()
    for owner, others in marks.items():
        for other in others:
            target = resolve(other)
            if target != owner:
                pairs.add(_ordered(owner, target))
    return frozenset(pairs)


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def review_pairs(store: Store, matcher: Matcher | None = None) -> MatchResult:
    """Every pair of the store's current customers (merged and erased ones left out) from the matcher's
    ``review`` threshold up, best first, without the pairs marked as different people."""
    from custdata.matching.sources import store_records

    matcher = Matcher() if matcher is None else matcher
    if not isinstance(matcher, Matcher):
        raise ValidationError.single("matcher", "must be a Matcher")
    with store.unit_of_work() as uow:
        records = list(store_records(uow))
        different = not_same_pairs(uow)
    return matcher.find_duplicates(records, not_same=different)


# -- out -------------------------------------------------------------------------------------------------------

#: The personal values shown per compared field: the columns of :class:`CustomerRecord` behind each.
_SHOWN: Mapping[str, tuple[str, ...]] = {
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "birthday": ("birthday",),
    "email": ("email", "other_emails"),
    "phone": ("phone", "other_phones"),
    "street": ("street",),
    "locality": ("postal_code", "city", "country"),
}


def _value(record: CustomerRecord, field: str) -> str:
    parts: list[str] = []
    for name in _SHOWN[field]:
        value = getattr(record, name)
        if isinstance(value, tuple):
            parts.extend(v for v in value if v)
        elif value:
            parts.append(value)
    return ", ".join(parts)


def _masked(text: str) -> str:
    """Nothing of the value: only whether there is one."""
    return _MASK if text else ""


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@attrs.frozen
class _Item:
    pair: CandidatePair
    pair_id: str
    left: Customer
    right: Customer


def _items(pairs: Sequence[CandidatePair], uow: UnitOfWork) -> list[_Item]:
    ids = sorted({i for p in pairs for i in p.ids})
    found = {str(k): v for k, v in (uow.customers.get_many(ids) if ids else {}).items()}
    items = []
    for pair in pairs:
        left, right = found.get(pair.left), found.get(pair.right)
        if left is None or right is None or any(c.merged_into or c.redacted_at for c in (left, right)):
            continue
        items.append(_Item(pair, pair_id(left, right), left, right))
    return items


def export_review(
    result: MatchResult | Iterable[CandidatePair],
    path: str | os.PathLike[str],
    source: Store | UnitOfWork,
    *,
    format: str = "csv",
    reveal: bool = False,
    title: str = "custdata: duplicate pairs to review",
) -> int:
    """Write the pairs of ``result`` held for review (:attr:`Decision.REVIEW`) to ``path`` as ``"csv"`` or as a
    self-contained ``"html"`` page, reading their customers from ``source`` (pairs whose customers are gone,
    merged or erased are left out). Returns how many pairs were written.

    Each pair carries its :func:`pair_id`, the two ids, whether each is a registered account, the score, the
    reason it is held, and per compared field the level and the bits it counted. Personal values (names,
    emails, phones, addresses, birthdays) are written only with ``reveal=True``: the CSV then has a column per
    side, the page holds them behind a "show" button. Without it the page shows only whether a value exists
    and the CSV has no such columns. The CSV's empty ``decision`` column can be filled in (``same``,
    ``not_same``, ``skip``) and the file applied as it is.
    """
    if format not in ("csv", "html"):
        raise ValidationError.single("format", "must be 'csv' or 'html'")
    if not isinstance(reveal, bool):
        raise ValidationError.single("reveal", "must be True or False")
    pairs = result.pairs if isinstance(result, MatchResult) else tuple(result)
    if not all(isinstance(p, CandidatePair) for p in pairs):
        raise ValidationError.single("result", "must be a MatchResult or candidate pairs")
    held = [p for p in pairs if p.decision is Decision.REVIEW]
    if isinstance(source, UnitOfWork):
        items = _items(held, source)
    elif isinstance(source, Store):
        with source.unit_of_work() as uow:
            items = _items(held, uow)
    else:
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")
    text = _csv(items, reveal) if format == "csv" else _html(items, reveal, str(title))
    _write(Path(path), text)
    return len(items)


def _write(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, then renamed."""
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_SIDES = ("left", "right")


def _csv(items: list[_Item], reveal: bool) -> str:
    header = ["pair_id", "left", "right", "left_registered", "right_registered", "score", "proposed", "reason"]
    for field in FIELDS:
        header += [f"{field}_level", f"{field}_bits"]
    if reveal:
        header += [f"{side}_{field}" for field in FIELDS for side in _SIDES]
    header.append("decision")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for item in items:
        row: list[Any] = [
            item.pair_id,
            item.pair.left,
            item.pair.right,
            str(not item.left.is_guest).lower(),
            str(not item.right.is_guest).lower(),
            f"{item.pair.score:.3f}",
            item.pair.decision.value,
            item.pair.reason,
        ]
        for field in FIELDS:
            evidence = item.pair.field(field)
            row += [evidence.level, f"{evidence.weight:.3f}"]
        if reveal:
            records = [CustomerRecord.from_customer(c) for c in (item.left, item.right)]
            row += [_spreadsheet_safe(_value(r, field)) for field in FIELDS for r in records]
        row.append("")
        writer.writerow(row)
    return out.getvalue()


def _html(items: list[_Item], reveal: bool, title: str) -> str:
    from custdata.matching._review_page import page

    pairs = []
    for item in items:
        records = [CustomerRecord.from_customer(c) for c in (item.left, item.right)]
        evidence = []
        for e in item.pair.evidence:
            values = [_value(r, e.field) for r in records]
            entry: dict[str, Any] = {
                "field": e.field,
                "outcome": e.outcome.value,
                "level": e.level,
                "bits": e.weight,
                "note": e.note,
                "masked": [_masked(v) for v in values],
            }
            if reveal:
                entry["shown"] = values
            evidence.append(entry)
        pairs.append(
            {
                "pair_id": item.pair_id,
                "left": item.pair.left,
                "right": item.pair.right,
                "score": item.pair.score,
                "reason": item.pair.reason,
                "registered": [not item.left.is_guest, not item.right.is_guest],
                "evidence": evidence,
            }
        )
    data = {
        "title": title,
        "reveal": reveal,
        "format": DECISIONS_FORMAT,
        "version": _DECISIONS_VERSION,
        "filename": "custdata-decisions.json",
        "pairs": pairs,
    }
    return page(data)


# -- decisions in ----------------------------------------------------------------------------------------------

_ALIASES = {
    "same": Verdict.SAME,
    "same person": Verdict.SAME,
    "not_same": Verdict.NOT_SAME,
    "not same": Verdict.NOT_SAME,
    "not-same": Verdict.NOT_SAME,
    "not the same": Verdict.NOT_SAME,
    "skip": Verdict.SKIP,
    "": Verdict.SKIP,
}


def read_decisions(source: str | os.PathLike[str] | bytes) -> list[ReviewDecision]:
    """Read a decisions file: a path, or the file's bytes. JSON (``{"format": ..., "decisions": [...]}`` as the
    page saves it, or a bare list) or CSV with the columns ``pair_id``, ``left``, ``right`` and ``decision``
    (others are ignored; an empty decision is a skip). The file is untrusted: anything malformed is a
    :class:`custdata.ValidationError` whose problems name the entry (``decisions[2].pair_id``) or line
    (``line 3.decision``). The same pair decided twice is refused."""
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ValidationError.single("decisions", f"cannot be read: {exc.strerror or exc}") from None
        if size > MAX_DECISIONS_BYTES:
            raise ValidationError.single("decisions", f"is larger than {MAX_DECISIONS_BYTES} bytes")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValidationError.single("decisions", f"cannot be read: {exc.strerror or exc}") from None
    else:
        raise ValidationError.single("decisions", "must be a path or the file's bytes")
    if len(raw) > MAX_DECISIONS_BYTES:
        raise ValidationError.single("decisions", f"is larger than {MAX_DECISIONS_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError.single("decisions", f"is not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ValidationError.single("decisions", "holds a NUL character; it is not a decisions file")
    stripped = text.lstrip()
    entries = _json_entries(text) if stripped[:1] in ("{", "[") else _csv_entries(text)
    decisions: list[ReviewDecision] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, entry in entries:
        decision = _decision(where, entry, problems)
        if decision is None:
            continue
        if decision.pair_id in seen:
            problems.append(Problem(f"{where}.pair_id", f"decides the pair of {seen[decision.pair_id]} again"))
            continue
        seen[decision.pair_id] = where
        decisions.append(decision)
    if problems:
        raise ValidationError(problems[:100])
    return decisions


def _json_entries(text: str) -> list[tuple[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError.single(f"line {exc.lineno}", f"is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValidationError.single("decisions", "is nested too deeply") from None
    if isinstance(document, dict):
        if document.get("format") != DECISIONS_FORMAT:
            raise ValidationError.single("format", f"must be {DECISIONS_FORMAT!r}")
        if document.get("version") != _DECISIONS_VERSION:
            raise ValidationError.single("version", f"must be {_DECISIONS_VERSION}")
        document = document.get("decisions")
        if not isinstance(document, list):
            raise ValidationError.single("decisions", "must be a list of decisions")
    elif not isinstance(document, list):
        raise ValidationError.single("decisions", "must be a list of decisions")
    return [(f"decisions[{i}]", entry) for i, entry in enumerate(document)]


def _csv_entries(text: str) -> list[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ValidationError.single(f"line {reader.line_num}", f"is not valid CSV: {exc}") from None
    if not rows:
        raise ValidationError.single("decisions", "is empty")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in ("pair_id", "left", "right", "decision") if name not in header]
    if missing:
        raise ValidationError.single("line 1", f"lacks the column(s) {', '.join(missing)}")
    entries: list[tuple[str, Any]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            entries.append((f"line {number}", f"has {len(row)} cells, the header {len(header)}"))
            continue
        entries.append((f"line {number}", dict(zip(header, row, strict=True))))
    return entries


def _decision(where: str, entry: Any, problems: list[Problem]) -> ReviewDecision | None:
    if isinstance(entry, str):  # a CSV row that could not be read as one
        problems.append(Problem(where, entry))
        return None
    if not isinstance(entry, dict):
        problems.append(Problem(where, "must be an object with pair_id, left, right and decision"))
        return None
    found = len(problems)
    key = entry.get("pair_id")
    if not isinstance(key, str) or not _PAIR_ID.fullmatch(key.strip()):
        problems.append(Problem(f"{where}.pair_id", "must be a pair id from a review file (rv1- and 32 hex digits)"))
    ids = []
    for side in _SIDES:
        value = entry.get(side)
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID or not value.isprintable():
            problems.append(Problem(f"{where}.{side}", "must be a customer id"))
        else:
            ids.append(value.strip())
    if len(ids) == 2 and ids[0] == ids[1]:
        problems.append(Problem(f"{where}.right", "is the same customer as left"))
    verdict = entry.get("decision")
    chosen = _ALIASES.get(verdict.strip().lower()) if isinstance(verdict, str) else None
    if chosen is None:
        problems.append(Problem(f"{where}.decision", "must be 'same', 'not_same' or 'skip'"))
    if len(problems) > found or chosen is None or not isinstance(key, str):
        return None
    left, right = _ordered(ids[0], ids[1])
    return ReviewDecision(key.strip(), left, right, chosen)


# -- applying --------------------------------------------------------------------------------------------------


def apply_review_decisions(
    store: Store,
    decisions: Iterable[ReviewDecision] | str | os.PathLike[str] | bytes,
    *,
    matcher: Matcher | None = None,
    rules: MergeRules | None = None,
) -> ReviewReport:
    """Carry out a person's decisions (from :func:`read_decisions`, or a decisions file to read) on ``store``,
    each in its own unit of work, in the file's order; see the module for what is refused. ``matcher`` scores
    the pairs again (its ``review`` threshold says which pairs can be decided); ``rules`` are the merge rules.

    "Same": the registered account survives when one side is one (two accounts are refused: merge them by hand
    with :mod:`custdata.merge`), else the older customer; the merge is undoable with
    :func:`custdata.merge.undo` from :attr:`MergedPair.merge_id`. "Not the same": both customers get the other's
    id under :data:`NOT_SAME_KEY`. Records this run changed itself still match the file's pair ids, so one file
    can merge a customer and then decide another of its pairs.
    """
    if isinstance(decisions, (str, bytes, os.PathLike)):
        decisions = read_decisions(decisions)
    items = list(decisions)
    if not all(isinstance(d, ReviewDecision) for d in items):
        raise ValidationError.single("decisions", "must be ReviewDecision objects from read_decisions")
    matcher = Matcher() if matcher is None else matcher
    if not isinstance(matcher, Matcher):
        raise ValidationError.single("matcher", "must be a Matcher")
    if rules is not None and not isinstance(rules, MergeRules):
        raise ValidationError.single("rules", "must be MergeRules")
    run = _Run(store, matcher, rules)
    for decision in items:
        run.apply(decision)
    return ReviewReport(tuple(run.merged), tuple(run.not_same), tuple(run.skipped), tuple(run.refused))


class _Refused(Exception):
    pass


class _Run:
    """One application of a decisions file; remembers the versions it wrote itself."""

    def __init__(self, store: Store, matcher: Matcher, rules: MergeRules | None) -> None:
        self.store, self.matcher, self.rules = store, matcher, rules
        self.first_seen: dict[str, Customer] = {}  # as the customer was before this run changed it
        self.written: dict[str, int] = {}  # the version this run left it at
        self.merged: list[MergedPair] = []
        self.not_same: list[ReviewDecision] = []
        self.skipped: list[ReviewDecision] = []
        self.refused: list[Refusal] = []
        self.known: frozenset[tuple[str, str]] | None = None

    def apply(self, decision: ReviewDecision) -> None:
        if decision.verdict is Verdict.SKIP:
            self.skipped.append(decision)
            return
        try:
            with self.store.unit_of_work() as uow:
                left, right = self._check(uow, decision)
                if decision.verdict is Verdict.SAME:
                    self._merge(uow, decision, left, right)
                else:
                    self._mark(uow, decision, left, right)
        except _Refused as exc:
            self.refused.append(Refusal(decision, str(exc)))
        except (ConflictError, ValidationError, NotFoundError) as exc:
            self.refused.append(Refusal(decision, f"the store refused it: {exc}"))

    def _as_on_page(self, customer: Customer) -> Customer:
        """The customer the file saw: as before this run changed it, if only this run did."""
        key = str(customer.id)
        if key in self.written and self.written[key] == customer.version:
            return self.first_seen[key]
        return customer

    def _check(self, uow: UnitOfWork, decision: ReviewDecision) -> tuple[Customer, Customer]:
        found = {str(k): v for k, v in uow.customers.get_many([decision.left, decision.right]).items()}
        sides = []
        for key in (decision.left, decision.right):
            customer = found.get(key)
            if customer is None:
                raise _Refused(f"customer {key!r} does not exist")
            if customer.redacted_at is not None:
                raise _Refused(f"customer {key!r} was erased")
            if customer.merged_into is not None:
                raise _Refused(f"customer {key!r} was merged into another customer since")
            sides.append(customer)
        left, right = sides
        if pair_id(self._as_on_page(left), self._as_on_page(right)) != decision.pair_id:
            raise _Refused("the pair id does not match these customers as they are now (changed since the review)")
        if decision.verdict is Verdict.SAME and self._marked(uow, left, right):
            raise _Refused("a person decided before that these are not the same person")
        # proposed as the file saw the two, and still now (after what this run merged into either)
        seen = {self._score(self._as_on_page(left), self._as_on_page(right)), self._score(left, right)}
        if min(seen) < self.matcher.review:
            raise _Refused(
                f"the pair is not proposed for review (it scores {min(seen):.1f} bits, below {self.matcher.review})"
            )
        return left, right

    def _score(self, left: Customer, right: Customer) -> float:
        return self.matcher.compare(CustomerRecord.from_customer(left), CustomerRecord.from_customer(right)).score

    def _marked(self, uow: UnitOfWork, left: Customer, right: Customer) -> bool:
        """Whether the two were marked as different people: on either record, or through a merge chain (read
        once per run; marks and merges of this run are on the records themselves, since both sides are marked
        and a merge keeps the marks of both)."""
        if str(right.id) in not_same_marks(left) or str(left.id) in not_same_marks(right):
            return True
        if self.known is None:
            self.known = not_same_pairs(uow)
        return _ordered(str(left.id), str(right.id)) in self.known

    def _remember(self, before: Customer, after: Customer) -> None:
        key = str(before.id)
        self.first_seen.setdefault(key, self._as_on_page(before))
        self.written[key] = after.version

    def _merge(self, uow: UnitOfWork, decision: ReviewDecision, left: Customer, right: Customer) -> None:
        if not left.is_guest and not right.is_guest:
            raise _Refused("both are registered accounts; merge accounts by hand (custdata.merge)")
        if not left.is_guest or not right.is_guest:
            survivor, other = (left, right) if not left.is_guest else (right, left)
        else:
            survivor, other = sorted((left, right), key=lambda c: (c.created_at, str(c.id)))
        plan = preview(uow, str(survivor.id), [str(other.id)], rules=self.rules)
        record = merge(uow, plan)
        after = uow.customers.get(str(survivor.id))
        uow.commit()
        self._remember(survivor, after)
        self.merged.append(MergedPair(decision, str(survivor.id), str(other.id), str(record.id)))

    def _mark(self, uow: UnitOfWork, decision: ReviewDecision, left: Customer, right: Customer) -> None:
        changed = []
        for customer, other in ((left, right), (right, left)):
            marks = not_same_marks(customer)
            if str(other.id) in marks:
                continue
            metadata = dict(customer.private_metadata)
            metadata[NOT_SAME_KEY] = sorted({*marks, str(other.id)})
            updated = attrs.evolve(customer, private_metadata=metadata)
            uow.customers.update(updated)
            changed.append(customer)
        stored = uow.customers.get_many([str(c.id) for c in changed]) if changed else {}
        uow.commit()
        for before in changed:
            self._remember(before, stored[before.id])
        self.not_same.append(decision)
