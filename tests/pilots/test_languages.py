"""Results and recorded evidence read in the reader's language, whoever recorded them in which.

A round's results store the question texts as they were when it closed, and a stage change
stores the evidence as it stood when the Ops clicked; pages, exports and the API word both in
the language of whoever reads them.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from decisions import evidence
from feedback import pilot_questions
from pilots import lifecycle
from pilots.models import GuardrailBreach, StageChange
from tests.decisions.evidence_support import add_round
from tests.factories import (
    MetricGuardrailFactory,
    PilotFactory,
    SuccessMetricFactory,
    findings_for,
    migrated_pulse,
)

pytestmark = pytest.mark.django_db

ANSWERS = [
    {"quality": 4, "trust": 4, "incident": True, "incident_kind": "wrong_output_acted_on"},
    {"quality": 5, "trust": 4, "incident": True, "incident_kind": "other"},
    {"quality": 4, "trust": 3, "incident": True, "incident_kind": "other"},
    {"quality": 5, "trust": 5, "incident": True, "incident_kind": "wrong_output_acted_on"},
    {"quality": 3, "trust": 4, "incident": True, "incident_kind": "other"},
]
QUALITY_EN = "How good was the tool's output?"
QUALITY_FR = "Quelle était la qualité de ce que l’outil a produit ?"
WRONG_OUTPUT_EN = "Wrong output acted on"
WRONG_OUTPUT_FR = "Action fondée sur un résultat erroné"


@pytest.fixture
def pilot(team, lead):
    p = PilotFactory(stage="pilot", team=team, lead=lead, title="Ticket copilot")
    SuccessMetricFactory(pilot=p, name="Output quality", target=Decimal("4.8"), min_responses=5)
    return p


def closed_in_english(pilot, answers=ANSWERS, **kwargs):
    with translation.override("en"):
        feedback_round = add_round(pilot, answers, using=migrated_pulse(), **kwargs)
    texts = {q["key"]: q["text"] for q in feedback_round.results["questions"]}
    assert texts["quality"] == QUALITY_EN  # what the snapshot holds
    return feedback_round


# ---------------------------------------------------------------------------------------------
# Round results


def test_the_pilot_page_in_french_words_a_round_closed_in_english_in_french(client, ops, pilot):
    closed_in_english(pilot)
    client.force_login(ops)

    html = client.get(
        reverse("pilot_detail", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert QUALITY_FR in html
    assert "Dans quelle mesure faites-vous confiance à ce que l’outil produit ?" in html
    assert f"{WRONG_OUTPUT_FR}: 2" in html
    assert QUALITY_EN not in html
    assert WRONG_OUTPUT_EN not in html


def test_the_report_and_its_exports_in_french_word_a_round_closed_in_english_in_french(
    client, ops, pilot
):
    closed_in_english(pilot)
    client.force_login(ops)

    pages = {
        name: client.get(reverse(name, args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr")
        for name in ("pilot_report", "pilot_report_markdown", "pilot_report_csv")
    }

    for name, response in pages.items():
        body = response.content.decode()
        assert QUALITY_FR in body, name
        assert QUALITY_EN not in body, name
    assert f"{WRONG_OUTPUT_FR}: 2" in pages["pilot_report"].content.decode()
    assert f"{WRONG_OUTPUT_FR}: 2" in pages["pilot_report_markdown"].content.decode()
    rows = list(csv.DictReader(io.StringIO(pages["pilot_report_csv"].content.decode())))
    by_key = {row["question"]: row for row in rows}
    assert by_key["quality"]["question_text"] == QUALITY_FR
    assert by_key["quality"]["mean"] == "4.2"


def test_an_english_reader_reads_a_round_closed_in_french_in_english(client, ops, pilot):
    with translation.override("fr"):
        add_round(pilot, ANSWERS, using=migrated_pulse())
    client.force_login(ops)

    html = client.get(
        reverse("pilot_report", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert QUALITY_EN.replace("'", "&#x27;") in html
    assert f"{WRONG_OUTPUT_EN}: 2" in html


def test_a_question_that_no_longer_exists_shows_the_text_stored_with_the_round(
    client, ops, lead, pilot
):
    question = pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="tickets",
        text="How many tickets did you close?",
        kind="number",
        min_value=Decimal("0"),
        max_value=Decimal("200"),
    )
    closed_in_english(pilot)
    pilot_questions.remove_question(question.pk, user=lead)  # nobody answered it
    client.force_login(ops)

    for name in ("pilot_detail", "pilot_report"):
        html = client.get(reverse(name, args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr")
        assert "How many tickets did you close?" in html.content.decode(), name
        assert QUALITY_FR in html.content.decode(), name


def _words_pilot(team, lead, rounds: int):
    pilot = PilotFactory(stage="pilot", team=team, lead=lead)
    SuccessMetricFactory(pilot=pilot, name="Output quality", target=Decimal("4.8"))
    pilot_questions.add_question(
        pilot.pk, user=lead, key="tickets", text="Tickets?", kind="text", language="en"
    )
    for weeks in range(rounds):
        closed_in_english(pilot, weeks_ago=weeks)
    return pilot


# Budgets whatever the number of rounds: each page's queries as before (session, user, Ops
# group, "leads a team" for the header, what the page itself shows) plus one for the words of
# every round's questions at once (feedback.results.question_words).
# … the guardrails with their latest checks, the change records, the conclusion, the open
# request for a decision.
PILOT_PAGE_BUDGET = 21
REPORT_BUDGET = 13  # … pilot, closed rounds, metrics, open breaches, participants, guardrails,
# latest guardrail checks, questions, decisions.
CSV_BUDGET = 6  # session, user, Ops group, pilot, closed rounds, questions.


@pytest.mark.parametrize("rounds", [2, 30])
def test_wording_the_results_costs_one_query_whatever_the_number_of_rounds(
    client, django_assert_max_num_queries, ops, team, lead, rounds
):
    pilot = _words_pilot(team, lead, rounds)
    client.force_login(ops)
    client.get(reverse("pilot_detail", args=[pilot.pk]))  # warm the session

    with django_assert_max_num_queries(PILOT_PAGE_BUDGET):
        page = client.get(reverse("pilot_detail", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    with django_assert_max_num_queries(REPORT_BUDGET):
        report = client.get(reverse("pilot_report", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    with django_assert_max_num_queries(CSV_BUDGET):
        exported = client.get(
            reverse("pilot_report_csv", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
        )

    # Each round's table names the question once, in French; its trend chart across rounds
    # names it three more times, whatever the number of rounds (heading, SVG title, summary).
    assert page.content.decode().count(QUALITY_FR) == min(rounds, evidence.CHART_ROUNDS) + 3
    assert report.content.decode().count(QUALITY_FR) == rounds + 3
    assert exported.content.decode().count(QUALITY_FR) == rounds


# ---------------------------------------------------------------------------------------------
# Evidence recorded with a decision

STOP_EN = "Stop: Output quality clearly missed the target with 95% confidence."
STOP_FR = "Arrêter : Output quality a nettement manqué la cible, avec une confiance de 95 %."
BELOW_EN = "is below the target 4.8."
BELOW_FR = "est en dessous de la cible 4.8."


def stop_in(language: str, pilot, ops) -> StageChange:
    low = [{"quality": v} for v in (2, 3, 2, 3, 2, 3)]
    with translation.override(language):
        add_round(pilot, low, using=migrated_pulse())
        return lifecycle.move(
            pilot.pk,
            "stop",
            actor=ops,
            expected_stage="pilot",
            rationale="Too low.",
            conclusion=findings_for("pilot", "stop"),
        )


def test_the_snapshot_stores_figures_and_grounds_and_no_sentence(ops, pilot):
    change = stop_in("en", pilot, ops)

    [metric] = change.evidence["metrics"]
    assert "reason" not in metric
    assert (metric["status"], metric["rounds"], metric["n"], metric["min_responses"]) == (
        "not_met",
        1,
        6,
        5,
    )
    assert (metric["target"], metric["direction"]) == (4.8, "higher")
    assert metric["ci"][1] < 4.8
    assert change.evidence["version"] == evidence.SNAPSHOT_VERSION
    assert change.evidence["recommendation"] == {
        "action": "stop",
        "grounds": "metrics_missed",
        "metrics": ["Output quality"],
        "open_breaches": 0,
    }


def test_evidence_recorded_in_english_reads_in_french_on_french_pages(client, ops, pilot):
    stop_in("en", pilot, ops)
    client.force_login(ops)

    for name in ("pilot_detail", "pilot_report", "pilot_report_markdown"):
        body = client.get(
            reverse(name, args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
        ).content.decode()
        assert STOP_FR in body, name
        assert STOP_EN not in body, name
    detail = client.get(
        reverse("pilot_detail", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    timeline = detail[detail.index('class="timeline"') : detail.index('id="h-rounds"')]
    assert STOP_FR in timeline
    assert "Output quality: Non atteint" in timeline
    assert BELOW_FR in timeline


def test_evidence_recorded_in_french_reads_in_english_on_english_pages(client, ops, pilot):
    stop_in("fr", pilot, ops)
    client.force_login(ops)

    for name in ("pilot_detail", "pilot_report"):
        body = client.get(
            reverse(name, args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
        assert STOP_EN in body, name
        assert STOP_FR not in body, name
        assert BELOW_EN in body, name


def test_the_api_words_a_recorded_reason_in_the_request_s_language(client, ops, pilot):
    stop_in("en", pilot, ops)
    client.force_login(ops)
    url = reverse("pilot-stage-changes", args=[pilot.pk])

    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()

    [stop_fr] = [c for c in french["results"] if c["action"] == "stop"]
    [stop_en] = [c for c in english["results"] if c["action"] == "stop"]
    assert stop_fr["evidence"]["recommendation"]["reason"] == STOP_FR
    assert stop_en["evidence"]["recommendation"]["reason"] == STOP_EN
    assert stop_fr["evidence"]["metrics"][0]["reason"].endswith(BELOW_FR)
    assert stop_en["evidence"]["metrics"][0]["reason"].endswith(BELOW_EN)


def test_the_evidence_api_words_its_reasons_in_the_request_s_language(client, ops, pilot):
    add_round(pilot, [{"quality": v} for v in (2, 3, 2, 3, 2, 3)], using=migrated_pulse())
    client.force_login(ops)
    url = reverse("evidence-detail", args=[pilot.pk])

    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()

    assert french["recommendation"]["reason"] == STOP_FR
    assert english["recommendation"]["reason"] == STOP_EN
    assert french["metrics"][0]["reason"].endswith(BELOW_FR)


def test_every_ground_of_a_recommendation_is_worded_in_both_languages(pilot):
    cases = [
        (evidence.Grounds.METRICS_MISSED, ["A", "B"], 0, "A, B"),
        (evidence.Grounds.BREACHES_OPEN, [], 2, "2"),
        (evidence.Grounds.NO_METRICS, [], 0, ""),
        (evidence.Grounds.ALL_MET, [], 0, ""),
        (evidence.Grounds.TOO_FEW_ANSWERS, ["A"], 0, "A"),
        (evidence.Grounds.STRADDLING, ["B"], 0, "B"),
    ]
    for grounds, metrics, breaches, named in cases:
        data = {"action": "keep_going", "grounds": grounds, "metrics": metrics}
        data["open_breaches"] = breaches
        with translation.override("en"):
            english = evidence.recommendation_reason(data)
        with translation.override("fr"):
            french = evidence.recommendation_reason(data)
        assert english and french and english != french, grounds
        assert named in english and named in french, grounds
        assert "%%" not in english and "%%" not in french, grounds  # formatted, even bare


def test_an_old_snapshot_that_kept_only_its_sentences_still_shows(client, ops, pilot):
    StageChange.objects.create(
        pilot=pilot,
        action="pause",
        from_stage="pilot",
        to_stage="paused",
        actor=ops,
        rationale="Check the drafts.",
        evidence={
            "metrics": [
                {
                    "metric": "Output quality",
                    "status": "inconclusive",
                    "reason": "3 answers over the last 1 closed round(s); 5 are needed.",
                    "n": 3,
                    "ci": [None, None],
                }
            ],
            "recommendation": {"action": "keep_going", "reason": "Keep going: old sentence."},
            "rounds": [],
            "open_breaches": 0,
            "open_breach_ids": [],
        },
    )
    client.force_login(ops)

    detail = client.get(
        reverse("pilot_detail", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    report = client.get(
        reverse("pilot_report", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    api = client.get(
        reverse("pilot-stage-changes", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).json()

    for body in (detail, report):
        assert "Keep going: old sentence." in body
        assert "Output quality: Non concluant — 3 answers over the last 1 closed round" in body
        assert "<strong>Continuer</strong>" in body
    [change] = api["results"]
    assert change["evidence"]["recommendation"]["reason"] == "Keep going: old sentence."


def test_a_breach_detail_is_shown_as_recorded(client, ops, pilot):
    guardrail = MetricGuardrailFactory(pilot=pilot)  # before any answer: then frozen
    feedback_round = closed_in_english(pilot)
    GuardrailBreach.objects.create(
        guardrail=guardrail,
        pilot=pilot,
        round=feedback_round,
        detail="Trust fell below 3.",
    )
    client.force_login(ops)

    html = client.get(
        reverse("pilot_detail", args=[pilot.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert "Trust fell below 3." in html
