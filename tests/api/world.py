"""A small demo-like world for the API's contract tests: one of each thing, each kind of caller.

Two teams (Support, with a lead and a participant; Legal, with its own lead), an outsider
leading Finance, and Ops; pilots in draft, proposed and pilot stages, a round open and a round
closed, a prompt waiting for the participant, a declaration, an open breach and a webhook endpoint.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from api import tokens
from feedback.models import FeedbackRound
from pilots import declarations
from pilots.models import GuardrailBreach, Stage
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MembershipFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    PromptFactory,
    ReviewFactory,
    TeamFactory,
    UserFactory,
)
from webhooks import endpoints

# Each kind of caller, as the matrix names them; None is anonymous.
CALLERS = ("anonymous", "outsider", "participant", "lead", "other_lead", "ops")


@dataclass
class World:
    users: dict = field(default_factory=dict)
    # (caller, scope) -> bearer secret
    secrets: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)


def build_world() -> World:
    world = World()
    support = TeamFactory(name="Support", slug="support")
    legal = TeamFactory(name="Legal", slug="legal")
    finance = TeamFactory(name="Finance", slug="finance")
    ops = OpsUserFactory(username="ops")
    lead = UserFactory(username="lead")
    MembershipFactory(team=support, user=lead, role="lead")
    participant = UserFactory(username="participant")
    MembershipFactory(team=support, user=participant, role="member")
    other_lead = UserFactory(username="other_lead")
    MembershipFactory(team=legal, user=other_lead, role="lead")
    outsider = UserFactory(username="outsider")
    MembershipFactory(team=finance, user=outsider, role="lead")
    world.users = {
        "anonymous": None,
        "outsider": outsider,
        "participant": participant,
        "lead": lead,
        "other_lead": other_lead,
        "ops": ops,
    }
    tool = AIToolFactory(name="Copilot", vendor="Acme")
    draft = PilotFactory(complete=True, team=support, lead=lead, tool=tool, title="Reply drafts")
    ParticipationFactory(pilot=draft, user=participant)
    proposed = PilotFactory(complete=True, team=support, lead=lead, stage=Stage.PROPOSED)
    running = PilotFactory(complete=True, team=support, lead=lead, stage=Stage.PILOT)
    ParticipationFactory(pilot=running, user=participant)
    legal_draft = PilotFactory(complete=True, team=legal, lead=other_lead)
    today = timezone.localdate()
    closed = FeedbackRoundFactory(
        pilot=running,
        period_start=today - datetime.timedelta(days=14),
        opens_at=timezone.now() - datetime.timedelta(days=14),
        closes_at=timezone.now() - datetime.timedelta(days=11),
        status=FeedbackRound.Status.CLOSED,
        closed_at=timezone.now() - datetime.timedelta(days=11),
        invited_count=4,
        response_count=4,
        results={},
    )
    open_round = FeedbackRoundFactory(pilot=running)
    prompt = PromptFactory(round=open_round, participant=participant)
    ReviewFactory(pilot=proposed, reviewer=ops)
    declaration = declarations.declare(
        user=participant,
        tool_name="Summarizer",
        used_for="Meeting notes",
        data_classification="internal",
    )
    breach = GuardrailBreach.objects.create(
        pilot=running,
        guardrail=GuardrailFactory(pilot=running),
        round=closed,
        detail="Reply time rose.",
    )
    webhook = endpoints.register(
        actor=ops, name="Ops chat", url="https://93.184.215.14/ops", events=["breach.opened"]
    ).endpoint
    world.objects = {
        "team": support,
        "tool": tool,
        "draft": draft,
        "proposed": proposed,
        "running": running,
        "legal_draft": legal_draft,
        "round": open_round,
        "closed_round": closed,
        "prompt": prompt,
        "declaration": declaration,
        "breach": breach,
        "webhook": webhook,
    }
    for name, user in world.users.items():
        if user is None:
            continue
        for scope in ("read", "write"):
            world.secrets[name, scope] = tokens.create_token(
                user, name=f"{name}-{scope}", scope=scope
            ).secret
    return world
