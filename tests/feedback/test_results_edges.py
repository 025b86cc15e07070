"""feedback.results at the shapes `make mutation` found unbuilt: a yes/no question answered "no"
by everyone, stored results read in another language, results of version 1."""

import math
from decimal import Decimal

import pytest
from scipy import stats as sp

from decisions import evidence
from decisions.evidence import MetricStatus
from feedback import stats
from feedback.models import LocalizedQuestion, Question, RoundQuestionSummary
from feedback.results import (
    entry_grid,
    grid_of,
    localized_incidents,
    localized_result,
    question_result,
    question_words,
    round_figures,
    summary_of,
    summary_of_entry,
)
from tests.decisions.evidence_support import PULSE, add_round, questionnaire
from tests.factories import (
    PilotFactory,
    QuestionFactory,
    QuestionnaireFactory,
    SuccessMetricFactory,
)
from tests.stats_reference import count_score_bounds, t_bounds

pytestmark = pytest.mark.django_db


def _all_no(pilot, n: int):
    return add_round(pilot, [{"quality": 4, "incident": False} for _ in range(n)])


def test_a_yes_no_question_answered_no_by_everyone_shows_zero_yes_and_no_incident(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    results = _all_no(PilotFactory(stage="pilot"), 8).results
    [incident] = [q for q in results["questions"] if q["key"] == "incident"]
    assert (incident["shown"], incident["n"], incident["yes"], incident["no"]) == (True, 8, 0, 8)
    assert results["incidents"] == {"count": 0, "by_kind": []}


def test_everyone_answering_no_is_a_share_of_zero_with_the_wilson_interval_above_it(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    summary = summary_of(_all_no(PilotFactory(stage="pilot"), 8).results, "incident")
    assert (summary.n, summary.mean, summary.sd, summary.proportion) == (8, 0.0, 0.0, True)
    z2 = sp.norm.ppf(0.975) ** 2
    ci = stats.interval(summary)
    # Wilson for 0 of n: [0, z²/(n + z²)], never [0, 0].
    assert (ci.low, ci.high) == (0.0, pytest.approx(z2 / (8 + z2)))


def test_a_lower_is_better_yes_share_metric_answered_no_by_everyone_is_judged(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(
        pilot=pilot,
        question_key="incident",
        direction="lower",
        baseline=Decimal("0.9"),
        target=Decimal("0.5"),
        min_responses=10,
    )
    _all_no(pilot, 12)
    [e] = evidence.metric_statuses(pilot)
    assert (e.n, e.estimate, e.ci_low) == (12, 0.0, 0.0)
    assert e.status == MetricStatus.MET
    assert "below the target 0.5" in e.reason


# Found by `make mutation` (issue 8's campaign): the stored results read in another language.


def _french_round(settings):
    """A closed round of five answers; the pulse's incident kinds and a pilot's own question
    have French words."""
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    QuestionFactory(
        questionnaire=None,
        pilot=pilot,
        key="hours_won",
        kind="number",
        text="Hours won?",
        unit="hours",
        language="en",
        translations={"fr": {"text": "Heures gagnées ?", "unit": "heures"}},
        min_value=0,
        max_value=100,
        position=1,
    )
    kinds = Question.objects.get(questionnaire=questionnaire(), key="incident_kind")
    kinds.language = "en"
    kinds.translations = {"fr": {"text": "Quel incident ?", "choices": {"other": "Autre incident"}}}
    kinds.save()
    answers = [
        {"quality": 4, "incident": True, "incident_kind": "other", "hours_won": 2 + i}
        for i in range(5)
    ]
    return add_round(pilot, answers)


def test_a_rounds_stored_results_read_in_french_take_the_questions_french_words(settings):
    feedback_round = _french_round(settings)
    words = question_words([feedback_round], language="fr").for_round(feedback_round)
    stored = {q["key"]: q for q in feedback_round.results["questions"]}

    hours = localized_result(stored["hours_won"], words["hours_won"])
    assert (hours["text"], hours["unit"], hours["language"]) == ("Heures gagnées ?", "heures", "fr")
    assert (hours["n"], hours["mean"]) == (5, 4.0)  # the figures are the stored ones

    kinds = localized_result(stored["incident_kind"], words["incident_kind"])
    assert kinds["text"] == "Quel incident ?"
    assert [c[1] for c in kinds["choices"]] == [
        "Confidential data exposed",
        "Wrong output acted on",
        "Autre incident",
    ]
    assert [c[2] for c in kinds["choices"]] == [0, 0, 5]
    # Untranslated words stay as written; a question gone keeps the stored words.
    assert words["quality"].text == "quality?"
    assert localized_result(stored["quality"], None) == stored["quality"]

    incidents = localized_incidents(feedback_round.results["incidents"], words["incident_kind"])
    assert incidents == {"count": 5, "by_kind": [["other", "Autre incident", 5]]}
    assert (
        localized_incidents(feedback_round.results["incidents"], None)
        == (feedback_round.results["incidents"])
    )
    assert localized_incidents(None, words["incident_kind"]) is None


def test_the_words_of_rounds_without_stored_questions_take_no_query(
    settings, django_assert_num_queries
):
    feedback_round = _french_round(settings)
    feedback_round.results = {"shown": False, "responses": 2}
    with django_assert_num_queries(0):
        words = question_words([feedback_round], language="fr")
    assert words.for_round(feedback_round) == {}


def test_a_question_missing_from_stored_results_has_no_result():
    assert question_result({"shown": False, "responses": 2}, "quality") is None
    assert question_result(None, "quality") is None


def test_the_grid_of_a_stored_result_keeps_its_step_and_a_version_1_result_steps_by_1():
    entry = {"kind": "number", "min_value": 0.0, "max_value": 600.0, "step": 5.0}
    assert entry_grid(entry) == stats.Grid(5.0, 0.0, 600.0, counts=True)
    del entry["step"]
    assert entry_grid(entry) == stats.Grid(1.0, 0.0, 600.0, counts=True)
    assert entry_grid({"mean": 3.0}) == stats.Grid(1.0, None, None, counts=False)


def test_a_round_nobody_was_invited_to_counts_0_invited_in_three_queries(
    settings, django_assert_num_queries
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    # Answers without any prompt row (as a pilot's invitations deleted since would leave).
    feedback_round = add_round(PilotFactory(stage="pilot"), [{"quality": 4}] * 4, invited=9)
    with django_assert_num_queries(3):
        invited, responses, results = round_figures(feedback_round)
    assert (invited, responses) == (0, 4)
    assert (feedback_round.invited_count, results["invited"], results["responses"]) == (0, 0, 4)
    assert results["response_rate"] is None


def test_the_summary_rows_keep_each_questions_grid_and_a_share_has_none(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    answers = [{"minutes_saved": 10 * i, "quality": 3, "incident": i == 0} for i in range(4)]
    feedback_round = add_round(PilotFactory(stage="pilot"), answers)
    rows = {
        row["key"]: row
        for row in RoundQuestionSummary.objects.filter(round=feedback_round).values(
            "key", "n", "proportion", "step", "min_value", "max_value", "counts"
        )
    }
    assert rows["minutes_saved"] == {
        "key": "minutes_saved",
        "n": 4,
        "proportion": False,
        "step": 1.0,
        "min_value": 0.0,
        "max_value": 2400.0,
        "counts": True,
    }
    assert rows["quality"]["counts"] is False
    assert (rows["quality"]["min_value"], rows["quality"]["max_value"]) == (1.0, 5.0)
    assert rows["incident"] == {
        "key": "incident",
        "n": 4,
        "proportion": True,
        "step": None,
        "min_value": None,
        "max_value": None,
        "counts": False,
    }


@pytest.mark.parametrize(
    ("kind", "minimum", "step", "counts"),
    [
        ("number", 0, 1, True),
        ("number", 0, 5, True),
        ("number", 0, "0.5", False),  # hours to the half: a quantity, not a count
        ("number", 1, 1, False),
        ("scale", 0, 1, False),  # a 0–10 scale is a scale, not a count
    ],
)
def test_only_a_number_question_from_0_in_whole_steps_is_judged_as_a_count(
    kind, minimum, step, counts
):
    grid = grid_of(kind, min_value=Decimal(minimum), max_value=Decimal(10), step=Decimal(step))
    assert grid == stats.Grid(float(Decimal(step)), float(minimum), 10.0, counts=counts)


def test_a_stored_yes_no_result_without_its_no_count_reads_as_all_yes():
    summary = summary_of_entry({"shown": True, "yes": 4, "n": 4})
    assert summary == stats.Summary(4, 1.0, 0.0, proportion=True)


def test_a_stored_yes_no_result_of_one_answer_is_a_share_without_a_spread():
    summary = summary_of_entry({"shown": True, "yes": 1, "no": 0, "n": 1})
    assert summary == stats.Summary(1, 1.0, None, proportion=True)


def test_each_stored_interval_follows_its_questions_grid(settings):
    # A scale whose answers all sit on its top, counts of minutes, and hours to the half.
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    QuestionFactory(
        questionnaire=None,
        pilot=pilot,
        key="hours_won",
        kind="number",
        min_value=0,
        max_value=40,
        step=Decimal("0.5"),
        position=1,
    )
    minutes = [0, 1, 0, 2, 1]
    answers = [{"quality": 5, "minutes_saved": m, "hours_won": 2.5} for m in minutes]
    stored = {q["key"]: q for q in add_round(pilot, answers).results["questions"]}

    low, _high = t_bounds([5] * 5, floor=1 / math.sqrt(12))
    assert stored["quality"]["ci"] == [pytest.approx(low), 5.0]  # never above the scale's top

    t_low, t_high = t_bounds(minutes, floor=1 / math.sqrt(12))
    c_low, c_high = count_score_bounds(minutes)
    assert c_high > t_high
    assert stored["minutes_saved"]["ci"] == [
        pytest.approx(max(min(t_low, c_low), 0.0)),
        pytest.approx(c_high),
    ]

    low, high = t_bounds([2.5] * 5, floor=0.5 / math.sqrt(12))
    assert stored["hours_won"]["ci"] == [pytest.approx(low), pytest.approx(high)]
    assert stored["hours_won"]["step"] == 0.5


def test_the_stored_questions_are_the_questionnaires_then_the_pilots_own_by_position(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    # Created in the opposite order of their positions; position 1 like the questionnaire's.
    for key, position in (("own_second", 2), ("own_first", 1)):
        QuestionFactory(
            questionnaire=None, pilot=pilot, key=key, kind="number", min_value=0, position=position
        )
    results = add_round(pilot, [{"quality": 4, "own_first": 1, "own_second": 2}] * 3).results
    keys = [q["key"] for q in results["questions"]]
    assert keys == [key for key, *_rest in PULSE] + ["own_first", "own_second"]


def test_only_a_0_to_10_scale_gets_a_net_promoter_score(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    for key, low, high in (("zero_to_five", 0, 5), ("one_to_ten", 1, 10)):
        QuestionFactory(
            questionnaire=None, pilot=pilot, key=key, kind="scale", min_value=low, max_value=high
        )
    answers = [{"quality": 5, "recommend": 10, "zero_to_five": 5, "one_to_ten": 10}] * 3
    stored = {q["key"]: q for q in add_round(pilot, answers).results["questions"]}
    assert stored["recommend"]["nps"] == 100.0
    assert [
        k for k in ("quality", "minutes_saved", "zero_to_five", "one_to_ten") if "nps" in stored[k]
    ] == []


def test_every_kind_of_question_answered_by_exactly_the_threshold_is_shown_with_its_count(
    settings,
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    answers = [
        {
            "quality": 4,
            "trust": 3,
            "recommend": 8,
            "minutes_saved": 5,
            "incident": True,
            "incident_kind": "other",
            "incident_description": f"what happened {i}",
            "comment": f"comment {i}",
        }
        for i in range(3)
    ]
    stored = add_round(PilotFactory(stage="pilot"), answers).results["questions"]
    assert {q["key"]: (q["shown"], q.get("n")) for q in stored} == {
        key: (True, 3) for key, *_rest in PULSE
    }


def test_a_choice_answered_but_no_longer_offered_is_counted_under_its_value(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    # A malformed entry among the choices is ignored, not read as a value and a label.
    QuestionFactory(
        questionnaire=None,
        pilot=pilot,
        key="channel",
        kind="choice",
        choices=[["mail", "Mail"], "xy", ["chat", "Chat"]],
        min_value=None,
        max_value=None,
    )
    answers = [{"quality": 4, "channel": c} for c in ("mail", "phone", "phone")]
    stored = {q["key"]: q for q in add_round(pilot, answers).results["questions"]}
    assert stored["channel"]["choices"] == [
        ["mail", "Mail", 1],
        ["chat", "Chat", 0],
        ["phone", "phone", 2],
    ]


def test_a_questionnaire_asking_about_incidents_without_their_kind_counts_them(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    short = QuestionnaireFactory(slug="short-pulse", name="Short pulse")
    QuestionFactory(
        questionnaire=short,
        key="incident",
        kind="yes_no",
        min_value=None,
        max_value=None,
        position=1,
    )
    answers = [{"incident": i < 2} for i in range(4)]
    results = add_round(PilotFactory(stage="pilot"), answers, using=short).results
    assert results["incidents"] == {"count": 2, "by_kind": []}


def test_a_kind_no_longer_offered_keeps_the_label_stored_when_the_round_closed():
    words = LocalizedQuestion(
        key="incident_kind",
        language="fr",
        text="Quel incident ?",
        help_text="",
        min_label="",
        max_label="",
        unit="",
        choices=[["other", "Autre incident"]],
    )
    entry = {"key": "incident_kind", "shown": True, "choices": [["gone", "Retired kind", 2]]}
    assert localized_result(entry, words)["choices"] == [["gone", "Retired kind", 2]]
    incidents = {"count": 2, "by_kind": [["gone", "Retired kind", 2]]}
    assert localized_incidents(incidents, words)["by_kind"] == [["gone", "Retired kind", 2]]
