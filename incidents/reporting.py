"""Reporting and triaging incidents: the one home of their rules.

Anyone signed in reports an incident about a pilot they may see or about any tool, named or
anonymous. A confidential-data exposure about a pilot breaches its exposure guardrails at once
(a follow-up that `decisions` runs, as for an exposure reported in a round). Ops move an
incident forward (new → investigating → contained → closed) with a note, and link it to
breaches. Every step by Ops and every named report leaves a change record; an anonymous report
leaves none (a record's time and sequence would tell who sent it), only its own row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from core import changelog, followups
from core.exceptions import PermissionRefused, ValidationFailed
from core.ops import is_ops
from pilots.models import AITool, GuardrailBreach, Pilot, ToolDeclaration

from .models import EXPOSURE_KIND, Incident, Triage

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The follow-up an exposure incident asks for (decisions.guardrails does it).
INCIDENT_EXPOSURE = "incident_exposure"
ORDER = [s.value for s in Incident.Status]
EXPORT_COLUMNS = (
    "id",
    "reported_on",
    "pilot",
    "tool",
    "kind",
    "severity",
    "status",
    "named",
    "description",
    "breaches",
)


def report(
    *,
    actor: AbstractBaseUser,
    kind: str,
    severity: str,
    description: str,
    pilot: Pilot | None = None,
    tool: AITool | None = None,
    anonymous: bool = False,
) -> Incident:
    """Record an incident; an anonymous one names nobody. Raises ValidationFailed."""
    if pilot is None and tool is None:
        raise ValidationFailed(
            _("Say which pilot or which tool the incident is about."),
            code="incident_without_subject",
            field="pilot",
        )
    if pilot is not None and not Pilot.objects.visible_to(actor).filter(pk=pilot.pk).exists():
        raise ValidationFailed(
            _("Choose a pilot you take part in or can see."), code="unknown_pilot", field="pilot"
        )
    if kind not in Incident.Kind.values:
        raise ValidationFailed(_("Choose a kind of incident."), code="invalid", field="kind")
    if severity not in Incident.Severity.values:
        raise ValidationFailed(_("Choose a severity."), code="invalid", field="severity")
    description = (description or "").strip()
    if not description:
        raise ValidationFailed(
            _("Say what happened, in a few words."), code="required", field="description"
        )
    with transaction.atomic():
        incident = Incident.objects.create(
            pilot=pilot,
            tool=tool if tool is not None else (pilot.tool if pilot is not None else None),
            kind=kind,
            severity=severity,
            description=description,
            reporter=None if anonymous else actor,
        )
        if not anonymous:
            changelog.record(
                "incident.reported",
                subject=incident,
                scope=pilot,
                actor=actor,
                changes={"kind": [None, kind], "severity": [None, severity]},
            )
        if kind == EXPOSURE_KIND and pilot is not None:
            followups.request(
                INCIDENT_EXPOSURE,
                key=f"incident:{incident.pk}",
                payload={"incident_id": str(incident.pk)},
            )
    return incident


def triage(incident_id, *, actor: AbstractBaseUser, status: str, note: str) -> Triage:
    """Move an incident forward with a note (Ops). Raises PermissionRefused, ValidationFailed."""
    if not is_ops(actor):
        raise PermissionRefused(_("Only Ops triage incidents."), code="not_ops")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Write a note for this step."), code="note_required", field="note")
    if status not in ORDER:
        raise ValidationFailed(_("Choose a status."), code="invalid", field="status")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if ORDER.index(status) <= ORDER.index(incident.status):
            raise ValidationFailed(
                _("An incident %(status)s can only move forward.")
                % {"status": Incident.Status(incident.status).label.lower()},
                code="triage_backwards",
                field="status",
            )
        step = Triage.objects.create(
            incident=incident, from_status=incident.status, to_status=status, note=note, actor=actor
        )
        changelog.record(
            "incident.triaged",
            subject=incident,
            scope=incident.pilot,
            actor=actor,
            changes={"status": [incident.status, status]},
            reason=note,
        )
        incident.status = status
        incident.save(update_fields=["status"])
    return step


def link_breach(incident_id, *, actor: AbstractBaseUser, breach: GuardrailBreach) -> Incident:
    """Link an incident to a breach of the same pilot (Ops)."""
    if not is_ops(actor):
        raise PermissionRefused(_("Only Ops triage incidents."), code="not_ops")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.pilot_id is not None and breach.pilot_id != incident.pilot_id:
            raise ValidationFailed(
                _("This breach belongs to another pilot."),
                code="breach_of_another_pilot",
                field="breach",
            )
        if not incident.breaches.filter(pk=breach.pk).exists():
            incident.breaches.add(breach)
            changelog.record(
                "incident.linked",
                subject=incident,
                scope=incident.pilot,
                actor=actor,
                changes={"breach": [None, breach.pk]},
            )
    return incident


def register_rows(incidents) -> Iterator[list[str]]:
    """The register as rows for a CSV export: the header, then one row per incident."""
    yield list(EXPORT_COLUMNS)
    for incident in incidents.select_related("pilot", "tool").prefetch_related("breaches"):
        yield [
            str(incident.pk),
            incident.reported_on.isoformat(),
            incident.pilot.title if incident.pilot else "",
            incident.tool.name if incident.tool else "",
            incident.kind,
            incident.severity,
            incident.status,
            "yes" if incident.reporter_id else "no",
            incident.description,
            " ".join(str(b.pk) for b in incident.breaches.all()),
        ]


def open_for_teams(teams) -> list[Incident]:
    """Incidents not closed about the teams' pilots or the tools they use (piloted or declared).

    One query. What a champion watches: kind, severity, status, subject and day, never the
    reporter nor the description (free text can say who wrote it), so the rows load neither.
    """
    team_ids = [getattr(team, "pk", team) for team in teams]
    if not team_ids:
        return []
    used_tools = Pilot.objects.filter(team__in=team_ids).values("tool_id")
    declared_tools = ToolDeclaration.objects.filter(team__in=team_ids, tool__isnull=False).values(
        "tool_id"
    )
    return list(
        Incident.objects.open()
        .filter(Q(pilot__team__in=team_ids) | Q(tool__in=used_tools) | Q(tool__in=declared_tools))
        .select_related("pilot", "tool")
        .only("kind", "severity", "status", "reported_on", "pilot__title", "tool__name")
        .order_by("-reported_on", "status", "pk")
    )
