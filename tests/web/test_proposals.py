"""The proposal domain: drafts written in one transaction, errors that name their field."""

import datetime
from decimal import Decimal

import pytest

from core.exceptions import PermissionRefused, StageChangedMeanwhile, ValidationFailed
from pilots import proposals
from pilots.models import Guardrail, Pilot, SuccessMetric
from tests.factories import AIToolFactory, ParticipationFactory, PilotFactory

pytestmark = pytest.mark.django_db


def _proposal(tool, **fields) -> proposals.Proposal:
    start = datetime.date(2026, 12, 1)
    base = {
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
    }
    base.update(fields)
    return proposals.Proposal(
        fields=base,
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


def test_a_lead_creates_a_draft_with_its_rows(lead, team, participant):
    tool = AIToolFactory()
    proposal = _proposal(tool)
    proposal.participants = [participant]
    pilot = proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert (pilot.stage, pilot.lead, pilot.title) == ("draft", lead, "Reply drafts")
    assert pilot.metrics.get().target == 4
    assert pilot.guardrails.get().question_key == ""
    assert list(pilot.participants.all()) == [participant]


def test_a_member_who_is_not_the_teams_lead_cannot_create_a_draft(participant, team):
    with pytest.raises(PermissionRefused) as e:
        proposals.create_draft(actor=participant, team=team, proposal=_proposal(AIToolFactory()))
    assert e.value.field == "team"
    assert not Pilot.objects.exists()


def test_data_above_the_tools_limit_is_refused_on_the_data_field(lead, team):
    tool = AIToolFactory(max_data_classification="internal")
    with pytest.raises(ValidationFailed) as e:
        proposals.create_draft(
            actor=lead, team=team, proposal=_proposal(tool, data_classification="restricted")
        )
    assert (e.value.code, e.value.field) == ("classification_too_high", "data_classification")


def test_a_refused_row_leaves_no_pilot_behind(lead, team):
    proposal = _proposal(AIToolFactory())
    proposal.metrics = [*proposal.metrics, {**proposal.metrics[0], "name": "quality"}]
    with pytest.raises(ValidationFailed) as e:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert (e.value.code, e.value.field) == ("duplicate_metric", "metrics-1-name")
    assert not Pilot.objects.exists()
    assert not SuccessMetric.objects.exists()


def test_a_metric_guardrail_without_its_threshold_names_the_row_and_field(lead, team):
    proposal = _proposal(AIToolFactory())
    proposal.guardrails = [
        {
            "kind": "metric",
            "description": "Trust",
            "question_key": "trust",
            "statistic": "mean",
            "comparator": "ge",
            "threshold": None,
        }
    ]
    with pytest.raises(ValidationFailed) as e:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert e.value.field == "guardrails-0-threshold"
    assert not Guardrail.objects.exists()


def test_a_participant_from_another_team_is_refused(lead, team, outsider):
    proposal = _proposal(AIToolFactory())
    proposal.participants = [outsider]
    with pytest.raises(ValidationFailed) as e:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert (e.value.code, e.value.field) == ("participant_not_member", "participants")


def test_update_replaces_rows_and_participants(lead, team, participant):
    tool = AIToolFactory()
    pilot = PilotFactory(lead=lead, team=team, tool=tool)
    ParticipationFactory(pilot=pilot, user=participant)
    proposal = _proposal(tool, title="New title")
    proposal.participants = [lead]
    proposals.update_draft(pilot.pk, editor=lead, proposal=proposal)
    pilot.refresh_from_db()
    assert pilot.title == "New title"
    assert list(pilot.metrics.values_list("name", flat=True)) == ["Quality"]
    assert list(pilot.participants.all()) == [lead]


@pytest.mark.parametrize("stage", ["proposed", "sandbox", "pilot", "approved", "stopped"])
def test_only_a_draft_can_be_updated(lead, team, stage):
    tool = AIToolFactory()
    pilot = PilotFactory(lead=lead, team=team, tool=tool, stage=stage)
    with pytest.raises(PermissionRefused) as e:
        proposals.update_draft(pilot.pk, editor=lead, proposal=_proposal(tool, title="X"))
    assert e.value.code == "not_editable"
    pilot.refresh_from_db()
    assert pilot.title != "X"


def test_a_lead_of_another_team_cannot_update_a_draft(lead, team, outsider):
    tool = AIToolFactory()
    pilot = PilotFactory(lead=lead, team=team, tool=tool)
    with pytest.raises(PermissionRefused):
        proposals.update_draft(pilot.pk, editor=outsider, proposal=_proposal(tool))


def test_an_incomplete_draft_is_not_submitted(lead, team):
    pilot = PilotFactory(lead=lead, team=team)
    with pytest.raises(ValidationFailed) as e:
        proposals.submit(pilot.pk, actor=lead, expected_stage="draft")
    assert e.value.code == "incomplete_proposal"
    pilot.refresh_from_db()
    assert pilot.stage == "draft"


def test_submitting_from_a_stale_stage_is_refused(lead, team):
    pilot = PilotFactory(lead=lead, team=team, stage="proposed")
    with pytest.raises(StageChangedMeanwhile):
        proposals.submit(pilot.pk, actor=lead, expected_stage="draft")


def test_the_team_lead_may_edit_a_draft_led_by_a_member(lead, team, participant):
    tool = AIToolFactory()
    pilot = PilotFactory(lead=participant, team=team, tool=tool)
    proposals.update_draft(pilot.pk, editor=lead, proposal=_proposal(tool, title="By the lead"))
    pilot.refresh_from_db()
    assert (pilot.title, pilot.lead) == ("By the lead", participant)


def test_ops_may_open_a_draft_for_someone_else(ops, team, participant):
    pilot = proposals.create_draft(
        actor=ops, team=team, lead=participant, proposal=_proposal(AIToolFactory())
    )
    assert pilot.lead == participant


def test_a_response_window_the_database_would_refuse_is_refused_on_its_field(lead, team):
    with pytest.raises(ValidationFailed) as e:
        proposals.create_draft(
            actor=lead, team=team, proposal=_proposal(AIToolFactory(), response_window_days=15)
        )
    assert (e.value.code, e.value.field) == ("window_out_of_range", "response_window_days")
