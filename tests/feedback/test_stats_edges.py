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
