"""Simulation: how often the metric status is wrong, on 200 synthetic pilots (no database).

Each pilot has a known true mean and sd, a target and 5 to 60 answers split over up to three
rounds; its rounds' stored summaries go through the same code as real ones
(pilots.evidence.evaluate_metric: pooling, t interval, judgement).
"""

import random
from decimal import Decimal

from feedback import stats
from feedback.models import FeedbackRound
from pilots.evidence import MetricStatus, evaluate_metric
from pilots.models import SuccessMetric

PILOTS = 200


def _rounds(values: list[float], rng: random.Random) -> list[FeedbackRound]:
    """Split the answers into 1–3 rounds and store each round's summary as results do."""
    parts = rng.randint(1, 3)
    cuts = sorted(rng.sample(range(1, len(values)), parts - 1)) if parts > 1 else []
    rounds = []
    for chunk in (values[a:b] for a, b in zip([0, *cuts], [*cuts, len(values)], strict=True)):
        s = stats.Summary.of(chunk)
        rounds.append(
            FeedbackRound(
                results={
                    "questions": [
                        {"key": "quality", "shown": True, "n": s.n, "mean": s.mean, "sd": s.sd}
                    ]
                }
            )
        )
    return rounds


def _simulate(seed: int) -> list[dict]:
    rng = random.Random(seed)
    pilots = []
    for i in range(PILOTS):
        higher = i % 2 == 0
        target = round(rng.uniform(2.5, 4.0), 2)
        sd = rng.uniform(0.5, 1.5)
        # Half on the wrong side of the target (or exactly on it), half beating it by one sd.
        effect = -rng.choice([0.0, 0.1, 0.25, 0.5, 1.0]) if i < PILOTS // 2 else 1.0
        true_mean = target + effect * sd if higher else target - effect * sd
        n = rng.randint(5, 60)
        values = [rng.gauss(true_mean, sd) for _ in range(n)]
        metric = SuccessMetric(
            name=f"m{i}",
            question_key="quality",
            target=Decimal(str(target)),
            direction="higher" if higher else "lower",
            min_responses=5,
        )
        status = evaluate_metric(metric, _rounds(values, rng)).status
        pilots.append({"effect": effect, "n": n, "met": status == MetricStatus.MET})
    return pilots


def test_a_pilot_on_the_wrong_side_of_its_target_is_reported_met_at_most_5_percent_of_the_time():
    pilots = [p for p in _simulate(seed=2026) if p["effect"] <= 0]
    assert len(pilots) == 100
    assert sum(p["met"] for p in pilots) / len(pilots) <= 0.05


def test_a_pilot_beating_its_target_by_one_sd_with_20_answers_is_met_at_least_80_percent():
    pilots = [p for p in _simulate(seed=2026) if p["effect"] == 1.0 and p["n"] >= 20]
    assert len(pilots) >= 50
    assert sum(p["met"] for p in pilots) / len(pilots) >= 0.80


def test_the_error_rates_hold_over_many_seeds():
    # 20 × 200 pilots: the long-run rates, not one lucky draw.
    wrong, wrong_met, strong, strong_met = 0, 0, 0, 0
    for seed in range(20):
        for p in _simulate(seed):
            if p["effect"] <= 0:
                wrong += 1
                wrong_met += p["met"]
            elif p["n"] >= 20:
                strong += 1
                strong_met += p["met"]
    assert wrong_met / wrong <= 0.05
    assert strong_met / strong >= 0.80
