import pytest
from playwright.sync_api import expect

from pilots import lifecycle
from pilots.models import Pilot, StageChange
from tests.browser.conftest import screenshot
from tests.factories import (
    GuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ops_approve_a_proposal_in_the_admin_with_a_rationale(
    browser_page, ops, lead, team, participant
):
    pilot = PilotFactory(lead=lead, team=team, title="Reply drafts")
    SuccessMetricFactory(pilot=pilot)
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    page = browser_page

    page.goto("/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw")
    page.locator("input[type=submit]").click()
    page.goto("/admin/pilots/pilot/?stage__exact=proposed")
    page.locator(f'input[name="_selected_action"][value="{pilot.pk}"]').check()
    page.select_option('select[name="action"]', "approve")
    page.locator('button[name="index"]').click()

    # The intermediate page: gates (none for approval) and the rationale.
    expect(page.get_by_role("heading", name="Approve: check the gates")).to_be_visible()
    expect(page.get_by_text("This move has no gate.")).to_be_visible()
    page.fill("#id_rationale", "Clear hypothesis and guardrails; start with five agents.")
    screenshot(page, "admin-approve-intermediate")
    page.locator('input[type=submit][value="Approve"]').click()

    expect(page.locator(".messagelist")).to_contain_text("Proposed → Sandbox")
    pilot.refresh_from_db()
    assert pilot.stage == "sandbox"
    change = StageChange.objects.filter(pilot=pilot).latest()
    assert (change.actor, change.action) == (ops, "approve")

    # The decision and its reason show on the pilot's own page.
    page.goto(Pilot.objects.get(pk=pilot.pk).get_absolute_url())
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Proposed → Sandbox")
    expect(timeline).to_contain_text("Clear hypothesis and guardrails; start with five agents.")
    screenshot(page, "admin-approved-pilot-page")
