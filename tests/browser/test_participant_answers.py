import pytest
from playwright.sync_api import expect

from feedback.models import Prompt, Response
from tests.browser.conftest import screenshot
from tests.feedback.answering_support import prompt_with_token, pulse_round

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_participant_answers_a_prompt_from_the_emailed_link(browser_page, participant, team):
    feedback_round = pulse_round(team=team, title="Reply drafts")
    prompt, token = prompt_with_token(feedback_round, participant)
    page = browser_page

    # The emailed link works without signing in: the token is the key.
    page.goto(f"/feedback/answer/{token}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reply drafts")
    page.fill('[name="minutes_saved"]', "30")
    page.check('input[name="quality"][value="4"]')
    page.check('input[name="trust"][value="3"]')
    page.check('input[name="recommend"][value="8"]')
    page.check('input[name="incident"][value="no"]')
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_text("Thank you: your answer is saved.")).to_be_visible()
    screenshot(page, "participant-answered")
    prompt.refresh_from_db()
    assert prompt.answered
    assert Response.objects.filter(round=feedback_round).count() == 1
    assert Prompt.objects.filter(answered=True).count() == 1
