"""Pure statistics for feedback results: no ORM, no Django, only numbers in and out.

Intervals for means are Student t intervals: answers are few (5 to 60 per round) and their
standard deviation is estimated from the same sample, so the normal approximation would be too
narrow exactly where decisions are made. The t quantile is computed here from the regularized
incomplete beta function (continued fraction, Numerical Recipes §6.4) and inverted by
bisection, accurate to about 1e-10, so production code does not need scipy.

Round summaries are pooled exactly: from each round's (n, mean, sd) the pooled mean and the
pooled sample variance are the same as those of the raw answers of all rounds together.

Every question has a `Grid`: its answers are multiples of a step from its minimum, up to its
maximum (`feedback.models.Question.step`, `min_value`, `max_value`). Intervals never leave
[minimum, maximum] (no negative count, no mean above a scale's top).

Three cases where the plain t interval would claim certainty it does not have (see `interval`):
- Answers all equal (sd = 0) give a zero-width interval [m, m], i.e. a verdict from the mean
  alone. Answers are given on a grid, so a sample of identical answers is still compatible with
  a true spread of at least the rounding error of that grid: the sd is floored at step/√12 (the
  sd of a uniform rounding error, as in Sheppard's correction). The floor follows each
  question's own step: five answers of 4 on a 1–5 scale give 4 ± 0.36, not [4, 4], while an
  error rate answered to 0.01 keeps its own small spread instead of a whole point's.
- Counts (number questions whose answers are whole multiples of a whole step from 0: incidents,
  errors, minutes) are skewed: many zeros and a few large values. In such samples the sd is
  small exactly when the mean came out small, so the t interval's upper end is too low when it
  matters most for "lower is better" ([0]*9 + [1] gives t [−0.13, 0.33], "below 0.5"; in
  simulation the t interval called a true mean of 0.5–3 "below" it 8–18% of the time instead of
  at most 2.5%). `count_interval` is a score interval instead: it keeps the values μ that a
  t-test with the variance *at μ* would not reject, where the variance of a count with mean μ
  is μ + b·μ² (Poisson variation plus the overdispersion of a negative binomial, b estimated by
  moments and never below 0, so a sample showing less spread than Poisson is judged as
  Poisson). A larger true mean comes with a larger spread, which stretches the upper end, and
  ten zeros still say "up to t²/n", not "0". It needs only (n, mean, sd), so pooled rounds use
  it too. The sum is discrete, so the bounds are drawn from the sum ± half a step (continuity
  correction), and the t quantile with n − 1 degrees of freedom accounts for b being
  estimated. When b is large for the sample size (b·t² ≥ n) no finite upper end exists and the
  question's maximum is used. The interval used for counts is the hull of this score interval
  and the floored t interval, so it is never narrower than the t interval on either side.
  Why not the alternatives (same simulation, 4,000 rounds per case): the exact (Garwood)
  Poisson interval assumes no overdispersion and called negative binomial samples "met" up to
  20% of the time (10% when scaled by the sample's dispersion); a percentile bootstrap only
  resamples the values seen (ten zeros resample to a zero-width interval) and called "met" up
  to 25% of the time at 5 answers and still 7–8% at 40; a log transform gives an interval for
  the geometric mean, not the mean. Measured for this interval (tests/pilots/
  test_simulation.py): with the true mean exactly at the target, one round of 5–40 answers,
  Poisson means 0.5–3 and negative binomial means 0.5–2 with shapes 0.5–2, "met" at most 4.0%
  of the time in any case ("lower is better"; 1.1% on average) and 1.4% ("higher is better").
  The price is power on few answers: half the target's incidents (Poisson mean 1 against a
  target of 2) are "met" 32% of the time on 10 answers, 85% on 20 and all but always on 40.
  Whether a question is a count is declared by its author (kind, minimum and step), never
  guessed from the answers: a skewness test on 5–40 answers has little power (ten zeros look
  perfectly symmetric), and choosing the method after seeing the data would itself distort the
  error rates. Fractional quantities (rates answered to 0.01, hours to 0.5) keep the t interval.
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
# The step of a question that declares none (results stored before questions had one): whole
# scale points and whole minutes.
DEFAULT_STEP = 1.0
# Beyond this many answers the t quantile is the normal one to 4 digits (answers_needed).
LARGE_SAMPLE = 1000


class Status:
    MET = "met"
    NOT_MET = "not_met"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Grid:
    """The answers a question allows: multiples of `step` from `minimum`, up to `maximum`.

    `counts`: the answers are whole multiples of a whole step from 0 (incidents, errors,
    minutes), judged with the count interval (see the module docstring).
    """

    step: float = DEFAULT_STEP
    minimum: float | None = None
    maximum: float | None = None
    counts: bool = False

    @classmethod
    def combine(cls, grids: Iterable[Grid | None]) -> Grid | None:
        """The grid of answers pooled from several rounds (None if none is known).

        The coarsest step (its floor is the larger, so the more careful one), the widest
        range, and counts if any round was: the count interval is never narrower than the t
        interval, so mixing never makes an interval narrower than either would be.
        """
        known = [g for g in grids if g is not None]
        if not known:
            return None
        minimums = [g.minimum for g in known]
        maximums = [g.maximum for g in known]
        return cls(
            step=max(g.step for g in known),
            minimum=None if None in minimums else min(minimums),
            maximum=None if None in maximums else max(maximums),
            counts=any(g.counts for g in known),
        )

    def clip(self, interval: Interval) -> Interval | None:
        """The interval within [minimum, maximum]; None if it has no finite upper end."""
        low, high = interval.low, interval.high
        if self.minimum is not None:
            low, high = max(low, self.minimum), max(high, self.minimum)
        if self.maximum is not None:
            low, high = min(low, self.maximum), min(high, self.maximum)
        if not (math.isfinite(low) and math.isfinite(high)):
            return None
        return Interval(low, high)


@dataclass(frozen=True)
class Summary:
    """What is known about a sample: its size, mean and sample standard deviation."""

    n: int
    mean: float | None
    sd: float | None
    # A share of yes answers (mean of 0/1 values): judged with the Wilson interval.
    proportion: bool = False
    # What the answers could be (None: whole steps, no known ends, not counts).
    grid: Grid | None = None

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


def sd_floor(step: float = DEFAULT_STEP) -> float:
    """The smallest sd believed for answers on a grid of `step`: its rounding error."""
    return step / math.sqrt(12.0)


def wilson_interval(share: float, n: float, confidence: float = CONFIDENCE) -> Interval | None:
    """Wilson score interval of a proportion observed as `share` of `n` answers."""
    if n <= 0 or share is None:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z2n = z * z / n
    centre = (share + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(share * (1.0 - share) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def count_interval(
    summary: Summary, *, step: float = DEFAULT_STEP, confidence: float = CONFIDENCE
) -> Interval | None:
    """Score interval for the mean of counts: answers are whole multiples of `step` from 0.

    In units of the step, the values μ ≥ 0 with n·(m − μ)² ≤ t²·(μ + b·μ²), where m is the
    mean, t the two-sided t quantile with n − 1 degrees of freedom and b = max(0, (s² − m)/m²)
    the moment estimate of the negative binomial overdispersion (0 for a sample less spread
    than Poisson, and for one of zeros only). Each end is solved from the sum moved half a
    step outwards (continuity correction). The upper end is infinite when b·t² ≥ n. Not
    clipped, not hulled: `interval` does both. None below two answers.
    """
    n = summary.n
    if n < 2 or summary.mean is None or summary.sd is None:
        return None
    m = max(summary.mean, 0.0) / step
    variance = (summary.sd / step) ** 2
    q2 = t_quantile(0.5 + confidence / 2.0, n - 1) ** 2
    b = max(0.0, (variance - m) / (m * m)) if m > 0 else 0.0
    a = n - q2 * b

    def roots(centre: float) -> tuple[float, float]:
        # a·μ² − B·μ + C = 0; B² − 4aC = 4nq²·centre·(1 + b·centre) + q⁴ > 0 always.
        big_b = 2.0 * n * centre + q2
        c = n * centre * centre
        root = math.sqrt(big_b * big_b - 4.0 * a * c)
        # The smaller root written without cancellation; for a ≤ 0 it is the only positive one.
        smaller = 2.0 * c / (big_b + root)
        larger = (big_b + root) / (2.0 * a) if a > 0 else math.inf
        return smaller, larger

    low = roots(max(m - 0.5 / n, 0.0))[0]
    high = roots(m + 0.5 / n)[1]
    return Interval(low * step, high * step)


def interval(
    summary: Summary,
    *,
    n_eff: int | None = None,
    grid: Grid | None = None,
    confidence: float = CONFIDENCE,
) -> Interval | None:
    """The 95% interval used to judge a metric; never of zero width, never off the grid's ends.

    Proportions: Wilson. Means: Student t with the sd floored at `sd_floor(step)`; for counts
    the hull of that and `count_interval`. Then clipped to the grid's [minimum, maximum].
    `grid` defaults to the summary's own. `n_eff` (≤ summary.n) replaces the number of answers
    when they are not independent, e.g. the same people answering in several pooled rounds
    (decisions.evidence).
    """
    n = summary.n if n_eff is None else min(n_eff, summary.n)
    if summary.mean is None or n < 1:
        return None
    if summary.proportion:
        return wilson_interval(summary.mean, n, confidence)
    if n < 2 or summary.sd is None:
        return None
    grid = grid or summary.grid or Grid()
    sd = max(summary.sd, sd_floor(grid.step))
    drawn = t_interval(Summary(n, summary.mean, sd), confidence)
    if grid.counts:
        counted = count_interval(
            Summary(n, summary.mean, summary.sd), step=grid.step, confidence=confidence
        )
        if counted is not None:
            drawn = Interval(min(drawn.low, counted.low), max(drawn.high, counted.high))
    return grid.clip(drawn)


def answers_needed(spread: float, distance: float, confidence: float = CONFIDENCE) -> int | None:
    """The fewest answers n for which t(n − 1)·spread/√n < distance: how many answers an
    interval of this spread needs to leave a target `distance` away from the estimate.

    None when no number of answers can (distance 0) or nothing is known (spread ≤ 0). Above
    LARGE_SAMPLE answers the normal quantile stands in for t's.
    """
    if distance <= 0 or not spread > 0 or not math.isfinite(spread):
        return None
    p = 0.5 + confidence / 2.0

    def quantile(n: int) -> float:
        return t_quantile(p, n - 1) if n <= LARGE_SAMPLE else NormalDist().inv_cdf(p)

    def enough(n: int) -> bool:
        return quantile(n) * spread / math.sqrt(n) < distance

    # t's quantile exceeds the normal one, so the normal answer is a lower bound; a few
    # fixed-point steps climb to the t answer, then single steps settle it exactly.
    n = max(2, math.ceil((NormalDist().inv_cdf(p) * spread / distance) ** 2))
    for _ in range(20):
        following = max(2, math.ceil((quantile(n) * spread / distance) ** 2))
        if following <= n:
            break
        n = following
    while not enough(n):
        n += 1
    while n > 2 and enough(n - 1):
        n -= 1
    return n


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
    grid = Grid.combine(s.grid for s in parts)
    pooled_mean = math.fsum(s.n * s.mean for s in parts) / total
    if total < 2:
        return Summary(total, pooled_mean, None, proportion, grid)
    squares = math.fsum(
        (s.n - 1) * (s.sd or 0.0) ** 2 + s.n * (s.mean - pooled_mean) ** 2 for s in parts
    )
    sd = math.sqrt(max(squares, 0.0) / (total - 1))
    return Summary(total, pooled_mean, sd, proportion, grid)


def effective_n(summaries: Iterable[Summary]) -> int:
    """The largest single sample among pooled ones: see decisions.evidence on repeated answers."""
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
