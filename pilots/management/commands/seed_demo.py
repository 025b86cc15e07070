"""Create demo data: teams, tools, users (password "demo") and pilots in every stage.

Every stage is reached through pilots.lifecycle.move, so each pilot's history is real. Runs
only with DEBUG or DEMO_MODE on, and running it again reuses what exists.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from pilots import lifecycle
from pilots.lifecycle import Action
from pilots.models import (
    OPS_GROUP,
    AITool,
    Guardrail,
    Membership,
    Participation,
    Pilot,
    Review,
    Stage,
    SuccessMetric,
    Team,
)
from pilots.reviews import record_review

DEMO_PASSWORD = "demo"  # noqa: S105 - demo accounts, DEBUG/DEMO_MODE only
DEMO_OVERRIDE = "Demo data: no feedback has been collected yet."

TEAMS = [("Customer support", "support"), ("Finance", "finance"), ("Legal", "legal")]
TOOLS = [
    (
        "Support Copilot",
        "Acme AI",
        AITool.ApprovalStatus.APPROVED,
        "confidential",
        "Approved for ticket drafting with customer data.",
    ),
    (
        "Doc Summariser",
        "Papyrus Labs",
        AITool.ApprovalStatus.UNDER_EVALUATION,
        "internal",
        "Security review pending.",
    ),
    ("Code Assistant", "DevTools Inc.", AITool.ApprovalStatus.APPROVED, "internal", ""),
    (
        "Free Chatbot",
        "Unknown",
        AITool.ApprovalStatus.NOT_ALLOWED,
        "public",
        "Keeps prompts for training: not allowed.",
    ),
]
# username, first name, last name, Ops?, (team slug, role) or None
PEOPLE = [
    ("ops", "Olivia", "Ops", True, None),
    ("ops2", "Oscar", "Ops", True, None),
    ("lead", "Lea", "Lead", False, ("support", Membership.Role.LEAD)),
    ("participant", "Paul", "Participant", False, ("support", Membership.Role.MEMBER)),
    ("amy", "Amy", "Agent", False, ("support", Membership.Role.MEMBER)),
    ("ben", "Ben", "Agent", False, ("support", Membership.Role.MEMBER)),
    ("chloe", "Chloe", "Controller", False, ("finance", Membership.Role.MEMBER)),
    ("dana", "Dana", "Director", False, ("finance", Membership.Role.LEAD)),
]
# title, team, lead, tool, data, risk, moves [(action, actor, rationale, override)]
SUBMIT = (Action.SUBMIT, "lead", "", False)
APPROVE = (Action.APPROVE, "ops", "Scope and guardrails are sound.", False)
TO_PILOT = (Action.PROMOTE, "ops", DEMO_OVERRIDE, True)
TO_STANDARD = (Action.PROMOTE, "ops2", DEMO_OVERRIDE, True)
PILOTS: list[tuple[str, str, str, str, str, str, list]] = [
    ("Meeting notes summaries", "support", "lead", "Doc Summariser", "internal", "minimal", []),
    (
        "Refund policy answers",
        "support",
        "lead",
        "Support Copilot",
        "internal",
        "limited",
        [SUBMIT],
    ),
    (
        "Ticket reply drafts",
        "support",
        "lead",
        "Support Copilot",
        "confidential",
        "limited",
        [SUBMIT, APPROVE],
    ),
    (
        "Knowledge base search",
        "support",
        "lead",
        "Support Copilot",
        "internal",
        "limited",
        [SUBMIT, APPROVE, TO_PILOT],
    ),
    (
        "Call transcript tagging",
        "support",
        "lead",
        "Support Copilot",
        "confidential",
        "high",
        [SUBMIT, APPROVE, TO_PILOT, TO_STANDARD],
    ),
    (
        "Invoice matching",
        "finance",
        "dana",
        "Code Assistant",
        "internal",
        "limited",
        [
            (Action.SUBMIT, "dana", "", False),
            APPROVE,
            (Action.PAUSE, "ops2", "Paused during the quarter-end close.", False),
        ],
    ),
    (
        "Contract clause extraction",
        "finance",
        "dana",
        "Doc Summariser",
        "internal",
        "high",
        [
            (Action.SUBMIT, "dana", "", False),
            (Action.REJECT, "ops", "Needs a legal review of the vendor first.", False),
        ],
    ),
    (
        "Macro suggestions",
        "support",
        "lead",
        "Support Copilot",
        "internal",
        "minimal",
        [
            SUBMIT,
            APPROVE,
            TO_PILOT,
            TO_STANDARD,
            (Action.RETIRE, "ops", "Replaced by the ticket reply drafts standard.", False),
        ],
    ),
]
# Pilots whose participants include the demo participant.
PARTICIPANT_STAGES = (Stage.SANDBOX, Stage.PILOT, Stage.APPROVED)


class Command(BaseCommand):
    help = "Create demo teams, tools, users and pilots in every stage (DEBUG/DEMO_MODE only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or settings.DEMO_MODE):
            raise CommandError(
                "seed_demo creates accounts with the password 'demo': it runs only with "
                "DEBUG=1 or DEMO_MODE=1."
            )
        teams = {
            slug: Team.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for name, slug in TEAMS
        }
        tools = {}
        for name, vendor, status, classification, notes in TOOLS:
            tools[name], _ = AITool.objects.get_or_create(
                name=name,
                defaults={
                    "vendor": vendor,
                    "approval_status": status,
                    "max_data_classification": classification,
                    "notes": notes,
                },
            )
        users = self._people(teams)
        created = 0
        for spec in PILOTS:
            created += self._pilot(spec, teams, tools, users)
        self.stdout.write(
            f"Demo data: {created} pilot(s) created, "
            f"{len(PILOTS) - created} already there. Users: "
            f"{', '.join(u for u, *_ in PEOPLE)} (password '{DEMO_PASSWORD}')."
        )
        try:
            from feedback.demo import seed_feedback
        except ImportError:
            return
        seed_feedback()

    def _people(self, teams: dict[str, Team]) -> dict:
        ops_group, _ = Group.objects.get_or_create(name=OPS_GROUP)
        # The admin of the app models, and viewing accounts to look up a lead (as migration
        # pilots 0008 grants it; added again in case the group was re-created by hand).
        ops_group.permissions.add(
            *Permission.objects.filter(content_type__app_label__in=["pilots", "feedback"]),
            *Permission.objects.filter(content_type__app_label="auth", codename="view_user"),
        )
        users = {}
        User = get_user_model()
        for username, first, last, is_ops, membership in PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "is_staff": is_ops,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if is_ops:
                user.groups.add(ops_group)
            if membership:
                slug, role = membership
                Membership.objects.get_or_create(
                    team=teams[slug], user=user, defaults={"role": role}
                )
            users[username] = user
        return users

    def _pilot(self, spec: tuple, teams: dict, tools: dict, users: dict) -> int:
        title, team, lead, tool, data, risk, moves = spec
        if Pilot.objects.filter(title=title).exists():
            return 0
        today = timezone.localdate()
        # One transaction per pilot: a failed move leaves no half-built pilot behind.
        with transaction.atomic():
            pilot = Pilot.objects.create(
                title=title,
                team=teams[team],
                lead=users[lead],
                tool=tools[tool],
                problem=f"{title}: the work takes too long and quality varies.",
                hypothesis_intervention=f"using {tool} for {title.lower()}",
                hypothesis_outcome="save time without losing quality",
                hypothesis_who=f"the {teams[team].name} team",
                hypothesis_signal="people save 30 minutes a week and rate quality 4 or more",
                data_classification=data,
                risk_level=risk,
                planned_start=today - datetime.timedelta(days=30),
                planned_end=today + datetime.timedelta(days=60),
            )
            SuccessMetric.objects.create(
                pilot=pilot,
                name="Answer quality",
                question_key="quality",
                direction=SuccessMetric.Direction.HIGHER,
                baseline=Decimal("3.2"),
                target=Decimal("4.0"),
                min_responses=5,
            )
            Guardrail.objects.create(
                pilot=pilot,
                kind=Guardrail.Kind.POLICY,
                forbids_data_exposure=True,
                description="No customer personal data goes into prompts.",
            )
            Guardrail.objects.create(
                pilot=pilot,
                kind=Guardrail.Kind.METRIC,
                description="Trust stays at 3 or more",
                question_key="trust",
                statistic=Guardrail.Statistic.MEAN,
                comparator=Guardrail.Comparator.GE,
                threshold=Decimal("3"),
                action=Guardrail.Action.PAUSE,
            )
            members = [
                u
                for name, u in users.items()
                if any(m.team_id == pilot.team_id for m in u.memberships.all()) and u != users[lead]
            ]
            for user in members:
                if user.username == "participant" and not self._reaches_active(moves):
                    continue
                Participation.objects.get_or_create(pilot=pilot, user=user)
            for action, actor, rationale, override in moves:
                if action == Action.PROMOTE and pilot.stage == Stage.PILOT:
                    for kind in Review.Kind:
                        record_review(
                            pilot.pk,
                            actor=users["ops2"],
                            kind=kind,
                            outcome=Review.Outcome.CLEARED,
                        )
                lifecycle.move(
                    pilot.pk,
                    action,
                    actor=users[actor],
                    expected_stage=pilot.stage,
                    rationale=rationale,
                    override=override,
                )
                pilot.refresh_from_db()
        return 1

    @staticmethod
    def _reaches_active(moves: list) -> bool:
        """Tell whether the demo pilot ends in sandbox, pilot or approved standard."""
        stage = Stage.DRAFT
        for action, *_ in moves:
            transition = lifecycle.find_transition(stage, action)
            stage = transition.target or stage
        return stage in PARTICIPANT_STAGES
