"""Reference intervals computed independently with scipy, for the statistics tests.

Written from the definitions, not from feedback.stats: the count score bounds are found by
root-finding (scipy.optimize.brentq) on the score inequality itself, the exact Poisson limits
from the chi-square distribution (Garwood 1936).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy import stats as sp


def count_score_bounds(values, *, step: float = 1.0, n: int | None = None) -> tuple[float, float]:
    """The count interval's score bounds: the μ ≥ 0 where n(m ± ½/n − μ)² ≤ t²(μ + bμ²).

    In units of `step`; b = max(0, (s² − m)/m²); `n` (default: the number of values) replaces
    the sample size, as an effective n does. Upper: inf when no finite bound exists.
    """
    x = np.asarray(values, dtype=float) / step
    n = len(x) if n is None else n
    m, var = x.mean(), x.var(ddof=1)
    q2 = sp.t.ppf(0.975, n - 1) ** 2
    b = max(0.0, (var - m) / m**2) if m > 0 else 0.0

    def excess(mu: float, centre: float) -> float:
        return n * (centre - mu) ** 2 - q2 * (mu + b * mu * mu)

    low_centre, high_centre = max(m - 0.5 / n, 0.0), m + 0.5 / n
    low = 0.0 if low_centre == 0 else optimize.brentq(excess, 0.0, low_centre, (low_centre,))
    if n - q2 * b <= 0:
        high = np.inf
    else:
        top = high_centre + 1.0
        while excess(top, high_centre) <= 0:
            top *= 2
        high = optimize.brentq(excess, high_centre, top, (high_centre,), xtol=1e-14)
    return low * step, high * step


def t_bounds(values, *, floor: float = 0.0, n: int | None = None) -> tuple[float, float]:
    """The t interval with the sd floored at `floor` (scipy.stats.t)."""
    x = np.asarray(values, dtype=float)
    n = len(x) if n is None else n
    sd = max(x.std(ddof=1), floor)
    return sp.t.interval(0.95, n - 1, loc=x.mean(), scale=sd / np.sqrt(n))


def garwood(total: int, n: int) -> tuple[float, float]:
    """Exact 95% Poisson limits for the mean of n counts summing to `total` (chi-square)."""
    low = 0.0 if total == 0 else sp.chi2.ppf(0.025, 2 * total) / 2
    high = sp.chi2.ppf(0.975, 2 * total + 2) / 2
    return low / n, high / n
