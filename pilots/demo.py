"""The demo's people, teams and tools (created by `manage.py seed_demo`), and who they are.

Demo accounts exist only where `seed_demo` ran, which it does only with DEBUG or DEMO_MODE on;
the sign-in page lists them (`demo_accounts`) only while DEMO_MODE is on, never in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from core.ops import is_ops, mark_ops

from . import access
from .models import AITool, Membership

DEMO_PASSWORD = "demo"  # noqa: S105 - demo accounts, DEBUG/DEMO_MODE only

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
# What Ops recorded about the approved demo tools (pilots.transparency); the others show gaps.
TOOL_FACTS = {
    "Support Copilot": {
        "model_name": "Acme Assist",
        "model_version": "4.2",
        "data_processed_in": "EU (Ireland, Germany)",
        "data_stored_in": "EU (Ireland)",
        "vendor_retention": "30 days for abuse monitoring, then deleted",
        "trains_on_customer_data": "no",
        "output_ownership": "Our company owns every output",
        "model_card_url": "https://acme.example/assist/model-card",
        "dpa_url": "https://acme.example/legal/dpa",
        "security_docs_url": "https://acme.example/trust",
    },
    "Code Assistant": {
        "model_name": "DevTools Coder",
        "data_processed_in": "EU (France)",
        "data_stored_in": "Not stored: processed in memory only",
        "vendor_retention": "Not kept after the answer",
        "trains_on_customer_data": "no",
        "output_ownership": "Our company owns every output",
        "model_card_url": "https://devtools.example/coder/card",
        "dpa_url": "https://devtools.example/dpa",
        "security_docs_url": "https://devtools.example/security",
    },
}
# username, first name, last name, Ops?, (team slug, role) or None. All sign in with
# DEMO_PASSWORD. Customer support has six members besides its lead, so a round of a pilot the
# lead proposes can reach FEEDBACK_ANONYMITY_THRESHOLD (5) answers from people who sign in.
PEOPLE = [
    ("ops", "Olivia", "Ops", True, None),
    ("ops2", "Oscar", "Ops", True, None),
    ("lead", "Lea", "Lead", False, ("support", Membership.Role.LEAD)),
    ("participant", "Paul", "Participant", False, ("support", Membership.Role.MEMBER)),
    ("amy", "Amy", "Agent", False, ("support", Membership.Role.MEMBER)),
    ("ben", "Ben", "Agent", False, ("support", Membership.Role.MEMBER)),
    ("emma", "Emma", "Agent", False, ("support", Membership.Role.MEMBER)),
    ("farid", "Farid", "Agent", False, ("support", Membership.Role.MEMBER)),
    ("gus", "Gus", "Agent", False, ("support", Membership.Role.MEMBER)),
    # Named AI champion of Customer support by seed_demo (governance.demo); takes part in no
    # demo pilot, so the stories' people and figures stay the same.
    ("carla", "Carla", "Champion", False, ("support", Membership.Role.MEMBER)),
    ("chloe", "Chloe", "Controller", False, ("finance", Membership.Role.MEMBER)),
    ("dana", "Dana", "Director", False, ("finance", Membership.Role.LEAD)),
]
USERNAMES = [username for username, *_rest in PEOPLE]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    role: str


def demo_accounts() -> list[DemoAccount]:
    """The demo people who exist, each with their role, in PEOPLE's order; none unless DEMO_MODE.

    Three queries (the users, which are Ops, their memberships with whether they champion the
    team), however many there are.
    """
    if not settings.DEMO_MODE:
        return []
    users = list(get_user_model().objects.filter(username__in=USERNAMES, is_active=True))
    if not users:
        return []
    mark_ops(users)
    memberships: dict[int, list[Membership]] = {}
    for m in (
        Membership.objects.filter(user__in=users)
        .select_related("team")
        .annotate(is_champion=access.champion_exists(user="user_id", team="team_id"))
        .order_by("team__name")
    ):
        memberships.setdefault(m.user_id, []).append(m)
    order = {name: i for i, name in enumerate(USERNAMES)}
    accounts = []
    for user in sorted(users, key=lambda u: order[u.username]):
        roles = [_("Ops")] if is_ops(user) else []
        for m in memberships.get(user.pk, []):
            if m.role == Membership.Role.LEAD:
                roles.append(_("lead of %(team)s") % {"team": m.team.name})
            else:
                roles.append(_("member of %(team)s") % {"team": m.team.name})
            if m.is_champion:
                roles.append(_("AI champion of %(team)s") % {"team": m.team.name})
        accounts.append(
            DemoAccount(
                username=user.get_username(),
                name=user.get_full_name(),
                role=", ".join(roles),
            )
        )
    return accounts
