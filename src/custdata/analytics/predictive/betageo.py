"""The BG/NBD model of Fader, Hardie and Lee (2005): how many purchases a customer will make, and whether
they are still a customer at all, from their frequency, recency and age alone.

While alive, a customer buys at a Poisson rate ``lambda`` ~ Gamma(r, alpha); after each purchase they drop
out with probability ``p`` ~ Beta(a, b). The likelihood is computed in log space (``gammaln``, ``betaln``,
``logaddexp``), so customers with thousands of purchases neither overflow nor underflow, and expected
purchases are integrated by Gauss-Jacobi quadrature instead of the paper's hypergeometric closed form,
which loses all precision for large frequencies and for some parameter values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from custdata._errors import ValidationError
from custdata.analytics._errors import FitError
from custdata.analytics._results import Summary
from custdata.analytics.predictive import _numeric as num

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from custdata.analytics.predictive._numeric import FloatArray


#: Gauss-Jacobi nodes for the expectation over the dropout probability, and customers per vectorised block.
_NODES = 128
_CHUNK = 2048


@attrs.frozen
class BetaGeoParams(Summary):
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return attrs.asdict(self)


def _positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValidationError.single(name, "must be a positive finite number")


class BetaGeo:
    """The BG/NBD model. Fit it to (frequency, recency, T), or build it from known parameters.

    ``frequency`` is the number of repeat purchases, ``recency`` the time from the first to the last
    purchase and ``T`` the time from the first purchase to the end of observation, all in one time unit
    (days, weeks...) that predictions then use too. ``penalizer`` adds an L2 penalty on the parameters,
    which steadies fits on small data sets.
    """

    def __init__(self, *, penalizer: float = 0.0) -> None:
        if isinstance(penalizer, bool) or not isinstance(penalizer, (int, float)) or not 0 <= penalizer < float("inf"):
            raise ValidationError.single("penalizer", "must be a non-negative number")
        self.penalizer = float(penalizer)
        self._params: BetaGeoParams | None = None
        #: Log-likelihood of the data at the fitted parameters (None until fitted).
        self.log_likelihood: float | None = None
        #: How many customers the fit saw.
        self.customers = 0

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float) -> BetaGeo:
        """A model with known parameters, such as published estimates."""
        _positive(r=r, alpha=alpha, a=a, b=b)
        model = cls()
        model._params = BetaGeoParams(float(r), float(alpha), float(a), float(b))
        return model

    @property
    def params(self) -> BetaGeoParams:
        if self._params is None:
            raise FitError("the BetaGeo model has not been fitted: call fit() first")
        return self._params

    def __repr__(self) -> str:
        if self._params is None:
            return f"BetaGeo(penalizer={self.penalizer}, unfitted)"
        p = self._params
        return f"BetaGeo(r={p.r:.4g}, alpha={p.alpha:.4g}, a={p.a:.4g}, b={p.b:.4g})"

    # -- fitting ------------------------------------------------------------------------------------

    @staticmethod
    def _log_likelihoods(params: Any, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        numpy, sp = num.np(), num.special()
        r, alpha, a, b = params
        repeat = x > 0
        head = sp.gammaln(r + x) - sp.gammaln(r) + r * numpy.log(alpha) + sp.betaln(a, b + x) - sp.betaln(a, b)
        stays = -(r + x) * numpy.log(alpha + big_t)
        drops = numpy.full_like(x, -numpy.inf)
        drops[repeat] = numpy.log(a) - numpy.log(b + x[repeat] - 1) - (r + x[repeat]) * numpy.log(alpha + t_x[repeat])
        result: FloatArray = head + numpy.logaddexp(stays, drops)
        return result

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, weights: ArrayLike | None = None
    ) -> BetaGeo:
        """Fit by maximum likelihood; ``weights`` counts how many customers share each row. Returns self."""
        numpy = num.np()
        x, t_x, big_t = num.rfm_columns(frequency, recency, T)
        w = numpy.ones_like(x) if weights is None else num.column("weights", weights)
        if len(w) != len(x):
            raise ValidationError.single("weights", "must have one weight per customer")
        if not len(x) or w.sum() <= 0:
            raise ValidationError.single("frequency", "needs at least one customer to fit")
        total = float(w.sum())
        penalizer = self.penalizer

        def objective(log_params: Any) -> float:
            params = numpy.exp(log_params)
            with numpy.errstate(all="ignore"):
                value = -float(numpy.dot(w, self._log_likelihoods(params, x, t_x, big_t))) / total
            value += penalizer * float(numpy.sum(params**2))
            return value if numpy.isfinite(value) else float("inf")

        start = numpy.log(numpy.array([1.0, max(float(numpy.average(big_t, weights=w)) / 10, 1e-3), 1.0, 1.0]))
        found = numpy.exp(num.minimize(objective, start, "BG/NBD"))
        params = BetaGeoParams(*(float(v) for v in found))
        self._params = params
        self.customers = round(total)
        self.log_likelihood = float(numpy.dot(w, self._log_likelihoods(found, x, t_x, big_t)))
        return self

    # -- predictions --------------------------------------------------------------------------------

    def _alive_log_odds(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """log(P(dead) / P(alive)) given the history; -inf for customers without repeat purchases."""
        numpy = num.np()
        p = self.params
        result = numpy.full_like(x, -numpy.inf)
        repeat = x > 0
        xr = x[repeat]
        result[repeat] = (
            numpy.log(p.a)
            - numpy.log(p.b + xr - 1)
            + (p.r + xr) * (numpy.log(p.alpha + big_t[repeat]) - numpy.log(p.alpha + t_x[repeat]))
        )
        found: FloatArray = result
        return found

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """The probability that each customer has not dropped out by ``T``."""
        x, t_x, big_t = num.rfm_columns(frequency, recency, T)
        result: FloatArray = num.special().expit(-self._alive_log_odds(x, t_x, big_t))
        return result

    def expected_purchases(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, horizon: float
    ) -> FloatArray:
        """Expected purchases of each customer in the next ``horizon`` time units, given their history."""
        result: FloatArray = self.expected_purchases_over(frequency, recency, T, [horizon])[0]
        return result

    def expected_purchases_over(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, horizons: Sequence[float]
    ) -> FloatArray:
        """Expected cumulative purchases at each of ``horizons``: an array of shape (horizons, customers)."""
        numpy = num.np()
        x, t_x, big_t = num.rfm_columns(frequency, recency, T)
        times = numpy.array([_horizon(h) for h in horizons], dtype=numpy.float64)
        alive = num.special().expit(-self._alive_log_odds(x, t_x, big_t))
        result: FloatArray = self._purchases_if_alive(x, big_t, times) * alive
        return result

    def _purchases_if_alive(self, x: FloatArray, big_t: FloatArray, times: FloatArray) -> FloatArray:
        """E[purchases by each time | alive at T]: a customer alive with rate lambda and dropout p buys
        (1 - exp(-lambda p t)) / p times in expectation; lambda ~ Gamma(r + x, alpha + T) integrates in
        closed form, p ~ Beta(a, b + x) by Gauss-Jacobi quadrature. This stays exact where the paper's
        hypergeometric form loses all precision (large frequency, a + b < 1, a near 1).
        """
        numpy = num.np()
        p = self.params
        out = numpy.zeros((len(times), len(x)))
        values, inverse = numpy.unique(x, return_inverse=True)
        order = numpy.argsort(inverse, kind="stable")
        bounds = numpy.searchsorted(inverse[order], numpy.arange(len(values) + 1))
        for j, value in enumerate(values):
            nodes, weights = num.beta_quadrature(p.a, p.b + value, _NODES)
            members = order[bounds[j] : bounds[j + 1]]
            for start in range(0, len(members), _CHUNK):
                chunk = members[start : start + _CHUNK]
                scale = times[:, None, None] / (p.alpha + big_t[chunk])[None, :, None]
                bought = -numpy.expm1(-(p.r + value) * numpy.log1p(scale * nodes)) / nodes
                out[:, chunk] = bought @ weights
        result: FloatArray = out
        return result

    def expected_purchases_new_customer(self, horizon: float) -> float:
        """Expected purchases of a customer just acquired, in their first ``horizon`` time units
        (repeat purchases: the first one is not counted)."""
        numpy = num.np()
        p = self.params
        t = _horizon(horizon)
        nodes, weights = num.beta_quadrature(p.a, p.b, _NODES)
        bought = -numpy.expm1(-p.r * numpy.log1p(t / p.alpha * nodes)) / nodes
        return float(bought @ weights)


def _horizon(horizon: float) -> float:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, float)) or not 0 <= horizon < float("inf"):
        raise ValidationError.single("horizon", "must be a non-negative finite number of time units")
    return float(horizon)
