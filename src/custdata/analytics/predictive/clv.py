"""Predicted CLV per customer: BG/NBD for how many purchases, Gamma-Gamma for what they are worth."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import duration
from custdata.analytics._results import Table
from custdata.analytics.metrics import money
from custdata.analytics.predictive.betageo import BetaGeo
from custdata.analytics.predictive.gammagamma import GammaGamma, check_horizon
from custdata.analytics.predictive.summary import ClvSummary
from custdata.domain import CustomerId, Money


@attrs.frozen
class ClvPrediction:
    """One customer's outlook over the horizon: probability alive now, expected purchases, expected mean
    purchase value and the discounted CLV."""

    customer_id: CustomerId
    currency: str
    probability_alive: float
    expected_purchases: float
    expected_average_value: Money
    clv: Money


@attrs.frozen(repr=False)
class ClvPredictions(Table[ClvPrediction]):
    """Predicted CLV per customer, in the order of the summary (by customer id)."""

    row_type = ClvPrediction
    periods: int
    period: timedelta
    discount_rate: float

    def total(self) -> dict[str, Money]:
        """The sum of predicted CLV per currency."""
        sums: dict[str, Decimal] = {}
        for row in self.rows:
            sums[row.currency] = sums.get(row.currency, Decimal(0)) + row.clv.amount
        return {currency: money(amount, currency) for currency, amount in sorted(sums.items())}


def _money(value: float, currency: str) -> Money:
    return money(Decimal(repr(float(value))), currency)


def predict_clv(
    summary: ClvSummary,
    betageo: BetaGeo,
    gammagamma: GammaGamma,
    *,
    periods: int = 12,
    period: timedelta = timedelta(days=30),
    discount_rate: float = 0.01,
) -> ClvPredictions:
    """Predicted CLV for every customer of ``summary`` over ``periods`` periods of length ``period``,
    discounted by ``discount_rate`` per period. Both models must have been fitted on data in the
    summary's time unit (or built from parameters in it).
    """
    if not isinstance(summary, ClvSummary):
        raise ValidationError.single("summary", f"must be a ClvSummary, not {type(summary).__name__}")
    if not isinstance(gammagamma, GammaGamma):
        raise ValidationError.single("gammagamma", f"must be a GammaGamma model, not {type(gammagamma).__name__}")
    length = duration("period", period) / summary.unit
    check_horizon(betageo, periods, length, discount_rate)
    gammagamma.params  # noqa: B018 - raises FitError when not fitted
    x, t_x, big_t, m = summary.frequency, summary.recency, summary.T, summary.monetary
    if not summary.rows:
        return ClvPredictions((), periods=periods, period=period, discount_rate=discount_rate)
    clv = gammagamma.clv(betageo, x, t_x, big_t, m, periods=periods, period_length=length, discount_rate=discount_rate)
    alive = betageo.probability_alive(x, t_x, big_t)
    purchases = betageo.expected_purchases(x, t_x, big_t, horizon=periods * length)
    value = gammagamma.expected_average_value(x, m)
    rows = tuple(
        ClvPrediction(
            row.customer_id,
            row.currency,
            float(alive[i]),
            float(purchases[i]),
            _money(value[i], row.currency),
            _money(clv[i], row.currency),
        )
        for i, row in enumerate(summary.rows)
    )
    return ClvPredictions(rows, periods=periods, period=period, discount_rate=discount_rate)
