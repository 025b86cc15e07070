"""One world with every kind of page filled in, for the browser tests that visit them all.

Built once per test (the live server needs committed rows, so each transactional test starts
from an empty database): a team led by a person with a long name, a participant, Ops, a
tool in each approval status, and pilots in the stages the pages treat differently — a draft
still missing things, a proposal, a running pilot with three closed rounds (charts, results,
guardrail checks, an open breach) and an open round to answer, and an approved one; the team's
AI champion with a training session.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import time_machine
from django.utils import timezone

from decisions import guardrails
from feedback import absences, tokens
from feedback.models import FeedbackRound, Prompt
from feedback.pilot_questions import add_question
from governance import champions
from pilots import declarations, lifecycle
from pilots.models import Guardrail, GuardrailBreach, Pilot, ToolDeclaration
from tests.decisions.evidence_support import add_round
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MembershipFactory,
    MetricGuardrailFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    ReviewFactory,
    SuccessMetricFactory,
    TeamFactory,
    UserFactory,
    findings_for,
    migrated_pulse,
)

LONG_NAME = ("Maximilienne", "de La Tour-Villeneuve")
PASSWORD = "pw"


@dataclass
class World:
    ops: object
    lead: object
    participant: object
    draft: Pilot
    proposed: Pilot
    running: Pilot
    approved: Pilot
    breach: GuardrailBreach
    open_round: FeedbackRound
    token: str
    declaration: ToolDeclaration
    champion: object


def _answers(n: int, *, trust: int) -> list[dict]:
    return [
        {
            "minutes_saved": 20 + 5 * (i % 4),
            "quality": 3 + i % 3,
            "trust": trust,
            "recommend": 6 + i % 4,
            "incident": i == 0,
            "comment": f"Comment number {i}",
        }
        for i in range(n)
    ]


def build_world() -> World:
    """Create the world (about a second on PostgreSQL)."""
    pulse = migrated_pulse()
    team = TeamFactory(name="Customer support", slug="support")
    ops = OpsUserFactory(username="ops", first_name="Olivia", last_name="Ops")
    lead = UserFactory(username="lead", first_name=LONG_NAME[0], last_name=LONG_NAME[1])
    MembershipFactory(team=team, user=lead, role="lead")
    participant = UserFactory(username="participant", first_name="Paul", last_name="Participant")
    MembershipFactory(team=team, user=participant)
    champion = UserFactory(username="champion", first_name="Carla", last_name="Champion")
    MembershipFactory(team=team, user=champion)
    others = [UserFactory(username=f"agent{i}") for i in range(3)]
    for user in others:
        MembershipFactory(team=team, user=user)

    approved_tool = AIToolFactory(
        name="Support Copilot", approval_status="approved", max_data_classification="confidential"
    )
    AIToolFactory(name="Doc Summariser", approval_status="under_evaluation")
    AIToolFactory(
        name="Free Chatbot", approval_status="not_allowed", max_data_classification="public"
    )

    # A draft missing its guardrail and participants.
    draft = PilotFactory(
        team=team, lead=lead, tool=approved_tool, title="Summaries of long ticket threads"
    )
    SuccessMetricFactory(pilot=draft, name="Summary quality")

    # A proposal waiting for Ops, without any data yet (its charts say so).
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=60), tick=False):
        proposed = PilotFactory(team=team, lead=lead, tool=approved_tool, title="Reply drafts")
    SuccessMetricFactory(pilot=proposed, name="Reply quality")
    GuardrailFactory(pilot=proposed, description="A human sends every reply")
    ParticipationFactory(pilot=proposed, user=participant)
    with time_machine.travel(now - datetime.timedelta(days=30), tick=False):
        lifecycle.move(proposed.pk, "submit", actor=lead, expected_stage="draft")

    with time_machine.travel(now - datetime.timedelta(days=30 * 6), tick=False):
        running = PilotFactory(
            team=team, lead=lead, tool=approved_tool, title="Knowledge-base answers for agents"
        )
        approved = PilotFactory(team=team, lead=lead, tool=approved_tool, title="Call notes")
    for pilot in (running, approved):
        SuccessMetricFactory(pilot=pilot, name="Answer quality", min_responses=5)
        SuccessMetricFactory(
            pilot=pilot,
            name="Minutes saved",
            question_key="minutes_saved",
            baseline=Decimal("0"),
            target=Decimal("15"),
            min_responses=5,
        )
        GuardrailFactory(pilot=pilot, description="A human reviews every answer before use")
        for user in (participant, *others):
            ParticipationFactory(pilot=pilot, user=user)
        ReviewFactory(pilot=pilot, reviewer=ops)
        # A history spread over months, for the portfolio's stages-over-time chart.
        moves = [("submit", lead, 5), ("approve", ops, 4), ("promote", ops, 3)]
        if pilot is approved:
            moves.append(("promote", ops, 1))
        for action, actor, months_ago in moves:
            with time_machine.travel(now - datetime.timedelta(days=30 * months_ago), tick=False):
                stage = Pilot.objects.get(pk=pilot.pk).stage
                lifecycle.move(
                    pilot.pk,
                    action,
                    actor=actor,
                    expected_stage=stage,
                    rationale="Demo history: evidence gathered elsewhere.",
                    override=True,
                    conclusion=findings_for(stage, action),
                )
    MetricGuardrailFactory(
        pilot=running, description="Trust stays at 3 or above", action=Guardrail.Action.FLAG
    )
    MetricGuardrailFactory(
        pilot=running,
        description="Quality stays at 2 or above",
        question_key="quality",
        threshold=Decimal("2"),
        action=Guardrail.Action.FLAG,
    )
    closed = [
        add_round(running, _answers(8, trust=trust), invited=10, weeks_ago=weeks, using=pulse)
        for weeks, trust in ((9, 4), (5, 4), (1, 2))
    ]
    for feedback_round in closed:
        guardrails.evaluate_round(feedback_round.pk)
    breach = GuardrailBreach.objects.filter(pilot=running).latest("created_at")

    open_round = FeedbackRoundFactory(pilot=running, questionnaire=pulse, invited_count=4)
    token, token_hash = tokens.make_token()
    Prompt.objects.create(round=open_round, participant=participant, token_hash=token_hash)
    Prompt.objects.create(round=open_round, participant=lead, token_hash=tokens.make_token()[1])

    add_question(
        running.pk,
        user=lead,
        key="handover",
        text="Did the answers make handovers easier?",
        kind="yes_no",
        language="en",
    )
    today = timezone.localdate()
    absences.mark_away(
        participant,
        starts_on=today + datetime.timedelta(days=20),
        ends_on=today + datetime.timedelta(days=27),
    )
    declaration = declarations.declare(
        user=participant,
        tool_name="Meeting Scribe",
        vendor="Notes Inc.",
        used_for="Writing the minutes of customer calls",
        data_classification="internal",
    )
    declarations.declare(
        user=participant,
        tool_name="Translator Pro",
        used_for="Translating tickets from German",
        data_classification="internal",
    )
    # The team's AI champion, with a training session on her home.
    champions.name_champion(
        team, actor=ops, user=champion, duties="Runs a monthly clinic.", hours_per_month=8
    )
    champions.record_training(
        team,
        actor=champion,
        topic="Prompting safely",
        held_on=today - datetime.timedelta(days=7),
        attendees=6,
        material_url="https://intranet.example.com/ai/prompting-safely",
    )
    return World(
        ops=ops,
        lead=lead,
        participant=participant,
        draft=draft,
        proposed=proposed,
        running=running,
        approved=approved,
        breach=breach,
        open_round=open_round,
        token=token,
        declaration=declaration,
        champion=champion,
    )


def sign_in(context, base_url: str, username: str) -> None:
    """Sign a browser context in through the sign-in page (its cookies then serve every tab)."""
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")
    page.close()


# ---------------------------------------------------------------------------------------------
# The pages of each role, as visits: each leaves the tab showing the page to check. Buttons
# are found by their values, not their words, so the same visits work in every language.


@dataclass(frozen=True)
class Visit:
    name: str
    go: Callable[[Any, World], None]


def _goto(path: Callable[[World], str]) -> Callable:
    def go(page, world: World) -> None:
        response = page.goto(path(world))
        assert response is not None and response.status < 500, path(world)

    return go


def _send(path: Callable[[World], str], button: str, fill: dict[str, str] | None = None):
    """Open a form page, fill some fields and send it: its errors show."""

    def go(page, world: World) -> None:
        page.goto(path(world))
        for selector, value in (fill or {}).items():
            page.fill(selector, value)
        page.locator(button).click()
        page.wait_for_load_state()
        assert page.locator(".error-summary, .errornote, .errorlist").count(), page.url

    return go


def _admin_action(changelist: str, pk: Callable[[World], int], action: str) -> Callable:
    """Run an admin action on one row from its changelist: its intermediate page shows."""

    def go(page, world: World) -> None:
        page.goto(changelist)
        page.locator(f'input[name="_selected_action"][value="{pk(world)}"]').check()
        page.select_option('select[name="action"]', action)
        page.locator('button[name="index"]').click()
        page.wait_for_load_state()
        assert page.locator("#content form").count(), page.url

    return go


def _change_form_with_new_rows(page, world: World) -> None:
    """A draft's change form (rows are editable only while a draft), with a row added to each
    tabular inline by Django's script."""
    page.goto(f"/admin/pilots/pilot/{world.draft.pk}/change/")
    for group in ("#metrics-group", "#participations-group"):
        rows = page.locator(f"{group} tr.form-row:not(.empty-form)")
        before = rows.count()
        page.locator(f"{group} .add-row a").click()
        assert rows.count() == before + 1, group


def _pilot(attribute: str) -> Callable[[World], str]:
    return lambda w: f"/pilots/{getattr(w, attribute).pk}/"


def _own_prompt(w: World) -> str:
    return f"/feedback/prompts/{w.open_round.prompts.get(participant=w.participant).pk}/"


SUBMIT_PROPOSAL = "main button[name=action][value=submit]"
ANONYMOUS = [
    Visit("sign-in", _goto(lambda w: "/accounts/login/")),
    Visit("answer page", _goto(lambda w: f"/feedback/answer/{w.token}/")),
    Visit(
        "answer page with errors",
        _send(lambda w: f"/feedback/answer/{w.token}/", "main form button[type=submit]"),
    ),
]
LEAD = [
    Visit("home (lead)", _goto(lambda w: "/")),
    Visit("portfolio", _goto(lambda w: "/pilots/")),
    Visit("draft pilot", _goto(_pilot("draft"))),
    Visit("proposed pilot", _goto(_pilot("proposed"))),
    Visit("running pilot", _goto(_pilot("running"))),
    Visit(
        "propose with errors",
        _send(
            lambda w: "/pilots/propose/",
            SUBMIT_PROPOSAL,
            {"#id_metrics-0-name": "Reply quality", "#id_metrics-0-target": "2"},
        ),
    ),
    Visit(
        "edit with errors",
        _send(lambda w: f"/pilots/{w.draft.pk}/edit/", SUBMIT_PROPOSAL, {"#id_title": ""}),
    ),
    Visit("report", _goto(lambda w: f"/reports/pilots/{w.running.pk}/")),
    Visit("radar", _goto(lambda w: "/radar/")),
    Visit("own questions", _goto(lambda w: f"/feedback/pilots/{w.running.pk}/questions/")),
]
PARTICIPANT = [
    Visit("home (participant)", _goto(lambda w: "/")),
    Visit("tool registry", _goto(lambda w: "/tools/")),
    Visit("declare with declarations", _goto(lambda w: "/tools/declare/")),
    Visit("declare with errors", _send(lambda w: "/tools/declare/", "main form .actions button")),
    Visit("feedback inbox", _goto(lambda w: "/feedback/")),
    Visit("away", _goto(lambda w: "/feedback/away/")),
    Visit("answer from the inbox", _goto(_own_prompt)),
    Visit("running pilot (participant)", _goto(_pilot("running"))),
    Visit("tool page", _goto(lambda w: f"/tools/{w.running.tool_id}/")),
    Visit("charter to acknowledge", _goto(lambda w: f"/charter/{w.running.pk}/")),
    Visit("report an incident", _goto(lambda w: "/incidents/report/")),
    Visit("report an incident anonymously", _goto(lambda w: "/incidents/report/anonymous/")),
    Visit("declare anonymously", _goto(lambda w: "/tools/declare/anonymous/")),
]
CHAMPION = [
    Visit("champion home", _goto(lambda w: "/champion/")),
    Visit(
        "champion home with errors",
        _send(lambda w: "/champion/", "main form button[type=submit]", {"#id_topic": ""}),
    ),
    Visit("relay a declaration", _goto(lambda w: "/champion/relay/")),
    Visit(
        "relay a declaration with errors",
        _send(lambda w: "/champion/relay/", "main form button[type=submit]"),
    ),
]
OPS_SITE = [
    Visit("home (Ops)", _goto(lambda w: "/")),
    Visit("portfolio (Ops)", _goto(lambda w: "/pilots/")),
    Visit("running pilot (Ops)", _goto(_pilot("running"))),
    Visit("charter coverage", _goto(lambda w: "/charter/coverage/")),
    Visit("champion coverage", _goto(lambda w: "/champion/coverage/")),
    Visit("incident register", _goto(lambda w: "/incidents/")),
    Visit("declaration counts", _goto(lambda w: "/tools/declarations/")),
]
OPS_ADMIN = [
    Visit("admin index", _goto(lambda w: "/admin/")),
    Visit("pilot changelist", _goto(lambda w: "/admin/pilots/pilot/")),
    Visit("pilot change form", _change_form_with_new_rows),
    Visit(
        "approve page", _admin_action("/admin/pilots/pilot/", lambda w: w.proposed.pk, "approve")
    ),
    Visit("promote page", _admin_action("/admin/pilots/pilot/", lambda w: w.running.pk, "promote")),
    Visit("breach changelist", _goto(lambda w: "/admin/pilots/guardrailbreach/")),
    Visit(
        "breach resolve", _goto(lambda w: f"/admin/pilots/guardrailbreach/{w.breach.pk}/resolve/")
    ),
    Visit("success metric changelist", _goto(lambda w: "/admin/pilots/successmetric/")),
    Visit(
        "correct a metric's key",
        _admin_action(
            "/admin/pilots/successmetric/",
            lambda w: w.proposed.metrics.get().pk,
            "correct_question_key",
        ),
    ),
    Visit("guardrail changelist", _goto(lambda w: "/admin/pilots/guardrail/")),
    Visit(
        "disable a guardrail",
        _admin_action(
            "/admin/pilots/guardrail/",
            lambda w: w.running.guardrails.filter(kind="metric").first().pk,
            "disable_with_reason",
        ),
    ),
    Visit("round changelist", _goto(lambda w: "/admin/feedback/feedbackround/")),
    Visit(
        "close a round now",
        _admin_action("/admin/feedback/feedbackround/", lambda w: w.open_round.pk, "close_now"),
    ),
    Visit("prompt changelist", _goto(lambda w: "/admin/feedback/prompt/")),
    Visit(
        "questionnaire change form",
        _goto(lambda w: f"/admin/feedback/questionnaire/{w.open_round.questionnaire_id}/change/"),
    ),
    Visit("tool declaration changelist", _goto(lambda w: "/admin/pilots/tooldeclaration/")),
    Visit(
        "dismiss a declaration",
        _admin_action(
            "/admin/pilots/tooldeclaration/", lambda w: w.declaration.pk, "dismiss_with_note"
        ),
    ),
    Visit("review add form", _goto(lambda w: "/admin/pilots/review/add/")),
]
# role: (username or None, the pages it works in)
ROLES: dict[str, tuple[str | None, list[Visit]]] = {
    "anonymous": (None, ANONYMOUS),
    "lead": ("lead", LEAD),
    "participant": ("participant", PARTICIPANT),
    "champion": ("champion", CHAMPION),
    "ops": ("ops", OPS_SITE + OPS_ADMIN),
}
