"""An impact calculator: what a lower churn rate and fewer support tickets are worth per month.

Every figure is a parameter, none is built in, and the result shows each step of the arithmetic so the
estimate can be checked by hand and argued with. Money stays Decimal, rounded half-even to the
currency's minor unit at each step that yields money.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import number
from custdata.analytics._results import Table
from custdata.domain import Money

Number = Decimal | int | str | float


def _text(value: Decimal | Money) -> str:
    if isinstance(value, Money):
        return str(value)
    text = format(value.normalize(), "f")
    return text


@attrs.frozen
class ImpactStep:
    """One line of the estimate: what it is, the formula, the formula with the numbers put in, the value."""

    name: str
    formula: str
    arithmetic: str
    value: Decimal | Money
    unit: str

    def __str__(self) -> str:
        return f"{self.name} = {self.formula} = {self.arithmetic} = {_text(self.value)}"


@attrs.frozen(repr=False)
class ImpactEstimate(Table[ImpactStep]):
    """The monthly effect of a churn reduction (margin kept) and a ticket reduction (support cost saved).

    ``rows`` are the steps of the arithmetic in order; ``str()`` prints them one per line.
    """

    row_type = ImpactStep
    churn_effect: Money
    ticket_effect: Money
    total: Money

    def step(self, name: str) -> ImpactStep:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self) -> str:
        return "\n".join(str(row) for row in self.rows)

    def __repr__(self) -> str:
        return (
            f"ImpactEstimate(churn_effect={self.churn_effect}, ticket_effect={self.ticket_effect}, total={self.total})"
        )


def estimate_impact(
    *,
    customers_per_month: Number,
    average_order_value: Money,
    churn_rate: Number,
    gross_margin: Number,
    support_tickets_per_month: Number,
    cost_per_ticket: Money,
    churn_reduction: Number = 0,
    ticket_reduction: Number = 0,
    orders_per_customer_per_month: Number = 1,
) -> ImpactEstimate:
    """The monthly effect of cutting churn by ``churn_reduction`` and support tickets by ``ticket_reduction``.

    Rates and reductions are fractions (``0.05`` is 5 %); reductions are relative, so a churn rate of
    0.05 cut by 0.2 becomes 0.04. The churn effect is the gross margin on the orders of the customers
    who stay in a month; the ticket effect is the support cost of the tickets avoided.

    >>> from custdata import Money
    >>> estimate = estimate_impact(
    ...     customers_per_month=10_000, average_order_value=Money("60", "EUR"), churn_rate="0.05",
    ...     gross_margin="0.4", support_tickets_per_month=1_500, cost_per_ticket=Money("6", "EUR"),
    ...     churn_reduction="0.1", ticket_reduction="0.2",
    ... )
    >>> str(estimate.total)
    '3000.00 EUR'
    """
    customers = number("customers_per_month", customers_per_month)
    churn = number("churn_rate", churn_rate, maximum=Decimal(1))
    margin = number("gross_margin", gross_margin, maximum=Decimal(1))
    tickets = number("support_tickets_per_month", support_tickets_per_month)
    churn_cut = number("churn_reduction", churn_reduction, maximum=Decimal(1))
    ticket_cut = number("ticket_reduction", ticket_reduction, maximum=Decimal(1))
    frequency = number("orders_per_customer_per_month", orders_per_customer_per_month)
    for name, value in (("average_order_value", average_order_value), ("cost_per_ticket", cost_per_ticket)):
        if not isinstance(value, Money):
            raise ValidationError.single(name, f"must be Money, not {type(value).__name__}")
        if value.amount < 0:
            raise ValidationError.single(name, "must not be negative")
    currency = average_order_value.currency
    if cost_per_ticket.currency != currency:
        raise ValidationError.single("cost_per_ticket.currency", f"must be {currency}, the average order value's")

    steps: list[ImpactStep] = []

    def step(name: str, formula: str, arithmetic: str, value: Decimal | Money, unit: str) -> Decimal | Money:
        steps.append(ImpactStep(name, formula, arithmetic, value, unit))
        return value

    t = _text
    lost = customers * churn
    step("customers_lost_now", "customers_per_month * churn_rate", f"{t(customers)} * {t(churn)}", lost, "customers")
    new_churn = churn * (1 - churn_cut)
    step("churn_rate_after", "churn_rate * (1 - churn_reduction)", f"{t(churn)} * (1 - {t(churn_cut)})", new_churn, "")
    kept = customers * (churn - new_churn)
    step(
        "customers_kept",
        "customers_per_month * (churn_rate - churn_rate_after)",
        f"{t(customers)} * ({t(churn)} - {t(new_churn)})",
        kept,
        "customers",
    )
    per_customer = average_order_value * frequency
    step(
        "revenue_per_customer",
        "average_order_value * orders_per_customer_per_month",
        f"{average_order_value} * {t(frequency)}",
        per_customer,
        currency,
    )
    revenue = per_customer * kept
    step("revenue_kept", "customers_kept * revenue_per_customer", f"{t(kept)} * {per_customer}", revenue, currency)
    churn_effect = revenue * margin
    step("margin_kept", "revenue_kept * gross_margin", f"{revenue} * {t(margin)}", churn_effect, currency)
    avoided = tickets * ticket_cut
    step(
        "tickets_avoided",
        "support_tickets_per_month * ticket_reduction",
        f"{t(tickets)} * {t(ticket_cut)}",
        avoided,
        "tickets",
    )
    ticket_effect = cost_per_ticket * avoided
    step(
        "support_cost_saved",
        "tickets_avoided * cost_per_ticket",
        f"{t(avoided)} * {cost_per_ticket}",
        ticket_effect,
        currency,
    )
    total = churn_effect + ticket_effect
    step("monthly_effect", "margin_kept + support_cost_saved", f"{churn_effect} + {ticket_effect}", total, currency)
    return ImpactEstimate(tuple(steps), churn_effect=churn_effect, ticket_effect=ticket_effect, total=total)
