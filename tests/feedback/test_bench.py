"""The open-rounds benchmark runs, and its query count does not grow with participants."""

from __future__ import annotations

import pytest

from bench import bench_open_rounds

pytestmark = pytest.mark.django_db(transaction=True)  # the bench truncates tables


def test_the_benchmark_opens_rounds_with_the_same_queries_at_two_participant_counts(
    postgres, settings
):
    settings.FEEDBACK_ROUND_OPEN_HOUR = 0
    small = bench_open_rounds.measure(3, 2, repeats=1)
    large = bench_open_rounds.measure(3, 7, repeats=1)
    assert (small["prompts"], large["prompts"]) == (6, 21)
    # Rounds, prompts and their invitations: the same few statements whatever the size.
    assert small["queries"] == large["queries"] <= 9
    assert small["copy_seconds"] > 0
    assert large["ratio"] > 0


def test_the_close_benchmark_reads_the_figures_in_the_same_queries_at_two_sizes(postgres):
    from bench import bench_close_round

    small = bench_close_round.measure(10, 6, repeats=1)
    large = bench_close_round.measure(40, 24, repeats=1)
    assert small["aggregation_queries"] == large["aggregation_queries"]
    assert min(small["baseline"], large["close"], large["aggregation_ratio"]) > 0
