"""The read-only results API: feedback rounds and a pilot's evidence, never a person."""

from __future__ import annotations

import json
import statistics

import pytest
from rest_framework.test import APIClient

from feedback.models import Response
from pilots.models import Stage
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    MembershipFactory,
    ParticipationFactory,
    PilotFactory,
    PromptFactory,
    SuccessMetricFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HIGH_TRUST = [4, 5, 4, 5, 4, 5, 4, 5]  # mean 4.5, tight interval well above 3


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rounds_url(pilot=None) -> str:
    return "/api/rounds/" + (f"?pilot={pilot.pk}" if pilot else "")


def evidence_url(pilot) -> str:
    return f"/api/evidence/{pilot.pk}/"


def test_anonymous_callers_are_refused():
    pilot = PilotFactory(stage=Stage.PILOT)
    r = add_round(pilot, scores("trust", HIGH_TRUST))
    client = APIClient()
    assert client.get("/api/rounds/").status_code == 401
    assert client.get(f"/api/rounds/{r.pk}/").status_code == 401
    assert client.get(evidence_url(pilot)).status_code == 401


def test_the_round_list_shows_only_rounds_of_pilots_the_caller_may_see(outsider, lead, team, ops):
    running = PilotFactory(title="Running", team=team, lead=lead, stage=Stage.PILOT)
    draft = PilotFactory(title="Our draft", team=team, lead=lead, stage=Stage.DRAFT)
    seen = add_round(running, scores("trust", HIGH_TRUST))
    hidden = add_round(draft, scores("trust", HIGH_TRUST))

    def ids(user) -> list[int]:
        return sorted(r["id"] for r in api_as(user).get("/api/rounds/").json()["results"])

    assert ids(outsider) == [seen.pk]
    assert ids(lead) == sorted([seen.pk, hidden.pk])
    assert ids(ops) == sorted([seen.pk, hidden.pk])


def test_an_outsider_gets_404_for_the_round_and_the_evidence_of_another_teams_draft(
    outsider, lead, team
):
    draft = PilotFactory(team=team, lead=lead, stage=Stage.DRAFT)
    r = add_round(draft, scores("trust", HIGH_TRUST))
    client = api_as(outsider)
    assert client.get(f"/api/rounds/{r.pk}/").status_code == 404
    assert client.get(evidence_url(draft)).status_code == 404
    assert client.get(rounds_url(draft)).json()["results"] == []
    assert api_as(lead).get(f"/api/rounds/{r.pk}/").status_code == 200
    assert api_as(lead).get(evidence_url(draft)).status_code == 200


def test_a_missing_pilot_or_round_is_not_found(ops):
    assert api_as(ops).get("/api/evidence/999999/").status_code == 404
    assert api_as(ops).get("/api/rounds/999999/").status_code == 404


def test_a_round_shows_its_counts_response_rate_and_stored_aggregated_results(participant):
    pilot = PilotFactory(stage=Stage.PILOT)
    r = add_round(pilot, scores("trust", [4, 5, 3, 4, 4, 5]), invited=8)
    data = api_as(participant).get(f"/api/rounds/{r.pk}/").json()
    assert data["pilot"] == pilot.pk
    assert (data["status"], data["invited_count"], data["response_count"]) == ("closed", 8, 6)
    assert data["response_rate"] == 0.75
    assert data["period_start"] == r.period_start.isoformat()
    assert data["results"] == json.loads(json.dumps(r.results))
    trust = next(q for q in data["results"]["questions"] if q["key"] == "trust")
    assert trust["shown"] is True
    assert trust["mean"] == pytest.approx(statistics.mean([4, 5, 3, 4, 4, 5]))


def test_below_the_anonymity_threshold_a_round_shows_counts_but_no_figure(participant, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage=Stage.PILOT)
    r = add_round(
        pilot,
        [{"trust": 1, "comment": "My manager reads this"}, {"trust": 5}],
        invited=9,
    )
    data = api_as(participant).get(f"/api/rounds/{r.pk}/").json()
    assert data["response_count"] == 2
    # Only the round's counts: no question, not even how many answered it.
    assert data["results"]["questions"] == []
    assert data["results"]["comments"] == []
    assert "My manager reads this" not in json.dumps(data)


def test_the_round_list_filters_by_pilot_and_status(ops):
    first, second = PilotFactory(stage=Stage.PILOT), PilotFactory(stage=Stage.SANDBOX)
    closed = add_round(first, scores("trust", HIGH_TRUST), weeks_ago=1)
    still_open = add_round(first, scores("trust", [4]), closed=False)
    add_round(second, scores("trust", HIGH_TRUST))
    client = api_as(ops)
    by_pilot = client.get(rounds_url(first)).json()["results"]
    assert [r["id"] for r in by_pilot] == [still_open.pk, closed.pk]  # newest period first
    only_closed = client.get(f"/api/rounds/?pilot={first.pk}&status=closed").json()["results"]
    assert [r["id"] for r in only_closed] == [closed.pk]
    assert only_closed[0]["results"]["responses"] == len(HIGH_TRUST)
    assert by_pilot[0]["results"] is None  # an open round has no results yet


def test_the_evidence_gives_each_metric_its_estimate_interval_status_and_reason(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage=Stage.PILOT, cadence="weekly")
    SuccessMetricFactory(
        pilot=pilot, name="Trust", question_key="trust", target=3, baseline=2, min_responses=10
    )
    SuccessMetricFactory(
        pilot=pilot, name="Quality", question_key="quality", target=4, baseline=3, min_responses=10
    )
    for user in UserFactory.create_batch(4):
        ParticipationFactory(pilot=pilot, user=user)
    minutes = [30, 60, 90, 60]
    for weeks_ago in (0, 1):
        add_round(
            pilot,
            [
                {"trust": t, "minutes_saved": m}
                for t, m in zip(HIGH_TRUST, minutes * 2, strict=True)
            ],
            weeks_ago=weeks_ago,
        )
    data = api_as(lead).get(evidence_url(pilot)).json()
    assert (data["pilot"], data["title"], data["stage"]) == (pilot.pk, pilot.title, "pilot")
    trust, quality = data["metrics"]
    assert (trust["metric"], trust["status"], trust["n"]) == ("Trust", "met", 16)
    assert trust["estimate"] == pytest.approx(4.5)
    low, high = trust["ci"]
    assert 3 < low < 4.5 < high
    assert "interval" in trust["reason"]
    assert (quality["status"], quality["n"], quality["estimate"]) == ("inconclusive", 0, None)
    assert "needed" in quality["reason"]
    assert data["recommendation"]["action"] == "keep_going"
    assert "Quality" in data["recommendation"]["reason"]
    hours = data["hours_saved_per_month"]
    # mean 60 minutes per week per person × 52/12 weeks × 4 people / 60
    assert hours["estimate"] == pytest.approx(60 * 52 / 12 * 4 / 60)
    assert hours["ci"][0] < hours["estimate"] < hours["ci"][1]
    assert (hours["n"], hours["participants"]) == (16, 4)
    assert len(data["rounds"]) == 2
    assert data["open_breaches"] == 0


def test_the_evidence_answers_with_a_format_suffix(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    response = api_as(ops).get(f"/api/evidence/{pilot.pk}.json")
    assert response.status_code == 200
    # No answered round: no recommendation, rather than a "keep going" nothing supports.
    assert response.json()["recommendation"] is None


def test_no_api_output_names_or_identifies_a_respondent(ops, team):
    """Named pilot, named prompts and respondents: none of them appears in the results API."""
    people = [
        UserFactory(
            username=f"person{i}x",
            email=f"person{i}x@corp.example",
            first_name=f"Firstname{i}q",
            last_name=f"Lastname{i}q",
        )
        for i in range(6)
    ]
    pilot = PilotFactory(stage=Stage.PILOT, team=team, anonymous_feedback=False)
    SuccessMetricFactory(pilot=pilot, question_key="trust", target=3, baseline=2)
    for person in people:
        MembershipFactory(team=team, user=person)
        ParticipationFactory(pilot=pilot, user=person)
    r = add_round(
        pilot,
        [{"trust": 4, "comment": "Saves me time"} for _ in people],
        invited=len(people),
    )
    for person, response in zip(people, Response.objects.filter(round=r), strict=True):
        response.respondent = person
        response.save(update_fields=["respondent"])
        PromptFactory(round=r, participant=person, answered=True)
    client = api_as(ops)
    bodies = [
        client.get("/api/rounds/").content.decode(),
        client.get(f"/api/rounds/{r.pk}/").content.decode(),
        client.get(rounds_url(pilot)).content.decode(),
        client.get(evidence_url(pilot)).content.decode(),
    ]
    assert "Saves me time" in bodies[1]  # the aggregated comments are there, without author
    for body in bodies:
        for person in people:
            for identifying in (person.username, person.email, person.first_name, person.last_name):
                assert identifying not in body
        assert "respondent" not in body


def _pilot_with_rounds(team, lead, count: int, *, prefix: str):
    pilot = PilotFactory(title=f"{prefix} pilot", team=team, lead=lead, stage=Stage.PILOT)
    SuccessMetricFactory(pilot=pilot, question_key="trust", target=3, baseline=2)
    ParticipationFactory(pilot=pilot)
    for weeks_ago in range(count):
        add_round(pilot, scores("trust", HIGH_TRUST), weeks_ago=weeks_ago)
    return pilot


# Rounds list, for a caller who is not Ops: is the caller Ops? (groups), count, rows.
ROUNDS_LIST_QUERIES = 3
# Evidence: is the caller Ops?, the pilot, its last closed rounds, metrics, open breaches,
# participant count, guardrails, their latest checks — whatever the number of rounds.
EVIDENCE_QUERIES = 8


@pytest.mark.parametrize("count", [2, 30])
def test_the_round_list_runs_a_fixed_number_of_queries(
    count, lead, team, django_assert_max_num_queries
):
    _pilot_with_rounds(team, lead, count, prefix="Budget")
    _pilot_with_rounds(team, lead, count, prefix="Other")
    client = api_as(lead)
    with django_assert_max_num_queries(ROUNDS_LIST_QUERIES):
        response = client.get("/api/rounds/")
    assert response.json()["count"] == 2 * count


@pytest.mark.parametrize("count", [2, 30])
def test_the_evidence_runs_a_fixed_number_of_queries(
    count, lead, team, django_assert_max_num_queries
):
    pilot = _pilot_with_rounds(team, lead, count, prefix="Budget")
    client = api_as(lead)
    with django_assert_max_num_queries(EVIDENCE_QUERIES):
        response = client.get(evidence_url(pilot))
    assert response.json()["metrics"][0]["status"] == "met"


def test_the_openapi_schema_lists_the_results_endpoints(ops):
    response = api_as(ops).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/rounds/{id}/" in response.content
    assert b"/api/evidence/{pilot_id}/" in response.content


def test_the_evidence_api_says_whether_each_guardrail_is_holding_broken_or_not_evaluated(
    ops, settings
):
    from decisions import guardrails
    from tests.decisions.evidence_support import add_round
    from tests.factories import MetricGuardrailFactory

    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage=Stage.PILOT)
    trust = MetricGuardrailFactory(pilot=pilot, description="Trust holds")
    minutes = MetricGuardrailFactory(
        pilot=pilot, description="Minutes", question_key="minutes_saved", threshold=1
    )
    r = add_round(pilot, [{"trust": 4, "quality": 4} for _ in range(6)])
    guardrails.evaluate_round(r.pk)
    data = api_as(ops).get(f"/api/evidence/{pilot.pk}/").json()
    by_id = {g["id"]: (g["status"], g["status_label"]) for g in data["guardrails"]}
    assert by_id == {
        trust.pk: ("holding", "holding"),
        minutes.pk: ("not_evaluated", "not evaluated"),
    }
