"""Pilot templates: Ops save what worked, leads start a proposal from it."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord
from feedback import pilot_questions
from feedback.models import Question
from pilots import pilot_templates, proposals
from pilots.models import Pilot, PilotTemplate
from tests.factories import (
    AIToolFactory,
    GuardrailFactory,
    MembershipFactory,
    MetricGuardrailFactory,
    PilotFactory,
    SuccessMetricFactory,
    UserFactory,
)
from tests.pilots.start_support import form_data

pytestmark = pytest.mark.django_db

METRIC_COLUMNS = ("name", "question_key", "direction", "baseline", "target", "min_responses")
GUARDRAIL_COLUMNS = (
    "kind",
    "description",
    "forbids_data_exposure",
    "question_key",
    "statistic",
    "comparator",
    "threshold",
    "action",
)


@pytest.fixture
def tool():
    return AIToolFactory(name="Copilot", max_data_classification="confidential")


@pytest.fixture
def source(lead, team, tool):
    """A running pilot whose first metric is measured by a question of its own."""
    pilot = PilotFactory(lead=lead, team=team, tool=tool, stage="pilot", cadence="weekly")
    pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="handover_minutes",
        text="How many minutes did the handover take?",
        kind="number",
        min_value=Decimal("0"),
        max_value=Decimal("120"),
        language="en",
    )
    SuccessMetricFactory(
        pilot=pilot,
        name="Handover time",
        question_key="handover_minutes",
        direction="lower",
        baseline=Decimal("30"),
        target=Decimal("20"),
        min_responses=8,
    )
    SuccessMetricFactory(pilot=pilot, name="Reply quality", question_key="quality")
    MetricGuardrailFactory(pilot=pilot)
    GuardrailFactory(pilot=pilot, description="A human reviews every reply.")
    return pilot


def _rows(pilot: Pilot) -> tuple[list, list]:
    return (
        list(pilot.metrics.order_by("pk").values_list(*METRIC_COLUMNS)),
        list(pilot.guardrails.order_by("pk").values_list(*GUARDRAIL_COLUMNS)),
    )


def _fill_in(data: dict, *, team, participant) -> dict:
    start = timezone.localdate() + datetime.timedelta(days=10)
    data.update(
        {
            "title": ["Handover drafts"],
            "team": [str(team.pk)],
            "problem": ["Shift handovers take too long."],
            "planned_start": [start.isoformat()],
            "planned_end": [(start + datetime.timedelta(days=60)).isoformat()],
            "participants": [str(participant.pk)],
            "action": ["save"],
        }
    )
    return data


def test_a_template_saved_from_a_pilot_reproduces_its_metrics_guardrails_and_questions(
    client, ops, lead, team, participant, source
):
    client.force_login(ops)
    response = client.post(
        reverse("pilot_save_as_template", args=[source.pk]), {"name": "Handover drafts"}
    )
    assert response.status_code == 302
    template = PilotTemplate.objects.get()
    assert (template.name, template.source_pilot, template.cadence) == (
        "Handover drafts",
        source,
        "weekly",
    )
    record = ChangeRecord.objects.get(action="template.created")
    assert record.actor == ops
    assert record.changes["saved_from"] == [None, source.pk]

    client.force_login(lead)
    pilots_before = Pilot.objects.count()
    page = client.get(reverse("pilot_propose"), {"template": template.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert "How many minutes did the handover take?" in html
    assert 'value="Handover time"' in html
    assert "A human reviews every reply." in html
    assert Pilot.objects.count() == pilots_before  # opening the page saves nothing

    response = client.post(
        reverse("pilot_propose"), _fill_in(form_data(html), team=team, participant=participant)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    new = Pilot.objects.exclude(pk=source.pk).get()
    assert (new.stage, new.lead, new.tool, new.cadence) == ("draft", lead, source.tool, "weekly")
    assert _rows(new) == _rows(source)
    question = Question.objects.get(pilot=new)
    assert (question.key, question.kind, question.max_value) == (
        "handover_minutes",
        "number",
        Decimal("120"),
    )
    created = ChangeRecord.objects.get(action="pilot.created", subject_id=str(new.pk))
    assert created.changes["template"] == [None, template.pk]
    # The own question was added through feedback's rules, with its own record.
    assert ChangeRecord.objects.filter(action="question.added", scope_id=new.pk).count() == 1


def test_a_template_with_a_question_key_nobody_asks_is_refused_naming_the_field(ops, tool):
    with pytest.raises(ValidationFailed) as refused:
        pilot_templates.write(
            None,
            actor=ops,
            name="Broken",
            fields={"tool": tool},
            metrics=[{"name": "Speed", "question_key": "no_such_question", "target": "4"}],
            guardrails=[],
            questions=[],
        )
    assert (refused.value.code, refused.value.field) == (
        "unknown_question",
        "metrics-0-question_key",
    )
    assert not PilotTemplate.objects.exists()


def test_a_template_may_measure_its_own_questions_but_not_reuse_a_questionnaire_key(ops):
    question = {"key": "handover_minutes", "text": "Minutes?", "kind": "number"}
    question.update(min_value="0", max_value="120", language="en")
    template = pilot_templates.write(
        None,
        actor=ops,
        name="Own question",
        fields={},
        metrics=[{"name": "Time", "question_key": "handover_minutes", "target": "10"}],
        guardrails=[],
        questions=[question],
    )
    assert template.metrics[0]["question_key"] == "handover_minutes"
    with pytest.raises(ValidationFailed) as refused:
        pilot_templates.write(
            None,
            actor=ops,
            name="Taken key",
            fields={},
            metrics=[],
            guardrails=[],
            questions=[{**question, "key": "quality"}],
        )
    assert (refused.value.code, refused.value.field) == ("duplicate_key", "questions-0-key")


def test_the_admin_refuses_an_invalid_key_and_names_the_row_and_field(client, ops, tool):
    client.force_login(ops)
    response = client.post(
        reverse("admin:pilots_pilottemplate_add"),
        {
            "name": "From the admin",
            "tool": str(tool.pk),
            "data_classification": "internal",
            "risk_level": "limited",
            "cadence": "biweekly",
            "cadence_weekday": "0",
            "response_window_days": "3",
            "anonymous_feedback": "on",
            "metrics": json.dumps(
                [
                    {"name": "Quality", "question_key": "quality", "target": "4"},
                    {"name": "Speed", "question_key": "speeed", "target": "4"},
                ]
            ),
            "guardrails": "[]",
            "questions": "[]",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "row 2, question_key" in errors["metrics"][0]
    assert "speeed" in errors["metrics"][0]
    assert not PilotTemplate.objects.exists()


def test_ops_write_a_template_in_the_admin_with_a_change_record(client, ops, tool):
    client.force_login(ops)
    response = client.post(
        reverse("admin:pilots_pilottemplate_add"),
        {
            "name": "Meeting notes",
            "tool": str(tool.pk),
            "hypothesis_intervention": "drafting meeting notes",
            "data_classification": "internal",
            "risk_level": "minimal",
            "cadence": "monthly",
            "cadence_weekday": "2",
            "response_window_days": "5",
            "metrics": json.dumps([{"name": "Quality", "question_key": "quality", "target": "4"}]),
            "guardrails": json.dumps([{"description": "Notes are checked before sharing."}]),
            "questions": "[]",
        },
    )
    assert response.status_code == 302
    template = PilotTemplate.objects.get()
    assert (template.risk_level, template.response_window_days) == ("minimal", 5)
    assert template.metrics == [
        {
            "name": "Quality",
            "question_key": "quality",
            "direction": "higher",
            "baseline": None,
            "target": "4",
            "min_responses": 10,
        }
    ]
    record = ChangeRecord.objects.get(action="template.created")
    assert (record.actor, record.changes["name"]) == (ops, [None, "Meeting notes"])


def test_only_ops_save_a_pilot_as_a_template(client, lead, source):
    client.force_login(lead)
    response = client.post(reverse("pilot_save_as_template", args=[source.pk]), {"name": "Mine"})
    assert response.status_code == 403
    with pytest.raises(PermissionRefused):
        pilot_templates.save_from_pilot(source.pk, actor=lead, name="Mine")
    assert not PilotTemplate.objects.exists()


def test_the_same_template_name_twice_is_refused_on_the_name(ops, source):
    pilot_templates.save_from_pilot(source.pk, actor=ops, name="Handover")
    with pytest.raises(ValidationFailed) as refused:
        pilot_templates.save_from_pilot(source.pk, actor=ops, name="Handover")
    assert (refused.value.code, refused.value.field) == ("duplicate_name", "name")
    assert PilotTemplate.objects.count() == 1


def test_the_database_refuses_a_template_answer_window_out_of_range():
    with pytest.raises(IntegrityError):
        PilotTemplate.objects.create(name="Too long", response_window_days=30)


def test_the_propose_page_lists_templates_with_a_start_link(client, lead, ops, source):
    pilot_templates.save_from_pilot(source.pk, actor=ops, name="Handover drafts")
    client.force_login(lead)
    html = client.get(reverse("pilot_propose")).content.decode()
    template = PilotTemplate.objects.get()
    assert f'href="/pilots/propose/?template={template.pk}"' in html
    assert "Handover drafts" in html


def test_an_unknown_template_is_not_found(client, lead):
    client.force_login(lead)
    assert client.get(reverse("pilot_propose"), {"template": "999"}).status_code == 404


def test_a_proposal_from_a_template_whose_question_key_is_now_taken_is_refused_whole(
    ops, lead, team
):
    """The own questions are recreated in the draft's transaction: a refused one leaves no
    draft behind."""
    proposal = proposals.Proposal(
        fields={"title": "T", "problem": "P", "tool": AIToolFactory()},
        questions=[{"key": "Bad Key", "text": "?", "kind": "yes_no", "language": "en"}],
    )
    with pytest.raises(ValidationFailed) as refused:
        proposals.create_draft(actor=lead, team=team, proposal=proposal)
    assert (refused.value.code, refused.value.field) == ("invalid_key", "questions-0-key")
    assert not Pilot.objects.exists()


@pytest.mark.parametrize("templates", [2, 30])
def test_the_propose_page_with_templates_keeps_its_query_budget(
    client, django_assert_max_num_queries, templates
):
    # session, user, teams led (2), tools, members, asked questions, tool hints, templates.
    team = MembershipFactory(role="lead").team
    lead = team.memberships.get().user
    for i in range(templates):
        PilotTemplate.objects.create(name=f"Template {i}", tool=AIToolFactory())
    MembershipFactory(team=team, user=UserFactory())
    client.force_login(lead)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("pilot_propose"))
    assert response.status_code == 200
    assert response.content.decode().count("?template=") == templates


def test_the_pilot_list_action_saves_each_chosen_pilot_as_a_template(client, ops, source):
    client.force_login(ops)
    response = client.post(
        reverse("admin:pilots_pilot_changelist"),
        {"action": "save_as_template", "_selected_action": [str(source.pk)]},
    )
    assert response.status_code == 302
    template = PilotTemplate.objects.get()
    assert (template.name, len(template.metrics), len(template.questions)) == (source.title, 2, 1)
    # The source pilot's history says so.
    html = client.get(source.get_absolute_url()).content.decode()
    assert "Saved as a pilot template" in html


def test_only_ops_see_the_save_as_template_button_on_the_pilot_page(client, ops, lead, source):
    client.force_login(lead)
    assert "Save as template" not in client.get(source.get_absolute_url()).content.decode()
    client.force_login(ops)
    html = client.get(source.get_absolute_url()).content.decode()
    assert reverse("pilot_save_as_template", args=[source.pk]) in html


def test_deleting_a_template_leaves_a_change_record(ops, source):
    template = pilot_templates.save_from_pilot(source.pk, actor=ops, name="Gone soon")
    pilot_templates.delete(template.pk, actor=ops)
    assert not PilotTemplate.objects.exists()
    record = ChangeRecord.objects.get(action="template.deleted")
    assert (record.actor, record.changes["name"]) == (ops, ["Gone soon", None])
