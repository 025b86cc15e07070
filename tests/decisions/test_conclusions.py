"""Conclusions: stopping, retiring and promoting to approved standard record what a pilot taught."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from core.exceptions import ValidationFailed
from core.models import ChangeRecord
from pilots import conclusions, lifecycle
from pilots.lifecycle import Action
from pilots.models import Conclusion, Pilot, Stage, StageChange
from tests.factories import PilotFactory, UserFactory, findings_for

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:pilots_pilot_changelist")


def stop(pilot: Pilot, actor, **findings) -> StageChange:
    return lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=actor,
        expected_stage=pilot.stage,
        rationale="Decided at the Ops review.",
        conclusion=findings_for(pilot.stage, Action.STOP, **findings),
    )


# --- The lifecycle -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "action"),
    [(Stage.SANDBOX, Action.STOP), (Stage.APPROVED, Action.RETIRE), (Stage.PILOT, Action.PROMOTE)],
)
def test_a_concluding_move_without_a_conclusion_is_refused_and_nothing_moves(ops, stage, action):
    pilot = PilotFactory(stage=stage)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            action,
            actor=ops,
            expected_stage=stage,
            rationale="Decided.",
            override=True,
        )
    assert (refused.value.code, refused.value.field) == ("conclusion_required", "conclusion")
    pilot.refresh_from_db()
    assert pilot.stage == stage
    assert not StageChange.objects.exists()
    assert not Conclusion.objects.exists()


@pytest.mark.parametrize(
    ("findings", "code", "field"),
    [
        ({"takeaways": "   "}, "takeaways_required", "takeaways"),
        ({"outcome": ""}, "outcome_required", "outcome"),
        ({"outcome": "maybe"}, "outcome_required", "outcome"),
        ({"outcome": "adopted"}, "outcome_contradicts_move", "outcome"),
        (
            {"recommendations": ("graduate", "buy_more")},
            "unknown_recommendation",
            "recommendations",
        ),
    ],
)
def test_a_conclusion_that_breaks_a_rule_is_refused_with_its_field(ops, findings, code, field):
    pilot = PilotFactory(stage=Stage.PILOT)
    with pytest.raises(ValidationFailed) as refused:
        stop(pilot, ops, **findings)
    assert (refused.value.code, refused.value.field) == (code, field)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    assert not Conclusion.objects.exists()


def test_promotion_to_standard_refuses_a_not_adopted_outcome(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.PROMOTE,
            actor=ops,
            expected_stage=Stage.PILOT,
            rationale="Decided.",
            override=True,
            conclusion=conclusions.Findings.build(outcome="no_value", takeaways="Nothing gained."),
        )
    assert (refused.value.code, refused.value.field) == ("outcome_contradicts_move", "outcome")


def test_a_move_that_concludes_nothing_refuses_a_conclusion(ops):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.PAUSE,
            actor=ops,
            expected_stage=Stage.SANDBOX,
            rationale="Quarter end.",
            conclusion=findings_for(Stage.SANDBOX, Action.STOP),
        )
    assert (refused.value.code, refused.value.field) == ("conclusion_not_expected", "conclusion")


def test_a_stop_records_the_conclusion_with_its_stage_change_and_a_change_record(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    change = stop(
        pilot,
        ops,
        outcome="risk",
        takeaways="  It leaked names into prompts.  ",
        recommendations=("follow_up", "change_course", "follow_up"),
    )
    conclusion = Conclusion.objects.get(pilot=pilot)
    assert conclusion.stage_change == change
    assert (conclusion.outcome, conclusion.takeaways) == ("risk", "It leaked names into prompts.")
    # In the order of the choices, each once.
    assert conclusion.recommendations == ["change_course", "follow_up"]
    assert conclusion.recommendation_labels == ["Change course", "Follow-up pilot"]
    assert (conclusion.concluded_by, conclusion.concluded_at) == (ops, change.created_at)
    record = ChangeRecord.objects.get(action="pilot.concluded")
    assert (record.actor, record.scope_id, record.reason) == (
        ops,
        pilot.pk,
        "It leaked names into prompts.",
    )
    assert record.changes["outcome"] == [None, "risk"]


def test_retiring_a_standard_replaces_its_conclusion_and_the_record_keeps_the_adoption(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    lifecycle.move(
        pilot.pk,
        Action.PROMOTE,
        actor=ops,
        expected_stage=Stage.PILOT,
        rationale="Decided.",
        override=True,
        conclusion=findings_for(Stage.PILOT, Action.PROMOTE, takeaways="It works."),
    )
    retired = lifecycle.move(
        pilot.pk,
        Action.RETIRE,
        actor=ops,
        expected_stage=Stage.APPROVED,
        rationale="Replaced.",
        conclusion=findings_for(Stage.APPROVED, Action.RETIRE, takeaways="Replaced by better."),
    )
    conclusion = Conclusion.objects.get(pilot=pilot)
    assert (conclusion.stage_change, conclusion.outcome) == (retired, "no_value")
    last = ChangeRecord.objects.filter(action="pilot.concluded").order_by("pk").last()
    assert last.changes["outcome"] == ["adopted", "no_value"]
    assert last.changes["takeaways"] == ["It works.", "Replaced by better."]


# --- The database ------------------------------------------------------------------------------


def _row(pilot, change, **fields) -> Conclusion:
    values = {
        "pilot": pilot,
        "stage_change": change,
        "outcome": "no_value",
        "takeaways": "Learned.",
        "concluded_by": change.actor,
        "concluded_at": change.created_at,
        **fields,
    }
    return Conclusion(**values)


@pytest.mark.parametrize(
    "fields", [{"takeaways": ""}, {"outcome": "maybe"}], ids=["no takeaways", "unknown outcome"]
)
def test_the_database_refuses_a_conclusion_that_breaks_a_rule(ops, fields):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    change = lifecycle.move(
        pilot.pk, Action.PAUSE, actor=ops, expected_stage=Stage.SANDBOX, rationale="Wait."
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        _row(pilot, change, **fields).save()


def test_the_database_refuses_a_second_conclusion_for_a_pilot(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    stop(pilot, ops)
    other = lifecycle.move(
        PilotFactory(stage=Stage.SANDBOX).pk,
        Action.PAUSE,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        rationale="Wait.",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        _row(pilot, other).save()


# --- The admin ---------------------------------------------------------------------------------


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _confirm(client, action, pilot, **form):
    data = {
        "action": action,
        "confirm": "yes",
        "_selected_action": [pilot.pk],
        f"expected_stage_{pilot.pk}": pilot.stage,
        "rationale": "Decided at the Ops review.",
    }
    data.update(form)
    return client.post(CHANGELIST, data, follow=True)


def test_the_admin_stop_page_asks_for_the_conclusion_of_each_pilot(ops_client):
    pilot = PilotFactory(stage=Stage.PILOT)
    page = ops_client.post(
        CHANGELIST, {"action": "stop", "index": 0, "_selected_action": [pilot.pk]}
    ).content.decode()
    assert f'name="outcome_{pilot.pk}"' in page
    assert f'name="takeaways_{pilot.pk}"' in page
    assert f'name="recommendations_{pilot.pk}" value="follow_up"' in page
    # A stop offers only the outcomes a stop can have.
    assert 'value="no_value"' in page and 'value="adopted"' not in page


def test_the_admin_pause_page_asks_for_no_conclusion(ops_client):
    pilot = PilotFactory(stage=Stage.PILOT)
    page = ops_client.post(
        CHANGELIST, {"action": "pause", "index": 0, "_selected_action": [pilot.pk]}
    ).content.decode()
    assert f'name="outcome_{pilot.pk}"' not in page


def test_an_admin_stop_without_takeaways_keeps_ops_on_the_page_with_what_they_wrote(ops_client):
    pilot = PilotFactory(stage=Stage.PILOT)
    response = _confirm(
        ops_client,
        "stop",
        pilot,
        **{f"outcome_{pilot.pk}": "risk", f"takeaways_{pilot.pk}": " "},
        **{f"recommendations_{pilot.pk}": ["rerun"]},
    )
    html = response.content.decode()
    assert "Write the takeaways" in html
    assert '<option value="risk" selected>' in html
    assert f'value="rerun" id="id_recommendations_{pilot.pk}_rerun" checked' in html
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT


def test_an_admin_stop_records_the_conclusion(ops_client, ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    _confirm(
        ops_client,
        "stop",
        pilot,
        **{
            f"outcome_{pilot.pk}": "inconclusive",
            f"takeaways_{pilot.pk}": "Too few people answered.",
            f"recommendations_{pilot.pk}": ["rerun", "follow_up"],
        },
    )
    pilot.refresh_from_db()
    assert pilot.stage == Stage.STOPPED
    conclusion = pilot.conclusion
    assert (conclusion.outcome, conclusion.takeaways, conclusion.recommendations) == (
        "inconclusive",
        "Too few people answered.",
        ["rerun", "follow_up"],
    )
    assert conclusion.concluded_by == ops


# --- The API -----------------------------------------------------------------------------------


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_refuses_a_stop_without_a_conclusion_with_the_same_code(ops):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    response = api_as(ops).post(
        f"/api/pilots/{pilot.pk}/move/",
        {"action": "stop", "expected_stage": "sandbox", "rationale": "No value."},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "conclusion_required"
    assert response.json()["field"] == "conclusion"


def test_the_api_refuses_blank_takeaways_naming_the_field(ops):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    response = api_as(ops).post(
        f"/api/pilots/{pilot.pk}/move/",
        {
            "action": "stop",
            "expected_stage": "sandbox",
            "rationale": "No value.",
            "conclusion": {"outcome": "no_value", "takeaways": ""},
        },
        format="json",
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (
        "takeaways_required",
        "takeaways",
    )


def test_the_api_stops_a_pilot_with_its_conclusion(ops):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    response = api_as(ops).post(
        f"/api/pilots/{pilot.pk}/move/",
        {
            "action": "stop",
            "expected_stage": "sandbox",
            "rationale": "No value.",
            "conclusion": {
                "outcome": "no_value",
                "takeaways": "Saved nobody any time.",
                "recommendations": ["change_course"],
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    conclusion = Conclusion.objects.get(pilot=pilot)
    assert (conclusion.outcome, conclusion.recommendations) == ("no_value", ["change_course"])


# --- The pilot page ----------------------------------------------------------------------------


def test_the_pilot_page_shows_the_conclusion(client, ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    stop(
        pilot,
        ops,
        outcome="risk",
        takeaways="It leaked names into prompts.",
        recommendations=("follow_up",),
    )
    client.force_login(UserFactory())
    html = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "Not adopted: risk" in html
    assert "It leaked names into prompts." in html
    assert "Follow-up pilot" in html


def test_the_pilot_page_of_a_running_pilot_shows_no_conclusion(client):
    pilot = PilotFactory(stage=Stage.PILOT)
    client.force_login(UserFactory())
    html = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert 'id="h-conclusion"' not in html


def test_the_api_shows_a_pilot_s_conclusion_and_null_before_it(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    client = api_as(ops)
    assert client.get(f"/api/v1/pilots/{pilot.pk}/").json()["conclusion"] is None
    stop(pilot, ops, outcome="risk", takeaways="It leaked names.", recommendations=("rerun",))
    for url in (f"/api/v1/pilots/{pilot.pk}/", f"/api/pilots/{pilot.pk}/"):
        conclusion = client.get(url).json()["conclusion"]
        assert (conclusion["outcome"], conclusion["takeaways"], conclusion["recommendations"]) == (
            "risk",
            "It leaked names.",
            ["rerun"],
        )
