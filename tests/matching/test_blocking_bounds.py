"""The work blocking proposes grows with the records: a key that says little on its own (a birthday alone, a pair
of name codes) pairs all its records only in a small block, and every engine proposes the same pairs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata.matching import CustomerRecord, Matcher, blocking_keys, normalise
from custdata.matching.blocking import WEAK_KINDS, block_limits, candidate_pairs, pairs_by_kind


def _windowed(size: int, window: int) -> int:
    """The pairs of a block of ``size`` records each compared with its ``window`` next neighbours."""
    return sum(min(window, size - 1 - x) for x in range(size))


def _born_on_one_day(size: int) -> list[CustomerRecord]:
    """``size`` customers who share nothing but their birthday."""
    return [CustomerRecord(f"c{index:03d}", birthday="1984-03-07") for index in range(size)]


def test_a_birthday_alone_is_a_weak_key() -> None:
    (record,) = [normalise(r) for r in _born_on_one_day(1)]
    assert {key[0] for key in blocking_keys(record)} == {"d"}
    assert "d" in WEAK_KINDS and "n" in WEAK_KINDS
    assert block_limits("d", 50, 8) == (10, 4)
    assert block_limits("e", 50, 8) == (50, 8)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(min_value=2, max_value=60), block=st.sampled_from([5, 20, 50, 100]), window=st.integers(1, 8))
def test_customers_sharing_only_a_birthday_are_paired_within_the_weak_window(
    size: int, block: int, window: int
) -> None:
    records = [normalise(r) for r in _born_on_one_day(size)]
    limit, reach = block_limits("d", block, window)
    expected = size * (size - 1) // 2 if size <= limit else _windowed(size, reach)
    pairs, stats = candidate_pairs(records, max_block_size=block, window=window)
    assert stats.pairs == len(pairs) == expected
    assert stats.oversized_blocks == (1 if size > limit else 0)
    assert len(pairs) <= max(limit * (limit - 1) // 2, size * reach)  # linear in the block once over its limit
    assert pairs_by_kind(records, max_block_size=block, window=window) == ({"d": set(pairs)} if size > 1 else {})


def test_a_shared_birthday_does_not_grow_with_the_square_of_the_shop() -> None:
    """A date shared by 40 customers (a shop of about a million) gives each a few neighbours, not 39."""
    records = [normalise(r) for r in _born_on_one_day(40)]
    pairs, stats = candidate_pairs(records)
    assert stats.pairs == len(pairs) == _windowed(40, 4) < 40 * 39 // 2


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=2, max_value=40), block=st.sampled_from([5, 50]))
def test_the_duckdb_engine_bounds_a_shared_birthday_as_python_does(size: int, block: int) -> None:
    require("duckdb", "scale")
    require("pyarrow", "scale")
    records = _born_on_one_day(size)
    expected = Matcher(max_block_size=block, review=-100.0).find_duplicates(records)
    got = Matcher(engine="duckdb", max_block_size=block, review=-100.0).find_duplicates(records)
    assert (got.compared, got.blocking) == (expected.compared, expected.blocking)
    assert [pair.ids for pair in got.pairs] == [pair.ids for pair in expected.pairs]
