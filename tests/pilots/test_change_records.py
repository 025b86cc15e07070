"""Every change to a pilot and what hangs off it leaves one change record in its transaction."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from core import changelog
from core.exceptions import ValidationFailed
from core.models import ChangeRecord
from decisions import guardrails
from feedback import pilot_questions, questionnaires
from pilots import declarations, lifecycle, measures, proposals, reviews
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    MetricGuardrailFactory,
    PilotFactory,
    SuccessMetricFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pulse():
    return pulse_questionnaire()


def _proposal(tool, **fields) -> proposals.Proposal:
    start = datetime.date(2026, 12, 1)
    return proposals.Proposal(
        fields={
            "title": "Reply drafts",
            "tool": tool,
            "problem": "Slow replies",
            "hypothesis_intervention": "drafting replies",
            "hypothesis_outcome": "cut reply time",
            "hypothesis_who": "agents",
            "hypothesis_signal": "reply time < 10 min",
            "data_classification": "internal",
            "planned_start": start,
            "planned_end": start + datetime.timedelta(days=30),
            **fields,
        },
        metrics=[
            {
                "name": "Quality",
                "question_key": "quality",
                "direction": "higher",
                "baseline": Decimal(3),
                "target": Decimal(4),
                "min_responses": 5,
            }
        ],
        guardrails=[{"kind": "policy", "description": "A human checks", "action": "flag"}],
    )


def only_record(pilot=None, **filters) -> ChangeRecord:
    records = changelog.history(pilot) if pilot is not None else ChangeRecord.objects.all()
    [record] = records.filter(**filters)
    return record


def test_a_new_draft_records_its_fields_rows_and_people(lead, team, participant):
    proposal = _proposal(AIToolFactory())
    proposal.participants = [participant]
    pilot = proposals.create_draft(actor=lead, team=team, proposal=proposal)

    record = only_record(pilot)
    assert (record.action, record.actor) == ("pilot.created", lead)
    assert record.changes["title"] == [None, "Reply drafts"]
    assert record.changes["participants"] == [None, [participant.pk]]
    assert record.changes["metrics"][1][0]["target"] == "4"


def test_a_leads_edit_records_each_change_before_and_after(lead, team, participant):
    pilot = proposals.create_draft(actor=lead, team=team, proposal=_proposal(AIToolFactory()))
    proposal = _proposal(pilot.tool, title="Faster replies")
    proposal.metrics[0]["target"] = Decimal("4.5")
    proposal.participants = [participant]

    proposals.update_draft(pilot.pk, editor=lead, proposal=proposal)

    record = only_record(pilot, action="pilot.edited")
    assert record.actor == lead
    assert record.changes["title"] == ["Reply drafts", "Faster replies"]
    assert record.changes["participants"] == [[], [participant.pk]]
    before, after = record.changes["metrics"]
    assert (before[0]["target"], after[0]["target"]) == ("4", "4.5")
    assert "problem" not in record.changes


def test_an_edit_that_changes_nothing_records_nothing(lead, team):
    pilot = proposals.create_draft(actor=lead, team=team, proposal=_proposal(AIToolFactory()))
    proposals.update_draft(pilot.pk, editor=lead, proposal=_proposal(pilot.tool))
    assert [r.action for r in changelog.history(pilot)] == ["pilot.created"]


def test_a_refused_edit_leaves_no_record(lead, team):
    pilot = proposals.create_draft(actor=lead, team=team, proposal=_proposal(AIToolFactory()))
    proposal = _proposal(pilot.tool, title="Other")
    proposal.metrics = [*proposal.metrics, dict(proposal.metrics[0])]
    with pytest.raises(ValidationFailed):
        proposals.update_draft(pilot.pk, editor=lead, proposal=proposal)
    assert [r.action for r in changelog.history(pilot)] == ["pilot.created"]


def test_a_stage_move_records_the_stages_and_the_rationale(ops, ops2):
    pilot = PilotFactory(stage="sandbox")
    lifecycle.move(
        pilot.pk, "pause", actor=ops, expected_stage="sandbox", rationale="Data leak suspected."
    )
    record = only_record(pilot)
    assert (record.action, record.actor, record.reason) == (
        "stage.pause",
        ops,
        "Data leak suspected.",
    )
    assert record.changes == {"stage": ["sandbox", "paused"]}


def test_a_review_records_its_outcome_and_notes(ops):
    pilot = PilotFactory(stage="proposed")
    reviews.record_review(
        pilot.pk,
        actor=ops,
        kind="security",
        outcome="cleared_with_conditions",
        notes="Mask the names.",
    )
    record = only_record(pilot)
    assert (record.action, record.actor, record.reason) == (
        "review.recorded",
        ops,
        "Mask the names.",
    )
    assert record.changes["outcome"] == [None, "cleared_with_conditions"]


def test_an_ops_key_correction_is_its_own_action_with_its_reason(ops):
    pilot = PilotFactory(stage="sandbox")
    metric = SuccessMetricFactory(pilot=pilot, question_key="qualty")
    FeedbackRoundFactory(pilot=pilot)

    measures.correct_metric_key(metric.pk, actor=ops, question_key="quality", reason="Typo.")

    record = only_record(pilot)
    assert (record.action, record.actor, record.reason) == ("metric.key_corrected", ops, "Typo.")
    assert record.changes == {"question_key": ["qualty", "quality"]}
    assert record.subject_id == str(metric.pk)


def test_disabling_a_guardrail_records_who_and_why(ops):
    pilot = PilotFactory(stage="pilot")
    guardrail = MetricGuardrailFactory(pilot=pilot)
    measures.disable_guardrail(guardrail.pk, actor=ops, reason="Asks nothing any more.")
    record = only_record(pilot)
    assert (record.action, record.actor, record.reason) == (
        "guardrail.disabled",
        ops,
        "Asks nothing any more.",
    )
    assert record.changes == {"enabled": [True, False]}


def test_resolving_a_breach_records_the_note(ops):
    pilot = PilotFactory(stage="sandbox")
    MetricGuardrailFactory(pilot=pilot, action="flag")
    [breach] = guardrails.evaluate_round(add_round(pilot, scores("trust", [2, 2, 1, 3, 2, 2])).pk)
    guardrails.resolve_breach(breach.pk, actor=ops, note="Retrained the team.")
    record = only_record(pilot, action="breach.resolved")
    assert (record.actor, record.reason, record.changes) == (
        ops,
        "Retrained the team.",
        {"resolved": [False, True]},
    )


def test_a_handled_declaration_is_recorded_without_naming_who_declared_it(ops, participant):
    declaration = declarations.declare(
        user=participant, tool_name="MeetingBot", used_for="Notes", data_classification="internal"
    )
    pilot = declarations.turn_into_pilot(declaration.pk, actor=ops)

    record = only_record(pilot, action="declaration.handled")
    assert record.actor == ops
    assert record.changes["status"] == ["new", "piloted"]
    assert str(participant.pk) not in {str(v) for pair in record.changes.values() for v in pair}


def test_a_dismissed_declaration_records_the_note_and_no_declarer(ops, participant):
    declaration = declarations.declare(
        user=participant, tool_name="MeetingBot", used_for="Notes", data_classification="internal"
    )
    declarations.dismiss(declaration.pk, actor=ops, note="Already covered.")
    record = only_record(action="declaration.handled")
    assert (record.actor, record.reason) == (ops, "Already covered.")
    assert str(participant.pk) not in {str(v) for pair in record.changes.values() for v in pair}


def test_a_pilots_own_question_added_and_removed_is_recorded(lead, team):
    pilot = PilotFactory(stage="pilot", team=team, lead=lead)
    question = pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="tickets",
        text="How many tickets did you close?",
        kind="number",
        min_value=Decimal(0),
        max_value=Decimal(200),
    )
    pilot_questions.remove_question(question.pk, user=lead)
    added, removed = changelog.history(pilot)
    assert (added.action, added.actor, added.changes["key"]) == (
        "question.added",
        lead,
        [None, "tickets"],
    )
    assert (removed.action, removed.changes["key"]) == ("question.removed", ["tickets", None])


def test_a_questionnaire_version_is_recorded(ops, _pulse):
    copy = questionnaires.new_version(_pulse.pk, actor=ops)
    record = only_record(copy)
    assert (record.action, record.actor) == ("questionnaire.versioned", ops)
    assert record.changes == {"version": [_pulse.version, copy.version]}
