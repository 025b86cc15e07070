"""Tool declarations: anyone says which AI tool they already use; Ops turn it into something.

A declaration is made without blame. Ops handle each one once: register the tool, open a draft
pilot for the declaring person's team (registering the tool on the way if needed), or dismiss it
with a note. The person sees their declarations and what became of them. A tool registered this
way is under evaluation with the lowest data ceiling (public) until Ops set it.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from core import changelog, followups
from core.exceptions import PermissionRefused, ValidationFailed

from . import access, proposals
from .models import AITool, DataClassification, Membership, Pilot, Team, ToolDeclaration

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# How long a pilot opened from a declaration is planned for, until its lead edits it.
DEFAULT_PILOT_DAYS = 90
# The cause `declare` announces (core.followups): whoever listens (webhooks) hears of it.
DECLARATION_RECEIVED = "declaration_received"


def declare(
    *,
    user: AbstractBaseUser,
    tool_name: str,
    used_for: str,
    data_classification: str,
    vendor: str = "",
    team: Team | None = None,
    anonymous: bool = False,
) -> ToolDeclaration:
    """Record that a person uses an AI tool, for their team (default: their first team).

    An anonymous declaration (the amnesty) stores the tool, the use and the data, never the
    person: no declarer, the team only if they chose one, and only the day it was made.
    """
    tool_name = tool_name.strip()
    if not tool_name:
        raise ValidationFailed(_("Name the tool."), code="required", field="tool_name")
    memberships = Membership.objects.filter(user=user)
    if team is not None and not access.member_of(user, team):
        raise ValidationFailed(
            _("You can only declare a tool for a team you belong to."),
            code="not_a_member",
            field="team",
        )
    if team is None and not anonymous:
        first = memberships.select_related("team").order_by("team__name").first()
        team = first.team if first else None
    declared_at = timezone.now()
    if anonymous:
        # The day only: a time would pair the declaration with whoever was busy then.
        declared_at = timezone.make_aware(
            datetime.datetime.combine(timezone.localdate(), datetime.time())
        )
    with transaction.atomic():
        declaration = ToolDeclaration.objects.create(
            declared_by=None if anonymous else user,
            created_at=declared_at,
            team=team,
            tool_name=tool_name,
            vendor=vendor.strip(),
            used_for=used_for.strip(),
            data_classification=data_classification,
            tool=AITool.objects.filter(name__iexact=tool_name).first(),
        )
        if not anonymous:
            # An anonymous declaration is not announced (no webhook): a message sent at once
            # would date it to the minute, which its day-only record refuses to do; Ops see
            # anonymous ones only as counts per tool and team.
            followups.announce(
                DECLARATION_RECEIVED,
                key=f"declaration:{declaration.pk}",
                payload={"declaration_id": declaration.pk},
            )
    return declaration


def relay(
    team: Team,
    *,
    champion: AbstractBaseUser,
    tool_name: str,
    used_for: str,
    data_classification: str,
    vendor: str = "",
) -> ToolDeclaration:
    """Record, as one of `team`'s champions, an anonymous declaration for someone in the team.

    The row is an ordinary anonymous declaration: no declarer (not the champion either), the
    team, the day. It carries no "relayed" mark and no change record names the champion: in a
    team with one champion, either would tell Ops that the person is someone who talked to them.
    """
    if not access.may_relay_declaration(champion, team):
        raise PermissionRefused(_("Only the team's AI champions relay declarations for it."))
    return declare(
        user=champion,
        team=team,
        anonymous=True,
        tool_name=tool_name,
        used_for=used_for,
        data_classification=data_classification,
        vendor=vendor,
    )


def register_tool(declaration_id: int, *, actor: AbstractBaseUser) -> AITool:
    """Turn a new declaration into a registered tool (under evaluation), or link the known one."""
    _require_ops(actor)
    with transaction.atomic():
        declaration = _lock_new(declaration_id)
        tool = _tool_for(declaration)
        declaration.tool = tool
        _mark_handled(declaration, ToolDeclaration.Status.REGISTERED, actor=actor)
    return tool


def turn_into_pilot(declaration_id: int, *, actor: AbstractBaseUser) -> Pilot:
    """Open a draft pilot for the declaring person's team, led by that person.

    The draft starts from the declaration (tool, data, what it is used for); its lead fills
    in the hypothesis, metrics and guardrails before submitting it.
    """
    _require_ops(actor)
    with transaction.atomic():
        declaration = _lock_new(declaration_id)
        team = declaration.team
        if declaration.declared_by_id is None:
            raise ValidationFailed(
                _(
                    "This declaration is anonymous: nobody can lead a pilot from it. "
                    "Register the tool, or ask for a named declaration."
                ),
                code="anonymous_declaration",
                field="declared_by",
            )
        if team is None:
            raise ValidationFailed(
                _(
                    "%(person)s belongs to no team, so there is no team to run a pilot: "
                    "register the tool instead."
                )
                % {"person": declaration.declared_by.get_username()},
                code="no_team",
                field="team",
            )
        tool = _tool_for(declaration)
        today = timezone.localdate()
        pilot = proposals.create_draft(
            actor=actor,
            team=team,
            lead=declaration.declared_by,
            # The data the person said they use, even above the new tool's public ceiling:
            # submitting is refused until Ops set the ceiling or the lead lowers the data.
            check_tool_ceiling=False,
            proposal=proposals.Proposal(
                fields={
                    "title": _("%(tool)s for %(team)s") % {"tool": tool.name, "team": team.name},
                    "tool": tool,
                    "problem": declaration.used_for,
                    "hypothesis_intervention": _("using %(tool)s") % {"tool": tool.name},
                    "hypothesis_outcome": _("(to be written by the lead)"),
                    "hypothesis_who": team.name,
                    "hypothesis_signal": _("(to be written by the lead)"),
                    "data_classification": declaration.data_classification,
                    "planned_start": today,
                    "planned_end": today + datetime.timedelta(days=DEFAULT_PILOT_DAYS),
                }
            ),
        )
        declaration.tool = tool
        declaration.pilot = pilot
        _mark_handled(declaration, ToolDeclaration.Status.PILOTED, actor=actor)
    return pilot


def dismiss(declaration_id: int, *, actor: AbstractBaseUser, note: str) -> ToolDeclaration:
    """Close a new declaration without a tool or a pilot, telling the person why in a note."""
    _require_ops(actor)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(
            _("Write a note for the person who declared the tool: why nothing follows."),
            code="note_required",
            field="ops_note",
        )
    with transaction.atomic():
        declaration = _lock_new(declaration_id)
        declaration.ops_note = note
        _mark_handled(declaration, ToolDeclaration.Status.DISMISSED, actor=actor)
    return declaration


def amnesty_threshold() -> int:
    """Fewest declarations of a tool in a team before Ops see that count (never below 2)."""
    return max(2, int(getattr(settings, "DECLARATION_COUNT_THRESHOLD", 3)))


def counts_by_tool_and_team() -> list[dict]:
    """How many people declared each tool, per team, only where the count reaches the
    threshold (named and anonymous together): what tells Ops which tools deserve a pilot.

    A smaller count would let Ops guess who declared; it shows only in the tool's total, and
    only where that total reaches the threshold too.
    """
    threshold = amnesty_threshold()
    rows = list(
        ToolDeclaration.objects.annotate(tool_key=Lower("tool_name"))
        .values("tool_key", "team__name")
        .annotate(n=Count("pk"), name=Min("tool_name"))
        .order_by("tool_key", "team__name")
    )
    by_tool: dict[str, dict] = {}
    for row in rows:
        tool = by_tool.setdefault(
            row["tool_key"], {"tool": row["name"], "total": 0, "teams": [], "hidden": 0}
        )
        tool["total"] += row["n"]
        if row["n"] >= threshold:
            tool["teams"].append({"team": row["team__name"], "count": row["n"]})
        else:
            tool["hidden"] += row["n"]
    return sorted(
        (t for t in by_tool.values() if t["total"] >= threshold),
        key=lambda t: (-t["total"], t["tool"]),
    )


def declarations_of(user) -> QuerySet[ToolDeclaration]:
    """The declarations a person made, newest first, with what Ops did with them."""
    return ToolDeclaration.objects.filter(declared_by=user).select_related("tool", "pilot")


def _mark_handled(declaration: ToolDeclaration, status: str, *, actor: AbstractBaseUser) -> None:
    declaration.status = status
    declaration.handled_by = actor
    declaration.handled_at = timezone.now()
    declaration.save(
        update_fields=["tool", "pilot", "status", "handled_by", "handled_at", "ops_note"]
    )
    # The record names who handled it and what followed, never who declared it: a
    # declaration may be someone admitting an unvetted tool, and the log is exported.
    changelog.record(
        "declaration.handled",
        subject=declaration,
        scope=declaration.pilot,
        actor=actor,
        changes={
            "status": [ToolDeclaration.Status.NEW, status],
            "tool": [None, declaration.tool_id],
            "pilot": [None, declaration.pilot_id],
        },
        reason=declaration.ops_note,
    )


def _require_ops(actor) -> None:
    if not access.may_handle_declaration(actor):
        raise PermissionRefused(_("Only Ops can handle tool declarations."))


def _lock_new(declaration_id: int) -> ToolDeclaration:
    # Locked and re-checked, so two Ops clicking at once handle a declaration only once.
    declaration = (
        ToolDeclaration.objects.select_for_update(of=("self",))
        .select_related("declared_by", "team")
        .get(pk=declaration_id)
    )
    if declaration.status != ToolDeclaration.Status.NEW:
        raise ValidationFailed(
            _("The declaration of %(tool)s was already handled (%(status)s).")
            % {"tool": declaration.tool_name, "status": declaration.get_status_display()},
            code="already_handled",
            field="status",
        )
    return declaration


def _tool_for(declaration: ToolDeclaration) -> AITool:
    if declaration.tool_id:
        return declaration.tool
    tool = AITool.objects.filter(name__iexact=declaration.tool_name).first()
    if tool is not None:
        return tool
    try:
        # A savepoint: two declarations of one new tool handled at once create it once (the
        # name is unique); the loser takes the winner's row.
        with transaction.atomic():
            return AITool.objects.create(
                name=declaration.tool_name,
                vendor=declaration.vendor or _("Unknown"),
                approval_status=AITool.ApprovalStatus.UNDER_EVALUATION,
                # The lowest ceiling until Ops set it: the data someone admitted giving an
                # unvetted tool says nothing about what it may receive.
                max_data_classification=DataClassification.PUBLIC,
                notes=_("Declared by %(person)s: %(used_for)s")
                % {
                    "person": declaration.declared_by.get_username()
                    if declaration.declared_by
                    else _("someone, anonymously"),
                    "used_for": declaration.used_for,
                },
            )
    except IntegrityError:
        return AITool.objects.get(name=declaration.tool_name)
