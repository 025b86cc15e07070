"""The intake risk questionnaire maps a lead's answers to the EU AI Act, and the rules follow."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from core.exceptions import GateFailed, ValidationFailed
from pilots import lifecycle, proposals, risk
from pilots.models import Pilot, Review, RiskRule, Stage, StageChange
from tests.factories import (
    AIToolFactory,
    OpsUserFactory,
    PilotFactory,
    ReviewFactory,
)
from tests.web.conftest import proposal_post

pytestmark = pytest.mark.django_db

SHIPPED = importlib.import_module("pilots.migrations.0019_risk_rules").RULES
# Each question of the questionnaire asks about one category of the regulation.
CATEGORY_OF_QUESTION = {
    "practices": "prohibited",
    "decisions": "high",
    "disclosure": "transparency",
}
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("row", SHIPPED, ids=[row[0] for row in SHIPPED])
def test_each_answer_maps_to_its_category_article_and_level_as_the_readme_says(row):
    key, question, category, article, answer_en, answer_fr, *_ = row

    assessment = risk.assess([key])

    assert assessment.category == category == CATEGORY_OF_QUESTION[question]
    assert [r.key for r in assessment.rules] == [key]
    expected_level = {"prohibited": None, "high": "high", "transparency": "limited"}[category]
    assert assessment.risk_level == expected_level
    reason = risk.reasoning(assessment)[0]
    assert article in reason
    assert answer_en in reason
    with translation.override("fr"):
        assert answer_fr in risk.reasoning(assessment)[0]
    assert f"`{key}`" in README and article in README


def test_every_shipped_rule_is_in_the_database_and_readable_by_ops(client):
    assert RiskRule.objects.count() == len(SHIPPED)
    client.force_login(OpsUserFactory())
    listing = client.get(reverse("admin:pilots_riskrule_changelist"))
    assert listing.status_code == 200
    assert "Art. 5(1)(c)" in listing.content.decode()
    assert client.get(reverse("admin:pilots_riskrule_add")).status_code == 403


def test_no_answer_is_minimal_risk_with_ai_literacy_as_the_reason():
    assessment = risk.assess([])
    assert (assessment.category, assessment.risk_level) == ("minimal", "minimal")
    assert "Art. 4" in risk.reasoning(assessment)[0]


def test_the_most_severe_answer_decides_and_every_answer_is_shown():
    assessment = risk.assess(["talks_with_people", "recruiting"])
    assert (assessment.category, assessment.risk_level) == ("high", "high")
    reasons = risk.reasoning(assessment)
    assert len(reasons) == 2
    assert reasons[0].startswith("Art. 6(2), Annex III(4)(a)")


def test_an_unknown_answer_is_refused_on_the_field():
    with pytest.raises(ValidationFailed) as refused:
        risk.validate(["recruiting", "mind_reading"])
    assert (refused.value.code, refused.value.field) == ("unknown_risk_answer", "risk_answers")


def _proposal(tool, **fields) -> proposals.Proposal:
    data = {
        "title": "Screening",
        "tool": tool,
        "problem": "Too many applications.",
        "hypothesis_intervention": "sorting CVs",
        "hypothesis_outcome": "save time",
        "hypothesis_who": "recruiters",
        "hypothesis_signal": "time per hire falls",
        "data_classification": "internal",
        "planned_start": "2026-12-01",
        "planned_end": "2027-02-01",
        **fields,
    }
    return proposals.Proposal(fields=data)


def test_a_prohibited_practice_is_refused_like_a_banned_tool_and_nothing_is_written(lead, team):
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(
            actor=lead,
            team=team,
            proposal=_proposal(AIToolFactory(), risk_answers=["emotions_at_work"]),
        )

    assert (refused.value.code, refused.value.field) == ("prohibited_practice", "risk_answers")
    assert "Art. 5(1)(f)" in refused.value.message
    assert not Pilot.objects.exists()


def test_a_prohibited_answer_added_to_a_draft_is_refused_and_the_draft_kept(lead, team):
    pilot = proposals.create_draft(
        actor=lead, team=team, proposal=_proposal(AIToolFactory(), risk_answers=["recruiting"])
    )
    with pytest.raises(ValidationFailed):
        proposals.update_draft(
            pilot.pk,
            editor=lead,
            proposal=_proposal(pilot.tool, risk_answers=["recruiting", "social_scoring"]),
        )
    pilot.refresh_from_db()
    assert (pilot.risk_answers, pilot.ai_act_category) == (["recruiting"], "high")


def test_the_answers_set_the_level_whatever_level_the_caller_gives(lead, team):
    pilot = proposals.create_draft(
        actor=lead,
        team=team,
        proposal=_proposal(
            AIToolFactory(),
            risk_answers=["recruiting"],
            risk_level="minimal",
            ai_act_category="minimal",
        ),
    )
    assert (pilot.risk_level, pilot.ai_act_category) == ("high", "high")


def test_the_database_refuses_a_prohibited_category_and_a_high_category_below_high_risk():
    with pytest.raises(IntegrityError):
        PilotFactory(ai_act_category="prohibited")


def test_the_database_refuses_a_high_category_with_a_lower_risk_level():
    with pytest.raises(IntegrityError):
        PilotFactory(ai_act_category="high", risk_level="limited")


def _approve(pilot: Pilot, ops) -> StageChange:
    return lifecycle.move(pilot.pk, lifecycle.Action.APPROVE, actor=ops, expected_stage="proposed")


def test_a_high_risk_pilot_needs_both_reviews_cleared_before_the_sandbox(ops):
    pilot = PilotFactory(stage=Stage.PROPOSED, risk_level="high", ai_act_category="high")
    ReviewFactory(pilot=pilot, kind=Review.Kind.SECURITY)

    with pytest.raises(GateFailed) as refused:
        _approve(pilot, ops)
    failing = [r.key for r in refused.value.results if not r.passed]
    assert failing == ["legal_review"]
    assert Pilot.objects.get(pk=pilot.pk).stage == Stage.PROPOSED

    ReviewFactory(pilot=pilot, kind=Review.Kind.LEGAL)
    change = _approve(pilot, ops)
    assert change.to_stage == Stage.SANDBOX
    assert [g["key"] for g in change.gate_results] == ["security_review", "legal_review"]


def test_a_pilot_that_is_not_high_risk_enters_the_sandbox_without_reviews(ops):
    pilot = PilotFactory(stage=Stage.PROPOSED, risk_level="limited")
    assert _approve(pilot, ops).to_stage == Stage.SANDBOX


def test_the_web_form_and_the_api_derive_the_same_category(client, lead, team, participant):
    tool = AIToolFactory()
    answers = ["talks_with_people", "generated_content"]
    client.force_login(lead)
    data = proposal_post(team=team, tool=tool, participants=[participant])
    data["risk_answers"] = answers
    client.post(reverse("pilot_propose"), data)
    by_web = Pilot.objects.get()

    api = APIClient()
    api.force_authenticate(lead)
    body = {
        "team": team.pk,
        **{
            k: v
            for k, v in data.items()
            if k in proposals.PILOT_FIELDS and k not in ("tool", "participants")
        },
        "tool": tool.pk,
        "anonymous_feedback": True,
        "risk_answers": answers,
    }
    created = api.post("/api/v1/pilots/", body, format="json")
    assert created.status_code == 201, created.json()
    by_api = Pilot.objects.get(pk=created.json()["id"])

    for pilot in (by_web, by_api):
        assert pilot.risk_answers == sorted(answers)
        assert (pilot.ai_act_category, pilot.risk_level) == ("transparency", "limited")
    assert created.json()["ai_act_category"] == "transparency"


def test_the_web_form_and_the_api_refuse_a_prohibited_practice_alike(client, lead, team):
    tool = AIToolFactory()
    client.force_login(lead)
    data = proposal_post(team=team, tool=tool)
    data["risk_answers"] = ["social_scoring"]
    page = client.post(reverse("pilot_propose"), data)

    api = APIClient()
    api.force_authenticate(lead)
    body = {k: v for k, v in data.items() if k in proposals.PILOT_FIELDS and k != "tool"}
    body.update(team=team.pk, tool=tool.pk, anonymous_feedback=True)
    refused = api.post("/api/v1/pilots/", body, format="json")

    assert (refused.status_code, refused.json()["code"]) == (400, "prohibited_practice")
    assert refused.json()["field"] == "risk_answers"
    assert page.status_code == 400
    assert refused.json()["detail"] in page.content.decode()
    assert page.context["form"].errors["risk_answers"] == [refused.json()["detail"]]
    assert not Pilot.objects.exists()


def test_the_pilot_page_shows_the_category_and_its_reasoning(client, lead, team):
    pilot = proposals.create_draft(
        actor=lead, team=team, proposal=_proposal(AIToolFactory(), risk_answers=["recruiting"])
    )
    client.force_login(lead)
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert "High risk (Art. 6, Annex III)" in page
    assert "Recruitment and selection of people are high-risk uses." in page
