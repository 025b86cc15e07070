"""Issue 12's walk, in a browser: a lead asks for a promotion from the pilot page, Ops promote
with a conclusion in the admin, the learning appears in the library and the tool's use on the
radar in Adopt, and a new proposal on the same tool shows the learning."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pilots.models import DecisionRequest, Pilot, StageChange
from tests.browser.conftest import screenshot, sign_in
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    AIToolFactory,
    GuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    ReviewFactory,
    SuccessMetricFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAKEAWAYS = "Drafts cut reply time; agents still check names before sending."


def test_a_promotion_asked_for_and_decided_becomes_a_learning_and_an_adopt_entry(
    browser_page, ops, ops2, lead, team, participant
):
    tool = AIToolFactory(name="Support Copilot", approval_status="approved")
    pilot = PilotFactory(
        lead=lead, team=team, tool=tool, title="Ticket reply drafts", stage="pilot"
    )
    SuccessMetricFactory(
        pilot=pilot,
        name="Answer quality",
        question_key="quality",
        baseline=Decimal("3"),
        target=Decimal("3.5"),
        min_responses=5,
    )
    # Its past, last quarter: approved into a sandbox, then promoted to pilot.
    long_ago = timezone.now() - datetime.timedelta(days=150)
    for days, (action, source, target) in enumerate(
        [("approve", "proposed", "sandbox"), ("promote", "sandbox", "pilot")]
    ):
        StageChange.objects.create(
            pilot=pilot,
            action=action,
            from_stage=source,
            to_stage=target,
            actor=ops2,
            created_at=long_ago + datetime.timedelta(days=30 * days),
        )
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    add_round(pilot, scores("quality", [4, 5, 4, 5, 4, 5, 4, 5]))
    for kind in ("security", "legal"):
        ReviewFactory(pilot=pilot, kind=kind, reviewer=ops2)
    page = browser_page

    # 1. The lead asks Ops to promote it, from the pilot page.
    sign_in(page, "lead", "pw")
    page.goto(f"/pilots/{pilot.pk}/")
    expect(page.locator(".results-at-a-glance")).to_contain_text("Answer quality")
    page.get_by_text("Ask Ops for a decision").click()
    page.locator('input[name="action"][value="promote"]').check()
    page.fill("#id_decision_message", "Quality is above target; reviews are cleared.")
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator("#decision-request")).to_contain_text("asked Ops to decide")
    request = DecisionRequest.objects.get(pilot=pilot)
    assert request.status == DecisionRequest.Status.OPEN
    page.get_by_role("button", name="Sign out").click()

    # 2. Ops promote it in the admin, recording the conclusion.
    page.goto("/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw")
    page.locator("input[type=submit]").click()
    page.goto("/admin/pilots/pilot/?stage__exact=pilot")
    page.locator(f'input[name="_selected_action"][value="{pilot.pk}"]').check()
    page.select_option('select[name="action"]', "promote")
    page.locator('button[name="index"]').click()
    page.fill("#id_rationale", "Every metric met, reviews cleared; adopt for support teams.")
    page.select_option(f"#id_outcome_{pilot.pk}", "adopted")
    page.fill(f"#id_takeaways_{pilot.pk}", TAKEAWAYS)
    page.locator(f"#id_recommendations_{pilot.pk}_graduate").check()
    # The scope of the approved standard (pilots.approvals): its use and re-certification date.
    page.fill(f"#id_use_{pilot.pk}", "Drafting ticket replies, each read by an agent.")
    recertify = (datetime.date.today() + datetime.timedelta(days=365)).isoformat()
    page.fill(f"#id_recertify_on_{pilot.pk}", recertify)
    screenshot(page, "graduation-admin-promote")
    page.locator('input[type=submit][value="Promote"]').click()
    expect(page.locator(".messagelist")).to_contain_text("Pilot → Approved standard")
    pilot = Pilot.objects.get(pk=pilot.pk)
    assert pilot.stage == "approved"
    assert pilot.conclusion.takeaways == TAKEAWAYS
    request.refresh_from_db()
    assert request.status != DecisionRequest.Status.OPEN

    # 3. The learning is in the library, and the use is in Adopt on the radar.
    page.goto("/learnings/")
    learning = page.locator(".learnings")
    expect(learning).to_contain_text("Ticket reply drafts")
    expect(learning).to_contain_text(TAKEAWAYS)
    page.goto("/radar/")
    row = page.locator("tr.radar-row", has_text="Ticket reply drafts")
    expect(row).to_have_attribute("data-ring", "adopt")
    expect(row).to_contain_text("Support Copilot")
    expect(row).to_contain_text("Moved from Trial to Adopt")
    number = row.get_attribute("data-entry")
    expect(page.locator(f'#radar-chart g[data-entry="{number}"]')).to_have_attribute(
        "data-ring", "adopt"
    )
    expect(page.locator("#ring-adopt")).to_contain_text("Ticket reply drafts")
    screenshot(page, "graduation-radar")
    page.locator("form.logout button").click()

    # 4. A new proposal on the same tool shows what the pilot taught.
    sign_in(page, "lead", "pw")
    page.goto("/pilots/propose/")
    page.select_option("#id_tool", str(tool.pk))
    page.get_by_role("button", name="Show what earlier pilots on this tool taught").click()
    hints = page.locator("#tool-learnings")
    expect(hints).to_contain_text("Ticket reply drafts")
    expect(hints).to_contain_text(TAKEAWAYS)
    expect(hints).to_contain_text(re.compile("Adopted"))
    screenshot(page, "graduation-propose-hints")
