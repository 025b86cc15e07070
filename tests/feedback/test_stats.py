"""feedback.stats against reference values computed independently by scipy and numpy.

References: scipy.stats.t (t quantiles, t intervals), scipy.stats.chi2 (Garwood's exact Poisson
limits), scipy.optimize.brentq on the count score inequality (tests/stats_reference.py).
"""

import math
import random

import numpy as np
import pytest
from scipy import special
from scipy import stats as sp

from feedback import stats
from tests.stats_reference import count_score_bounds, garwood, t_bounds


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 9, 14, 19, 29, 49, 59, 99, 179, 1000])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.95, 0.975, 0.995, 0.9995, 0.025, 0.1])
def test_the_t_quantile_matches_scipy_to_1e_9(df, p):
    assert stats.t_quantile(p, df) == pytest.approx(sp.t.ppf(p, df), rel=1e-9, abs=1e-9)


def test_the_t_quantile_matches_published_table_values():
    # Student t table, two-sided 95%: 12.706 (1 df), 2.571 (5), 2.262 (9), 2.045 (29).
    for df, published in [(1, 12.706), (5, 2.571), (9, 2.262), (29, 2.045)]:
        assert round(stats.t_quantile(0.975, df), 3) == published


@pytest.mark.parametrize("t", [-6.0, -2.0, -0.3, 0.0, 0.7, 1.96, 4.5])
@pytest.mark.parametrize("df", [1, 3, 10, 57])
def test_the_t_cdf_matches_scipy(t, df):
    assert stats.t_cdf(t, df) == pytest.approx(sp.t.cdf(t, df), abs=1e-12)


@pytest.mark.parametrize(
    ("x", "a", "b"), [(0.1, 0.5, 0.5), (0.5, 2, 3), (0.9, 10, 0.5), (0.3, 30, 0.5), (0.99, 1, 1)]
)
def test_the_regularized_incomplete_beta_matches_scipy(x, a, b):
    assert stats.regularized_beta(x, a, b) == pytest.approx(special.betainc(a, b, x), abs=1e-12)


def test_descriptive_statistics_match_numpy():
    rng = random.Random(5)
    for n in (1, 2, 3, 10, 41):
        values = [rng.randint(0, 10) for _ in range(n)]
        assert stats.mean(values) == pytest.approx(np.mean(values))
        assert stats.median(values) == pytest.approx(np.median(values))
        counts = stats.distribution(values)
        assert stats.median_of_counts(counts) == pytest.approx(np.median(values))
        if n >= 2:
            assert stats.sample_sd(values) == pytest.approx(np.std(values, ddof=1))
        else:
            assert stats.sample_sd(values) is None


def test_empty_samples_have_no_figures():
    assert stats.mean([]) is None
    assert stats.median([]) is None
    assert stats.median_of_counts({}) is None
    assert stats.nps({}) is None
    assert stats.t_interval(stats.Summary(1, 3.0, None)) is None


def test_the_t_interval_matches_scipy():
    values = [3, 4, 4, 5, 2, 4, 5, 3, 4]
    low, high = sp.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sp.sem(values))
    interval = stats.t_interval(stats.Summary.of(values))
    assert interval.low == pytest.approx(low, abs=1e-9)
    assert interval.high == pytest.approx(high, abs=1e-9)


def test_nps_counts_9_and_10_as_promoters_and_0_to_6_as_detractors():
    # 4 promoters, 3 passives, 3 detractors out of 10: NPS = 40 − 30 = 10.
    counts = stats.distribution([10, 9, 9, 10, 8, 7, 8, 6, 0, 3])
    assert stats.nps(counts) == pytest.approx(10.0)
    assert stats.nps({10: 5}) == 100.0
    assert stats.nps({6: 2, 0: 2}) == -100.0


def test_pooling_round_summaries_equals_pooling_the_raw_answers():
    rng = random.Random(11)
    rounds = [[rng.gauss(3.5, 1) for _ in range(rng.randint(1, 30))] for _ in range(4)]
    pooled = stats.pool(stats.Summary.of(r) for r in rounds)
    raw = [v for r in rounds for v in r]
    assert pooled.n == len(raw)
    assert pooled.mean == pytest.approx(np.mean(raw), abs=1e-12)
    assert pooled.sd == pytest.approx(np.std(raw, ddof=1), abs=1e-12)


def test_pooling_nothing_gives_no_estimate():
    assert stats.pool([]) == stats.Summary(0, None, None)


@pytest.mark.parametrize(
    ("low", "high", "higher", "expected"),
    [
        (3.6, 4.0, True, "met"),
        (3.0, 3.4, True, "not_met"),
        (3.4, 3.6, True, "inconclusive"),
        (3.5, 3.9, True, "inconclusive"),
        (3.0, 3.4, False, "met"),
        (3.6, 4.0, False, "not_met"),
        (3.4, 3.6, False, "inconclusive"),
    ],
)
def test_a_metric_is_met_only_when_the_whole_interval_beats_the_target(low, high, higher, expected):
    interval = stats.Interval(low, high)
    assert stats.judge(interval, target=3.5, higher_is_better=higher) == expected


def test_no_interval_is_inconclusive():
    assert stats.judge(None, target=1, higher_is_better=True) == "inconclusive"


def test_independent_intervals_add_in_quadrature():
    total, interval = stats.sum_intervals(
        [(10.0, stats.Interval(7.0, 13.0)), (5.0, stats.Interval(1.0, 9.0))]
    )
    assert total == 15.0
    assert interval.high - total == pytest.approx(math.hypot(3, 4))
    assert stats.sum_intervals([(1.0, None)]) == (1.0, None)


def test_identical_answers_get_an_interval_of_the_scale_resolution_not_zero_width():
    summary = stats.Summary.of([4.0] * 5)
    assert summary.sd == 0
    ci = stats.interval(summary)
    half = sp.t.ppf(0.975, 4) * (1 / math.sqrt(12)) / math.sqrt(5)
    assert (ci.low, ci.high) == (pytest.approx(4 - half), pytest.approx(4 + half))
    assert stats.judge(ci, target=3.75, higher_is_better=True) == stats.Status.INCONCLUSIVE


def test_a_spread_above_the_floor_keeps_the_plain_t_interval():
    values = [1.0, 3.0, 4.0, 5.0, 5.0]
    ci = stats.interval(stats.Summary.of(values))
    low, high = sp.t.interval(0.95, 4, loc=np.mean(values), scale=sp.sem(values))
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize(("yes", "n"), [(5, 5), (0, 5), (3, 10), (19, 20), (1, 60)])
def test_a_share_of_yes_answers_gets_the_wilson_interval_of_statsmodels_formula(yes, n):
    # Wilson (1927), as computed by statsmodels' proportion_confint(method="wilson").
    z = sp.norm.ppf(0.975)
    p = yes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    ci = stats.interval(stats.Summary(n, p, None, proportion=True))
    assert (ci.low, ci.high) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_all_yes_answers_never_give_a_zero_width_interval():
    ci = stats.interval(stats.Summary(5, 1.0, 0.0, proportion=True))
    assert ci.high == pytest.approx(1.0)
    assert ci.low == pytest.approx(5 / (5 + sp.norm.ppf(0.975) ** 2))
    assert stats.judge(ci, target=0.8, higher_is_better=True) == stats.Status.INCONCLUSIVE


def test_an_effective_n_narrows_nothing_and_widens_the_interval():
    summary = stats.Summary(60, 4.0, 1.0)
    pooled = stats.interval(summary)
    judged = stats.interval(summary, n_eff=20)
    assert judged.high - judged.low > pooled.high - pooled.low
    assert judged == stats.t_interval(stats.Summary(20, 4.0, 1.0))
    assert stats.interval(summary, n_eff=100) == pooled


# --- Question grids: the step's floor, the question's ends, counts -----------------------

COUNTS = stats.Grid(step=1.0, minimum=0.0, maximum=100.0, counts=True)


@pytest.mark.parametrize(
    ("values", "step"),
    [
        ([0] * 9 + [1], 1),
        ([0, 0, 0, 0, 1], 1),
        ([0, 0, 1, 2, 0, 3, 0, 0, 1, 0, 0, 5], 1),
        ([3, 4, 2, 5, 3, 4, 3, 2], 1),
        ([0, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 1),
        ([60, 90, 120, 30, 60, 90], 1),
        ([0, 5, 10, 0, 0, 25, 5, 0], 5),
        ([1] * 40, 1),
    ],
)
def test_the_count_interval_matches_the_score_bounds_found_by_root_finding(values, step):
    low, high = count_score_bounds(values, step=step)
    ci = stats.count_interval(stats.Summary.of(values), step=step)
    assert (ci.low, ci.high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, rel=1e-9))


def test_ten_zeros_still_allow_up_to_t_squared_over_n_incidents_not_zero():
    ci = stats.interval(stats.Summary.of([0] * 10), grid=COUNTS)
    assert ci.low == 0
    assert ci.high == pytest.approx(count_score_bounds([0] * 10)[1])
    assert ci.high > sp.t.ppf(0.975, 9) ** 2 / 10
    assert stats.judge(ci, target=0.5, higher_is_better=False) == stats.Status.INCONCLUSIVE


def test_one_incident_among_ten_answers_is_not_called_below_half_an_incident():
    # The case that misled: t gives [−0.13, 0.33], "below 0.5", from a single incident.
    values = [0] * 9 + [1]
    t_low, t_high = sp.t.interval(0.95, 9, loc=np.mean(values), scale=sp.sem(values))
    assert t_high < 0.5 and t_low < 0
    # Judged as a plain number (no grid: not a count), it is still the misleading t interval.
    plain = stats.interval(stats.Summary.of(values))
    assert stats.judge(plain, target=0.5, higher_is_better=False) == stats.Status.MET
    ci = stats.interval(stats.Summary.of(values), grid=COUNTS)
    assert ci.low == 0  # never a negative count
    assert ci.high == pytest.approx(count_score_bounds(values)[1])
    assert stats.judge(ci, target=0.5, higher_is_better=False) == stats.Status.INCONCLUSIVE


@pytest.mark.parametrize("n", [5, 10, 20, 40, 60])
def test_counts_no_more_spread_than_poisson_reach_at_least_the_exact_poisson_upper_limit(n):
    # Garwood's exact limits from the chi-square distribution: for a sample that shows no
    # overdispersion the count interval's upper end (the one "lower is better" is judged
    # on) is never below the exact Poisson one.
    for total in range(0, 4 * n + 1):
        values = [total // n + 1] * (total % n) + [total // n] * (n - total % n)
        ci = stats.interval(stats.Summary.of(values), grid=COUNTS)
        assert ci.high >= garwood(total, n)[1], total


def test_the_count_interval_is_never_narrower_than_the_floored_t_interval():
    rng = np.random.default_rng(8)
    for _ in range(300):
        n = int(rng.integers(2, 41))
        values = rng.negative_binomial(rng.choice([0.5, 1, 5]), rng.uniform(0.1, 0.9), n)
        ci = stats.interval(stats.Summary.of(values.tolist()), grid=COUNTS)
        t_low, t_high = t_bounds(values, floor=1 / math.sqrt(12))
        assert ci.low <= max(t_low, 0.0) + 1e-12
        assert ci.high >= min(t_high, 100.0) - 1e-12


def test_a_handful_of_very_spread_counts_has_no_upper_end_but_the_question_maximum():
    values = [0, 0, 0, 0, 12]  # b·t² ≥ n: no finite score bound
    assert count_score_bounds(values)[1] == math.inf
    assert stats.count_interval(stats.Summary.of(values)).high == math.inf
    ci = stats.interval(stats.Summary.of(values), grid=COUNTS)
    assert ci.high == 100.0
    assert stats.interval(stats.Summary.of(values), grid=stats.Grid(counts=True)) is None


def test_no_interval_leaves_the_question_s_ends():
    scale = stats.Grid(step=1.0, minimum=1.0, maximum=5.0)
    top = stats.interval(stats.Summary.of([5, 5, 5, 4, 5]), grid=scale)
    bottom = stats.interval(stats.Summary.of([1, 1, 2, 1, 1]), grid=scale)
    assert top.high == 5.0 and top.low < 5.0
    assert bottom.low == 1.0 and bottom.high > 1.0
    share = stats.Grid(step=0.01, minimum=0.0, maximum=1.0)
    assert stats.interval(stats.Summary.of([0.0, 0.01, 0.0, 0.02, 0.0]), grid=share).low == 0.0


def test_the_sd_floor_follows_the_question_s_step():
    # Five identical error rates answered to 0.01: floored at 0.01/√12, not at a whole point.
    summary = stats.Summary.of([0.1] * 5)
    fine = stats.interval(summary, grid=stats.Grid(step=0.01, minimum=0.0, maximum=1.0))
    half = sp.t.ppf(0.975, 4) * (0.01 / math.sqrt(12)) / math.sqrt(5)
    assert (fine.low, fine.high) == (pytest.approx(0.1 - half), pytest.approx(0.1 + half))
    # An error rate with its own spread of 0.03: the plain t interval, ten times narrower
    # than with a whole point's floor.
    rates = [0.05, 0.09, 0.11, 0.08, 0.13, 0.1, 0.07, 0.12, 0.1, 0.06]
    low, high = t_bounds(rates)
    ci = stats.interval(stats.Summary.of(rates), grid=stats.Grid(step=0.01, minimum=0.0))
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))
    whole_point = stats.interval(stats.Summary.of(rates))
    assert whole_point.high - whole_point.low > 5 * (high - low)


def test_pooled_rounds_keep_the_coarsest_step_the_widest_ends_and_counts():
    a = stats.Summary(10, 1.0, 1.0, grid=stats.Grid(1.0, 0.0, 50.0, counts=True))
    b = stats.Summary(10, 2.0, 1.0, grid=stats.Grid(0.5, 0.0, 100.0))
    assert stats.pool([a, b]).grid == stats.Grid(1.0, 0.0, 100.0, counts=True)
    assert stats.pool([stats.Summary(3, 1.0, 1.0)]).grid is None


@pytest.mark.parametrize(
    ("spread", "distance"), [(1.0, 0.5), (1.0, 0.3), (2.5, 1.7), (0.03, 0.005), (1.0, 0.01)]
)
def test_the_answers_needed_are_the_fewest_whose_t_interval_leaves_the_target(spread, distance):
    def enough(n):
        q = sp.t.ppf(0.975, n - 1) if n <= stats.LARGE_SAMPLE else sp.norm.ppf(0.975)
        return q * spread / math.sqrt(n) < distance

    n = stats.answers_needed(spread, distance)
    assert enough(n)
    assert n == 2 or not enough(n - 1)


def test_no_number_of_answers_is_given_for_an_estimate_on_its_target():
    assert stats.answers_needed(1.0, 0.0) is None
    assert stats.answers_needed(0.0, 1.0) is None
