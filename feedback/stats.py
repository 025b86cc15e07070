"""Pure statistics for feedback results: no ORM, no Django, only numbers in and out.

Intervals are Student t intervals: answers are few (5 to 60 per round) and their standard
deviation is estimated from the same sample, so the normal approximation would be too narrow
exactly where decisions are made. The t quantile is computed here from the regularized
incomplete beta function (continued fraction, Numerical Recipes §6.4) and inverted by
bisection, accurate to about 1e-10, so production code does not need scipy.

Round summaries are pooled exactly: from each round's (n, mean, sd) the pooled mean and the
pooled sample variance are the same as those of the raw answers of all rounds together.

Two cases where the plain t interval would claim certainty it does not have (see `interval`):
- Answers all equal (sd = 0) give a zero-width interval [m, m], i.e. a verdict from the mean
  alone. Answers are given on a grid (whole points on a scale, whole minutes), so a sample of
  identical answers is still compatible with a true spread of at least the rounding error of
  that grid: the sd is floored at resolution/√12 (the sd of a uniform rounding error, as in
  Sheppard's correction). Five answers of 4 on a 1–5 scale then give 4 ± 0.36, not [4, 4].
- Yes/no shares use the Wilson score interval, not a t interval on 0/1 values: all "yes" of n
  gives [n/(n+z²), 1], never [1, 1], and its coverage stays near 95% for small n and shares
  near 0 or 1, where the Wald/t interval fails.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

CONFIDENCE = 0.95
# Answers to number and scale questions are given on a grid of this step (scale points,
# whole minutes): the smallest spread a sample of identical answers can hide.
RESOLUTION = 1.0


class Status:
    MET = "met"
    NOT_MET = "not_met"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Summary:
    """What is known about a sample: its size, mean and sample standard deviation."""

    n: int
    mean: float | None
    sd: float | None
    # A share of yes answers (mean of 0/1 values): judged with the Wilson interval.
    proportion: bool = False

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(len(values), mean(values), sample_sd(values))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


# ---------------------------------------------------------------------------------------------
# Descriptive statistics


def mean(values: Sequence[float]) -> float | None:
    if not values:
        return None
    return math.fsum(values) / len(values)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_of_counts(counts: Mapping[float, int]) -> float | None:
    """Median of a sample given as value → count (what the database returns per value)."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted((float(v), c) for v, c in counts.items() if c)

    def at(rank: int) -> float:  # rank is 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if rank < seen:
                return value
        raise IndexError(rank)  # pragma: no cover - rank < total by construction

    if total % 2:
        return at(total // 2)
    return (at(total // 2 - 1) + at(total // 2)) / 2


def sample_sd(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n − 1 in the denominator); None below two values."""
    n = len(values)
    if n < 2:
        return None
    m = math.fsum(values) / n
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))


def summary_of_counts(counts: Mapping[float, int]) -> Summary:
    """(n, mean, sample sd) of a sample given as value → count, exactly (two passes).

    One value has no sample sd (None), never an error: a round with a single answer to a
    question must still close.
    """
    n = sum(c for c in counts.values() if c > 0)
    if not n:
        return Summary(0, None, None)
    m = math.fsum(float(v) * c for v, c in counts.items() if c > 0) / n
    if n < 2:
        return Summary(n, m, None)
    squares = math.fsum(c * (float(v) - m) ** 2 for v, c in counts.items() if c > 0)
    return Summary(n, m, math.sqrt(squares / (n - 1)))


def distribution(values: Iterable) -> dict:
    """Count of each distinct value, sorted by value."""
    return dict(sorted(Counter(values).items()))


def nps(counts: Mapping[float, int]) -> float | None:
    """Net Promoter Score from 0–10 answers given as value → count: % promoters − % detractors.

    Promoters answer 9 or 10, detractors 0 to 6 (the published definition).
    """
    total = sum(counts.values())
    if not total:
        return None
    promoters = sum(c for v, c in counts.items() if float(v) >= 9)
    detractors = sum(c for v, c in counts.items() if float(v) <= 6)
    return 100.0 * (promoters - detractors) / total


# ---------------------------------------------------------------------------------------------
# Student t distribution


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must lie in [0, 1]")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast only on this side; use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    tail = 0.5 * regularized_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The t value below which a share p of Student's t distribution lies."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    # Bisection: the CDF is monotone, 200 halvings reach float precision.
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def t_interval(summary: Summary, confidence: float = CONFIDENCE) -> Interval | None:
    """Two-sided t interval for the mean; None when it cannot be computed (n < 2)."""
    if summary.n < 2 or summary.mean is None or summary.sd is None:
        return None
    half = t_quantile(0.5 + confidence / 2.0, summary.n - 1) * summary.sd / math.sqrt(summary.n)
    return Interval(summary.mean - half, summary.mean + half)


def sd_floor(resolution: float = RESOLUTION) -> float:
    """The smallest sd believed for answers on a grid of `resolution`: its rounding error."""
    return resolution / math.sqrt(12.0)


def wilson_interval(share: float, n: float, confidence: float = CONFIDENCE) -> Interval | None:
    """Wilson score interval of a proportion observed as `share` of `n` answers."""
    if n <= 0 or share is None:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z2n = z * z / n
    centre = (share + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(share * (1.0 - share) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def interval(
    summary: Summary,
    *,
    n_eff: int | None = None,
    resolution: float = RESOLUTION,
    confidence: float = CONFIDENCE,
) -> Interval | None:
    """The 95% interval used to judge a metric; never of zero width.

    Proportions: Wilson. Means: Student t with the sd floored at `sd_floor(resolution)`.
    `n_eff` (≤ summary.n) replaces the number of answers when they are not independent, e.g.
    the same people answering in several pooled rounds (pilots.evidence).
    """
    n = summary.n if n_eff is None else min(n_eff, summary.n)
    if summary.mean is None or n < 1:
        return None
    if summary.proportion:
        return wilson_interval(summary.mean, n, confidence)
    if n < 2 or summary.sd is None:
        return None
    sd = max(summary.sd, sd_floor(resolution))
    return t_interval(Summary(n, summary.mean, sd), confidence)


# ---------------------------------------------------------------------------------------------
# Pooling and judging


def pool(summaries: Iterable[Summary]) -> Summary:
    """Combine summaries of disjoint samples exactly, as if the raw values were pooled.

    Pooled mean = Σ nᵢ·mᵢ / N; pooled sum of squares = Σ (nᵢ − 1)·sᵢ² + nᵢ·(mᵢ − m)².
    A summary of one value carries no sd: it counts as 0 within-sample spread, which is exact.
    """
    parts = [s for s in summaries if s.n > 0 and s.mean is not None]
    total = sum(s.n for s in parts)
    if not total:
        return Summary(0, None, None)
    proportion = all(s.proportion for s in parts)
    pooled_mean = math.fsum(s.n * s.mean for s in parts) / total
    if total < 2:
        return Summary(total, pooled_mean, None, proportion)
    squares = math.fsum(
        (s.n - 1) * (s.sd or 0.0) ** 2 + s.n * (s.mean - pooled_mean) ** 2 for s in parts
    )
    return Summary(total, pooled_mean, math.sqrt(max(squares, 0.0) / (total - 1)), proportion)


def effective_n(summaries: Iterable[Summary]) -> int:
    """The largest single sample among pooled ones: see pilots.evidence on repeated answers."""
    return max((s.n for s in summaries if s.n > 0 and s.mean is not None), default=0)


def judge(interval: Interval | None, *, target: float, higher_is_better: bool) -> str:
    """Met only when the whole interval beats the target; not met when it all misses it."""
    if interval is None:
        return Status.INCONCLUSIVE
    if higher_is_better:
        if interval.low > target:
            return Status.MET
        if interval.high < target:
            return Status.NOT_MET
    else:
        if interval.high < target:
            return Status.MET
        if interval.low > target:
            return Status.NOT_MET
    return Status.INCONCLUSIVE


def sum_intervals(
    intervals: Iterable[tuple[float, Interval | None]],
) -> tuple[float, Interval | None]:
    """Sum of independent estimates: half-widths add in quadrature (normal approximation).

    Each item is (estimate, interval); an estimate without interval makes the sum's interval
    unknown.
    """
    total, squares, known = 0.0, 0.0, True
    for estimate, interval in intervals:
        total += estimate
        if interval is None:
            known = False
            continue
        squares += ((interval.high - interval.low) / 2.0) ** 2
    if not known:
        return total, None
    half = math.sqrt(squares)
    return total, Interval(total - half, total + half)
