"""Create demo data: teams, tools, users (password "demo") and pilots in every stage, with a past.

The people, teams and tools are in pilots.demo; the pilots' stories (moves through
pilots.lifecycle.move on dated days, with the feedback rounds between them) in decisions.demo.
Runs only with DEBUG or DEMO_MODE on, and running it again reuses what exists.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from core.ops import OPS_GROUP
from feedback.anonymity import anonymity_threshold
from governance.demo import CHAMPION_TEAM, DEMO_CHAMPION
from pilots.demo import DEMO_PASSWORD, PEOPLE, TEAMS, TOOL_FACTS, TOOLS
from pilots.models import AITool, Membership, Team


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
                    **TOOL_FACTS.get(name, {}),
                    # Checked when the demo is seeded, so it is not due for a re-check.
                    "transparency_checked_on": timezone.localdate() if name in TOOL_FACTS else None,
                },
            )
        users = self._people(teams)
        # The stories hold feedback rounds: they live with feedback, which builds on pilots.
        from decisions import demo

        try:
            report = demo.seed(teams=teams, tools=tools, users=users, now=timezone.now())
        except ValueError as e:
            raise CommandError(str(e)) from e
        self._print(report, teams)

    def _print(self, report, teams: dict[str, Team]) -> None:
        site = settings.SITE_URL.rstrip("/")
        out = self.stdout.write
        out(
            f"Demo data: {len(report.created)} pilot(s) created, "
            f"{len(report.existing)} already there."
        )
        out(f"Sign in at {site}{reverse('login')} as any of these (password '{DEMO_PASSWORD}'):")
        names = {slug: team.name for slug, team in teams.items()}
        for username, first, last, is_ops, membership in PEOPLE:
            roles = ["Ops"] if is_ops else []
            if membership:
                slug, role = membership
                lead = role == Membership.Role.LEAD
                roles.append(f"{'lead of' if lead else 'member of'} {names[slug]}")
            if username == DEMO_CHAMPION:
                roles.append(f"AI champion of {names[CHAMPION_TEAM]}")
            out(f"  {username:<12} {first} {last}: {', '.join(roles)}")
        inbox = f"{site}{reverse('feedback_inbox')}"
        if not report.open_prompts:
            out(
                "No demo feedback round is open now: 'participant' has no open prompt. Ops can "
                "open a round in the admin; its invitations reach each participant's inbox."
            )
        for found in report.open_prompts:
            round_ = found.round
            closes = timezone.localtime(round_.closes_at).strftime("%Y-%m-%d %H:%M")
            out(
                f"Open feedback round: '{found.pilot.title}' "
                f"({found.pilot.team.name}), until {closes}."
            )
            if found.link:
                out(
                    "'participant' has one open prompt in it; answer it at\n"
                    f"  {found.link}\n"
                    "(a new link each time seed_demo runs: the previous one stops working), or "
                    f"sign in as participant and answer from the inbox, {inbox}"
                )
            else:
                out(f"'participant' has answered it; the answer can be changed from {inbox}")
            if found.others:
                out(
                    f"{', '.join(found.others)} are invited too: each signs in and answers from "
                    f"the inbox. Results show once {anonymity_threshold()} "
                    "people have answered and the round has closed."
                )

    def _people(self, teams: dict[str, Team]) -> dict:
        ops_group, _ = Group.objects.get_or_create(name=OPS_GROUP)
        # The admin of the app models, and viewing accounts to look up a lead (as migration
        # pilots 0008 grants it; added again in case the group was re-created by hand).
        ops_group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=["pilots", "feedback", "governance"]
            ),
            *Permission.objects.filter(
                content_type__app_label="core",
                codename__in=[
                    "view_changerecord",
                    "view_followup",
                    "change_followup",
                    "view_delivery",
                    "change_delivery",
                ],
            ),
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
