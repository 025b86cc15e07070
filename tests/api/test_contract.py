"""Responses found by schemathesis to break their own schema, pinned one by one."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from pilots.models import Stage
from tests.api.contract import conformance_errors
from tests.factories import FeedbackRoundFactory, PilotFactory

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "route,template",
    [("/api/v1/rounds/{}/", "/api/v1/rounds/{id}/"), ("/api/rounds/{}/", "/api/rounds/{id}/")],
)
def test_a_round_not_yet_closed_has_null_results_as_its_schema_says(ops, route, template):
    feedback_round = FeedbackRoundFactory(pilot=PilotFactory(stage=Stage.PILOT))
    response = api_as(ops).get(route.format(feedback_round.pk))
    assert response.status_code == 200
    assert response.json()["results"] is None
    assert conformance_errors(response, template, "get") == []


def test_a_declaration_by_someone_in_no_team_has_a_null_team_as_its_schema_says(ops):
    response = api_as(ops).post(
        "/api/v1/declarations/",
        {"tool_name": "Summarizer", "used_for": "Notes", "data_classification": "public"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["team"] is None
    assert conformance_errors(response, "/api/v1/declarations/", "post") == []


def test_opening_a_round_for_a_pilot_one_may_not_see_is_a_declared_404(ops):
    response = api_as(ops).post("/api/v1/rounds/open/", {"pilot": 4294967297}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert conformance_errors(response, "/api/v1/rounds/open/", "post") == []
