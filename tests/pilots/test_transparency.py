"""A tool is approved only once people can know what it does with their data."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from core.exceptions import ValidationFailed
from core.models import ChangeRecord
from pilots import tools, transparency
from pilots.models import AITool
from tests.factories import AIToolFactory

pytestmark = pytest.mark.django_db

FACTS = {
    "model_name": "Acme-LM",
    "model_version": "",
    "data_processed_in": "EU (Ireland)",
    "data_stored_in": "EU (Ireland)",
    "vendor_retention": "30 days, then deleted",
    "trains_on_customer_data": "no",
    "output_ownership": "The customer owns all outputs",
    "model_card_url": "https://vendor.example/card",
    "dpa_url": "https://vendor.example/dpa",
    "security_docs_url": "https://vendor.example/security",
}


def approve(tool: AITool, actor, **changes) -> AITool:
    return tools.save_tool(tool.pk, actor=actor, fields={"approval_status": "approved", **changes})


def complete(**overrides) -> dict:
    return {**FACTS, "transparency_checked_on": timezone.localdate(), **overrides}


@pytest.mark.parametrize("field", transparency.REQUIRED_FACTS)
def test_a_tool_missing_any_fact_cannot_be_approved_and_the_error_names_it(ops, field):
    tool = AIToolFactory()
    blank = "unknown" if field == "trains_on_customer_data" else ""
    facts = complete(**{field: None if field == "transparency_checked_on" else blank})

    with pytest.raises(ValidationFailed) as refused:
        approve(tool, ops, **facts)

    assert refused.value.code == "transparency_incomplete"
    assert refused.value.field == field
    tool.refresh_from_db()
    assert tool.approval_status == AITool.ApprovalStatus.UNDER_EVALUATION
    assert tool.model_name == ""  # nothing half-written
    assert not ChangeRecord.objects.filter(action="tool.changed").exists()


def test_a_complete_tool_is_approved_with_a_change_record(ops):
    tool = AIToolFactory()

    approve(tool, ops, **complete())

    tool.refresh_from_db()
    assert tool.approval_status == AITool.ApprovalStatus.APPROVED
    assert transparency.missing_facts(tool) == []
    record = ChangeRecord.objects.get(action="tool.changed")
    assert record.changes["approval_status"] == ["under_evaluation", "approved"]
    assert record.changes["dpa_url"] == ["", FACTS["dpa_url"]]


def test_a_tool_checked_longer_ago_than_the_recheck_period_cannot_be_approved(ops, settings):
    settings.TOOL_RECHECK_DAYS = 30
    tool = AIToolFactory()
    checked = timezone.localdate() - datetime.timedelta(days=31)

    with pytest.raises(ValidationFailed) as refused:
        approve(tool, ops, **complete(transparency_checked_on=checked))
    assert (refused.value.code, refused.value.field) == (
        "transparency_stale",
        "transparency_checked_on",
    )

    approve(tool, ops, **complete(transparency_checked_on=checked + datetime.timedelta(days=1)))
    tool.refresh_from_db()
    assert tool.approval_status == AITool.ApprovalStatus.APPROVED


def test_a_tool_approved_before_the_facts_existed_stays_approved_and_editable(ops):
    legacy = AIToolFactory(approval_status=AITool.ApprovalStatus.APPROVED)

    tools.save_tool(legacy.pk, actor=ops, fields={"notes": "Renewed the licence."})

    legacy.refresh_from_db()
    assert legacy.approval_status == AITool.ApprovalStatus.APPROVED
    assert legacy in AITool.objects.recheck_due(timezone.localdate())


def test_the_admin_refuses_approval_without_the_facts_on_the_field(client, ops):
    client.force_login(ops)
    form = {
        "name": "New tool",
        "vendor": "Vendor",
        "approval_status": "approved",
        "max_data_classification": "internal",
        "trains_on_customer_data": "unknown",
        "cost_model": "none",
        "notes": "",
    }

    page = client.post(reverse("admin:pilots_aitool_add"), form)

    assert page.status_code == 200
    assert "model_name" in page.context["adminform"].form.errors
    assert not AITool.objects.filter(name="New tool").exists()

    form.update(complete(transparency_checked_on=timezone.localdate().isoformat()))
    assert client.post(reverse("admin:pilots_aitool_add"), form).status_code == 302
    added = AITool.objects.get(name="New tool")
    assert added.approval_status == AITool.ApprovalStatus.APPROVED
    assert ChangeRecord.objects.filter(action="tool.added", actor=ops).count() == 1


def test_the_api_refuses_approval_without_the_facts_with_code_and_field(client, ops):
    client.force_login(ops)
    body = {"name": "Api tool", "vendor": "V", "approval_status": "approved"}

    refused = client.post("/api/v1/tools/", body, content_type="application/json")

    assert refused.status_code == 400
    assert (refused.json()["code"], refused.json()["field"]) == (
        "transparency_incomplete",
        "model_name",
    )
    body.update(complete(transparency_checked_on=timezone.localdate().isoformat()))
    created = client.post("/api/v1/tools/", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["dpa_url"] == FACTS["dpa_url"]


def test_everyone_reads_the_facts_in_plain_words_on_the_tool_page(client, participant):
    tool = AIToolFactory(
        transparent=True, approval_status="approved", trains_on_customer_data="yes"
    )
    client.force_login(participant)

    page = client.get(reverse("tool_detail", args=[tool.pk])).content.decode()

    assert "Acme-LM, version 2.1" in page
    assert "EU (Ireland)" in page
    assert "30 days, then deleted" in page
    assert "The vendor trains its models on what we send it." in page
    assert 'href="https://vendor.example/dpa"' in page
    assert "Ops have not recorded all of this yet" not in page
    registry = client.get(reverse("tool_registry")).content.decode()
    assert tool.get_absolute_url() in registry


def test_the_tool_page_says_what_is_missing(client, participant):
    tool = AIToolFactory(model_name="Acme-LM")
    client.force_login(participant)

    page = client.get(reverse("tool_detail", args=[tool.pk])).content.decode()

    assert "Ops have not recorded all of this yet" in page
    assert "We do not know yet whether the vendor trains on our data." in page
    assert page.count("Not recorded yet.") == 7  # training has its own sentence


def test_ops_home_flags_tools_past_their_recheck_and_nobody_else_sees_it(
    client, ops, lead, settings
):
    settings.TOOL_RECHECK_DAYS = 365
    today = timezone.localdate()
    stale = AIToolFactory(
        name="Stale",
        transparent=True,
        approval_status="approved",
        transparency_checked_on=today - datetime.timedelta(days=366),
    )
    fresh = AIToolFactory(
        name="Fresh",
        transparent=True,
        approval_status="approved",
        transparency_checked_on=today - datetime.timedelta(days=365),
    )
    AIToolFactory(name="Banned", approval_status="not_allowed")  # not in use: nothing to check

    client.force_login(ops)
    flagged = client.get(reverse("home")).context["ops"]["tools_to_check"]

    assert flagged == [stale]
    assert fresh not in flagged
    client.force_login(lead)
    assert stale.get_absolute_url() not in client.get(reverse("home")).content.decode()


def test_the_database_refuses_an_unknown_training_answer():
    with pytest.raises(IntegrityError):
        AIToolFactory(trains_on_customer_data="maybe")


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_approved_tools_approved_and_flags_them():
    executor = MigrationExecutor(connection)
    executor.migrate([("pilots", "0015_decision_requests")])
    old_apps = executor.loader.project_state([("pilots", "0015_decision_requests")]).apps
    OldTool = old_apps.get_model("pilots", "AITool")
    OldTool.objects.create(name="Legacy", vendor="V", approval_status="approved")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    legacy = AITool.objects.get(name="Legacy")
    assert legacy.approval_status == AITool.ApprovalStatus.APPROVED
    assert legacy.trains_on_customer_data == "unknown"
    assert "model_name" in transparency.missing_facts(legacy)
    assert legacy in AITool.objects.recheck_due(timezone.localdate())
