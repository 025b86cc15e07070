"""Simulation: how often the metric status is wrong, on synthetic pilots (no database).

Each pilot asks a 1–5 scale question (whole points) of the same participants in one to three
rounds. A participant's answer is a latent value — the pilot's mean, plus that person's own
lasting effect (intra-person correlation ICC 0.3 or 0.5 across rounds), plus round noise —
rounded to the scale and clipped to 1–5. The *true* mean and sd are those of the discrete
answers, computed exactly from the latent normal, and the target is set relative to them.
Rounds with fewer answers than the anonymity threshold are withheld, as production does. The
stored round summaries go through the same code as real ones (pilots.evidence.evaluate_metric:
pooling, effective n, floored-sd t interval, judgement).
"""

import math
import random
from decimal import Decimal
from statistics import NormalDist

import pytest

from feedback import stats
from feedback.models import FeedbackRound
from pilots.evidence import MetricStatus, evaluate_metric
from pilots.models import SuccessMetric

PILOTS = 200
THRESHOLD = 5  # settings.FEEDBACK_ANONYMITY_THRESHOLD's default
SCALE = (1, 5)
WRONG_SIDE = (0.0, -0.1, -0.25, -0.5, -1.0)  # in true sds: on the target or worse


def _discrete_moments(mu: float, sd: float) -> tuple[float, float]:
    """Exact mean and sd of clip(round(X), 1, 5) for X ~ Normal(mu, sd)."""
    latent = NormalDist(mu, sd)
    low, high = SCALE
    probs = {}
    for k in range(low, high + 1):
        below = 0.0 if k == low else latent.cdf(k - 0.5)
        above = 1.0 if k == high else latent.cdf(k + 0.5)
        probs[k] = above - below
    mean = sum(k * p for k, p in probs.items())
    var = sum((k - mean) ** 2 * p for k, p in probs.items())
    return mean, math.sqrt(var)


def _answer(value: float) -> float:
    return float(min(SCALE[1], max(SCALE[0], math.floor(value + 0.5))))


def _round(answers: list[float]) -> FeedbackRound:
    """A round's stored results, withheld under the threshold as feedback.results does."""
    s = stats.Summary.of(answers)
    entry = {"key": "quality", "shown": s.n >= THRESHOLD, "n": s.n}
    if entry["shown"]:
        entry.update(mean=s.mean, sd=s.sd)
    return FeedbackRound(results={"questions": [entry]})


def _pilot(i: int, effect: float, rng: random.Random, rounds_count: int | None = None) -> dict:
    higher = i % 2 == 0
    mu = rng.uniform(2.0, 4.0)
    sd = rng.uniform(0.6, 1.4)
    icc = rng.choice([0.3, 0.5])
    true_mean, true_sd = _discrete_moments(mu, sd)
    # `effect` true sds on the improving side of the target (≤ 0: on it or on the wrong side).
    target = true_mean - effect * true_sd if higher else true_mean + effect * true_sd
    rounds_count = rounds_count or rng.randint(1, 3)
    per_round = rng.randint(5, 60)  # responses per round
    people = [rng.gauss(0.0, sd * math.sqrt(icc)) for _ in range(per_round + rng.randint(0, 5))]
    noise = sd * math.sqrt(1.0 - icc)
    rounds = []
    for _r in range(rounds_count):
        # Each round some of the same participants answer (response rate varies a little).
        answering = rng.sample(people, max(1, per_round - rng.randint(0, per_round // 5)))
        rounds.append(_round([_answer(mu + u + rng.gauss(0.0, noise)) for u in answering]))
    metric = SuccessMetric(
        name=f"m{i}",
        question_key="quality",
        # The exact target: Decimal keeps the float's digits (a rounded target would move it).
        target=Decimal(target),
        direction="higher" if higher else "lower",
        min_responses=5,
    )
    evaluation = evaluate_metric(metric, list(reversed(rounds)))
    return {
        "effect": effect,
        "n_largest_round": evaluation.n_effective,
        "met": evaluation.status == MetricStatus.MET,
    }


def _simulate(seed: int, effects=None, rounds: int | None = None) -> list[dict]:
    """PILOTS pilots: half on or below the target, half beating it by one sd."""
    rng = random.Random(seed)
    pilots = []
    for i in range(PILOTS):
        if effects is not None:
            effect = rng.choice(effects)
        elif i < PILOTS // 2:
            effect = rng.choice(WRONG_SIDE)
        else:
            effect = 1.0
        pilots.append(_pilot(i, effect, rng, rounds))
    return pilots


def _rate(pilots: list[dict]) -> float:
    return sum(p["met"] for p in pilots) / len(pilots)


def test_a_pilot_on_the_wrong_side_of_its_target_is_reported_met_at_most_5_percent_of_the_time():
    pilots = [p for p in _simulate(seed=2026) if p["effect"] <= 0]
    assert len(pilots) == 100
    assert _rate(pilots) <= 0.05


@pytest.mark.parametrize("rounds", [1, 3])
def test_a_pilot_whose_true_mean_is_exactly_its_target_is_reported_met_at_most_5_percent(rounds):
    # The hardest case on its own, not diluted by pilots far below their target: 1,000
    # pilots, discrete answers; with 3 rounds, the same people answer all three.
    pilots = [
        p for seed in range(5) for p in _simulate(seed=100 + seed, effects=[0.0], rounds=rounds)
    ]
    assert len(pilots) == 1000
    assert _rate(pilots) <= 0.05


def test_a_pilot_beating_its_target_by_one_sd_with_20_answers_is_met_at_least_80_percent():
    # 20 answers in one round: 20 people. Three rounds of the same 7 people are not 20.
    pilots = [p for p in _simulate(seed=2026) if p["effect"] == 1.0 and p["n_largest_round"] >= 20]
    assert len(pilots) >= 50
    assert _rate(pilots) >= 0.80


def test_the_error_rates_hold_over_many_seeds():
    # 10 × 200 pilots: the long-run rates, not one lucky draw.
    pilots = [p for seed in range(10) for p in _simulate(seed)]
    at_target = [p for p in pilots if p["effect"] == 0.0]
    wrong = [p for p in pilots if p["effect"] <= 0]
    strong = [p for p in pilots if p["effect"] == 1.0 and p["n_largest_round"] >= 20]
    assert len(at_target) >= 150
    assert _rate(at_target) <= 0.05
    assert _rate(wrong) <= 0.05
    assert _rate(strong) >= 0.80


def test_withheld_rounds_and_repeat_answers_are_part_of_the_simulation():
    # Guard against a simulation that silently lost what makes it realistic.
    rng = random.Random(7)
    small = _round([4.0, 4.0, 3.0])
    assert small.results["questions"][0] == {"key": "quality", "shown": False, "n": 3}
    mean, sd = _discrete_moments(3.0, 1.0)
    draws = [_answer(rng.gauss(3.0, 1.0)) for _ in range(50_000)]
    assert set(draws) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert stats.mean(draws) == pytest.approx(mean, abs=0.02)
    assert stats.sample_sd(draws) == pytest.approx(sd, abs=0.02)
