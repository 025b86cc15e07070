"""Metrics and guardrails in the admin: keys checked in the pilot's inlines, Ops repairs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from pilots.models import Guardrail, SuccessMetric
from tests.factories import (
    FeedbackRoundFactory,
    MetricGuardrailFactory,
    PilotFactory,
    ResponseFactory,
    SuccessMetricFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.pilots.admin_support import change_form_data

pytestmark = pytest.mark.django_db

METRICS = reverse("admin:pilots_successmetric_changelist")
GUARDRAILS = reverse("admin:pilots_guardrail_changelist")


@pytest.fixture(autouse=True)
def _pulse():
    return pulse_questionnaire()


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def inline_errors(response, prefix: str) -> list[dict]:
    formset = next(
        f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == prefix
    )
    return [dict(form.errors) for form in formset.forms]


def metric_row(i: int, metric: SuccessMetric | None = None, **values) -> dict:
    row = {
        "name": "Quality",
        "question_key": "quality",
        "direction": "higher",
        "baseline": "3",
        "target": "4",
        "min_responses": 5,
    }
    if metric is not None:
        row = {
            "id": metric.pk,
            "pilot": metric.pilot_id,
            "name": metric.name,
            "question_key": metric.question_key,
            "direction": metric.direction,
            "baseline": metric.baseline,
            "target": metric.target,
            "min_responses": metric.min_responses,
        }
    row.update(values)
    return {f"metrics-{i}-{name}": value for name, value in row.items()}


def post_pilot(client, pilot, *rows: dict, initial: int = 0, **changes):
    data = change_form_data(client, pilot)
    data.update({"metrics-TOTAL_FORMS": len(rows), "metrics-INITIAL_FORMS": initial})
    for row in rows:
        data.update(row)
    data.update(changes)
    return client.post(reverse("admin:pilots_pilot_change", args=[pilot.pk]), data)


# --- The pilot's inlines ------------------------------------------------------------------------


def test_the_pilot_admin_refuses_a_metric_key_that_names_no_question_on_its_field(ops_client):
    pilot = PilotFactory()

    response = post_pilot(ops_client, pilot, metric_row(0, question_key="qualty"))

    assert response.status_code == 200
    [errors] = inline_errors(response, "metrics")
    assert errors["question_key"] == [
        "“qualty” is not a question this pilot's feedback asks: choose one from the list."
    ]
    assert not pilot.metrics.exists()
    assert post_pilot(ops_client, pilot, metric_row(0)).status_code == 302
    assert pilot.metrics.get().question_key == "quality"


def test_the_pilot_admin_refuses_a_mean_of_a_yes_no_question_on_the_statistic(ops_client):
    pilot = PilotFactory()
    data = {
        "guardrails-TOTAL_FORMS": 1,
        "guardrails-0-kind": "metric",
        "guardrails-0-description": "Few incidents",
        "guardrails-0-question_key": "incident",
        "guardrails-0-statistic": "mean",
        "guardrails-0-comparator": "le",
        "guardrails-0-threshold": "0.2",
        "guardrails-0-action": "flag",
    }

    response = post_pilot(ops_client, pilot, **data)

    [errors] = inline_errors(response, "guardrails")
    assert "needs a number or scale question" in errors["statistic"][0]
    assert not pilot.guardrails.exists()
    data["guardrails-0-statistic"] = "yes_share"
    assert post_pilot(ops_client, pilot, **data).status_code == 302
    assert pilot.guardrails.get().statistic == "yes_share"


def label(questionnaire, key: str) -> str:
    return escape(f"{questionnaire.questions.get(key=key).text} ({key})")


def test_the_pilot_admin_lists_the_pilot_s_questions_by_their_text(ops_client, _pulse):
    pilot = PilotFactory()
    SuccessMetricFactory(pilot=pilot, question_key="quality")
    html = ops_client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    assert f'<option value="quality" selected>{label(_pulse, "quality")}</option>' in html


def test_an_admin_edit_keeping_a_row_with_an_unknown_key_is_refused_as_a_leads_edit_is(
    ops_client,
):
    """The admin saves through pilots.proposals: the draft's rows must name asked questions."""
    pilot = PilotFactory(title="Before")
    metric = SuccessMetricFactory(pilot=pilot, question_key="qualty")

    response = post_pilot(ops_client, pilot, metric_row(0, metric), initial=1, title="After")

    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "qualty" in message
    pilot.refresh_from_db()
    metric.refresh_from_db()
    assert (pilot.title, metric.question_key) == ("Before", "qualty")


def test_outside_draft_the_pilot_admin_shows_metrics_and_guardrails_read_only(ops_client):
    """What Ops approved is what the gates judge: no edit, add or delete once submitted."""
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, question_key="trust")
    guardrail = MetricGuardrailFactory(pilot=pilot, threshold=3)
    ResponseFactory(round=FeedbackRoundFactory(pilot=pilot))

    page = ops_client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    assert 'name="metrics-0-question_key"' not in page
    assert 'name="guardrails-0-threshold"' not in page
    assert 'name="guardrails-MAX_NUM_FORMS" value="0"' in page  # no row can be added either
    post_pilot(ops_client, pilot, metric_row(0, metric, question_key="quality"), initial=1)

    metric.refresh_from_db()
    guardrail.refresh_from_db()
    assert (metric.question_key, guardrail.threshold) == ("trust", 3)


# --- The lists and the repairs ------------------------------------------------------------------


def test_the_metric_list_shows_each_question_and_flags_a_key_no_question_has(ops_client, _pulse):
    pilot = PilotFactory(title="Reply drafts")
    SuccessMetricFactory(pilot=pilot, name="Typo", question_key="qualty")
    SuccessMetricFactory(pilot=pilot, name="Fine", question_key="trust")

    html = ops_client.get(METRICS).content.decode()

    assert "“qualty”: not a question this pilot asks" in html
    assert label(_pulse, "trust") in html


def test_ops_correct_a_metric_s_key_through_the_intermediate_page(ops_client):
    metric = SuccessMetricFactory(pilot=PilotFactory(stage="sandbox"), question_key="qualty")
    ticked = {"action": "correct_question_key", "_selected_action": [metric.pk]}

    page = ops_client.post(METRICS, ticked)

    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="question_key_{metric.pk}"' in html
    assert 'value="quality"' in html
    assert 'value="comment"' not in html  # a text question cannot measure a metric
    done = ops_client.post(
        METRICS, {**ticked, "confirm": "yes", f"question_key_{metric.pk}": "quality"}, follow=True
    )
    metric.refresh_from_db()
    assert metric.question_key == "quality"
    assert any("now measured by “quality”" in m for m in messages_of(done))


def test_a_correction_after_an_answered_round_is_refused_with_the_reason(ops_client):
    pilot = PilotFactory(stage="pilot")
    guardrail = MetricGuardrailFactory(pilot=pilot, question_key="trsut")
    ResponseFactory(round=FeedbackRoundFactory(pilot=pilot))
    ticked = {"action": "correct_question_key", "_selected_action": [guardrail.pk]}

    page = ops_client.post(GUARDRAILS, ticked).content.decode()
    assert "its keys can no longer be corrected" in page
    refused = ops_client.post(
        GUARDRAILS, {**ticked, "confirm": "yes", f"question_key_{guardrail.pk}": "trust"}
    )

    assert refused.status_code == 200
    assert "already has answered feedback rounds" in refused.content.decode()
    guardrail.refresh_from_db()
    assert guardrail.question_key == "trsut"


def test_ops_disable_a_guardrail_with_a_reason_and_it_shows_as_disabled(ops_client, ops):
    pilot = PilotFactory(stage="pilot")
    guardrail = MetricGuardrailFactory(pilot=pilot, question_key="trsut")
    ticked = {"action": "disable_with_reason", "_selected_action": [guardrail.pk]}

    asked = ops_client.post(GUARDRAILS, {**ticked, "confirm": "yes", "reason": " "})
    assert asked.status_code == 200
    assert "Say why the guardrail is disabled" in asked.content.decode()
    guardrail.refresh_from_db()
    assert guardrail.is_enabled

    ops_client.post(GUARDRAILS, {**ticked, "confirm": "yes", "reason": "Names no question."})

    guardrail.refresh_from_db()
    assert (guardrail.disabled_by, guardrail.disabled_reason) == (ops, "Names no question.")
    listing = ops_client.get(GUARDRAILS).content.decode()
    assert "Disabled by ops: Names no question." in listing
    change = ops_client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk]))
    assert "Names no question." in change.content.decode()
    disabled_only = ops_client.get(GUARDRAILS, {"enabled": "no"}).context["cl"].result_list
    assert list(disabled_only) == [guardrail]


def test_the_repairs_are_offered_to_ops_only_and_the_lists_are_view_only(ops_client):
    staff = UserFactory(username="auditor", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_successmetric", "view_guardrail"])
    )
    guardrail = MetricGuardrailFactory()
    client = Client()
    client.force_login(staff)

    listing = client.get(GUARDRAILS)
    assert listing.status_code == 200
    assert "disable_with_reason" not in listing.content.decode()
    client.post(
        GUARDRAILS,
        {
            "action": "disable_with_reason",
            "_selected_action": [guardrail.pk],
            "confirm": "yes",
            "reason": "Sneaky",
        },
    )
    guardrail.refresh_from_db()
    assert guardrail.is_enabled
    assert "disable_with_reason" in ops_client.get(GUARDRAILS).content.decode()
    assert ops_client.get(reverse("admin:pilots_guardrail_add")).status_code == 403
    assert Guardrail.objects.count() == 1
