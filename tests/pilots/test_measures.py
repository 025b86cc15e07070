"""What a pilot measures must exist: keys checked against the asked questions, Ops repairs."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import PermissionRefused, ValidationFailed
from decisions import guardrails
from feedback import pilot_questions
from feedback.models import Question
from pilots import measures, proposals, question_keys
from pilots.models import Guardrail, GuardrailBreach, Pilot, SuccessMetric
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MetricGuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    QuestionFactory,
    ResponseFactory,
    SuccessMetricFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pulse():
    """The default questionnaire the keys are checked against (re-created after a flush)."""
    return pulse_questionnaire()


def own_question(pilot, lead, key="tickets", kind="number"):
    extra = {"min_value": Decimal(0), "max_value": Decimal(200)} if kind == "number" else {}
    return pilot_questions.add_question(
        pilot.pk, user=lead, key=key, text="How many tickets did you close?", kind=kind, **extra
    )


def _proposal(*, metrics=(), guardrails=()) -> proposals.Proposal:
    start = datetime.date(2026, 12, 1)
    return proposals.Proposal(
        fields={
            "title": "Reply drafts",
            "tool": AIToolFactory(),
            "problem": "Slow replies",
            "hypothesis_intervention": "drafting replies",
            "hypothesis_outcome": "cut reply time",
            "hypothesis_who": "agents",
            "hypothesis_signal": "reply time < 10 min",
            "data_classification": "internal",
            "planned_start": start,
            "planned_end": start + datetime.timedelta(days=30),
        },
        metrics=list(metrics),
        guardrails=list(guardrails),
    )


def metric_row(key: str, **extra) -> dict:
    return {"name": "Quality", "question_key": key, "direction": "higher", "target": 4, **extra}


def guardrail_row(key: str, statistic: str = "mean", **extra) -> dict:
    return {
        "kind": "metric",
        "description": "Stays safe",
        "question_key": key,
        "statistic": statistic,
        "comparator": "ge",
        "threshold": Decimal(3),
        "action": "flag",
        **extra,
    }


# --- The register --------------------------------------------------------------------------------


def test_without_a_registered_provider_asking_fails_loudly(monkeypatch):
    monkeypatch.setattr(question_keys, "_provider", None)
    with pytest.raises(ImproperlyConfigured, match=r"FeedbackConfig\.ready"):
        question_keys.asked_questions(None)


def test_without_a_provider_a_proposal_with_a_metric_is_not_accepted_silently(
    monkeypatch, lead, team
):
    monkeypatch.setattr(question_keys, "_provider", None)
    with pytest.raises(ImproperlyConfigured):
        proposals.create_draft(
            actor=lead, team=team, proposal=_proposal(metrics=[metric_row("quality")])
        )
    assert not Pilot.objects.exists()


def test_the_feedback_app_registers_its_provider_when_it_starts():
    assert question_keys._provider is pilot_questions.asked_questions


def test_the_kinds_pilots_knows_are_kinds_of_feedback_questions():
    assert set(Question.Kind.values) >= question_keys.METRIC_KINDS
    assert set(Question.Kind.values) >= measures.GUARDRAIL_KINDS


def test_a_new_pilot_is_asked_the_default_questionnaire_in_its_order():
    asked = question_keys.asked_questions(None)
    assert [q.key for q in asked][:5] == [
        "minutes_saved",
        "quality",
        "trust",
        "recommend",
        "incident",
    ]
    quality = next(q for q in asked if q.key == "quality")
    assert (quality.kind, quality.kind_label) == ("scale", "Scale")


def test_a_lead_s_own_question_is_asked_in_its_pilot_only(lead, team):
    pilot = PilotFactory(lead=lead, team=team, stage="pilot")
    own_question(pilot, lead)
    other = PilotFactory(lead=lead, team=team, stage="pilot")

    assert "tickets" in {q.key for q in question_keys.asked_questions(pilot)}
    assert "tickets" not in {q.key for q in question_keys.asked_questions(other)}
    assert "tickets" not in {q.key for q in question_keys.asked_questions(None)}
    assert "tickets" not in {q.key for q in question_keys.asked_questions(Pilot())}


def test_a_question_is_labelled_by_its_text_in_the_reader_s_language_then_its_key(_pulse):
    question = _pulse.questions.get(key="quality")
    question.translations = {"fr": {"text": "Quelle était la qualité du résultat ?"}}
    question.save()

    [fr] = [q for q in question_keys.asked_questions(None, "fr") if q.key == "quality"]
    [en] = [q for q in question_keys.asked_questions(None, "en") if q.key == "quality"]

    assert fr.label == "Quelle était la qualité du résultat ? (quality)"
    assert en.label == "How good was the tool's output? (quality)"


# --- Every entry point refuses an unknown key ----------------------------------------------------


def test_a_typo_in_a_metric_s_key_is_refused_on_its_field_and_nothing_is_written(lead, team):
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(
            actor=lead,
            team=team,
            proposal=_proposal(metrics=[metric_row("quality"), metric_row("qualty", name="B")]),
        )

    assert (refused.value.code, refused.value.field) == (
        "unknown_question",
        "metrics-1-question_key",
    )
    assert "“qualty” is not a question this pilot's feedback asks" in refused.value.message
    assert not Pilot.objects.exists()
    assert not SuccessMetric.objects.exists()


def test_a_typo_in_a_guardrail_s_key_is_refused_on_its_row(lead, team):
    policy = {"kind": "policy", "description": "A human checks", "action": "flag"}
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(
            actor=lead, team=team, proposal=_proposal(guardrails=[policy, guardrail_row("trsut")])
        )
    assert (refused.value.code, refused.value.field) == (
        "unknown_question",
        "guardrails-1-question_key",
    )
    assert not Guardrail.objects.exists()


def test_an_edited_draft_may_use_its_own_question_and_a_new_draft_may_not(lead, team):
    pilot = PilotFactory(lead=lead, team=team)
    own_question(pilot, lead)

    proposals.update_draft(
        pilot.pk, editor=lead, proposal=_proposal(metrics=[metric_row("tickets")])
    )
    assert pilot.metrics.get().question_key == "tickets"
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(
            actor=lead, team=team, proposal=_proposal(metrics=[metric_row("tickets")])
        )
    assert refused.value.code == "unknown_question"


@pytest.mark.parametrize(
    ("key", "statistic", "accepted"),
    [
        ("trust", "mean", True),
        ("minutes_saved", "mean", True),
        ("incident", "yes_count", True),
        ("incident", "yes_share", True),
        ("incident", "mean", False),
        ("trust", "yes_count", False),
        ("quality", "yes_share", False),
        ("incident_kind", "mean", False),
        ("comment", "yes_share", False),
    ],
)
def test_a_guardrail_s_statistic_must_fit_its_question_s_kind(lead, team, key, statistic, accepted):
    proposal = _proposal(guardrails=[guardrail_row(key, statistic)])
    if accepted:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
        assert Guardrail.objects.get().question_key == key
        return
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert (refused.value.code, refused.value.field) == (
        "question_kind_mismatch",
        "guardrails-0-statistic",
    )
    assert f"({key})" in refused.value.message
    assert not Pilot.objects.exists()


@pytest.mark.parametrize(
    ("key", "accepted"),
    [
        ("quality", True),
        ("minutes_saved", True),
        ("incident", True),
        ("incident_kind", False),
        ("incident_description", False),
        ("comment", False),
    ],
)
def test_a_success_metric_needs_a_number_scale_or_yes_no_question(lead, team, key, accepted):
    proposal = _proposal(metrics=[metric_row(key)])
    if accepted:
        assert proposals.create_draft(actor=lead, team=team, proposal=proposal).metrics.exists()
        return
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert (refused.value.code, refused.value.field) == (
        "question_kind_mismatch",
        "metrics-0-question_key",
    )
    assert "needs a number, scale or yes/no question" in refused.value.message


def _ready_draft(lead, team, participant, **metric):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot, name="Quality", **metric)
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    return pilot


def test_submitting_a_draft_whose_stored_key_is_unknown_is_refused_on_that_row(
    lead, team, participant
):
    pilot = _ready_draft(lead, team, participant)
    SuccessMetricFactory(pilot=pilot, name="Typo", question_key="qualty")

    with pytest.raises(ValidationFailed) as refused:
        proposals.submit(pilot.pk, actor=lead, expected_stage="draft")

    assert (refused.value.code, refused.value.field) == (
        "unknown_question",
        "metrics-1-question_key",
    )
    assert refused.value.message.startswith("Success metric “Typo”: “qualty”")
    pilot.refresh_from_db()
    assert pilot.stage == "draft"


def test_submitting_is_refused_once_the_pilot_s_own_question_a_guardrail_uses_is_gone(
    lead, team, participant
):
    pilot = _ready_draft(lead, team, participant)
    question = own_question(pilot, lead, key="escalations")
    MetricGuardrailFactory(pilot=pilot, question_key="escalations", description="Escalations")
    proposals.submit(pilot.pk, actor=lead, expected_stage="draft")  # fine while asked
    pilot.refresh_from_db()
    Pilot.objects.filter(pk=pilot.pk).update(stage="draft")
    Question.objects.filter(pk=question.pk).delete()  # as rows written before the check

    with pytest.raises(ValidationFailed) as refused:
        proposals.submit(pilot.pk, actor=lead, expected_stage="draft")

    # Row 1: the policy rule of _ready_draft is row 0 of the page's guardrails.
    assert (refused.value.code, refused.value.field) == (
        "unknown_question",
        "guardrails-1-question_key",
    )


def test_a_disabled_guardrail_is_not_checked_at_submission_and_does_not_count(
    lead, team, participant, ops
):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    broken = MetricGuardrailFactory(pilot=pilot, question_key="trsut")
    measures.disable_guardrail(broken.pk, actor=ops, reason="Its question does not exist.")

    with pytest.raises(ValidationFailed) as refused:
        proposals.submit(pilot.pk, actor=lead, expected_stage="draft")
    assert refused.value.code == "incomplete_proposal"
    assert "Add at least one guardrail." in refused.value.message

    GuardrailFactory(pilot=pilot)
    proposals.submit(pilot.pk, actor=lead, expected_stage="draft")
    pilot.refresh_from_db()
    assert pilot.stage == "proposed"


def test_editing_a_draft_keeps_a_guardrail_ops_disabled_as_it_is(lead, team, ops):
    pilot = PilotFactory(lead=lead, team=team)
    broken = MetricGuardrailFactory(pilot=pilot, question_key="trsut")
    measures.disable_guardrail(broken.pk, actor=ops, reason="No such question.")

    proposals.update_draft(
        pilot.pk, editor=lead, proposal=_proposal(guardrails=[guardrail_row("trust")])
    )

    broken.refresh_from_db()
    assert (broken.disabled_reason, broken.question_key) == ("No such question.", "trsut")
    assert list(pilot.guardrails.enabled().values_list("question_key", flat=True)) == ["trust"]


# --- Ops correct a key while nobody answered -----------------------------------------------------


def test_ops_correct_a_metric_s_key_while_no_round_is_answered(ops):
    pilot = PilotFactory(stage="sandbox")
    metric = SuccessMetricFactory(pilot=pilot, question_key="qualty")
    FeedbackRoundFactory(pilot=pilot)  # open, nobody answered yet

    measures.correct_metric_key(metric.pk, actor=ops, question_key="quality")

    metric.refresh_from_db()
    assert metric.question_key == "quality"


def test_a_key_cannot_be_corrected_once_a_round_of_the_pilot_is_answered(ops):
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, question_key="qualty")
    guardrail = MetricGuardrailFactory(pilot=pilot, question_key="trsut")
    ResponseFactory(round=FeedbackRoundFactory(pilot=pilot))

    for correct, row, key in (
        (measures.correct_metric_key, metric, "quality"),
        (measures.correct_guardrail_key, guardrail, "trust"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            correct(row.pk, actor=ops, question_key=key)
        assert (refused.value.code, refused.value.field) == ("pilot_has_answers", "question_key")
    metric.refresh_from_db()
    guardrail.refresh_from_db()
    assert (metric.question_key, guardrail.question_key) == ("qualty", "trsut")


def test_a_correction_must_name_an_asked_question_that_fits(ops):
    pilot = PilotFactory(stage="sandbox")
    guardrail = MetricGuardrailFactory(pilot=pilot, question_key="trsut", statistic="mean")

    with pytest.raises(ValidationFailed) as unknown:
        measures.correct_guardrail_key(guardrail.pk, actor=ops, question_key="trusst")
    with pytest.raises(ValidationFailed) as misfit:
        measures.correct_guardrail_key(guardrail.pk, actor=ops, question_key="incident")

    assert (unknown.value.code, unknown.value.field) == ("unknown_question", "question_key")
    assert (misfit.value.code, misfit.value.field) == ("question_kind_mismatch", "question_key")
    measures.correct_guardrail_key(guardrail.pk, actor=ops, question_key="trust")
    guardrail.refresh_from_db()
    assert guardrail.question_key == "trust"


def test_only_ops_correct_keys_or_disable_guardrails(lead):
    pilot = PilotFactory(lead=lead)
    metric = SuccessMetricFactory(pilot=pilot, question_key="qualty")
    guardrail = MetricGuardrailFactory(pilot=pilot)

    with pytest.raises(PermissionRefused):
        measures.correct_metric_key(metric.pk, actor=lead, question_key="quality")
    with pytest.raises(PermissionRefused):
        measures.disable_guardrail(guardrail.pk, actor=lead, reason="I do not like it.")
    metric.refresh_from_db()
    guardrail.refresh_from_db()
    assert (metric.question_key, guardrail.disabled_at) == ("qualty", None)


# --- Ops disable a guardrail with a reason -------------------------------------------------------


def test_disabling_a_guardrail_needs_a_reason(ops):
    guardrail = MetricGuardrailFactory()
    with pytest.raises(ValidationFailed) as refused:
        measures.disable_guardrail(guardrail.pk, actor=ops, reason="  ")
    assert (refused.value.code, refused.value.field) == ("reason_required", "reason")
    guardrail.refresh_from_db()
    assert guardrail.is_enabled


def test_disabling_records_who_when_and_why_and_happens_once(ops, ops2):
    guardrail = MetricGuardrailFactory(question_key="trsut")
    before = timezone.now()

    measures.disable_guardrail(guardrail.pk, actor=ops, reason=" Key names no question. ")

    guardrail.refresh_from_db()
    assert (guardrail.disabled_by, guardrail.disabled_reason) == (ops, "Key names no question.")
    assert guardrail.disabled_at >= before
    with pytest.raises(ValidationFailed) as again:
        measures.disable_guardrail(guardrail.pk, actor=ops2, reason="Twice.")
    assert again.value.code == "already_disabled"
    guardrail.refresh_from_db()
    assert guardrail.disabled_by == ops


def test_the_database_refuses_a_disabled_guardrail_without_a_reason(ops):
    guardrail = MetricGuardrailFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Guardrail.objects.filter(pk=guardrail.pk).update(
            disabled_at=timezone.now(), disabled_by=ops, disabled_reason=""
        )


def test_a_disabled_guardrail_is_not_evaluated_when_its_round_closes(ops):
    pilot = PilotFactory(stage="pilot")
    off = MetricGuardrailFactory(pilot=pilot, action="pause", description="Off")
    measures.disable_guardrail(off.pk, actor=ops, reason="Replaced by “Kept”.")
    # One enabled threshold per question and statistic: the replacement comes after.
    kept = MetricGuardrailFactory(pilot=pilot, action="flag", description="Kept")

    r = add_round(pilot, scores("trust", [2, 2, 1, 3, 2, 2]))  # mean 2 < 3 breaks both
    created = guardrails.evaluate_round(r.pk)

    assert [b.guardrail for b in created] == [kept]
    assert not GuardrailBreach.objects.filter(guardrail=off).exists()
    pilot.refresh_from_db()
    assert pilot.stage == "pilot"  # the disabled one would have paused it


def test_a_disabled_guardrail_is_not_breached_by_a_reported_exposure(ops):
    pilot = PilotFactory(stage="pilot")
    off = GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="pause")
    measures.disable_guardrail(off.pk, actor=ops, reason="Covered by the tool's own DLP.")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )

    assert guardrails.record_exposure_incident(r.pk) == []
    assert not GuardrailBreach.objects.exists()


# --- What uses a question ------------------------------------------------------------------------


def test_the_uses_of_a_key_are_running_pilots_metrics_and_enabled_guardrails(ops):
    running = PilotFactory(title="Drafts", stage="pilot")
    SuccessMetricFactory(pilot=running, name="Quality", question_key="quality")
    stopped = PilotFactory(title="Old", stage="stopped")
    SuccessMetricFactory(pilot=stopped, question_key="quality")
    off = MetricGuardrailFactory(pilot=running, question_key="quality", description="Off")
    measures.disable_guardrail(off.pk, actor=ops, reason="Not needed.")
    MetricGuardrailFactory(pilot=running, question_key="quality", description="On")

    assert measures.uses_of(["quality"]) == [
        "the success metric “Quality” of “Drafts”",
        "the guardrail “On” of “Drafts”",
    ]
    assert measures.uses_of(["quality"], pilot_id=stopped.pk) == []
    assert measures.uses_of(["trust"]) == []


def test_a_pilot_s_own_question_is_offered_only_where_its_kind_fits(lead, team):
    pilot = PilotFactory(lead=lead, team=team, stage="pilot")
    own_question(pilot, lead, key="tickets", kind="number")
    QuestionFactory(questionnaire=None, pilot=pilot, key="notes", kind="text", text="Notes?")
    asked = question_keys.asked_questions(pilot)

    assert "tickets" in {q.key for q in measures.metric_questions(asked)}
    assert "notes" not in {q.key for q in measures.metric_questions(asked)}
    assert "notes" not in {q.key for q in measures.guardrail_questions(asked)}
