"""The Gamma-Gamma model of spend (Fader, Hardie and Lee 2005; Fader and Hardie 2013): the value a
customer's future transactions will have on average, from the mean value of their repeat transactions.

Transaction values vary around a customer's mean ``zeta`` by a Gamma(p, nu) law, with ``nu`` ~ Gamma(q,
gamma) across customers. The model assumes spend does not depend on how often a customer buys; only
customers with repeat purchases (frequency > 0) carry information and are fitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from custdata._errors import ValidationError
from custdata.analytics._errors import FitError
from custdata.analytics._results import Summary
from custdata.analytics.predictive import _numeric as num
from custdata.analytics.predictive.betageo import BetaGeo, _positive

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from custdata.analytics.predictive._numeric import FloatArray


@attrs.frozen
class GammaGammaParams(Summary):
    """Fitted Gamma-Gamma parameters: shape ``p`` of spend per transaction, ``q`` and ``gamma`` of its scale."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return attrs.asdict(self)


def check_horizon(betageo: object, periods: object, period_length: object, discount_rate: object) -> None:
    """Check the arguments of a CLV prediction."""
    if not isinstance(betageo, BetaGeo):
        raise ValidationError.single("betageo", f"must be a BetaGeo model, not {type(betageo).__name__}")
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ValidationError.single("periods", "must be a whole number of at least 1")
    if isinstance(period_length, bool) or not isinstance(period_length, (int, float)) or not 0 < period_length < 1e12:
        raise ValidationError.single("period_length", "must be a positive finite number of time units")
    if isinstance(discount_rate, bool) or not isinstance(discount_rate, (int, float)) or not 0 <= discount_rate < 1e6:
        raise ValidationError.single("discount_rate", "must be a non-negative number")


class GammaGamma:
    """The Gamma-Gamma spend model. Fit it to (frequency, monetary), or build it from known parameters.

    ``monetary`` is the mean value of a customer's repeat transactions (their first purchase left out).
    """

    def __init__(self, *, penalizer: float = 0.0) -> None:
        if isinstance(penalizer, bool) or not isinstance(penalizer, (int, float)) or not 0 <= penalizer < float("inf"):
            raise ValidationError.single("penalizer", "must be a non-negative number")
        self.penalizer = float(penalizer)
        self._params: GammaGammaParams | None = None
        #: Log-likelihood of the repeat customers' spend at the fitted parameters (None until fitted).
        self.log_likelihood: float | None = None
        #: How many repeat customers the fit saw.
        self.customers = 0

    @classmethod
    def from_params(cls, p: float, q: float, gamma: float) -> GammaGamma:
        _positive(p=p, q=q, gamma=gamma)
        model = cls()
        model._params = GammaGammaParams(float(p), float(q), float(gamma))
        return model

    @property
    def params(self) -> GammaGammaParams:
        if self._params is None:
            raise FitError("the GammaGamma model has not been fitted: call fit() first")
        return self._params

    def __repr__(self) -> str:
        if self._params is None:
            return f"GammaGamma(penalizer={self.penalizer}, unfitted)"
        p = self._params
        return f"GammaGamma(p={p.p:.4g}, q={p.q:.4g}, gamma={p.gamma:.4g})"

    @staticmethod
    def _columns(frequency: ArrayLike, monetary: ArrayLike, *, fitting: bool) -> tuple[FloatArray, FloatArray]:
        numpy = num.np()
        x, m = num.column("frequency", frequency), num.column("monetary", monetary)
        if len(x) != len(m):
            raise ValidationError.single("monetary", "frequency and monetary must have the same length")
        num.check("frequency", x != numpy.floor(x), "must be a whole number of repeat purchases")
        if fitting:
            message = "must be positive for customers with repeat purchases (leave out those whose were free)"
            num.check("monetary", (x > 0) & (m <= 0), message)
        return x, m

    @staticmethod
    def _log_likelihoods(params: Any, x: FloatArray, m: FloatArray) -> FloatArray:
        numpy, sp = num.np(), num.special()
        p, q, gamma = params
        px = p * x
        result: FloatArray = (
            sp.gammaln(px + q)
            - sp.gammaln(px)
            - sp.gammaln(q)
            + q * numpy.log(gamma)
            + (px - 1) * numpy.log(m)
            + px * numpy.log(x)
            - (px + q) * numpy.log(gamma + m * x)
        )
        return result

    def fit(self, frequency: ArrayLike, monetary: ArrayLike, *, weights: ArrayLike | None = None) -> GammaGamma:
        """Fit by maximum likelihood on the customers with frequency > 0 (others are skipped). Returns self."""
        numpy = num.np()
        x, m = self._columns(frequency, monetary, fitting=True)
        w = numpy.ones_like(x) if weights is None else num.column("weights", weights)
        if len(w) != len(x):
            raise ValidationError.single("weights", "must have one weight per customer")
        keep = (x > 0) & (w > 0)
        x, m, w = x[keep], m[keep], w[keep]
        if not len(x):
            raise ValidationError.single("frequency", "needs at least one customer with repeat purchases to fit")
        total = float(w.sum())
        penalizer = self.penalizer

        def objective(log_params: Any) -> float:
            params = numpy.exp(log_params)
            with numpy.errstate(all="ignore"):
                value = -float(numpy.dot(w, self._log_likelihoods(params, x, m))) / total
            value += penalizer * float(numpy.sum(params**2))
            return value if numpy.isfinite(value) else float("inf")

        start = numpy.log(numpy.array([1.0, 1.0, max(float(numpy.average(m, weights=w)), 1e-3)]))
        found = numpy.exp(num.minimize(objective, start, "Gamma-Gamma"))
        self._params = GammaGammaParams(*(float(v) for v in found))
        self.customers = round(total)
        self.log_likelihood = float(numpy.dot(w, self._log_likelihoods(found, x, m)))
        return self

    @property
    def population_mean(self) -> float:
        """The mean transaction value across all customers, p * gamma / (q - 1); needs q > 1."""
        p = self.params
        if p.q <= 1:
            raise FitError(f"q = {p.q:.4g} <= 1: the model's mean transaction value is infinite")
        return p.p * p.gamma / (p.q - 1)

    def expected_average_value(self, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
        """Each customer's expected mean transaction value: their own mean, shrunk towards the population's
        the fewer repeat purchases back it (customers without any get the population mean)."""
        x, m = self._columns(frequency, monetary, fitting=False)
        p = self.params
        self.population_mean  # noqa: B018 - raises when q <= 1
        result: FloatArray = p.p * (p.gamma + m * x) / (p.p * x + p.q - 1)
        return result

    def clv(
        self,
        betageo: BetaGeo,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary: ArrayLike,
        *,
        periods: int = 12,
        period_length: float = 30.0,
        discount_rate: float = 0.01,
    ) -> FloatArray:
        """Predicted CLV: the expected spend of each of ``periods`` periods of ``period_length`` time units,
        discounted by ``discount_rate`` per period, summed.

        Period ``i`` contributes (E[purchases by i * L] - E[purchases by (i - 1) * L]) * expected average
        value / (1 + discount_rate) ** i, with the purchases from ``betageo``.
        """
        check_horizon(betageo, periods, period_length, discount_rate)
        numpy = num.np()
        value = self.expected_average_value(frequency, monetary)
        cumulative = betageo.expected_purchases_over(
            frequency, recency, T, [i * period_length for i in range(periods + 1)]
        )
        per_period = numpy.diff(cumulative, axis=0)
        discount = (1 + discount_rate) ** -numpy.arange(1, periods + 1, dtype=numpy.float64)
        result: FloatArray = (discount @ per_period) * value
        return result
