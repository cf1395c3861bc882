"""BG/NBD and Gamma-Gamma: the published CDNOW estimates, numerical robustness, and the orders summary."""

from __future__ import annotations

import csv
import math
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from analytics_builders import at, line, order, order_lists
from hypothesis import given
from hypothesis import strategies as st
from required_extras import require

from custdata import Money, Order, OrderStatus, ValidationError
from custdata.analytics import BetaGeo, FitError, GammaGamma, clv_summary, predict_clv

np = require("numpy", "analytics")
special = require("scipy.special", "analytics")

CDNOW = Path(__file__).parent / "data" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def cdnow() -> dict[str, Any]:
    with CDNOW.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2357
    return {name: np.array([float(r[name]) for r in rows]) for name in ("x", "t_x", "T", "zbar")}


@pytest.fixture(scope="module")
def cdnow_bg(cdnow: dict[str, Any]) -> BetaGeo:
    return BetaGeo().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_bg_nbd_reproduces_fader_hardie_lee_on_cdnow(cdnow_bg: BetaGeo) -> None:
    p = cdnow_bg.params
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(p, name) == pytest.approx(value, abs=1e-2), name
    assert cdnow_bg.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert cdnow_bg.customers == 2357
    assert set(p.as_dict()) == set(published)


def test_gamma_gamma_reproduces_the_published_estimates_on_cdnow_repeat_customers(cdnow: dict[str, Any]) -> None:
    gg = GammaGamma().fit(cdnow["x"], cdnow["zbar"])  # customers without repeat purchases are skipped
    p = gg.params
    assert p.p == pytest.approx(6.25, abs=1e-2)
    assert p.q == pytest.approx(3.74, abs=1e-2)
    assert p.gamma == pytest.approx(15.44, abs=1e-2)
    assert gg.customers == 946
    # the fitted parameters are at least as likely as the published, rounded ones
    published = GammaGamma._log_likelihoods(
        (6.25, 3.74, 15.44), cdnow["x"][cdnow["x"] > 0], cdnow["zbar"][cdnow["x"] > 0]
    )
    assert gg.log_likelihood >= published.sum()


def test_published_prediction_for_a_cdnow_customer() -> None:
    bg = BetaGeo.from_params(0.243, 4.414, 0.793, 2.426)
    # Fader, Hardie & Lee (2005): a customer with x = 2, t_x = 30.43, T = 38.86 makes 1.226 purchases in 39 weeks
    assert bg.expected_purchases(2, 30.43, 38.86, horizon=39)[0] == pytest.approx(1.226, abs=5e-4)
    assert bg.expected_purchases(2, 30.43, 38.86, horizon=0)[0] == 0
    assert bg.probability_alive([0, 2], [0, 30.43], [38.86, 38.86]).tolist() == pytest.approx([1.0, 0.7266], abs=1e-4)


def direct_expectation(bg: BetaGeo, t: float, x: float, t_x: float, big_t: float) -> float:
    """Equation (10) of the paper, written out with the untransformed hypergeometric function."""
    r, alpha, a, b = bg.params.r, bg.params.alpha, bg.params.a, bg.params.b
    z = t / (alpha + big_t + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    odds = a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x) if x > 0 else 0
    return float(head * tail / (1 + odds))


@pytest.mark.parametrize(
    ("t", "x", "t_x", "big_t"),
    [(39, 2, 30.43, 38.86), (10, 0, 0, 20), (52, 10, 30, 35), (5, 50, 30, 38), (100, 1, 1, 2)],
)
def test_euler_transformed_expectation_matches_the_paper_formula(
    cdnow_bg: BetaGeo, t: float, x: float, t_x: float, big_t: float
) -> None:
    assert cdnow_bg.expected_purchases(x, t_x, big_t, horizon=t)[0] == pytest.approx(
        direct_expectation(cdnow_bg, t, x, t_x, big_t), rel=1e-9
    )


@pytest.mark.parametrize(
    ("params", "x", "t_x", "big_t", "t"),
    [
        ((0.9, 8.9, 0.05, 0.3), 0, 0, 40, 24),  # a + b < 1: the hypergeometric form has c < 0
        ((0.9, 8.9, 0.05, 0.3), 1, 20, 40, 24),
        ((0.5, 2.0, 1.0, 3.0), 3, 10, 12, 52),  # a == 1: the closed form divides by a - 1
        ((1.0, 0.5, 2.0, 200.0), 30, 0.9, 1, 400),  # scipy's hyp2f1 returns nan here
    ],
)
def test_expectation_matches_adaptive_integration_where_the_closed_form_fails(
    params: tuple[float, float, float, float], x: float, t_x: float, big_t: float, t: float
) -> None:
    integrate = require("scipy.integrate", "analytics")
    r, alpha, a, b = params
    bg = BetaGeo.from_params(*params)

    def bought(p: float) -> float:
        scale = t / (alpha + big_t)
        return (r + x) * scale if p == 0 else -math.expm1(-(r + x) * math.log1p(scale * p)) / p

    # E[(1 - exp(-lambda p t)) / p | alive] with p ~ Beta(a, b + x): QUADPACK with the algebraic end-point weight
    integral, _ = integrate.quad(bought, 0, 1, weight="alg", wvar=(a - 1, b + x - 1), epsabs=0, epsrel=1e-12)
    alive = bg.probability_alive(x, t_x, big_t)[0]
    expected = alive * integral / special.beta(a, b + x)
    assert bg.expected_purchases(x, t_x, big_t, horizon=t)[0] == pytest.approx(expected, rel=1e-7)


def test_expected_purchases_over_several_horizons(cdnow_bg: BetaGeo) -> None:
    curve = cdnow_bg.expected_purchases_over([0, 2, 7], [0, 30.43, 35], [38.86] * 3, [0, 13, 26, 39])
    assert curve.shape == (4, 3)
    assert np.all(curve[0] == 0) and np.all(np.diff(curve, axis=0) > 0)
    assert curve[3].tolist() == pytest.approx(
        cdnow_bg.expected_purchases([0, 2, 7], [0, 30.43, 35], [38.86] * 3, horizon=39).tolist()
    )


def simulate(params: tuple[float, float, float, float], n: int, horizon: float, rng: Any) -> Any:
    """Repeat purchases of n new customers over ``horizon`` under BG/NBD."""
    r, alpha, a, b = params
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    count, clock, alive = np.zeros(n), np.zeros(n), np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        clock[idx] += rng.exponential(1 / np.maximum(rate[idx], 1e-300))
        bought = clock[idx] <= horizon
        count[idx[bought]] += 1
        alive[idx[~bought]] = False
        alive[idx[bought][rng.random(bought.sum()) < dropout[idx[bought]]]] = False
    return count


def test_expectation_for_new_customers_matches_a_simulation(cdnow_bg: BetaGeo) -> None:
    p = cdnow_bg.params
    counts = simulate((p.r, p.alpha, p.a, p.b), 200_000, 52, np.random.default_rng(7))
    error = counts.std() / math.sqrt(len(counts))
    assert cdnow_bg.expected_purchases_new_customer(52) == pytest.approx(counts.mean(), abs=4 * error)


def test_high_frequency_neither_overflows_nor_underflows(cdnow: dict[str, Any]) -> None:
    x = np.r_[cdnow["x"], [2500, 5000, 9000]]
    t_x = np.r_[cdnow["t_x"], [38.0, 38.5, 38.8]]
    big_t = np.r_[cdnow["T"], [38.86, 38.86, 38.86]]
    with np.errstate(all="raise"):
        assert math.inf == (38.86 + 4.4) ** (9000 + 0.24) if False else True
    ll = BetaGeo._log_likelihoods((0.243, 4.414, 0.793, 2.426), x, t_x, big_t)
    assert np.all(np.isfinite(ll))
    bg = BetaGeo().fit(x, t_x, big_t)
    assert all(math.isfinite(v) and v > 0 for v in bg.params.as_dict().values())
    alive = bg.probability_alive(x[-3:], t_x[-3:], big_t[-3:])
    expected = bg.expected_purchases(x[-3:], t_x[-3:], big_t[-3:], horizon=10)
    assert np.all((alive >= 0) & (alive <= 1)) and np.all(np.isfinite(expected)) and np.all(expected >= 0)
    # a customer still buying at that pace is alive and keeps buying at roughly that pace
    busy = bg.expected_purchases([5000], [38.86], [38.86], horizon=1)[0]
    assert bg.probability_alive([5000], [38.86], [38.86])[0] > 0.99 and 50 < busy < 200
    gg = GammaGamma().fit(np.r_[cdnow["x"], [5000]], np.r_[cdnow["zbar"], [20.0]])
    assert math.isfinite(gg.expected_average_value([5000], [20.0])[0])


def test_time_unit_only_rescales_alpha(cdnow: dict[str, Any], cdnow_bg: BetaGeo) -> None:
    in_days = BetaGeo().fit(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7).params
    weeks = cdnow_bg.params
    assert in_days.alpha == pytest.approx(weeks.alpha * 7, rel=1e-3)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(weeks, name), rel=1e-3)


def test_weights_count_identical_customers(cdnow: dict[str, Any], cdnow_bg: BetaGeo) -> None:
    rows: dict[tuple[float, float, float], int] = {}
    for key in zip(cdnow["x"], cdnow["t_x"], cdnow["T"], strict=True):
        rows[key] = rows.get(key, 0) + 1
    x, t_x, big_t = (np.array(c) for c in zip(*rows, strict=True))
    compressed = BetaGeo().fit(x, t_x, big_t, weights=list(rows.values()))
    assert compressed.params.r == pytest.approx(cdnow_bg.params.r, rel=1e-4)
    assert compressed.log_likelihood == pytest.approx(cdnow_bg.log_likelihood, rel=1e-6)


def test_penalizer_shrinks_the_parameters(cdnow: dict[str, Any], cdnow_bg: BetaGeo) -> None:
    shrunk = BetaGeo(penalizer=0.1).fit(cdnow["x"], cdnow["t_x"], cdnow["T"]).params
    assert sum(v**2 for v in shrunk.as_dict().values()) < sum(v**2 for v in cdnow_bg.params.as_dict().values())


@pytest.mark.parametrize(
    ("x", "t_x", "big_t", "path"),
    [
        ([1, 2], [5, 50], [10, 40], "recency[1]"),
        ([1.5], [5], [10], "frequency[0]"),
        ([0], [3], [10], "recency[0]"),
        ([1], [float("nan")], [10], "recency[0]"),
        ([-1], [0], [10], "frequency[0]"),
        ([1, 2], [1], [10, 10], "recency"),
        ([[1]], [[1]], [[2]], "frequency"),
        (["a"], [1], [2], "frequency"),
    ],
)
def test_bad_input_names_the_position(x: Any, t_x: Any, big_t: Any, path: str) -> None:
    with pytest.raises(ValidationError) as info:
        BetaGeo().fit(x, t_x, big_t)
    assert info.value.problems[0].path == path


def test_misuse_is_reported() -> None:
    with pytest.raises(FitError, match="call fit"):
        BetaGeo().params  # noqa: B018
    with pytest.raises(FitError, match="call fit"):
        GammaGamma().expected_average_value([1], [10])
    with pytest.raises(ValidationError, match="needs at least one customer"):
        BetaGeo().fit([], [], [])
    with pytest.raises(ValidationError, match="repeat purchases to fit"):
        GammaGamma().fit([0, 0], [0, 0])
    with pytest.raises(ValidationError, match=r"monetary\[1\]: must be positive"):
        GammaGamma().fit([1, 2], [5, 0])
    with pytest.raises(ValidationError, match="penalizer"):
        BetaGeo(penalizer=-1)
    with pytest.raises(ValidationError, match="alpha"):
        BetaGeo.from_params(1, 0, 1, 1)
    with pytest.raises(ValidationError, match="horizon"):
        BetaGeo.from_params(1, 1, 2, 1).expected_purchases([1], [1], [2], horizon=-1)
    with pytest.raises(FitError, match=r"q = 0\.5"):
        GammaGamma.from_params(1, 0.5, 1).population_mean  # noqa: B018
    assert repr(BetaGeo()) == "BetaGeo(penalizer=0.0, unfitted)"
    assert repr(BetaGeo.from_params(0.243, 4.414, 0.793, 2.426)) == "BetaGeo(r=0.243, alpha=4.414, a=0.793, b=2.426)"


def test_gamma_gamma_expectations_by_hand() -> None:
    gg = GammaGamma.from_params(6.25, 3.74, 15.44)
    assert gg.population_mean == pytest.approx(6.25 * 15.44 / 2.74)
    x, m = [0, 1, 10], [0, 20.0, 20.0]
    expected = [6.25 * 15.44 / 2.74, 6.25 * (15.44 + 20) / (6.25 + 2.74), 6.25 * (15.44 + 200) / (62.5 + 2.74)]
    assert gg.expected_average_value(x, m).tolist() == pytest.approx(expected)
    # a repeat customer whose repeat orders were free is predicted, though such rows cannot be fitted
    assert gg.expected_average_value([2], [0])[0] == pytest.approx(6.25 * 15.44 / (12.5 + 2.74))


def test_clv_discounts_each_period() -> None:
    bg, gg = BetaGeo.from_params(0.243, 4.414, 0.793, 2.426), GammaGamma.from_params(6.25, 3.74, 15.44)
    args = ([2], [30.43], [38.86], [22.35])
    value = gg.expected_average_value([2], [22.35])[0]
    one = gg.clv(bg, *args, periods=1, period_length=4, discount_rate=0.0)[0]
    assert one == pytest.approx(bg.expected_purchases(*args[:3], horizon=4)[0] * value)
    two = gg.clv(bg, *args, periods=2, period_length=4, discount_rate=0.1)[0]
    second = bg.expected_purchases(*args[:3], horizon=8)[0] - bg.expected_purchases(*args[:3], horizon=4)[0]
    assert two == pytest.approx(one / 1.1 + second * value / 1.21)
    assert gg.clv(bg, *args, periods=24, period_length=4)[0] > gg.clv(bg, *args, periods=12, period_length=4)[0]
    with pytest.raises(ValidationError, match="periods"):
        gg.clv(bg, *args, periods=0)
    with pytest.raises(ValidationError, match="betageo"):
        gg.clv(gg, *args)  # type: ignore[arg-type]


# -- the summary of orders ------------------------------------------------------------------------


def test_clv_summary_by_hand() -> None:
    orders = [
        order("o1", "ann", 0, line("X", "10")),
        order("o2", "ann", 7, line("X", "30")),
        order("o3", "ann", 7, line("X", "20")),  # same day as o2
        order("o4", "ann", 14, line("X", "99"), status=OrderStatus.CANCELLED),
        order("o5", "bob", 21, line("X", "5")),
        order("o6", "bob", 40, line("X", "5")),  # after as_of
    ]
    summary = clv_summary(orders, as_of=at(28), unit=timedelta(weeks=1))
    ann, bob = summary
    assert (ann.frequency, ann.recency, ann.T, ann.monetary) == (2, 1.0, 4.0, Money("25", "EUR"))
    assert (bob.frequency, bob.recency, bob.T, bob.monetary) == (0, 0.0, 1.0, Money("0", "EUR"))
    assert summary.frequency == [2.0, 0.0] and summary.T == [4.0, 1.0] and summary.monetary == [25.0, 0.0]
    merged = clv_summary(orders, as_of=at(28), unit=timedelta(weeks=1), merge_same_day=True)
    assert (merged[0].frequency, merged[0].recency, merged[0].monetary) == (1, 1.0, Money("50", "EUR"))
    assert summary.currency == "EUR" and summary.unit == timedelta(weeks=1)


def test_clv_summary_needs_one_currency() -> None:
    orders = [order("o1", "ann", 0), order("o2", "bob", 0, line("X", "1", currency="JPY"), currency="JPY")]
    with pytest.raises(ValidationError, match="currency="):
        clv_summary(orders, as_of=at(5))
    assert [r.customer_id for r in clv_summary(orders, as_of=at(5), currency="JPY")] == ["bob"]
    with pytest.raises(ValidationError, match="unit"):
        clv_summary(orders, as_of=at(5), unit=timedelta(0))


@given(order_lists(currencies=("EUR",)), st.randoms(use_true_random=False), st.booleans())
def test_clv_summary_properties(orders: list[Order], rnd: random.Random, merge: bool) -> None:
    as_of = at(401)
    summary = clv_summary(orders, as_of=as_of, merge_same_day=merge)
    shuffled = orders[:]
    rnd.shuffle(shuffled)
    assert clv_summary(shuffled, as_of=as_of, merge_same_day=merge) == summary
    counts: dict[str, int] = {}
    for o in orders:
        if o.status is not OrderStatus.CANCELLED:
            counts[o.customer_id] = counts.get(o.customer_id, 0) + 1
    for row in summary:
        assert 0 <= row.recency <= row.T
        assert (row.frequency == 0) == (row.recency == 0) or merge or row.frequency > 0
        assert row.frequency <= counts[row.customer_id] - 1
        if not merge:
            assert row.frequency == counts[row.customer_id] - 1
        assert (row.monetary.amount > 0) or row.frequency == 0 or row.monetary.amount == 0


def test_predict_clv_end_to_end() -> None:
    rng = random.Random(3)
    orders = []
    for c in range(60):
        for n in range(rng.randint(1, 6)):
            price = Decimal(rng.randint(1000, 9000)).scaleb(-2)
            orders.append(order(f"o{c}-{n}", f"c{c:02d}", rng.uniform(0, 300), line("X", str(price))))
    summary = clv_summary(orders, as_of=at(300), unit=timedelta(days=7))
    bg = BetaGeo(penalizer=0.001).fit(summary.frequency, summary.recency, summary.T)
    gg = GammaGamma(penalizer=0.001).fit(summary.frequency, summary.monetary)
    predictions = predict_clv(summary, bg, gg, periods=6, period=timedelta(days=28), discount_rate=0.01)
    assert [p.customer_id for p in predictions] == [s.customer_id for s in summary]
    for p in predictions:
        assert 0 <= p.probability_alive <= 1 and p.expected_purchases >= 0
        assert p.clv.currency == p.expected_average_value.currency == "EUR" and p.clv.amount >= 0
    total = predictions.total()
    assert list(total) == ["EUR"] and total["EUR"] == sum((p.clv for p in predictions), Money("0", "EUR"))
    assert set(predictions.to_records()[0]) == {
        "customer_id",
        "currency",
        "probability_alive",
        "expected_purchases",
        "expected_average_value",
        "clv",
    }
    with pytest.raises(ValidationError, match="summary"):
        predict_clv(orders, bg, gg)  # type: ignore[arg-type]
    empty = clv_summary([], as_of=at(300))
    assert len(predict_clv(empty, bg, gg)) == 0
