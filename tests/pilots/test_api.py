"""The REST API: read-only pilots and tools, stage history, and the move endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from pilots import lifecycle
from pilots.lifecycle import Action
from pilots.models import Stage, StageChange
from tests.factories import (
    AIToolFactory,
    GuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def move_url(pilot) -> str:
    return f"/api/pilots/{pilot.pk}/move/"


def titles(response) -> list[str]:
    return [p["title"] for p in response.json()["results"]]


def test_anonymous_callers_are_refused():
    # 401 with a Bearer challenge since personal tokens (api.authentication) come first.
    assert APIClient().get("/api/pilots/").status_code == 401


def test_the_list_shows_only_pilots_the_caller_may_see(outsider, lead, team, ops):
    PilotFactory(title="Our draft", team=team, lead=lead, stage=Stage.DRAFT)
    PilotFactory(title="Running pilot", team=team, lead=lead, stage=Stage.PILOT)
    assert sorted(titles(api_as(outsider).get("/api/pilots/"))) == ["Running pilot"]
    assert sorted(titles(api_as(lead).get("/api/pilots/"))) == ["Our draft", "Running pilot"]
    assert sorted(titles(api_as(ops).get("/api/pilots/"))) == ["Our draft", "Running pilot"]


def test_a_pilot_the_caller_may_not_see_is_not_found(outsider, lead, team):
    draft = PilotFactory(team=team, lead=lead, stage=Stage.PROPOSED)
    client = api_as(outsider)
    assert client.get(f"/api/pilots/{draft.pk}/").status_code == 404
    assert client.get(f"/api/pilots/{draft.pk}/stage-changes/").status_code == 404
    response = client.post(
        move_url(draft), {"action": "approve", "expected_stage": "proposed"}, format="json"
    )
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.stage == Stage.PROPOSED


def test_the_detail_shows_the_pilot_with_its_metrics_guardrails_and_participants(ops):
    pilot = PilotFactory(title="Drafting", stage=Stage.SANDBOX, tool=AIToolFactory(name="Copilot"))
    SuccessMetricFactory(pilot=pilot, name="Reply quality")
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user__username="amy")
    data = api_as(ops).get(f"/api/pilots/{pilot.pk}/").json()
    assert data["stage"] == "sandbox"
    assert data["tool"]["name"] == "Copilot"
    assert [m["name"] for m in data["metrics"]] == ["Reply quality"]
    assert len(data["guardrails"]) == 1
    assert [p["username"] for p in data["participants"]] == ["amy"]
    assert data["hypothesis"].startswith("We believe that")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "sandbox"}, ["A"]),
        ({"risk_level": "high"}, ["B"]),
        ({"stage": "pilot", "risk_level": "high"}, ["B"]),
    ],
)
def test_the_list_filters_by_stage_and_risk(ops, params, expected):
    PilotFactory(title="A", stage=Stage.SANDBOX, risk_level="limited")
    PilotFactory(title="B", stage=Stage.PILOT, risk_level="high")
    assert titles(api_as(ops).get("/api/pilots/", params)) == expected


def test_the_list_filters_by_team_and_tool(ops):
    finance = TeamFactory(name="Finance", slug="finance")
    tool = AIToolFactory(name="Summariser")
    PilotFactory(title="A", stage=Stage.PILOT, team=finance)
    PilotFactory(title="B", stage=Stage.PILOT, tool=tool)
    client = api_as(ops)
    assert titles(client.get("/api/pilots/", {"team": finance.pk})) == ["A"]
    assert titles(client.get("/api/pilots/", {"tool": tool.pk})) == ["B"]


@pytest.mark.parametrize("count", [3, 15])
def test_the_pilot_list_has_a_fixed_query_budget(ops, django_assert_max_num_queries, count):
    for _ in range(count):
        pilot = PilotFactory(stage=Stage.PILOT)
        SuccessMetricFactory(pilot=pilot)
        GuardrailFactory(pilot=pilot)
        ParticipationFactory(pilot=pilot)
    client = api_as(ops)
    # Queries: count, pilots with team/tool/lead, metrics, guardrails, participations+users,
    # plus the Ops group check.
    with django_assert_max_num_queries(6):
        response = client.get("/api/pilots/")
    assert response.json()["count"] == count


def test_the_tool_registry_is_listed(ops):
    AIToolFactory(name="Copilot", approval_status="approved")
    AIToolFactory(name="Shadow chat", approval_status="not_allowed")
    response = api_as(ops).get("/api/tools/", {"approval_status": "approved"})
    assert [t["name"] for t in response.json()["results"]] == ["Copilot"]


def test_ops_move_a_pilot_and_get_the_stage_change(ops2, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage=Stage.PROPOSED)
    response = api_as(ops2).post(
        move_url(pilot),
        {"action": "approve", "expected_stage": "proposed", "rationale": "Sound plan."},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["from_stage"], body["to_stage"], body["actor"], body["rationale"]) == (
        "proposed",
        "sandbox",
        "ops2",
        "Sound plan.",
    )
    assert StageChange.objects.get(pilot=pilot).pk == body["id"]


def test_the_stage_history_of_a_pilot_is_listed(ops, ops2, lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    lifecycle.move(pilot.pk, Action.APPROVE, actor=ops2, expected_stage=Stage.PROPOSED)
    results = api_as(ops).get(f"/api/pilots/{pilot.pk}/stage-changes/").json()["results"]
    assert [(c["from_stage"], c["to_stage"], c["actor"]) for c in results] == [
        ("draft", "proposed", "lead"),
        ("proposed", "sandbox", "ops2"),
    ]


def test_the_stage_history_is_also_served_with_a_format_suffix(ops, lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    response = api_as(ops).get(f"/api/pilots/{pilot.pk}/stage-changes.json")
    assert response.status_code == 200
    assert [c["to_stage"] for c in response.json()["results"]] == ["proposed"]


@pytest.mark.parametrize(
    ("stage", "payload", "status", "code", "field"),
    [
        (
            Stage.STOPPED,
            {"action": "approve", "expected_stage": "stopped"},
            409,
            "illegal_transition",
            "stage",
        ),
        (
            Stage.SANDBOX,
            {"action": "approve", "expected_stage": "proposed"},
            409,
            "stage_changed",
            "stage",
        ),
        (
            Stage.PROPOSED,
            {"action": "reject", "expected_stage": "proposed"},
            400,
            "rationale_required",
            "rationale",
        ),
        (
            Stage.SANDBOX,
            {"action": "promote", "expected_stage": "sandbox"},
            409,
            "gate_failed",
            "override_rationale",
        ),
        (
            Stage.SANDBOX,
            {"action": "promote", "expected_stage": "sandbox", "override": True},
            400,
            "override_rationale_required",
            "rationale",
        ),
        (
            Stage.PROPOSED,
            {"action": "launch", "expected_stage": "proposed"},
            400,
            "invalid_choice",
            "action",
        ),
        (Stage.PROPOSED, {"action": "approve"}, 400, "required", "expected_stage"),
    ],
)
def test_a_refused_move_answers_with_the_domain_code_and_field(
    ops, stage, payload, status, code, field
):
    pilot = PilotFactory(stage=stage)
    response = api_as(ops).post(move_url(pilot), payload, format="json")
    assert response.status_code == status
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["detail"]
    pilot.refresh_from_db()
    assert pilot.stage == stage
    assert not StageChange.objects.exists()


def test_a_gate_refusal_lists_each_criterion(ops):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    body = (
        api_as(ops)
        .post(move_url(pilot), {"action": "promote", "expected_stage": "sandbox"}, format="json")
        .json()
    )
    assert {g["key"]: g["status"] for g in body["gates"]} == {
        "closed_round": "no_evidence",
        "no_open_breach": "passed",
    }


def test_a_lead_who_is_not_ops_is_refused_with_403(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage=Stage.PROPOSED)
    response = api_as(lead).post(
        move_url(pilot), {"action": "approve", "expected_stage": "proposed"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_lead_submits_their_draft_through_the_api(lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    response = api_as(lead).post(
        move_url(pilot), {"action": "submit", "expected_stage": "draft"}, format="json"
    )
    assert response.status_code == 201
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.proposed_by) == (Stage.PROPOSED, lead)


def test_the_openapi_schema_is_served(ops):
    response = api_as(ops).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/pilots/{id}/move/" in response.content


def test_submitting_an_empty_draft_through_the_api_is_refused_like_on_the_web(client, lead, team):
    """The API used to turn an empty draft into a proposal; the web refused it."""
    pilot = PilotFactory(team=team, lead=lead)
    response = api_as(lead).post(
        move_url(pilot), {"action": "submit", "expected_stage": "draft"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "incomplete_proposal"
    pilot.refresh_from_db()
    assert pilot.stage == "draft"
    client.force_login(lead)
    client.post(reverse("pilot_submit", args=[pilot.pk]), {"expected_stage": "draft"})
    pilot.refresh_from_db()
    assert pilot.stage == "draft"
