"""The impact calculator: hand-checked arithmetic, the steps shown, and checked assumptions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import Money, ValidationError
from custdata.analytics import estimate_impact

BASE: dict[str, Any] = {
    "customers_per_month": 10_000,
    "average_order_value": Money("60", "EUR"),
    "churn_rate": "0.05",
    "gross_margin": "0.4",
    "support_tickets_per_month": 1_500,
    "cost_per_ticket": Money("6", "EUR"),
}


def test_by_hand() -> None:
    estimate = estimate_impact(
        **BASE, churn_reduction="0.1", ticket_reduction="0.2", orders_per_customer_per_month="1.5"
    )
    # 10,000 x 0.05 x 0.1 = 50 customers kept; 50 x 60 x 1.5 = 4,500 revenue; x 0.4 = 1,800 margin
    assert estimate.step("customers_lost_now").value == Decimal(500)
    assert estimate.step("churn_rate_after").value == Decimal("0.045")
    assert estimate.step("customers_kept").value == Decimal(50)
    assert estimate.step("revenue_per_customer").value == Money("90", "EUR")
    assert estimate.step("revenue_kept").value == Money("4500", "EUR")
    assert estimate.churn_effect == Money("1800", "EUR")
    # 1,500 x 0.2 = 300 tickets avoided x 6 = 1,800 saved
    assert estimate.step("tickets_avoided").value == Decimal(300)
    assert estimate.ticket_effect == Money("1800", "EUR")
    assert estimate.total == Money("3600", "EUR")
    text = str(estimate)
    assert (
        "customers_kept = customers_per_month * (churn_rate - churn_rate_after) = 10000 * (0.05 - 0.045) = 50" in text
    )
    assert "monthly_effect = margin_kept + support_cost_saved = 1800.00 EUR + 1800.00 EUR = 3600.00 EUR" in text
    assert [r["name"] for r in estimate.to_records()][-1] == "monthly_effect"
    assert estimate.to_records()[-1]["value"] == Decimal("3600.00") and estimate.to_records()[-1]["unit"] == "EUR"
    with pytest.raises(KeyError):
        estimate.step("nothing")


def test_no_reduction_means_no_effect() -> None:
    estimate = estimate_impact(**BASE)
    assert estimate.total == Money("0", "EUR")


def test_money_is_rounded_to_minor_units() -> None:
    estimate = estimate_impact(**{**BASE, "customers_per_month": 333, "churn_rate": "0.07"}, churn_reduction="0.13")
    # 333 x 0.07 x 0.13 = 3.0303 customers; x 60 = 181.818 -> 181.82; x 0.4 = 72.728 -> 72.73
    assert estimate.step("revenue_kept").value == Money("181.82", "EUR")
    assert estimate.churn_effect == Money("72.73", "EUR")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"churn_rate": "1.2"}, "churn_rate"),
        ({"churn_rate": -0.1}, "churn_rate"),
        ({"gross_margin": "abc"}, "gross_margin"),
        ({"customers_per_month": True}, "customers_per_month"),
        ({"customers_per_month": float("nan")}, "customers_per_month"),
        ({"average_order_value": 60}, "average_order_value"),
        ({"cost_per_ticket": Money("6", "USD")}, "cost_per_ticket.currency"),
        ({"churn_reduction": 2}, "churn_reduction"),
        ({"orders_per_customer_per_month": None}, "orders_per_customer_per_month"),
    ],
)
def test_bad_assumptions_name_the_parameter(change: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        estimate_impact(**{**BASE, **change})
    assert info.value.problems[0].path == path


fractions = st.decimals(0, 1, places=3)


@given(st.integers(0, 10**6), fractions, fractions, fractions, st.integers(0, 10**5), fractions)
def test_effects_grow_with_the_reductions(
    customers: int, churn: Decimal, margin: Decimal, cut: Decimal, tickets: int, ticket_cut: Decimal
) -> None:
    args = {
        **BASE,
        "customers_per_month": customers,
        "churn_rate": churn,
        "gross_margin": margin,
        "support_tickets_per_month": tickets,
    }
    estimate = estimate_impact(**args, churn_reduction=cut, ticket_reduction=ticket_cut)
    assert estimate.total == estimate.churn_effect + estimate.ticket_effect
    assert estimate.churn_effect.amount >= 0 and estimate.ticket_effect.amount >= 0
    bigger = estimate_impact(**args, churn_reduction=min(cut * 2, Decimal(1)), ticket_reduction=ticket_cut)
    assert bigger.churn_effect >= estimate.churn_effect
