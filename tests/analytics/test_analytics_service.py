"""NPS from survey answers and support contacts per order."""

from __future__ import annotations

from typing import Any

import pytest
from analytics_builders import at, order, support
from hypothesis import given
from hypothesis import strategies as st

from custdata import Direction, OrderStatus, Topic, ValidationError
from custdata.analytics import nps, support_contacts_per_order


def test_nps_by_hand() -> None:
    result = nps([10, 9, 9, 8, 7, 6, 0, 10, 3, 5])
    assert (result.responses, result.promoters, result.passives, result.detractors) == (10, 4, 2, 4)
    assert result.score == 0.0
    assert nps([10, 10, 8]).score == pytest.approx(66.6666666667)
    assert nps([0]).score == -100.0
    assert nps([]).score is None
    assert nps(iter([9, 10])).to_records() == [
        {"responses": 2, "promoters": 2, "passives": 0, "detractors": 0, "score": 100.0}
    ]


@pytest.mark.parametrize("bad", [11, -1, 7.5, "9", True, None])
def test_nps_rejects_answers_outside_0_to_10(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"scores\[1\]: must be a whole number from 0 to 10"):
        nps([5, bad])


@given(st.lists(st.integers(0, 10)))
def test_nps_is_within_bounds_and_counts_everything(scores: list[int]) -> None:
    result = nps(scores)
    assert result.promoters + result.passives + result.detractors == result.responses == len(scores)
    if scores:
        assert result.score is not None and -100 <= result.score <= 100
        assert nps(sorted(scores)) == result


def test_support_contacts_per_order_by_hand() -> None:
    events = [
        support("m1", "ann", 1, ticket="T1"),
        support("m2", "ann", 2, ticket="T1"),  # same ticket
        support("m3", "bob", 3),  # no ticket: a ticket of its own
        support("m4", "bob", 3, direction=Direction.OUTBOUND, ticket="T2"),  # our reply: not a contact
        support("m5", "bob", 4, topic=Topic.ORDER_SHIPPED),  # not support
        support("m6", "cat", 40, ticket="T3"),
    ]
    orders = [
        order("o1", "ann", 0),
        order("o2", "bob", 1),
        order("o3", "bob", 2, status=OrderStatus.CANCELLED),
        order("o4", "cat", 35),
    ]
    load = support_contacts_per_order(events, orders)
    assert (load.orders, load.contacts, load.tickets) == (3, 4, 3)
    assert load.contacts_per_order == pytest.approx(4 / 3) and load.tickets_per_order == pytest.approx(1.0)
    january = support_contacts_per_order(events, orders, start=at(0), end=at(31))
    assert (january.orders, january.contacts, january.tickets) == (2, 3, 2)
    assert support_contacts_per_order(events, []).contacts_per_order is None
    with pytest.raises(ValidationError, match="end: must be later than start"):
        support_contacts_per_order(events, orders, start=at(5), end=at(1))
    with pytest.raises(ValidationError, match=r"events\[0\]: must be CommunicationEvent"):
        support_contacts_per_order(orders, orders)  # type: ignore[arg-type]
