"""RFM: the quintile rule, its tie handling, named segments and scoring from orders."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from analytics_builders import at, line, order, order_lists
from hypothesis import given
from hypothesis import strategies as st

from custdata import Money, Order, OrderStatus, ValidationError
from custdata.analytics import RfmSegment, historic_clv, quintile_scores, rfm, rfm_from_values, rfm_segment


def test_quintiles_split_distinct_values_into_fifths() -> None:
    assert quintile_scores(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    scores = quintile_scores(list(range(100)))
    assert [scores.count(s) for s in range(1, 6)] == [20] * 5
    assert quintile_scores(list(range(10)), lower_is_better=True) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_share_the_score_of_their_lowest_rank() -> None:
    # six customers with one order, two with two, one each with 3 and 9
    assert quintile_scores([1, 1, 1, 1, 1, 1, 2, 2, 3, 9]) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert quintile_scores([7, 7, 7]) == [1, 1, 1]
    assert quintile_scores([7]) == [3]
    assert quintile_scores([]) == []


@given(
    st.lists(st.integers(0, 20) | st.decimals(0, 100, places=2), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
    st.booleans(),
)
def test_quintile_properties(values: list[int | Decimal], rnd: random.Random, lower: bool) -> None:
    scores = quintile_scores(values, lower_is_better=lower)
    assert all(1 <= s <= 5 for s in scores)
    # deterministic under shuffling: each value keeps its score
    order_ = list(range(len(values)))
    rnd.shuffle(order_)
    shuffled = quintile_scores([values[i] for i in order_], lower_is_better=lower)
    assert [shuffled[order_.index(i)] for i in range(len(values))] == scores
    for (v1, s1), (v2, s2) in itertools.combinations(zip(values, scores, strict=True), 2):
        if v1 == v2:
            assert s1 == s2
        elif (v1 < v2) != lower:
            assert s1 <= s2
        else:
            assert s1 >= s2
    if len(values) > 1:
        assert min(scores) == 1
        # the rule itself, counted the slow way: k customers strictly worse score min(5, 1 + 5k // (n - 1))
        n = len(values)
        worse = [sum((w > v) if lower else (w < v) for w in values) for v in values]
        assert scores == [min(5, 1 + 5 * k // (n - 1)) for k in worse]


def test_segment_table() -> None:
    expected = {
        (5, 5, 5): RfmSegment.CHAMPIONS,
        (4, 4, 3): RfmSegment.CHAMPIONS,
        (5, 1, 5): RfmSegment.NEW,
        (4, 1, 1): RfmSegment.NEW,
        (3, 5, 5): RfmSegment.LOYAL,
        (5, 3, 2): RfmSegment.LOYAL,
        (5, 2, 2): RfmSegment.POTENTIAL_LOYALISTS,
        (3, 1, 2): RfmSegment.POTENTIAL_LOYALISTS,
        (2, 5, 5): RfmSegment.AT_RISK,
        (1, 3, 3): RfmSegment.AT_RISK,
        (2, 2, 2): RfmSegment.HIBERNATING,
        (1, 2, 2): RfmSegment.LOST,
        (1, 1, 1): RfmSegment.LOST,
    }
    for (r, f, m), segment in expected.items():
        assert rfm_segment(r, f, m) is segment, (r, f, m)
    every = {rfm_segment(r, f, m) for r, f, m in itertools.product(range(1, 6), repeat=3)}
    assert every == set(RfmSegment)
    with pytest.raises(ValidationError, match="f: must be a score from 1 to 5"):
        rfm_segment(3, 6, 3)


def shop() -> list[Order]:
    """Ten customers, c0 the most recent, most frequent and biggest spender; c9 the least."""
    orders = []
    for i in range(10):
        for n in range(10 - i):
            orders.append(order(f"o{i}-{n}", f"c{i}", 300 - 10 * i - n, line("X", str(10 * (10 - i)))))
    orders.append(order("late", "c0", 999))  # after as_of: ignored
    orders.append(order("gone", "c9", 1, line("X", "9999"), status=OrderStatus.CANCELLED))
    return orders


def test_rfm_by_hand() -> None:
    table = rfm(shop(), as_of=at(301))
    rows = {str(r.customer_id): r for r in table}
    best, worst = rows["c0"], rows["c9"]
    assert (best.r, best.f, best.m, best.code, best.segment) == (5, 5, 5, "555", RfmSegment.CHAMPIONS)
    assert (best.frequency, best.monetary, best.recency_days) == (10, Money("1000", "EUR"), 1.0)
    assert (worst.r, worst.f, worst.m, worst.segment) == (1, 1, 1, RfmSegment.LOST)
    assert worst.monetary == Money("10", "EUR")
    sizes = table.segment_sizes()
    assert list(sizes) == list(RfmSegment) and sum(sizes.values()) == 10
    assert table.members("Champions") == ["c0", "c1", "c2", "c3"]
    assert table.currency == "EUR"
    with pytest.raises(ValidationError, match="segment: must be one of"):
        table.members("Whales")


def test_rfm_refuses_to_mix_currencies() -> None:
    orders = [order("o1", "ann", 0), order("o2", "bob", 0, line("X", "10", currency="USD"), currency="USD")]
    with pytest.raises(ValidationError, match=r"2 currencies \(EUR, USD\).*currency="):
        rfm(orders, as_of=at(10))
    table = rfm(orders, as_of=at(10), currency="usd")
    assert [(r.customer_id, r.currency, r.r) for r in table] == [("bob", "USD", 3)]


def test_rfm_from_values_checks_its_input() -> None:
    values = historic_clv([order("o1", "ann", 5)])
    with pytest.raises(ValidationError, match=r"values\[0\].last_order_at: is later than as_of"):
        rfm_from_values(values, as_of=at(1))
    mixed = historic_clv([order("o1", "ann", 5, currency="USD"), order("o2", "bob", 5)])  # ann's USD row first
    with pytest.raises(ValidationError, match=r"values\[1\].last_order_at: is later than as_of"):
        rfm_from_values(mixed, as_of=at(1), currency="EUR")
    with pytest.raises(ValidationError, match="values: hold a customer twice"):
        rfm_from_values([values[0], values[0]], as_of=at(10))
    with pytest.raises(ValidationError, match="as_of: must be timezone-aware"):
        rfm([], as_of=at(0).replace(tzinfo=None))


@given(order_lists(currencies=("EUR",)), st.randoms(use_true_random=False))
def test_rfm_properties(orders: list[Order], rnd: random.Random) -> None:
    as_of = at(401)
    table = rfm(orders, as_of=as_of)
    shuffled = orders[:]
    rnd.shuffle(shuffled)
    assert rfm(shuffled, as_of=as_of) == table
    for row in table:
        assert all(1 <= s <= 5 for s in (row.r, row.f, row.m))
        assert row.code == f"{row.r}{row.f}{row.m}" and row.segment is rfm_segment(row.r, row.f, row.m)
        assert row.recency_days >= 0 and row.monetary.currency == "EUR"
    ids = [row.customer_id for row in table]
    assert ids == sorted(ids)
    assert sum(table.segment_sizes().values()) == len(table)
    assert table.to_records() == [{**r, "monetary": Decimal(r["monetary"])} for r in table.to_records()]
