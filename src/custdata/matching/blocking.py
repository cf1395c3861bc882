"""Blocking: only records that share a key (an email, a phone, a postal code with a similar-sounding name,
a name with a birthday, a birthday...) are compared, so the work grows with the number of records, not its square.

Each record gets several keys, so that one dirty field does not hide a duplicate: a typo in the family
name still leaves the email, the phone, the house, and the given name at the same postal code. A block
larger than ``max_block_size`` (a shared office phone, "John Smith") is not compared all against all: its
records are sorted by name and each is compared with its ``window`` nearest neighbours. Keys that say little on
their own (a pair of name codes, a birthday alone: :data:`WEAK_KINDS`) get a fifth of the block size and half the
window, so that their pairs grow with the records, not with their square.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

import attrs

from custdata.matching.normalise import NormalisedRecord


def blocking_keys(record: NormalisedRecord) -> set[str]:
    """The keys a record is filed under; two records are compared when they share at least one.

    Every key starts with a letter saying its kind, so that an email never meets a postal code.
    """
    keys: set[str] = set()
    for address in record.emails:
        keys.add("e" + address)
        local = address.rpartition("@")[0]
        if len(local) >= 6:
            keys.add("l" + local)
    for number in record.phones:
        if len(number) >= 8:
            keys.add("p" + number[-8:])
    given, family = record.given, record.family
    codes = {code for code in (given.code, family.code) if code}
    postal = record.postal_code
    house = record.street.house
    if postal:
        for code in codes:
            keys.add(f"a{postal}|{code}")
        if house:
            keys.add(f"h{postal}|{house}")
    if record.street.name and record.city:
        keys.add(f"c{record.city}|{record.street.name[:5]}|{house}")
    if given.code and family.code:
        given_ids = [f"#{group}" for group in given.groups] or [given.code]
        for name in given_ids:
            keys.add("n" + "|".join(sorted((name, family.code))))
    if record.birthday is not None:
        for code in codes:
            keys.add(f"b{record.birthday.digits}|{code}")
        # The birthday alone: a duplicate with both names and the postal code mistyped still shares it. A date is
        # shared by about one customer in 30,000, so in a large shop its block is compared within a narrow window
        # (see WEAK_KINDS), as a name code's is.
        keys.add(f"d{record.birthday.digits}")
    return keys


#: The kinds of key that say little on their own: a pair of name codes, a birthday alone. Their blocks grow with
#: the shop (about one customer in 30,000 shares a date; "John Smith" is everywhere), and nearly every pair they
#: propose is either a stranger or found by another key as well, so they pair all their records only up to
#: :func:`weak_limit` and compare larger blocks within :func:`weak_window` neighbours. Left at
#: ``max_block_size``, they would propose pairs growing with the square of the shop until their blocks pass it.
WEAK_KINDS = frozenset("nd")


def weak_limit(max_block_size: int) -> int:
    """The largest block of a :data:`WEAK_KINDS` key whose records are all paired."""
    return max(2, max_block_size // 5)


def weak_window(window: int) -> int:
    """The neighbours each record of a larger block of a :data:`WEAK_KINDS` key is compared with."""
    return max(1, window // 2)


def block_limits(kind: str, max_block_size: int, window: int) -> tuple[int, int]:
    """The largest block of keys of ``kind`` (their first letter) paired all against all, and the window of a
    larger one."""
    if kind in WEAK_KINDS:
        return weak_limit(max_block_size), weak_window(window)
    return max_block_size, window


@attrs.frozen
class BlockingStats:
    """How blocking went: number of keys with two or more records, how many of them were too large to
    compare all against all, and how many distinct pairs came out."""

    blocks: int
    oversized_blocks: int
    pairs: int


def candidate_pairs(
    records: Sequence[NormalisedRecord], *, max_block_size: int = 50, window: int = 8
) -> tuple[Collection[int], BlockingStats]:
    """Distinct pairs of records that share a blocking key, each coded as ``i * len(records) + j`` with
    ``i < j`` (use ``divmod`` to decode): a set of ints takes a fraction of the memory of a set of tuples."""
    index: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        for key in blocking_keys(record):
            members = index.get(key)
            if members is None:
                index[key] = [position]
            else:
                members.append(position)
    count = len(records)
    seen: set[int] = set()
    add = seen.add
    blocks = oversized = 0
    limits = {kind: block_limits(kind, max_block_size, window) for kind in KEY_FIELDS}
    for key, members in index.items():
        size = len(members)
        if size < 2:
            continue
        blocks += 1
        limit, reach = limits.get(key[0]) or block_limits(key[0], max_block_size, window)
        if size == 2:
            add(members[0] * count + members[1])  # positions were appended in increasing order
        elif size <= limit:
            for x, i in enumerate(members):
                base = i * count
                seen.update(base + j for j in members[x + 1 :])
        else:
            oversized += 1
            for i, j in _neighbours(members, records, reach):
                add(i * count + j if i < j else j * count + i)
    return seen, BlockingStats(blocks, oversized, len(seen))


#: The fields that sharing a key of each kind says something about: pairs found through a key agree (or nearly
#: agree) on these fields by construction, so :mod:`custdata.matching.training` does not learn their ``m`` from
#: those pairs.
KEY_FIELDS: dict[str, frozenset[str]] = {
    "e": frozenset(("email",)),
    "l": frozenset(("email",)),
    "p": frozenset(("phone",)),
    "a": frozenset(("given_name", "family_name", "locality")),
    "h": frozenset(("street", "locality")),
    "c": frozenset(("street", "locality")),
    "n": frozenset(("given_name", "family_name")),
    "b": frozenset(("given_name", "family_name", "birthday")),
    "d": frozenset(("birthday",)),
}


def pairs_by_kind(
    records: Sequence[NormalisedRecord], *, max_block_size: int = 50, window: int = 8
) -> dict[str, set[int]]:
    """The pairs of :func:`candidate_pairs` (coded the same way), grouped by the kind of key (its first letter)
    that proposed them; a pair shared through keys of several kinds is in each kind's set. The union of the
    sets is exactly what :func:`candidate_pairs` returns."""
    index: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        for key in blocking_keys(record):
            index.setdefault(key, []).append(position)
    count = len(records)
    kinds: dict[str, set[int]] = {}
    for key, members in index.items():
        if len(members) < 2:
            continue
        found = kinds.setdefault(key[0], set())
        limit, reach = block_limits(key[0], max_block_size, window)
        if len(members) <= limit:
            for x, i in enumerate(members):
                found.update(i * count + j for j in members[x + 1 :])
        else:
            for i, j in _neighbours(members, records, reach):
                found.add(i * count + j if i < j else j * count + i)
    return kinds


def _neighbours(members: list[int], records: Sequence[NormalisedRecord], window: int) -> Iterator[tuple[int, int]]:
    def order(position: int) -> tuple[str, str, str]:
        record = records[position]
        return (record.family.full, record.given.full, record.postal_code)

    ranked = sorted(members, key=order)
    for x, i in enumerate(ranked):
        for j in ranked[x + 1 : x + 1 + window]:
            yield i, j


def all_pairs(count: int) -> Iterator[tuple[int, int]]:
    """Every pair of ``count`` records: the naive comparison that blocking replaces (for small inputs and as a
    baseline in benchmarks)."""
    for i in range(count):
        for j in range(i + 1, count):
            yield i, j
