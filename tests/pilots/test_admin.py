"""The Ops admin, driven through its own views: lists, read-only audit, gated stage actions."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from pilots import lifecycle
from pilots.lifecycle import Action
from pilots.models import AITool, Pilot, Review, Stage, StageChange
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MembershipFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    ReviewFactory,
    SuccessMetricFactory,
    TeamFactory,
    UserFactory,
    findings_for,
)
from tests.pilots.admin_support import change_form_data as _change_form_data

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:pilots_pilot_changelist")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def choose_action(client, action: str, *pilots: Pilot):
    """Tick pilots in the list and run an action: the intermediate page answers."""
    return client.post(
        CHANGELIST, {"action": action, "index": 0, "_selected_action": [p.pk for p in pilots]}
    )


def confirm(client, action: str, *pilots: Pilot, expected: dict | None = None, **form):
    """Submit the intermediate page as rendered: expected stages in hidden fields."""
    data = {"action": action, "confirm": "yes", "_selected_action": [p.pk for p in pilots]}
    for p in pilots:
        data[f"expected_stage_{p.pk}"] = (expected or {}).get(p.pk, p.stage)
    data.update(form)
    return client.post(CHANGELIST, data, follow=True)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


# --- Lists and forms ---------------------------------------------------------------------------


def test_the_pilot_list_shows_stage_team_tool_risk_lead_and_days_in_stage(ops_client, lead, team):
    PilotFactory(
        title="Ticket drafts",
        team=team,
        lead=lead,
        tool=AIToolFactory(name="Copilot"),
        stage=Stage.SANDBOX,
        risk_level=Pilot.RiskLevel.HIGH,
        stage_changed_at=timezone.now() - datetime.timedelta(days=12),
    )
    response = ops_client.get(CHANGELIST)
    assert response.status_code == 200
    row = response.content.decode()
    for text in (
        "Ticket drafts",
        "Sandbox",
        "Support",
        "Copilot",
        "High",
        "lead",
        '<td class="field-days_in_stage">12</td>',
    ):
        assert text in row


def test_the_pilot_list_filters_by_stage_and_searches(ops_client):
    PilotFactory(title="Sandboxed drafting", stage=Stage.SANDBOX)
    PilotFactory(title="Proposed summaries", stage=Stage.PROPOSED)
    filtered = ops_client.get(CHANGELIST, {"stage__exact": "sandbox"})
    assert list(filtered.context["cl"].result_list.values_list("title", flat=True)) == [
        "Sandboxed drafting"
    ]
    searched = ops_client.get(CHANGELIST, {"q": "summaries"})
    assert list(searched.context["cl"].result_list.values_list("title", flat=True)) == [
        "Proposed summaries"
    ]
    tool_filter = ops_client.get(CHANGELIST, {"risk_level__exact": "high"})
    assert tool_filter.context["cl"].result_count == 0


def test_the_pilot_form_shows_the_stage_and_its_history_read_only(ops_client, ops2, lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    lifecycle.move(pilot.pk, Action.APPROVE, actor=ops2, expected_stage=Stage.PROPOSED)
    response = ops_client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="stage"' not in html
    assert 'name="stage_changes-0-rationale"' not in html
    assert "stage_changes-0-DELETE" not in html
    history = next(
        f for f in response.context["inline_admin_formsets"] if f.opts.model is StageChange
    )
    assert history.has_add_permission is False
    assert len(history.formset.queryset) == 2


def test_a_metric_guardrail_without_a_threshold_is_a_field_error_in_the_admin(ops_client):
    pilot = PilotFactory()
    data = _change_form_data(ops_client, pilot)
    data.update(
        {
            "guardrails-TOTAL_FORMS": 1,
            "guardrails-0-kind": "metric",
            "guardrails-0-description": "Trust stays high",
            "guardrails-0-question_key": "trust",
            "guardrails-0-statistic": "mean",
            "guardrails-0-comparator": "ge",
            "guardrails-0-threshold": "",
            "guardrails-0-action": "flag",
        }
    )
    response = ops_client.post(reverse("admin:pilots_pilot_change", args=[pilot.pk]), data)
    assert response.status_code == 200
    guardrails = next(
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "guardrails"
    )
    assert "threshold" in guardrails.formset.forms[0].errors
    assert not pilot.guardrails.exists()


def test_a_metric_target_on_the_wrong_side_of_its_baseline_is_a_field_error(ops_client):
    pilot = PilotFactory()
    data = _change_form_data(ops_client, pilot)
    data.update(
        {
            "metrics-TOTAL_FORMS": 1,
            "metrics-0-name": "Quality",
            "metrics-0-question_key": "q",
            "metrics-0-direction": "higher",
            "metrics-0-baseline": "4",
            "metrics-0-target": "3",
            "metrics-0-min_responses": 5,
        }
    )
    response = ops_client.post(reverse("admin:pilots_pilot_change", args=[pilot.pk]), data)
    metrics = next(
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "metrics"
    )
    assert "target" in metrics.formset.forms[0].errors


def test_ops_record_a_review_and_conditions_must_be_written(ops_client, ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    url = reverse("admin:pilots_review_add")
    form = ops_client.get(url).context["adminform"].form
    assert "reviewer" not in form.fields  # the reviewer is whoever records it
    data = {
        "pilot": pilot.pk,
        "kind": "security",
        "reviewed_on": "2026-01-10",
        "outcome": "cleared_with_conditions",
        "notes": "",
    }
    refused = ops_client.post(url, data)
    assert "notes" in refused.context["adminform"].form.errors
    data["notes"] = "Anonymised tickets only."
    assert ops_client.post(url, data).status_code == 302
    review = Review.objects.get(pilot=pilot)
    assert (review.outcome, review.reviewer) == ("cleared_with_conditions", ops)


def test_a_forged_reviewer_in_the_admin_form_is_ignored(ops_client, ops, ops2):
    pilot = PilotFactory(stage=Stage.PILOT)
    data = {
        "pilot": pilot.pk,
        "kind": "legal",
        "reviewer": ops2.pk,
        "reviewed_on": "2026-01-10",
        "outcome": "cleared",
    }
    assert ops_client.post(reverse("admin:pilots_review_add"), data).status_code == 302
    assert Review.objects.get(pilot=pilot).reviewer == ops


def test_four_eyes_the_admin_refuses_a_review_by_the_pilots_lead(client, team):
    ops_lead = OpsUserFactory(username="opslead")
    pilot = PilotFactory(team=team, lead=ops_lead, stage=Stage.PILOT)
    client.force_login(ops_lead)
    data = {
        "pilot": pilot.pk,
        "kind": "security",
        "reviewed_on": "2026-01-10",
        "outcome": "cleared",
    }
    response = client.post(reverse("admin:pilots_review_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("Four eyes" in e for e in errors)
    assert not Review.objects.exists()


def test_reviews_are_never_changed_or_deleted_in_the_admin(ops_client, ops2):
    review = ReviewFactory(reviewer=ops2, outcome=Review.Outcome.REFUSED, notes="Leaks.")
    change_url = reverse("admin:pilots_review_change", args=[review.pk])
    view = ops_client.get(change_url)
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert ops_client.post(change_url, {"outcome": "cleared"}).status_code == 403
    delete_url = reverse("admin:pilots_review_delete", args=[review.pk])
    assert ops_client.post(delete_url, {"post": "yes"}).status_code == 403
    listing = ops_client.post(
        reverse("admin:pilots_review_changelist"),
        {"action": "delete_selected", "_selected_action": [review.pk]},
        follow=True,
    )
    assert listing.status_code == 200
    review.refresh_from_db()
    assert (review.outcome, review.notes) == ("refused", "Leaks.")


def test_staff_with_review_permissions_but_not_ops_cannot_add_a_review(client):
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_review", "add_review", "change_review", "delete_review"]
        )
    )
    client.force_login(user)
    pilot = PilotFactory(stage=Stage.PILOT)
    data = {
        "pilot": pilot.pk,
        "kind": "security",
        "reviewed_on": "2026-01-10",
        "outcome": "cleared",
    }
    assert client.post(reverse("admin:pilots_review_add"), data).status_code == 403
    assert not Review.objects.exists()


def test_the_pilot_form_shows_its_reviews_read_only(ops_client, ops2):
    review = ReviewFactory(reviewer=ops2, notes="Anonymised only.")
    page = ops_client.get(reverse("admin:pilots_pilot_change", args=[review.pilot.pk]))
    reviews = next(
        f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "reviews"
    )
    assert not reviews.has_add_permission
    assert not reviews.has_change_permission
    assert not reviews.has_delete_permission
    assert "Anonymised only." in page.content.decode()


def test_the_stage_change_admin_lists_but_never_adds_changes_or_deletes(ops_client, lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    change = lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    assert ops_client.get(reverse("admin:pilots_stagechange_changelist")).status_code == 200
    assert ops_client.get(reverse("admin:pilots_stagechange_add")).status_code == 403
    view = ops_client.get(reverse("admin:pilots_stagechange_change", args=[change.pk]))
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert (
        ops_client.post(
            reverse("admin:pilots_stagechange_change", args=[change.pk]), {"rationale": "rewritten"}
        ).status_code
        == 403
    )
    assert (
        ops_client.post(
            reverse("admin:pilots_stagechange_delete", args=[change.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    listing = ops_client.post(
        reverse("admin:pilots_stagechange_changelist"),
        {"action": "delete_selected", "_selected_action": [change.pk]},
        follow=True,
    )
    assert listing.status_code == 200
    change.refresh_from_db()
    assert change.rationale == ""


# --- Stage actions -----------------------------------------------------------------------------


def gate_page(response) -> dict:
    """The intermediate page as rendered: template, rows by pilot id, what it offers."""
    assert response.status_code == 200
    assert response.templates[0].name == "admin/pilots/pilot/stage_action.html"
    html = response.content.decode()
    return {
        "html": html,
        "rows": {row["pilot"].pk: row for row in response.context["rows"]},
        "confirm_button": 'name="confirm" value="yes"' in html and 'type="submit"' in html,
        "override": 'name="override"' in html,
        "rationale": response.context["rationale"] if "id_rationale" in html else None,
    }


def test_approve_shows_an_intermediate_page_then_moves_and_records(ops_client, ops, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage=Stage.PROPOSED)
    page = gate_page(choose_action(ops_client, "approve", pilot))
    html = page["html"]
    assert "Proposed" in html
    assert f'name="expected_stage_{pilot.pk}" value="proposed"' in html
    assert 'name="rationale"' in html
    assert not page["override"]  # approving has no gate: there is nothing to override
    assert page["confirm_button"]
    assert "This move has no gate." in html
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROPOSED  # nothing moves before confirmation

    done = confirm(ops_client, "approve", pilot, rationale="Looks sound.")
    assert done.status_code == 200
    pilot.refresh_from_db()
    assert pilot.stage == Stage.SANDBOX
    change = StageChange.objects.get(pilot=pilot)
    assert (change.actor, change.rationale, change.action) == (ops, "Looks sound.", "approve")
    assert any("Proposed → Sandbox" in m for m in messages_of(done))


def test_the_approve_page_shows_the_whole_proposal(ops_client, ops2):
    tool = AIToolFactory(
        name="Copilot",
        vendor="Acme AI",
        approval_status=AITool.ApprovalStatus.APPROVED,
        max_data_classification="internal",
    )
    pilot = PilotFactory(
        stage=Stage.PROPOSED,
        tool=tool,
        data_classification="internal",
        risk_level=Pilot.RiskLevel.HIGH,
        hypothesis_intervention="drafting replies with the copilot",
        planned_start=datetime.date(2026, 3, 2),
        planned_end=datetime.date(2026, 5, 29),
        cadence=Pilot.Cadence.BIWEEKLY,
        cadence_weekday=1,
        response_window_days=4,
    )
    SuccessMetricFactory(
        pilot=pilot,
        name="Answer quality",
        baseline=Decimal("3.2"),
        target=Decimal("4.0"),
        min_responses=6,
    )
    GuardrailFactory(pilot=pilot, description="No customer names in prompts.")
    for first, last in (("Amy", "Adams"), ("Ben", "Brown")):
        ParticipationFactory(pilot=pilot, user=UserFactory(first_name=first, last_name=last))
    ReviewFactory(
        pilot=pilot,
        kind=Review.Kind.SECURITY,
        outcome=Review.Outcome.CLEARED_WITH_CONDITIONS,
        notes="Anonymised tickets only.",
        reviewer=ops2,
    )
    page = gate_page(choose_action(ops_client, "approve", pilot))
    proposal = page["html"].split('class="proposal-row"', 1)[1]
    for text in (
        "We believe that drafting replies with the copilot will cut reply time",
        "Answer quality",
        "baseline 3.20, target 4.00",
        "at least 6 answers",
        "No customer names in prompts.",
        "Copilot (Acme AI): Approved;",
        "takes data up to Internal, this pilot uses Internal data",
        "within the tool's ceiling",
        "<dt>Risk level</dt><dd>High</dd>",
        "Every two weeks, Tuesday; 4 days to answer",
        "2 participants: Amy Adams, Ben Brown",
        "Security: Cleared with conditions",
        "Anonymised tickets only.",
    ):
        assert text in proposal, text
    planned = proposal.split("<dt>Planned</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert planned.startswith("03/02/2026") and planned.endswith("05/29/2026")


def test_the_approve_page_says_when_data_is_above_the_tools_ceiling(ops_client):
    tool = AIToolFactory(max_data_classification="internal")
    pilot = PilotFactory(stage=Stage.PROPOSED, tool=tool, data_classification="internal")
    AITool.objects.filter(pk=tool.pk).update(max_data_classification="public")
    page = gate_page(choose_action(ops_client, "approve", pilot))
    assert "above the tool's ceiling" in page["html"]
    assert "may receive at most Public data" in page["rows"][pilot.pk]["problem"]
    assert not page["confirm_button"]


def test_the_approve_page_costs_the_same_queries_for_one_or_six_proposals(
    ops_client, django_assert_max_num_queries
):
    def proposal() -> Pilot:
        pilot = PilotFactory(stage=Stage.PROPOSED)
        SuccessMetricFactory(pilot=pilot)
        GuardrailFactory(pilot=pilot)
        ParticipationFactory(pilot=pilot)
        ReviewFactory(pilot=pilot)
        return pilot

    # Allowed: session, user, user and group permissions, is Ops; Django's changelist before
    # it runs the action: teams and tools for the list filters (twice) and two counts; then
    # the selected pilots with team, tool and lead, their metrics, guardrails, participants
    # with users, reviews with reviewers, and one query for who submitted each (four eyes).
    one = [proposal()]
    with django_assert_max_num_queries(17):
        page = gate_page(choose_action(ops_client, "approve", *one))
    assert len(page["rows"]) == 1
    six = [proposal() for _ in range(6)]
    with django_assert_max_num_queries(17):
        page = gate_page(choose_action(ops_client, "approve", *six))
    assert len(page["rows"]) == 6
    assert page["html"].count('class="proposal-row"') == 6


def test_promote_shows_each_gate_result_and_offers_the_override(ops_client):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    page = gate_page(choose_action(ops_client, "promote", pilot))
    html = page["html"]
    assert "No evidence yet" in html
    assert "At least one closed feedback round" in html
    assert "No open guardrail breach" in html
    assert page["override"] and page["confirm_button"]


def test_a_refused_promotion_stays_on_the_gate_page_naming_what_failed(ops_client):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    done = confirm(ops_client, "promote", pilot, rationale="Please.")
    page = gate_page(done)
    assert page["rows"][pilot.pk]["error"] == (
        "The gate is not passed: At least one closed feedback round with a response rate of 50%"
        " or more: no evidence yet."
    )
    assert page["rationale"] == "Please."
    assert ">Please.</textarea>" in page["html"]
    assert page["override"] and page["confirm_button"]
    pilot.refresh_from_db()
    assert pilot.stage == Stage.SANDBOX
    assert not StageChange.objects.exists()


def test_promote_with_override_and_rationale_moves_and_records_the_override(ops_client):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    now = timezone.now()
    FeedbackRoundFactory(
        pilot=pilot,
        status="closed",
        closed_at=now,
        opens_at=now - datetime.timedelta(days=3),
        closes_at=now,
        invited_count=10,
        response_count=2,
    )
    assert "Failed" in choose_action(ops_client, "promote", pilot).content.decode()
    confirm(ops_client, "promote", pilot, rationale="Exec sponsor asked.", override="on")
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    change = StageChange.objects.get(pilot=pilot)
    assert change.overridden is True
    assert change.rationale == "Exec sponsor asked."


def test_override_without_rationale_stays_on_the_page_with_the_override_kept(ops_client):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    page = gate_page(confirm(ops_client, "promote", pilot, override="on", rationale=""))
    assert "needs a written rationale" in page["rows"][pilot.pk]["error"]
    assert 'name="override" id="id_override" checked' in page["html"]
    pilot.refresh_from_db()
    assert pilot.stage == Stage.SANDBOX


@pytest.mark.parametrize(
    ("stage", "action", "target"),
    [
        (Stage.PROPOSED, "send_back", Stage.DRAFT),
        (Stage.PROPOSED, "reject", Stage.STOPPED),
        (Stage.PILOT, "pause", Stage.PAUSED),
        (Stage.PAUSED, "resume", Stage.PILOT),
        (Stage.SANDBOX, "stop", Stage.STOPPED),
        (Stage.APPROVED, "retire", Stage.RETIRED),
    ],
)
def test_each_ungated_action_moves_through_the_admin(ops_client, stage, action, target):
    pilot = PilotFactory(stage=stage, paused_from=Stage.PILOT if stage == Stage.PAUSED else "")
    page = gate_page(choose_action(ops_client, action, pilot))
    assert not page["override"]
    findings = findings_for(stage, action)
    conclusion = (
        {f"outcome_{pilot.pk}": findings.outcome, f"takeaways_{pilot.pk}": findings.takeaways}
        if findings
        else {}
    )
    confirm(ops_client, action, pilot, rationale="Decided at the Ops review.", **conclusion)
    pilot.refresh_from_db()
    assert pilot.stage == target


def test_a_missing_rationale_keeps_the_ops_on_the_page_and_nothing_moves(ops_client):
    pilot = PilotFactory(stage=Stage.PROPOSED)
    page = gate_page(confirm(ops_client, "reject", pilot, rationale="  "))
    assert page["rows"][pilot.pk]["error"] == "Give a reason for this move."
    assert "1 pilot was not moved" in page["html"]
    assert page["confirm_button"]
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROPOSED


def test_an_illegal_action_names_the_stage_and_what_is_allowed(ops_client):
    pilot = PilotFactory(stage=Stage.STOPPED)
    page = gate_page(choose_action(ops_client, "approve", pilot))
    assert "this stage is final" in page["rows"][pilot.pk]["problem"]
    assert not page["confirm_button"]
    assert "You cannot make this move (“Approve”) on any of the selected pilots" in page["html"]
    refused = gate_page(confirm(ops_client, "approve", pilot))
    error = refused["rows"][pilot.pk]["error"]
    assert "Stopped" in error and "final" in error
    assert not StageChange.objects.exists()


def test_a_stage_changed_since_the_page_was_shown_is_refused_on_the_page(ops_client, ops2):
    pilot = PilotFactory(stage=Stage.PROPOSED)
    choose_action(ops_client, "approve", pilot)
    lifecycle.move(
        pilot.pk,
        Action.REJECT,
        actor=ops2,
        expected_stage=Stage.PROPOSED,
        rationale="Out of scope.",
    )
    page = gate_page(
        confirm(ops_client, "approve", pilot, expected={pilot.pk: Stage.PROPOSED}, rationale="Ok")
    )
    row = page["rows"][pilot.pk]
    assert "changed meanwhile" in row["error"]
    assert row["pilot"].stage == Stage.STOPPED  # shown as it is now
    assert "this stage is final" in row["problem"]
    assert not page["confirm_button"]
    pilot.refresh_from_db()
    assert pilot.stage == Stage.STOPPED


def test_a_pilot_promoted_meanwhile_is_shown_again_with_its_next_gate(ops_client, ops2):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    now = timezone.now()
    FeedbackRoundFactory(
        pilot=pilot, status="closed", closed_at=now, invited_count=4, response_count=4
    )
    choose_action(ops_client, "promote", pilot)
    lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops2, expected_stage=Stage.SANDBOX)
    page = gate_page(
        confirm(ops_client, "promote", pilot, expected={pilot.pk: Stage.SANDBOX}, rationale="Good.")
    )
    row = page["rows"][pilot.pk]
    assert "changed meanwhile" in row["error"]
    assert row["pilot"].stage == Stage.PILOT
    assert {g.key for g in row["gates"]} >= {"security_review", "legal_review"}
    assert f'name="expected_stage_{pilot.pk}" value="pilot"' in page["html"]
    assert page["rationale"] == "Good."
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT


def test_four_eyes_an_ops_lead_sees_why_and_is_offered_no_approve_button(client, team):
    ops_lead = OpsUserFactory(username="opslead")
    client.force_login(ops_lead)
    pilot = PilotFactory(stage=Stage.PROPOSED, lead=ops_lead, team=team)
    page = gate_page(choose_action(client, "approve", pilot))
    assert "Four eyes" in page["rows"][pilot.pk]["problem"]
    assert not page["confirm_button"]
    assert not page["override"]
    assert 'value="Approve"' not in page["html"]
    assert "You cannot make this move" in page["html"]
    refused = gate_page(confirm(client, "approve", pilot))  # a forged confirmation
    assert "Four eyes" in refused["rows"][pilot.pk]["error"]
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROPOSED


def test_four_eyes_whoever_submitted_it_is_offered_no_promote_button(client, ops, team):
    submitter = OpsUserFactory(username="submitter")
    MembershipFactory(team=team, user=submitter, role="lead")
    pilot = PilotFactory(team=team, complete=True)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=submitter, expected_stage=Stage.DRAFT)
    lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED)
    client.force_login(submitter)
    page = gate_page(choose_action(client, "promote", pilot))
    assert "Four eyes" in page["rows"][pilot.pk]["problem"]
    assert not page["confirm_button"] and not page["override"]


def test_the_button_shows_when_at_least_one_selected_pilot_may_be_moved(client, team):
    ops_lead = OpsUserFactory(username="opslead")
    client.force_login(ops_lead)
    own = PilotFactory(stage=Stage.PROPOSED, lead=ops_lead, team=team, title="Own")
    other = PilotFactory(stage=Stage.PROPOSED, title="Other")
    page = gate_page(choose_action(client, "approve", own, other))
    assert page["confirm_button"]
    assert "Four eyes" in page["rows"][own.pk]["problem"]
    assert page["rows"][other.pk]["problem"] == ""
    # Only the pilot that may be moved is sent with the confirmation.
    assert f'name="_selected_action" value="{own.pk}"' not in page["html"]
    assert f'name="_selected_action" value="{other.pk}"' in page["html"]


def test_an_action_on_several_pilots_reports_the_moves_and_keeps_the_refused_on_the_page(
    ops_client,
):
    movable = PilotFactory(title="Movable", stage=Stage.PROPOSED)
    stuck = PilotFactory(title="Already stopped", stage=Stage.STOPPED)
    done = confirm(ops_client, "reject", movable, stuck, rationale="Portfolio cleanup.")
    page = gate_page(done)
    assert any(m.startswith("Movable: Proposed → Stopped") for m in messages_of(done))
    assert list(page["rows"]) == [stuck.pk]  # only what is left to decide
    assert "final" in page["rows"][stuck.pk]["error"]
    assert page["rationale"] is None  # nothing left that can be moved: no form
    movable.refresh_from_db()
    assert movable.stage == Stage.STOPPED


def test_a_refusal_among_several_keeps_the_rationale_for_the_next_try(ops_client):
    approvable = PilotFactory(title="Approvable", stage=Stage.PROPOSED)
    promotable = PilotFactory(title="Promotable", stage=Stage.SANDBOX)
    blocked = PilotFactory(title="Blocked", stage=Stage.SANDBOX)
    now = timezone.now()
    FeedbackRoundFactory(
        pilot=promotable,
        status="closed",
        closed_at=now,
        invited_count=4,
        response_count=4,
    )
    done = confirm(ops_client, "promote", promotable, blocked, rationale="Strong results.")
    page = gate_page(done)
    assert any(m.startswith("Promotable: Sandbox → Pilot") for m in messages_of(done))
    assert list(page["rows"]) == [blocked.pk]
    assert "no evidence yet" in page["rows"][blocked.pk]["error"]
    assert page["rationale"] == "Strong results."
    assert approvable.stage == Stage.PROPOSED


@pytest.fixture
def staff_not_ops(client):
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_pilot", "change_pilot", "delete_pilot"])
    )
    client.force_login(user)
    return client


def test_staff_who_are_not_ops_see_no_stage_actions(staff_not_ops):
    PilotFactory(stage=Stage.PROPOSED)
    response = staff_not_ops.get(CHANGELIST)
    assert response.status_code == 200
    choices = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert "delete_selected" in choices
    for action in (
        "approve",
        "send_back",
        "reject",
        "promote",
        "pause",
        "resume",
        "stop",
        "retire",
    ):
        assert action not in choices


def test_staff_who_are_not_ops_cannot_post_a_stage_action(staff_not_ops):
    pilot = PilotFactory(stage=Stage.PROPOSED)
    page = choose_action(staff_not_ops, "approve", pilot)
    assert page.status_code == 302  # Django refuses an action it did not offer
    confirm(staff_not_ops, "approve", pilot, rationale="Sneaky.")
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROPOSED
    assert not StageChange.objects.exists()


def test_the_tool_and_team_admins_answer(ops_client):
    AIToolFactory(name="Copilot")
    TeamFactory(name="Legal", slug="legal")
    assert "Copilot" in ops_client.get(reverse("admin:pilots_aitool_changelist")).content.decode()
    assert "Legal" in ops_client.get(reverse("admin:pilots_team_changelist")).content.decode()
    assert ops_client.get(reverse("admin:pilots_team_add")).status_code == 200


def test_a_pilot_with_a_stage_history_cannot_be_deleted_from_the_admin(ops_client, lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    url = reverse("admin:pilots_pilot_delete", args=[pilot.pk])
    page = ops_client.get(url)
    assert "<title>Cannot delete pilot" in page.content.decode()
    assert page.context["protected"]  # the stage history protects it
    ops_client.post(url, {"post": "yes"})
    assert Pilot.objects.filter(pk=pilot.pk).exists()
    assert StageChange.objects.filter(pilot=pilot).count() == 1


def test_the_pilot_form_links_to_a_review_form_for_that_pilot(ops_client):
    pilot = PilotFactory(stage=Stage.PILOT)
    page = ops_client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    link = f"{reverse('admin:pilots_review_add')}?pilot={pilot.pk}"
    assert f'<a href="{link}">Record a security or legal review</a>' in page
    form = ops_client.get(link).context["adminform"].form
    assert str(form.initial["pilot"]) == str(pilot.pk)


# --- Looking up people, the admin's name -------------------------------------------------------


def test_an_ops_user_who_is_not_a_superuser_can_look_up_a_lead(client, lead):
    ops = OpsUserFactory(username="plain-ops")
    assert not ops.is_superuser
    client.force_login(ops)
    pilot = PilotFactory(lead=lead)
    form = client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    lookup = reverse("admin:auth_user_changelist")
    assert f'href="{lookup}?_to_field=id"' in form  # the magnifying glass next to "lead"
    popup = client.get(lookup, {"_to_field": "id", "_popup": "1", "q": "lead"})
    assert popup.status_code == 200
    assert [u.username for u in popup.context["cl"].result_list] == ["lead"]
    # Looking, not editing: Ops are given no say over accounts.
    change = reverse("admin:auth_user_change", args=[lead.pk])
    assert client.post(change, {"username": "renamed", "is_superuser": "on"}).status_code == 403
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
    lead.refresh_from_db()
    assert (lead.username, lead.is_superuser) == ("lead", False)


def test_staff_outside_ops_still_cannot_list_the_users(client):
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_pilot"))
    client.force_login(user)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_the_admin_says_ai_pilot_tracker_not_django(ops_client):
    index = ops_client.get(reverse("admin:index")).content.decode()
    assert "<title>AI Pilot Tracker administration | AI Pilot Tracker</title>" in index
    assert '<a href="/admin/">AI Pilot Tracker</a>' in index  # the header
    assert "<h1>AI Pilot Tracker administration</h1>" in index
    pilots = ops_client.get(CHANGELIST).content.decode()
    assert "| AI Pilot Tracker</title>" in pilots
    for page in (index, pilots):
        assert "Django administration" not in page
        assert "Django site admin" not in page
