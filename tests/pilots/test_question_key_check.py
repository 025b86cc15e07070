"""`manage.py check --database default` names running pilots measured by questions not asked."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from feedback import pilot_questions
from pilots import measures, question_keys
from tests.factories import (
    MetricGuardrailFactory,
    PilotFactory,
    SuccessMetricFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pulse():
    return pulse_questionnaire()


def key_warnings() -> list:
    return [m for m in run_checks(databases=["default"]) if m.id == "aiops.W001"]


def test_a_running_pilot_measured_by_an_unknown_key_is_named_with_its_id_and_the_key():
    pilot = PilotFactory(title="Reply drafts", stage="pilot")
    SuccessMetricFactory(pilot=pilot, name="Quality", question_key="qualty")
    MetricGuardrailFactory(pilot=pilot, description="Trust", question_key="trsut")
    SuccessMetricFactory(pilot=pilot, name="Fine", question_key="quality")

    [warning] = key_warnings()

    assert warning.obj == pilot
    assert f"“Reply drafts” (id {pilot.pk}, pilot)" in warning.msg
    assert "success metric “Quality” names the unknown key “qualty”" in warning.msg
    assert "guardrail “Trust” (mean) names the unknown key “trsut”" in warning.msg
    assert "Fine" not in warning.msg
    assert "Correct the question key" in warning.hint


def test_the_check_command_reports_it_as_aiops_w001():
    pilot = PilotFactory(title="Reply drafts", stage="sandbox")
    SuccessMetricFactory(pilot=pilot, question_key="qualty")
    out, err = StringIO(), StringIO()

    call_command("check", "--database", "default", stdout=out, stderr=err)

    assert "aiops.W001" in out.getvalue() + err.getvalue()
    assert "qualty" in out.getvalue() + err.getvalue()


def test_a_question_of_the_wrong_kind_is_reported_too():
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, question_key="incident", statistic="mean")

    [warning] = key_warnings()

    assert "“incident”, a question of a kind that cannot measure it" in warning.msg


def test_a_pilot_s_own_question_ended_pilots_and_disabled_guardrails_are_not_reported(ops, lead):
    own = PilotFactory(lead=lead, stage="pilot")
    pilot_questions.add_question(
        own.pk, user=lead, key="tickets", text="Tickets?", kind="number", min_value=0, max_value=9
    )
    SuccessMetricFactory(pilot=own, question_key="tickets")
    SuccessMetricFactory(pilot=PilotFactory(stage="stopped"), question_key="qualty")
    off = MetricGuardrailFactory(pilot=PilotFactory(stage="pilot"), question_key="trsut")
    measures.disable_guardrail(off.pk, actor=ops, reason="Names no question.")

    assert key_warnings() == []


def test_its_queries_do_not_grow_with_the_number_of_healthy_pilots(django_assert_max_num_queries):
    def run(n: int) -> None:
        for _ in range(n):
            pilot = PilotFactory(stage="pilot")
            SuccessMetricFactory(pilot=pilot)
            MetricGuardrailFactory(pilot=pilot)
        # Migration plan (2: tables, applied migrations), questionnaire (1), metrics (1),
        # guardrails (1); a pilot's own questions are read only for a suspect key.
        with django_assert_max_num_queries(5):
            assert key_warnings() == []

    run(2)
    run(20)


def test_the_check_is_an_error_when_no_provider_is_registered(monkeypatch):
    monkeypatch.setattr(question_keys, "_provider", None)
    [error] = [m for m in run_checks(databases=["default"]) if m.id == "aiops.E002"]
    assert "FeedbackConfig.ready" in error.msg


def test_without_a_database_the_check_reads_nothing(django_assert_num_queries):
    SuccessMetricFactory(pilot=PilotFactory(stage="pilot"), question_key="qualty")
    with django_assert_num_queries(0):
        assert [m for m in run_checks() if m.id == "aiops.W001"] == []
