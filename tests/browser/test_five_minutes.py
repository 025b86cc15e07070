"""The README's "first five minutes", walked in Chromium on the demo data, step by step.

Propose as `lead`, approve as `ops2`, open a round now, answer as `participant` and four
colleagues from their inboxes, close the round now as `ops`, and see the results and the
promotion gate change. A screenshot of each step lands in test-artifacts/five-minutes-*.png.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from feedback.models import FeedbackRound
from pilots.models import Pilot
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Summaries of long tickets"
ANSWERING = ["participant", "amy", "ben", "emma", "farid"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def sign_out(page) -> None:
    page.context.clear_cookies()


def test_the_first_five_minutes_of_the_readme_work_as_written(browser_page, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    page = browser_page
    # Rounds open on yesterday's weekday (in the team's zone), planned from yesterday: the
    # current period began then and the next one is days away, whatever the hour.
    yesterday = timezone.now().astimezone(ZoneInfo("Europe/Paris")).date() - datetime.timedelta(1)

    # 1. The sign-in page lists the demo accounts.
    page.goto("/accounts/login/")
    expect(page.get_by_text("Demo accounts")).to_be_visible()
    screenshot(page, "five-minutes-1-sign-in")

    # 2. The lead proposes a pilot with six colleagues and submits it.
    sign_in(page, "lead", "demo")
    page.get_by_role("navigation").get_by_role("link", name="Propose a pilot").click()
    page.fill("#id_title", TITLE)
    page.fill("#id_problem", "Agents lose time reading long ticket threads.")
    page.fill("#id_hypothesis_intervention", "using the copilot to summarise long tickets")
    page.fill("#id_hypothesis_outcome", "shorten handling time")
    page.fill("#id_hypothesis_who", "support agents")
    page.fill("#id_hypothesis_signal", "quality is rated above 3.5")
    page.select_option("#id_tool", label="Support Copilot")
    page.fill("#id_planned_start", yesterday.isoformat())
    page.fill("#id_planned_end", (yesterday + datetime.timedelta(days=90)).isoformat())
    page.select_option("#id_cadence", "weekly")
    page.select_option("#id_cadence_weekday", label=WEEKDAYS[yesterday.weekday()])
    for name in (
        "Paul Participant",
        "Amy Agent",
        "Ben Agent",
        "Emma Agent",
        "Farid Agent",
        "Gus Agent",
    ):
        page.get_by_label(name).check()
    page.fill("#id_metrics-0-name", "Summary quality")
    page.select_option("#id_metrics-0-question_key", "quality")
    page.fill("#id_metrics-0-baseline", "3")
    page.fill("#id_metrics-0-target", "3.5")
    page.fill("#id_metrics-0-min_responses", "5")
    page.fill("#id_guardrails-0-description", "No customer personal data goes into prompts.")
    page.get_by_label("Forbids confidential data exposure").first.check()
    screenshot(page, "five-minutes-2-propose")
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.locator("h1 .stage")).to_have_text("Proposed")
    pilot = Pilot.objects.get(title=TITLE)
    sign_out(page)

    # 3. ops2 approves it in the admin, through the gate page.
    sign_in(page, "ops2", "demo")
    page.goto("/admin/pilots/pilot/?stage__exact=proposed")
    page.locator(f'input[name="_selected_action"][value="{pilot.pk}"]').check()
    page.select_option('select[name="action"]', "approve")
    page.locator('button[name="index"]').click()
    page.fill("#id_rationale", "Clear hypothesis; six agents for four weeks.")
    screenshot(page, "five-minutes-3-approve")
    page.locator('input[type=submit][value="Approve"]').click()
    expect(page.locator(".messagelist")).to_contain_text("Proposed → Sandbox")

    # 4. ops2 opens the current period's round now (the beat would at the next tick).
    page.goto("/admin/pilots/pilot/?stage__exact=sandbox")
    page.locator(f'input[name="_selected_action"][value="{pilot.pk}"]').check()
    page.select_option('select[name="action"]', "open_round_now")
    page.locator('button[name="index"]').click()
    expect(page.locator(".messagelist")).to_contain_text("6 invitations are going out")
    screenshot(page, "five-minutes-4-round-opened")
    sign_out(page)
    feedback_round = FeedbackRound.objects.get(pilot=pilot)

    # 5. Five of the six answer from their inboxes.
    for i, username in enumerate(ANSWERING):
        sign_in(page, username, "demo")
        page.goto("/feedback/")
        # The inbox is gated like the emails: the new pilot's charter first.
        row = page.locator("tr", has_text=TITLE)
        row.get_by_role("link", name="Acknowledge the usage charter first").click()
        page.check('input[name="agree"]')
        page.get_by_role("button", name="Acknowledge").click()
        page.goto("/feedback/")
        page.locator("tr", has_text=TITLE).get_by_role("link", name="Answer now").click()
        page.fill('[name="minutes_saved"]', str(20 + 5 * i))
        page.check(f'input[name="quality"][value="{4 + i % 2}"]')
        page.check('input[name="trust"][value="4"]')
        page.check('input[name="recommend"][value="8"]')
        page.check('input[name="incident"][value="no"]')
        if i == 0:
            screenshot(page, "five-minutes-5-answer")
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_text("Thank you: your answer is saved.")).to_be_visible()
        sign_out(page)

    # 6. ops closes the round now; its results are computed and its guardrails evaluated.
    sign_in(page, "ops", "demo")
    page.goto("/admin/feedback/feedbackround/")
    page.locator(f'input[name="_selected_action"][value="{feedback_round.pk}"]').check()
    page.select_option('select[name="action"]', "close_now")
    page.locator('button[name="index"]').click()
    page.get_by_role("button", name="Close now").click()
    expect(page.locator(".messagelist")).to_contain_text("5 of 6 answered")
    screenshot(page, "five-minutes-6-closed")
    sign_out(page)

    # 7. The lead sees the results, and the gate to pilot passed on their home.
    sign_in(page, "lead", "demo")
    page.goto(pilot.get_absolute_url())
    expect(page.locator(".evidence")).to_contain_text("Summary quality")
    expect(page.locator(".evidence")).to_contain_text("5 of 6 answered")
    screenshot(page, "five-minutes-7-evidence")
    page.goto("/")
    card = page.locator(".cards li", has_text=TITLE)
    expect(card.locator(".gate-passed", has_text="closed feedback round")).to_be_visible()
    screenshot(page, "five-minutes-8-gate")
    feedback_round.refresh_from_db()
    assert (feedback_round.status, feedback_round.response_count) == ("closed", 5)
