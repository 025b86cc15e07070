import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.models import Prompt
from feedback.tokens import make_token
from pilots import lifecycle
from pilots.models import GuardrailBreach, Pilot, ToolDeclaration
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MetricGuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    ResponseFactory,
    SuccessMetricFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _prompt(round_, user) -> Prompt:
    return Prompt.objects.create(round=round_, participant=user, token_hash=make_token()[1])


# Home ---------------------------------------------------------------------------------------


def test_a_lead_sees_what_a_draft_lacks_before_it_can_be_submitted(client, lead, team):
    PilotFactory(lead=lead, team=team, title="Half-written")
    client.force_login(lead)
    html = client.get(reverse("home")).content.decode()
    assert "Half-written" in html
    assert "Add at least one success metric." in html
    assert "Choose at least one participant." in html
    assert reverse("pilot_submit", args=[Pilot.objects.get().pk]) not in html


def test_a_lead_gets_a_submit_button_for_a_complete_draft(client, lead, team, participant):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot)
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    client.force_login(lead)
    html = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("pilot_submit", args=[pilot.pk])}"' in html
    assert 'name="expected_stage" value="draft"' in html


def test_a_lead_sees_the_promotion_gate_of_a_sandbox_pilot(client, lead, team):
    pilot = PilotFactory(lead=lead, team=team, stage="sandbox", title="In the sandbox")
    FeedbackRoundFactory(
        pilot=pilot,
        status="closed",
        closed_at=timezone.now(),
        invited_count=10,
        response_count=3,
    )
    client.force_login(lead)
    html = client.get(reverse("home")).content.decode()
    assert "In the sandbox" in html
    # The gate vocabulary (passed / failed / no evidence yet), as on the Ops' gate page.
    assert '<span class="badge">Failed</span> At least one closed feedback round' in html
    assert '<span class="badge">Passed</span> No open guardrail breach' in html
    assert "Best response rate: 30%" in html


def test_a_participant_sees_only_their_own_open_prompts(client, participant, lead, team):
    pilot = PilotFactory(team=team, stage="sandbox", title="Shared pilot")
    round_ = FeedbackRoundFactory(pilot=pilot)
    _prompt(round_, participant)
    other = PilotFactory(team=team, stage="sandbox", title="Someone else's pilot")
    _prompt(FeedbackRoundFactory(pilot=other), lead)
    client.force_login(participant)
    html = client.get(reverse("home")).content.decode()
    section = html.split("Your open feedback prompts")[1]
    assert "Shared pilot" in section
    assert "Someone else" not in section


def test_ops_see_proposals_breaches_and_falling_response_rates(client, ops, team):
    PilotFactory(team=team, stage="proposed", title="Waiting one")
    breached = PilotFactory(team=team, stage="pilot", title="Breached one")
    guardrail = MetricGuardrailFactory(pilot=breached, description="Trust stays high")
    GuardrailBreach.objects.create(guardrail=guardrail, pilot=breached, observed_value=2)
    falling = PilotFactory(team=team, stage="sandbox", title="Falling one")
    steady = PilotFactory(team=team, stage="sandbox", title="Steady one")
    today = timezone.localdate()
    for pilot, rates in ((falling, (8, 4)), (steady, (5, 6))):
        for weeks_ago, responses in zip((2, 1), rates, strict=True):
            start = today - datetime.timedelta(weeks=weeks_ago)
            opens = timezone.now() - datetime.timedelta(weeks=weeks_ago)
            FeedbackRoundFactory(
                pilot=pilot,
                period_start=start,
                opens_at=opens,
                closes_at=opens + datetime.timedelta(days=3),
                status="closed",
                closed_at=opens + datetime.timedelta(days=3),
                invited_count=10,
                response_count=responses,
            )
    client.force_login(ops)
    html = client.get(reverse("home")).content.decode()
    assert "1 proposal waiting for review" in html
    assert "Waiting one" in html
    assert "Trust stays high" in html
    falling_section = html.split("Pilots with a falling response rate")[1]
    assert "Falling one" in falling_section
    assert "80%" in falling_section and "40%" in falling_section
    assert "Steady one" not in falling_section


def test_a_resolved_breach_leaves_the_ops_home(client, ops, team):
    pilot = PilotFactory(team=team, stage="pilot")
    guardrail = GuardrailFactory(pilot=pilot, description="Never paste customer data")
    GuardrailBreach.objects.create(
        guardrail=guardrail,
        pilot=pilot,
        resolved_at=timezone.now(),
        resolved_by=ops,
        resolution_note="Trained the team.",
    )
    client.force_login(ops)
    assert "Never paste customer data" not in client.get(reverse("home")).content.decode()


# Pilot page ---------------------------------------------------------------------------------


def test_the_pilot_page_shows_the_hypothesis_guardrails_people_timeline_and_rounds(
    client, ops, ops2, lead, team, participant
):
    pilot = PilotFactory(lead=lead, team=team, title="Reply drafts")
    SuccessMetricFactory(pilot=pilot, name="Reply quality")
    GuardrailFactory(pilot=pilot, description="A human sends every reply")
    ParticipationFactory(pilot=pilot, user=participant)
    lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    lifecycle.move(
        pilot.pk, "send_back", actor=ops, expected_stage="proposed", rationale="Name a baseline."
    )
    lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    lifecycle.move(pilot.pk, "approve", actor=ops2, expected_stage="proposed")
    FeedbackRoundFactory(
        pilot=pilot,
        invited_count=8,
        response_count=6,
        status="closed",
        closed_at=timezone.now(),
    )
    client.force_login(participant)
    response = client.get(reverse("pilot_detail", args=[pilot.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "We believe that using the copilot to draft ticket replies" in html
    assert "A human sends every reply" in html
    assert "Reply quality" in html
    assert participant.get_full_name() in html
    timeline = html.split("Stage timeline")[1].split("Feedback rounds")[0]
    assert len(re.findall(r"<strong>\w[^<]*→", timeline)) == 4
    assert "Name a baseline." in timeline
    assert "75%" in html.split("Feedback rounds")[1]


def test_an_open_named_round_shows_its_invitations_and_answers_so_far(client, ops, participant):
    pilot = PilotFactory(stage="pilot", anonymous_feedback=False)
    round_ = FeedbackRoundFactory(pilot=pilot, anonymous=False)
    for user in (participant, ops, UserFactory(), UserFactory()):
        _prompt(round_, user)
    ResponseFactory(round=round_, respondent=participant)
    client.force_login(ops)
    html = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    row = html.split("Feedback rounds")[1].split("</tr>")[1]
    assert re.findall(r"<td>([^<]*)</td>", row)[1:] == ["Open", "4", "1", "25%"]


def test_an_open_anonymous_round_says_only_whether_it_has_enough_answers(
    client, ops, participant, settings
):
    """The timing rule: no count that moves with each answer while an anonymous round is open."""
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    round_ = FeedbackRoundFactory(pilot=pilot)
    for user in (participant, ops, UserFactory(), UserFactory()):
        _prompt(round_, user)
    client.force_login(ops)
    pages = []
    for _ in range(4):
        html = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
        pages.append(html.split("Feedback rounds")[1].split("</tr>")[1])
        ResponseFactory(round=round_)
    assert "not yet enough answers" in pages[0]
    assert pages[0] == pages[1] == pages[2]  # 0, 1 and 2 answers read the same
    assert "enough answers to show results" in pages[3] and pages[3] != pages[2]


def test_the_pilot_page_offers_editing_only_to_who_may_edit(client, lead, participant, team):
    pilot = PilotFactory(lead=lead, team=team)
    client.force_login(participant)
    assert (
        reverse("pilot_edit", args=[pilot.pk])
        not in client.get(pilot.get_absolute_url()).content.decode()
    )
    client.force_login(lead)
    assert (
        reverse("pilot_edit", args=[pilot.pk])
        in client.get(pilot.get_absolute_url()).content.decode()
    )


# Portfolio ----------------------------------------------------------------------------------


def test_the_portfolio_has_a_column_per_stage_with_its_count(client, ops, team):
    for stage, n in (("sandbox", 2), ("pilot", 1), ("approved", 3)):
        for _ in range(n):
            PilotFactory(team=team, stage=stage)
    client.force_login(ops)
    html = client.get(reverse("portfolio")).content.decode()
    counts = dict(re.findall(r'id="col-(\w+)">[^<]*<span class="count"[^>]*>(\d+)<', html))
    assert counts == {
        "draft": "0",
        "proposed": "0",
        "sandbox": "2",
        "pilot": "1",
        "approved": "3",
        "paused": "0",
        "stopped": "0",
        "retired": "0",
    }


def test_a_screen_reader_hears_each_columns_count_in_words(client, ops, team):
    for _ in range(2):
        PilotFactory(team=team, stage="sandbox")
    client.force_login(ops)
    html = client.get(reverse("portfolio")).content.decode()
    heading = re.search(r'<h2 id="col-sandbox">(.*?)</h2>', html).group(1)
    # The badge is for the eye; the words are what is read (an aria-label on a span is not).
    assert '<span class="count" aria-hidden="true">2</span>' in heading
    assert '<span class="visually-hidden">2 pilots</span>' in heading
    assert "aria-label" not in heading


def test_the_portfolio_filters_by_team_tool_and_risk(client, ops, team):
    finance = TeamFactory(name="Finance", slug="finance")
    tool = AIToolFactory(name="Summariser")
    PilotFactory(team=team, stage="sandbox", title="Support pilot", risk_level="minimal")
    PilotFactory(team=finance, stage="sandbox", title="Finance pilot", tool=tool)
    PilotFactory(team=finance, stage="sandbox", title="Risky pilot", risk_level="high")
    client.force_login(ops)

    def titles(**params) -> set[str]:
        html = client.get(reverse("portfolio"), params).content.decode()
        return set(re.findall(r'<li class="card"><a href="[^"]+">([^<]+)</a>', html))

    assert titles() == {"Support pilot", "Finance pilot", "Risky pilot"}
    assert titles(team="finance") == {"Finance pilot", "Risky pilot"}
    assert titles(tool=tool.pk) == {"Finance pilot"}
    assert titles(risk="high") == {"Risky pilot"}
    assert titles(team="support", risk="high") == set()


def test_a_crowded_column_shows_its_latest_moves_and_links_to_the_whole_stage(client, ops, team):
    from decisions.views import PORTFOLIO_CARDS_PER_STAGE, PORTFOLIO_PAGE

    now = timezone.now()
    total = PORTFOLIO_PAGE + 3
    for i in range(total):
        PilotFactory(
            team=team,
            stage="pilot",
            title=f"Pilot {i:03d}",
            stage_changed_at=now - datetime.timedelta(hours=i),
        )
    PilotFactory(team=team, stage="sandbox", title="Alone in sandbox")
    client.force_login(ops)

    def cards(html: str) -> list[str]:
        return re.findall(r'<li class="card"><a href="[^"]+">([^<]+)</a>', html)

    html = client.get(reverse("portfolio")).content.decode()
    shown = cards(html)
    # The most recently moved first, at most the cap per column; the count stays whole.
    assert [t for t in shown if t.startswith("Pilot ")] == [
        f"Pilot {i:03d}" for i in range(PORTFOLIO_CARDS_PER_STAGE)
    ]
    assert "Alone in sandbox" in shown and len(shown) == PORTFOLIO_CARDS_PER_STAGE + 1
    assert f"See all {total} pilots in this stage" in html
    assert "?stage=pilot" in html

    first = client.get(reverse("portfolio"), {"stage": "pilot"}).content.decode()
    assert cards(first) == [f"Pilot {i:03d}" for i in range(PORTFOLIO_PAGE)]
    assert 'id="col-sandbox"' not in first
    second = client.get(reverse("portfolio"), {"stage": "pilot", "page": 2}).content.decode()
    assert cards(second) == [f"Pilot {i:03d}" for i in range(PORTFOLIO_PAGE, total)]
    assert "Page 2 of 2" in second


# Tools --------------------------------------------------------------------------------------


def test_the_tool_registry_lists_every_tool_with_its_data_limit(client, participant):
    AIToolFactory(name="Chatbot", approval_status="approved", max_data_classification="public")
    AIToolFactory(name="Banned", approval_status="not_allowed")
    client.force_login(participant)
    html = client.get(reverse("tool_registry")).content.decode()
    assert "Chatbot" in html and "Public" in html
    assert "Banned" in html and "Not allowed" in html


def test_a_person_declares_a_tool_for_their_team(client, participant, team):
    client.force_login(participant)
    response = client.post(
        reverse("tool_declare"),
        {
            "tool_name": "MeetingBot",
            "vendor": "Bots Inc",
            "used_for": "Meeting notes",
            "data_classification": "confidential",
            "team": "",
        },
    )
    assert response.status_code == 302
    declaration = ToolDeclaration.objects.get()
    assert (declaration.declared_by, declaration.team, declaration.status) == (
        participant,
        team,
        "new",
    )


def test_a_declaration_without_its_use_is_refused_next_to_the_field(client, participant):
    client.force_login(participant)
    response = client.post(
        reverse("tool_declare"),
        {"tool_name": "MeetingBot", "used_for": "", "data_classification": "internal"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_used_for"' in html
    assert not ToolDeclaration.objects.exists()


def test_a_metric_target_is_shown_with_its_baseline(client, lead, team):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot, baseline=Decimal("12.00"), target=Decimal("20.00"))
    client.force_login(lead)
    html = client.get(pilot.get_absolute_url()).content.decode()
    assert "12.00" in html and "20.00" in html


def test_only_the_pilots_leads_get_the_link_to_add_their_own_questions(
    client, lead, participant, team
):
    pilot = PilotFactory(lead=participant, team=team, stage="sandbox")
    questions_url = reverse("feedback_pilot_questions", args=[pilot.pk])
    client.force_login(lead)  # leads the team, not the pilot
    assert questions_url in client.get(pilot.get_absolute_url()).content.decode()
    client.force_login(participant)  # leads the pilot
    assert questions_url in client.get(pilot.get_absolute_url()).content.decode()
    other = PilotFactory(lead=lead, team=team, stage="sandbox")
    assert (
        reverse("feedback_pilot_questions", args=[other.pk])
        not in client.get(other.get_absolute_url()).content.decode()
    )


def test_ops_see_how_many_tool_declarations_wait(client, ops, participant):
    from pilots import declarations

    for name in ("MeetingBot", "SlideGen"):
        declarations.declare(
            user=participant, tool_name=name, used_for="x", data_classification="internal"
        )
    client.force_login(ops)
    html = client.get(reverse("home")).content.decode()
    assert "2 tool declarations to handle" in html
    assert reverse("admin:pilots_tooldeclaration_changelist") + "?status__exact=new" in html


def _nav(html: str) -> str:
    return html.split('<nav aria-label="Main">')[1].split("</nav>")[0]


def test_the_navigation_depends_on_the_role(client, ops, lead, participant):
    client.force_login(lead)
    nav = _nav(client.get(reverse("home")).content.decode())
    assert reverse("pilot_propose") in nav
    assert reverse("admin:index") not in nav
    client.force_login(participant)
    nav = _nav(client.get(reverse("home")).content.decode())
    assert reverse("pilot_propose") not in nav
    assert reverse("feedback_inbox") in nav
    client.force_login(ops)
    nav = _nav(client.get(reverse("home")).content.decode())
    assert reverse("admin:index") in nav
    assert reverse("pilot_propose") not in nav


def test_anonymous_visitors_see_no_navigation(client):
    assert '<nav aria-label="Main">' not in client.get(reverse("login")).content.decode()


def test_the_ops_home_lists_running_pilots_past_their_planned_end(client, ops):
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    late = PilotFactory(
        title="Late pilot",
        stage="pilot",
        planned_start=today - datetime.timedelta(days=100),
        planned_end=today - datetime.timedelta(days=1),
    )
    PilotFactory(title="Stopped long ago", stage="stopped", planned_end=today)
    PilotFactory(title="On time", stage="pilot")
    client.force_login(ops)
    page = client.get(reverse("home")).content.decode()
    assert "1 pilot running past its planned end" in page
    assert late.get_absolute_url() in page
    assert "On time" not in page.split('id="h-past-end"')[1].split("</section>")[0]
