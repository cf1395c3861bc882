"""Lazy access to numpy and scipy, and checks that turn user arrays into clean float arrays.

numpy and scipy come with ``pip install 'custdata[analytics]'``; they are imported on first use, so
``import custdata.analytics`` works without them and a missing one is reported with the command to run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from custdata._errors import Problem, ValidationError
from custdata.analytics._errors import FitError
from custdata.analytics._input import optional_module

if TYPE_CHECKING:
    import numpy
    from numpy.typing import ArrayLike, NDArray

    FloatArray = NDArray[numpy.float64]

EXTRA = "analytics"
_MAX_REPORTED = 5


def np() -> Any:
    """The numpy module."""
    return optional_module("numpy", EXTRA)


def special() -> Any:
    """``scipy.special``."""
    return optional_module("scipy.special", EXTRA)


def optimize() -> Any:
    """``scipy.optimize``."""
    return optional_module("scipy.optimize", EXTRA)


def column(name: str, values: ArrayLike) -> FloatArray:
    """``values`` as a 1-d float array with only finite, non-negative numbers."""
    numpy = np()
    try:
        array = numpy.asarray(values, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise ValidationError.single(name, "must be a sequence of numbers") from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValidationError.single(name, "must be one-dimensional")
    _fail(name, ~numpy.isfinite(array), "must be a finite number")
    _fail(name, array < 0, "must not be negative")
    result: FloatArray = array
    return result


def _fail(name: str, bad: Any, message: str) -> None:
    indices = np().flatnonzero(bad)
    if len(indices):
        problems = [Problem(f"{name}[{int(i)}]", message) for i in indices[:_MAX_REPORTED]]
        if len(indices) > _MAX_REPORTED:
            problems.append(Problem(name, f"{len(indices) - _MAX_REPORTED} more values break the same rule"))
        raise ValidationError(problems)


def check(name: str, bad: Any, message: str) -> None:
    """Raise a :class:`ValidationError` naming the first few positions where ``bad`` is true."""
    _fail(name, bad, message)


def rfm_columns(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Check the (frequency, recency, T) triple that BG/NBD works on and return it as float arrays."""
    numpy = np()
    x, t_x, big_t = column("frequency", frequency), column("recency", recency), column("T", T)
    if not (len(x) == len(t_x) == len(big_t)):
        raise ValidationError.single("recency", "frequency, recency and T must have the same length")
    check("frequency", x != numpy.floor(x), "must be a whole number of repeat purchases")
    check("recency", t_x > big_t * (1 + 1e-12), "must not exceed T (the last purchase cannot follow the end)")
    check("recency", (x == 0) & (t_x != 0), "must be 0 when frequency is 0")
    return x, t_x, big_t


def linalg() -> Any:
    """``scipy.linalg``."""
    return optional_module("scipy.linalg", EXTRA)


def beta_quadrature(a: float, b: float, nodes: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Jacobi nodes ``p`` in (0, 1) and weights ``w`` summing to 1 with ``sum(w * f(p))`` ~ E[f(P)] for
    P ~ Beta(a, b), exact for polynomials of degree < 2 * ``nodes``.

    Golub-Welsch: the nodes are the eigenvalues of the Jacobi matrix of the weight (1-u)^(b-1) (1+u)^(a-1)
    on [-1, 1]; the weights come from the Christoffel function, normalised, so no Beta function (which
    overflows for large b) is ever computed.
    """
    numpy = np()
    alpha, beta = b - 1.0, a - 1.0
    k = numpy.arange(nodes, dtype=numpy.float64)
    s = 2 * k + alpha + beta
    with numpy.errstate(all="ignore"):
        diagonal = numpy.where(k == 0, (beta - alpha) / (alpha + beta + 2), (beta**2 - alpha**2) / (s * (s + 2)))
        k1, s1 = k[1:], s[1:]
        tail = numpy.where(k1 == 1, 1.0, numpy.sqrt(k1 * (k1 + alpha + beta) / numpy.where(k1 == 1, 1.0, s1 - 1)))
        off = 2.0 / s1 * numpy.sqrt((k1 + alpha) * (k1 + beta) / (s1 + 1)) * tail
    u = linalg().eigvalsh_tridiagonal(diagonal, off)
    # Christoffel function: 1 / sum of the squared orthonormal polynomials at each node
    previous, current = numpy.zeros_like(u), numpy.ones_like(u)
    total = numpy.ones_like(u)
    for j in range(nodes - 1):
        below = off[j - 1] * previous if j else 0.0
        previous, current = current, ((u - diagonal[j]) * current - below) / off[j]
        total += current * current
    weights = 1.0 / total
    p: FloatArray = (1 + u) / 2
    w: FloatArray = weights / weights.sum()
    return p, w


def minimize(objective: Callable[[Any], float], start: FloatArray, what: str) -> FloatArray:
    """Minimise ``objective`` from ``start``: L-BFGS-B, then Nelder-Mead from there if that did not converge.

    Raises :class:`FitError` when neither converges to a finite value.
    """
    opt = optimize()
    numpy = np()
    result = opt.minimize(objective, start, method="L-BFGS-B", options={"maxiter": 2000})
    if not (result.success and numpy.isfinite(result.fun)):
        result = opt.minimize(
            objective,
            result.x if numpy.all(numpy.isfinite(result.x)) else start,
            method="Nelder-Mead",
            options={"maxiter": 20000, "maxfev": 20000, "xatol": 1e-10, "fatol": 1e-12},
        )
    if not (result.success and numpy.isfinite(result.fun)):
        raise FitError(f"the {what} fit did not converge: {result.message}")
    found: FloatArray = result.x
    return found
