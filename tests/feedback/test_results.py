"""Round results: computed in the database, checked against scipy, anonymous below threshold."""

import json

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scipy import stats as sp

from feedback.results import anonymity_threshold, compute_results
from tests.decisions.evidence_support import add_round
from tests.factories import PilotFactory, UserFactory

pytestmark = pytest.mark.django_db


def _answers(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        row = {
            "minutes_saved": 30 + 15 * (i % 7),
            "quality": 1 + i % 5,
            "trust": 2 + i % 4,
            "recommend": (i * 3) % 11,
            "incident": i % 4 == 0,
        }
        if i % 4 == 0:
            row["incident_kind"] = ["confidential_data_exposed", "other"][i % 8 // 4]
        if i % 3 == 0:
            row["comment"] = f"comment {n - i:03d}"
        rows.append(row)
    return rows


def _by_key(results: dict) -> dict:
    return {q["key"]: q for q in results["questions"]}


def test_the_figures_of_a_round_match_scipy_and_numpy():
    answers = _answers(12)
    r = add_round(PilotFactory(stage="sandbox"), answers, invited=20)
    results = r.results
    quality = [a["quality"] for a in answers]
    q = _by_key(results)["quality"]
    assert q["n"] == 12
    assert q["mean"] == pytest.approx(np.mean(quality))
    assert q["median"] == pytest.approx(np.median(quality))
    assert q["sd"] == pytest.approx(np.std(quality, ddof=1))
    low, high = sp.t.interval(0.95, 11, loc=np.mean(quality), scale=sp.sem(quality))
    assert q["ci"] == [pytest.approx(low), pytest.approx(high)]
    assert q["distribution"] == [[float(v), quality.count(v)] for v in sorted(set(quality))]
    recommend = [a["recommend"] for a in answers]
    promoters = sum(v >= 9 for v in recommend)
    detractors = sum(v <= 6 for v in recommend)
    assert _by_key(results)["recommend"]["nps"] == pytest.approx(
        100 * (promoters - detractors) / 12
    )
    assert results["responses"] == 12
    assert results["response_rate"] == pytest.approx(12 / 20)


def test_a_round_counts_yes_no_answers_and_incidents_by_kind(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    results = add_round(PilotFactory(stage="sandbox"), _answers(20)).results
    incident = _by_key(results)["incident"]
    assert (incident["yes"], incident["no"]) == (5, 15)
    assert results["incidents"]["count"] == 5
    assert results["incidents"]["by_kind"] == [
        ["confidential_data_exposed", "Confidential data exposed", 3],
        ["other", "Other", 2],
    ]


def test_a_yes_no_question_answered_by_too_few_hides_its_counts_even_in_a_big_round(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    answers = [{"quality": 4} for _ in range(8)]
    answers[0]["incident"] = True
    answers[1]["incident"] = False
    results = add_round(PilotFactory(stage="sandbox"), answers).results
    assert _by_key(results)["incident"] == {
        "key": "incident",
        "text": "incident?",
        "kind": "yes_no",
        "unit": "",
        "shown": False,
    }
    assert results["incidents"] is None


def test_a_choice_question_answered_by_too_few_hides_its_counts_even_in_a_big_round(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    answers = [{"quality": 4, "incident": False} for _ in range(8)]
    answers[0].update(incident=True, incident_kind="confidential_data_exposed")
    results = add_round(PilotFactory(stage="sandbox"), answers).results
    kind = _by_key(results)["incident_kind"]
    # Not even its count of answers: "n=1" would say that one of the eight reported one.
    assert (kind.get("n"), kind["shown"], "choices" in kind) == (None, False, False)
    # The incident count is shown (8 answered the yes/no question), never the lone kind.
    assert results["incidents"] == {"count": 1, "by_kind": []}
    assert "confidential_data_exposed" not in json.dumps(results)


def test_comments_are_listed_sorted_and_without_author():
    pilot = PilotFactory(stage="sandbox", anonymous_feedback=False)
    r = add_round(pilot, _answers(15))
    for i, response in enumerate(r.responses.all()):
        response.respondent = UserFactory(username=f"alice{i}")
        response.save()
    results = compute_results(r)
    texts = [c["text"] for c in results["comments"]]
    assert texts == sorted(texts) and len(texts) == 5
    assert "alice" not in json.dumps(results)
    assert set(results["comments"][0]) == {"question", "text"}


def test_below_the_anonymity_threshold_only_the_number_of_answers_is_stored(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    results = add_round(PilotFactory(stage="sandbox"), _answers(4), invited=10).results
    assert results["shown"] is False
    assert results["responses"] == 4
    assert results["comments"] == []
    assert results["incidents"] is None
    # Not a single question, not even how many answered each: only the round's counts.
    assert results["questions"] == []
    assert set(results) == {
        "version",
        "threshold",
        "invited",
        "responses",
        "response_rate",
        "shown",
        "questions",
        "incidents",
        "comments",
    }
    assert "comment 00" not in json.dumps(results)


def test_a_question_answered_by_too_few_hides_its_figures_even_in_a_big_round(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    answers = [{"quality": 4} for _ in range(8)]
    answers[0]["trust"] = 1
    answers[1]["trust"] = 5
    by_key = _by_key(add_round(PilotFactory(stage="sandbox"), answers).results)
    assert by_key["quality"]["shown"] is True
    assert by_key["trust"] == {
        "key": "trust",
        "text": "trust?",
        "kind": "scale",
        "unit": "",
        "shown": False,
    }


def test_a_comment_to_a_text_question_answered_by_too_few_is_not_quoted(settings):
    """The one description of a withheld incident used to be listed among the comments."""
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    answers = [{"quality": 4, "incident": False, "comment": f"fine {i}"} for i in range(8)]
    answers[0].update(
        incident=True, incident_kind="other", incident_description="I pasted the client file"
    )
    results = add_round(PilotFactory(stage="sandbox"), answers).results
    assert "I pasted the client file" not in json.dumps(results)
    assert len(results["comments"]) == 8  # the comment question had eight answers
    description = _by_key(results)["incident_description"]
    assert (description["shown"], description.get("n")) == (False, None)


def test_the_threshold_is_never_below_3(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 1
    assert anonymity_threshold() == 3
    results = add_round(PilotFactory(stage="sandbox"), _answers(2)).results
    assert results["shown"] is False


def test_results_are_json_safe():
    results = add_round(PilotFactory(stage="sandbox"), _answers(9)).results
    assert json.loads(json.dumps(results)) == results


def test_computing_results_takes_the_same_queries_for_6_and_60_responses():
    pilot = PilotFactory(stage="sandbox")
    counts = []
    for weeks, n in ((1, 6), (2, 60)):
        r = add_round(pilot, _answers(n), weeks_ago=weeks, compute=False)
        with CaptureQueriesContext(connection) as ctx:
            compute_results(r)
        counts.append(len(ctx))
    # Queries: questions, response count, one scan of the answers counted per value.
    assert counts[0] == counts[1] == 3


def test_close_counts_the_responses_once():
    pilot = PilotFactory(stage="sandbox")
    r = add_round(pilot, _answers(6), compute=False)
    with CaptureQueriesContext(connection) as ctx:
        compute_results(r, responses=6)
    assert len(ctx) == 2


def test_the_median_is_the_same_on_every_database():
    answers = [{"minutes_saved": v} for v in (10, 20, 30, 40, 1000, 0)]
    q = _by_key(add_round(PilotFactory(stage="sandbox"), answers).results)["minutes_saved"]
    assert q["median"] == pytest.approx(25.0)


def test_a_yes_no_question_summarises_as_the_share_of_yes_answers():
    from feedback.results import summary_of

    answers = [{"incident": v} for v in (True, False, False, True, False, False)]
    summary = summary_of(add_round(PilotFactory(stage="sandbox"), answers).results, "incident")
    values = [1, 0, 0, 1, 0, 0]
    assert summary.n == 6
    assert summary.mean == pytest.approx(np.mean(values))
    assert summary.sd == pytest.approx(np.std(values, ddof=1))
