import pytest
from playwright.sync_api import expect

from pilots.models import Pilot
from tests.browser.conftest import screenshot, sign_in
from tests.factories import AIToolFactory, PilotFactory, pulse_questionnaire

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_proposes_a_pilot_fixes_a_mistake_and_submits_it(
    browser_page, lead, team, participant
):
    AIToolFactory(name="Copilot", max_data_classification="confidential")
    quality = pulse_questionnaire().questions.get(key="quality")
    page = browser_page
    sign_in(page, "lead", "pw")
    page.get_by_role("navigation").get_by_role("link", name="Propose a pilot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Propose a pilot")
    # Keyboard order: the skip link first, then the form in reading order.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.focus("#id_title")
    focused = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
    assert focused == ["id_team", "id_problem", "id_hypothesis_intervention"]

    page.fill("#id_title", "Reply drafts")
    page.fill("#id_problem", "Ticket replies take too long.")
    page.fill("#id_hypothesis_intervention", "using the copilot to draft replies")
    page.fill("#id_hypothesis_outcome", "cut reply time")
    page.fill("#id_hypothesis_who", "support agents")
    page.fill("#id_hypothesis_signal", "median reply time falls below 10 minutes")
    page.select_option("#id_tool", label="Copilot")
    page.fill("#id_planned_start", "2026-12-01")
    page.fill("#id_planned_end", "2027-02-28")
    page.fill("#id_metrics-0-name", "Reply quality")
    # The metric's question is picked from the questions the pilot's feedback asks.
    page.select_option("#id_metrics-0-question_key", label=f"{quality.text} (quality)")
    page.fill("#id_metrics-0-baseline", "3")
    page.fill("#id_metrics-0-target", "2.5")  # the mistake: below its baseline
    # A second row without any script: the page comes back with one more row, values kept.
    page.get_by_role("button", name="Add another metric").click()
    expect(page.locator("#id_metrics-1-name")).to_be_visible()
    expect(page.locator("#id_title")).to_have_value("Reply drafts")
    expect(page.locator("#id_metrics-0-target")).to_have_value("2.5")
    expect(page.locator("#id_metrics-0-question_key")).to_have_value("quality")
    page.fill("#id_guardrails-0-description", "A human sends every reply")
    page.get_by_label(participant.get_full_name()).check()
    page.get_by_role("button", name="Save and submit for review").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("the target must be above the baseline")
    expect(summary.get_by_role("link")).to_have_attribute("href", "#id_metrics-0-target")
    expect(page.locator("#id_metrics-0-target")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_guardrails-0-description")).to_have_value("A human sends every reply")
    assert not Pilot.objects.exists()
    screenshot(page, "propose-validation-error")

    summary.get_by_role("link").click()
    page.fill("#id_metrics-0-target", "3.5")
    page.get_by_role("button", name="Save and submit for review").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Reply drafts")
    expect(page.locator("h1 .stage")).to_have_text("Proposed")
    expect(page.get_by_text("Your proposal was submitted for review.")).to_be_visible()
    screenshot(page, "propose-submitted")
    pilot = Pilot.objects.get()
    assert (pilot.stage, pilot.lead, pilot.proposed_by) == ("proposed", lead, lead)
    assert list(pilot.metrics.values_list("name", flat=True)) == ["Reply quality"]
    assert list(pilot.participants.all()) == [participant]


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_adding_a_row_brings_the_lead_to_the_new_row_with_its_first_field_focused(
    browser_page, lead, team
):
    draft = PilotFactory(lead=lead, team=team, title="Reply drafts")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 700})
    sign_in(page, "lead", "pw")
    for url in ("/pilots/propose/", f"/pilots/{draft.pk}/edit/"):
        page.goto(url)
        page.fill("#id_title", "Reply drafts, second try")
        page.get_by_role("button", name="Add another metric").click()
        page.wait_for_url(f"**{url}#id_metrics-1-name")
        # Without any script: the page opens at the new row, its first field ready to type in,
        # with the row's legend and the field's label in view above it.
        assert page.evaluate("document.activeElement.id") == "id_metrics-1-name"
        assert page.evaluate("window.scrollY") > 0
        for shown in ("fieldset.row:nth-of-type(2) legend", "label[for=id_metrics-1-name]"):
            assert _in_view(page, shown), shown
        page.keyboard.type("Time to first reply")
        expect(page.locator("#id_metrics-1-name")).to_have_value("Time to first reply")
        expect(page.locator("#id_title")).to_have_value("Reply drafts, second try")

        page.get_by_role("button", name="Add another guardrail").click()
        page.wait_for_url(f"**{url}#id_guardrails-1-kind")
        assert page.evaluate("document.activeElement.id") == "id_guardrails-1-kind"
        assert _in_view(page, "label[for=id_guardrails-1-kind]")
        expect(page.locator("#id_metrics-1-name")).to_have_value("Time to first reply")
    screenshot(page, "propose-new-guardrail-row")
