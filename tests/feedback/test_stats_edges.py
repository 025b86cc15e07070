"""feedback.stats at the sample sizes and spreads mutation testing found unbuilt (`make mutation`):
one answer, two answers, rounds whose answers are all the same. References: scipy.stats.t and
the count score bounds of tests/stats_reference.py."""

import math

import numpy as np
import pytest
from scipy import stats as sp

from feedback import stats
from tests.stats_reference import count_score_bounds, t_bounds

FLOOR = 1 / math.sqrt(12)  # the sd floor of whole-step answers


def test_pooling_a_single_answer_keeps_it_as_the_estimate_without_a_spread():
    pooled = stats.pool([stats.Summary.of([4.0])])
    assert (pooled.n, pooled.mean, pooled.sd) == (1, 4.0, None)
    # One answer draws no interval: a metric on it stays inconclusive.
    assert stats.interval(pooled) is None
    assert stats.judge(stats.interval(pooled), target=3, higher_is_better=True) == "inconclusive"


def test_pooling_one_answer_with_a_round_equals_pooling_the_raw_answers():
    rounds = [[5.0], [2.0, 3.0, 4.0, 2.0]]
    pooled = stats.pool(stats.Summary.of(r) for r in rounds)
    raw = [v for r in rounds for v in r]
    assert (pooled.n, pooled.mean) == (5, pytest.approx(np.mean(raw)))
    assert pooled.sd == pytest.approx(np.std(raw, ddof=1))


def test_pooling_two_rounds_of_single_answers_gives_the_spread_of_the_two():
    pooled = stats.pool([stats.Summary.of([2.0]), stats.Summary.of([4.0])])
    assert (pooled.n, pooled.mean) == (2, 3.0)
    assert pooled.sd == pytest.approx(np.std([2.0, 4.0], ddof=1))


def test_a_round_whose_answers_are_all_the_same_is_pooled_with_a_spread_of_zero_not_none():
    pooled = stats.pool([stats.Summary.of([4.0] * 5), stats.Summary.of([4.0] * 3)])
    assert (pooled.n, pooled.mean, pooled.sd) == (8, 4.0, 0.0)
    ci = stats.interval(pooled)
    low, high = t_bounds([4.0] * 8, floor=FLOOR)
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))


def test_identical_counts_still_get_the_count_interval_above_the_floored_t_interval():
    # Eight answers of 2 incidents: sd 0 is a known spread, so the count interval applies.
    values = [2.0] * 8
    pooled = stats.pool([stats.Summary(8, 2.0, 0.0, grid=stats.Grid(minimum=0, counts=True))])
    ci = stats.interval(pooled)
    t_low, t_high = t_bounds(values, floor=FLOOR)
    c_low, c_high = count_score_bounds(values)
    assert c_high > t_high  # the count bound is the one that shows
    assert (ci.low, ci.high) == (pytest.approx(max(min(t_low, c_low), 0)), pytest.approx(c_high))


def test_a_spread_of_zero_gives_a_t_interval_and_a_count_interval_not_none():
    summary = stats.Summary(6, 3.0, 0.0)
    assert stats.t_interval(summary) is not None
    assert stats.count_interval(summary) is not None


def test_one_answer_draws_no_interval_of_any_kind():
    one = stats.Summary(1, 4.0, None)
    assert stats.interval(one) is None
    assert stats.interval(stats.Summary(1, 4.0, None, grid=stats.Grid(counts=True))) is None
    assert stats.t_interval(one) is None
    assert stats.count_interval(one) is None


def test_two_answers_draw_the_t_interval_with_one_degree_of_freedom():
    values = [3.0, 5.0]
    ci = stats.interval(stats.Summary.of(values))
    low, high = sp.t.interval(0.95, 1, loc=4.0, scale=np.std(values, ddof=1) / np.sqrt(2))
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))


def test_two_answers_that_agree_draw_the_floored_t_interval_with_one_degree_of_freedom():
    ci = stats.interval(stats.Summary.of([4.0, 4.0]))
    half = sp.t.ppf(0.975, 1) * FLOOR / math.sqrt(2)
    assert (ci.low, ci.high) == (pytest.approx(4 - half), pytest.approx(4 + half))


def test_two_counted_answers_draw_the_count_interval_of_the_reference():
    values = [0.0, 3.0]
    summary = stats.Summary.of(values)
    counted = stats.count_interval(summary)
    low, high = count_score_bounds(values)
    assert (counted.low, counted.high) == (pytest.approx(low), pytest.approx(high))


def test_one_yes_no_answer_gets_the_wilson_interval_of_one():
    z = sp.norm.ppf(0.975)
    ci = stats.interval(stats.Summary(1, 0.0, None, proportion=True))
    assert ci.low == 0.0
    assert ci.high == pytest.approx(z * z / (1 + z * z))


# Found by `make mutation` (the campaign of issue 8): contracts of the building blocks that
# the judged intervals rest on, at the inputs the other tests never reach.


def test_nine_yes_of_nine_give_an_upper_end_of_exactly_100_percent_never_above():
    # Computed, the Wilson upper end of 9 of 9 is 1.0000000000000002: a share above 100%.
    ci = stats.interval(stats.Summary(9, 1.0, 0.0, proportion=True))
    assert ci.high == 1.0
    for n in range(1, 60):
        assert stats.wilson_interval(1.0, n).high <= 1.0


def test_no_answers_or_no_share_draw_no_wilson_interval():
    assert stats.wilson_interval(0.5, 0) is None
    assert stats.wilson_interval(None, 5) is None


def test_a_sum_with_one_unknown_interval_still_adds_every_estimate_and_has_no_interval():
    total, interval = stats.sum_intervals(
        [(2.0, stats.Interval(1.0, 3.0)), (1.0, None), (4.0, stats.Interval(2.0, 6.0))]
    )
    assert (total, interval) == (7.0, None)


def test_a_sum_of_intervals_is_centred_on_the_total_with_both_ends():
    total, interval = stats.sum_intervals(
        [(10.0, stats.Interval(7.0, 13.0)), (5.0, stats.Interval(1.0, 9.0))]
    )
    assert total == 15.0
    assert (interval.low, interval.high) == (pytest.approx(10.0), pytest.approx(20.0))


def test_the_count_interval_needs_two_answers_a_mean_and_a_spread():
    assert stats.count_interval(stats.Summary(5, 2.0, None)) is None
    assert stats.count_interval(stats.Summary(1, 4.0, 0.0)) is None
    assert stats.count_interval(stats.Summary(5, None, 1.0)) is None


@pytest.mark.parametrize(("x", "expected"), [(0.0, 0.0), (1.0, 1.0)])
def test_the_incomplete_beta_is_0_and_1_at_its_ends(x, expected):
    assert stats.regularized_beta(x, 2.0, 3.0) == expected


@pytest.mark.parametrize("x", [-0.1, 1.5, 2.0])
def test_the_incomplete_beta_refuses_x_outside_0_1(x):
    with pytest.raises(ValueError, match=r"^x must lie in \[0, 1\]$"):
        stats.regularized_beta(x, 2.0, 3.0)


@pytest.mark.parametrize("df", [0, -1])
def test_the_t_cdf_refuses_degrees_of_freedom_that_are_not_positive(df):
    with pytest.raises(ValueError, match=r"^degrees of freedom must be positive$"):
        stats.t_cdf(1.0, df)


@pytest.mark.parametrize(
    ("t", "df"), [(20.0, 30), (8.0, 300), (0.01, 300), (0.01, 999), (-0.01, 999), (-20.0, 30)]
)
def test_the_t_cdf_matches_scipy_far_in_the_tails_and_next_to_the_centre(t, df):
    # The continued fraction converges on one side of the mean only: the other side fails to
    # converge next to the centre and loses all accuracy far in the tails.
    assert stats.t_cdf(t, df) == pytest.approx(sp.t.cdf(t, df), abs=1e-12)


def test_a_wide_count_sample_just_short_of_no_upper_end_keeps_a_finite_one():
    # [0, 0, 2, 3, 5]: b·t² is just below n (a = n − b·t² ≈ 0.18): the upper end is large
    # but finite, as the reference finds it, not "no upper end".
    values = [0.0, 0.0, 2.0, 3.0, 5.0]
    counted = stats.count_interval(stats.Summary.of(values))
    low, high = count_score_bounds(values)
    assert math.isfinite(counted.high)
    assert (counted.low, counted.high) == (pytest.approx(low), pytest.approx(high))


def test_counts_in_steps_of_five_minutes_get_both_ends_of_the_reference_in_minutes():
    values = [0.0, 5.0, 5.0, 10.0, 30.0, 0.0, 15.0]
    counted = stats.count_interval(stats.Summary.of(values), step=5.0)
    low, high = count_score_bounds(values, step=5.0)
    assert (counted.low, counted.high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize(("distance", "needed"), [(2.0, 4), (1.0, 7), (0.7, 11), (0.6, 14)])
def test_the_answers_needed_use_t_with_n_minus_1_degrees_of_freedom(distance, needed):
    # scipy: t(0.975, n − 1)/√n first drops below the distance (spread 1) at these n.
    assert stats.answers_needed(1.0, distance) == needed
    q = sp.t.ppf(0.975, needed - 1)
    assert q / math.sqrt(needed) < distance <= sp.t.ppf(0.975, needed - 2) / math.sqrt(needed - 1)


def test_a_thousand_answers_still_use_the_t_quantile_the_next_ones_the_normal():
    # Between t(999)/√1000 and z/√1000: t says 1,000 answers are not enough, z would.
    distance = (sp.t.ppf(0.975, 999) + sp.norm.ppf(0.975)) / 2 / math.sqrt(1000)
    assert stats.answers_needed(1.0, distance) == 1001


def test_an_interval_that_would_end_exactly_on_the_target_needs_one_more_answer():
    # At 4 answers of spread 2 the half-width is exactly t(3): a target that far away would
    # sit on the interval's end, which decides nothing (judge), so 5 answers are needed.
    distance = stats.t_quantile(0.975, 3)
    assert stats.t_quantile(0.975, 3) * 2.0 / math.sqrt(4) == distance
    assert stats.answers_needed(2.0, distance) == 5


def test_a_spread_tiny_beside_the_distance_needs_two_answers_the_fewest_with_an_interval():
    assert stats.answers_needed(0.01, 1.0) == 2
    assert stats.answers_needed(1.0, sp.t.ppf(0.975, 1) / math.sqrt(2) * 1.001) == 2


def test_the_effective_n_is_the_largest_round_even_of_one_answer_and_0_without_any():
    assert stats.effective_n([]) == 0
    assert stats.effective_n([stats.Summary(0, None, None)]) == 0
    assert stats.effective_n([stats.Summary(1, 4.0, None)]) == 1
    assert stats.effective_n([stats.Summary(1, 4.0, None), stats.Summary(0, None, None)]) == 1


def test_pooled_grids_keep_the_coarsest_of_fine_steps_and_open_ends_stay_open():
    fine = stats.Grid(step=0.25, minimum=1.0, maximum=5.0)
    half = stats.Grid(step=0.5, minimum=None, maximum=None)
    assert stats.Grid.combine([fine, half]) == stats.Grid(0.5, None, None)
    assert stats.Grid.combine([half, fine]) == stats.Grid(0.5, None, None)
    assert stats.Grid.combine([fine, None]) == fine


def test_one_pooled_yes_no_answer_stays_a_share_judged_with_wilson():
    grid = stats.Grid(step=1.0, minimum=0.0, maximum=1.0)
    pooled = stats.pool([stats.Summary(1, 1.0, None, proportion=True, grid=grid)])
    assert pooled == stats.Summary(1, 1.0, None, True, grid)
    z2 = sp.norm.ppf(0.975) ** 2
    assert stats.interval(pooled).low == pytest.approx(1 / (1 + z2))


def test_the_t_interval_and_the_judged_interval_need_two_answers_a_mean_and_a_spread():
    for summary in (stats.Summary(5, 2.0, None), stats.Summary(1, 4.0, 0.0)):
        assert stats.t_interval(summary) is None
        assert stats.interval(summary) is None
    assert stats.t_interval(stats.Summary(5, None, 1.0)) is None


def test_a_share_at_90_percent_confidence_gets_the_90_percent_wilson_interval():
    z = sp.norm.ppf(0.95)
    p, n = 0.3, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    ci = stats.interval(stats.Summary(n, p, None, proportion=True), confidence=0.90)
    assert (ci.low, ci.high) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_the_summary_of_counted_answers_at_zero_one_and_two_answers():
    assert stats.summary_of_counts({}) == stats.Summary(0, None, None)
    assert stats.summary_of_counts({4.0: 1}) == stats.Summary(1, 4.0, None)
    two = stats.summary_of_counts({3.0: 1, 5.0: 1})
    assert (two.n, two.mean, two.sd) == (2, 4.0, pytest.approx(math.sqrt(2)))


def test_a_mean_at_90_percent_confidence_gets_the_90_percent_t_interval():
    values = [1.0, 3.0, 4.0, 5.0, 5.0]
    ci = stats.interval(stats.Summary.of(values), confidence=0.90)
    low, high = sp.t.interval(0.90, 4, loc=np.mean(values), scale=sp.sem(values))
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))


def test_a_count_interval_at_90_percent_is_narrower_than_at_95_at_its_count_end():
    counted = stats.Grid(step=1.0, minimum=0.0, maximum=100.0, counts=True)
    summary = stats.Summary.of([0.0, 1.0, 0.0, 2.0, 1.0])
    ninety = stats.interval(summary, grid=counted, confidence=0.90)
    assert ninety.high < stats.interval(summary, grid=counted).high


def test_the_judged_interval_of_counts_in_steps_of_five_uses_that_step():
    values = [0.0, 5.0, 0.0, 10.0, 5.0]
    grid = stats.Grid(step=5.0, minimum=0.0, maximum=600.0, counts=True)
    ci = stats.interval(stats.Summary.of(values), grid=grid)
    t_low, t_high = t_bounds(values, floor=5.0 / math.sqrt(12))
    c_low, c_high = count_score_bounds(values, step=5.0)
    assert (ci.low, ci.high) == (
        pytest.approx(max(min(t_low, c_low), 0.0)),
        pytest.approx(max(t_high, c_high)),
    )
