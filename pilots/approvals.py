"""Graduation: what a promotion to approved standard allows, and its re-certification.

A promotion to approved standard records its scope (an `ApprovedUse`): for which use, up to
which data classification, for which teams (none: every team) and until which re-certification
date. `pilots.lifecycle.move` checks the scope with `clean` and writes it with `record` in the
move's transaction, so the standard and its scope commit or roll back together. Ops re-certify
a standard with `recertify` (a new date, a reason, a change record).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed
from core.ops import is_ops

from .choices import DataClassification
from .models import ApprovedUse, Pilot, StageChange, Team

FIELDS = ["use", "max_data_classification", "recertify_on"]


@dataclass(frozen=True)
class Scope:
    """What Ops approve a standard for (not yet checked: `clean` does)."""

    use: str
    max_data_classification: str
    recertify_on: datetime.date | None
    teams: tuple[int, ...] = field(default_factory=tuple)

    @classmethod
    def build(
        cls,
        *,
        use: str = "",
        max_data_classification: str = "",
        recertify_on: datetime.date | None = None,
        teams: Iterable[int] = (),
    ) -> Scope:
        return cls(use or "", max_data_classification or "", recertify_on, tuple(teams or ()))


def clean(scope: Scope | None, *, pilot: Pilot, today: datetime.date | None = None) -> Scope:
    """Check the scope of a promotion to approved standard; return it trimmed.

    Raises ValidationFailed with the field at fault: approval (no scope), use,
    max_data_classification (unknown, or above the tool's ceiling), teams (unknown),
    recertify_on (missing, or not in the future).
    """
    if scope is None:
        raise ValidationFailed(
            _(
                "Record the scope of the approval: the use, the data classification, the teams "
                "and the re-certification date."
            ),
            code="approval_required",
            field="approval",
        )
    use = scope.use.strip()
    if not use:
        raise ValidationFailed(
            _("Say for which use the tool is approved."), code="use_required", field="use"
        )
    if scope.max_data_classification not in DataClassification.values:
        raise ValidationFailed(
            _("Choose the most sensitive data this use may receive."),
            code="classification_required",
            field="max_data_classification",
        )
    tool = pilot.tool
    if DataClassification.rank(scope.max_data_classification) > DataClassification.rank(
        tool.max_data_classification
    ):
        raise ValidationFailed(
            _("%(tool)s may receive data up to %(ceiling)s only: choose that or less.")
            % {
                "tool": tool.name,
                "ceiling": DataClassification(tool.max_data_classification).label,
            },
            code="classification_above_tool",
            field="max_data_classification",
        )
    teams = tuple(sorted(set(scope.teams)))
    if teams:
        known = set(Team.objects.filter(pk__in=teams).values_list("pk", flat=True))
        unknown = [t for t in teams if t not in known]
        if unknown:
            raise ValidationFailed(
                _("Unknown team: %(teams)s.") % {"teams": ", ".join(map(str, unknown))},
                code="unknown_team",
                field="teams",
            )
    _check_date(scope.recertify_on, today=today)
    return Scope(use, scope.max_data_classification, scope.recertify_on, teams)


def _check_date(date: datetime.date | None, *, today: datetime.date | None) -> None:
    today = today or timezone.localdate()
    if date is None:
        raise ValidationFailed(
            _("Give the date by which the standard must be re-certified."),
            code="recertify_on_required",
            field="recertify_on",
        )
    if date <= today:
        raise ValidationFailed(
            _("The re-certification date must be in the future (after %(today)s).")
            % {"today": formats.date_format(today, "SHORT_DATE_FORMAT")},
            code="recertify_on_not_future",
            field="recertify_on",
        )


def _snapshot(approved: ApprovedUse, teams: Iterable[int]) -> dict:
    return {**changelog.snapshot(approved, FIELDS), "teams": sorted(teams)}


def record(
    pilot: Pilot, *, change: StageChange, scope: Scope, actor, now: datetime.datetime
) -> ApprovedUse:
    """Write the standard's scope and its change record; `lifecycle.move` calls it.

    `scope` is already `clean`.
    """
    approved = ApprovedUse.objects.create(
        pilot=pilot,
        stage_change=change,
        use=scope.use,
        max_data_classification=scope.max_data_classification,
        recertify_on=scope.recertify_on,
        approved_by=actor,
        approved_at=now,
    )
    approved.teams.set(scope.teams)
    changelog.record(
        "approval.scoped",
        subject=approved,
        scope=pilot,
        actor=actor,
        changes=changelog.diff({}, _snapshot(approved, scope.teams)),
        at=now,
    )
    return approved


def recertify(
    approved_use_id: int,
    *,
    actor,
    recertify_on: datetime.date | None,
    reason: str,
    now: datetime.datetime | None = None,
) -> ApprovedUse:
    """Re-certify a standard in force until a new date (Ops only), with a reason.

    Raises PermissionRefused (not Ops), ValidationFailed with the field recertify_on (missing,
    not in the future), reason (empty) or stage (the standard is no longer in force).
    """
    if not is_ops(actor):
        raise PermissionRefused(_("Only Ops can re-certify a standard."), code="not_ops")
    reason = (reason or "").strip()
    now = now or timezone.now()
    _check_date(recertify_on, today=timezone.localdate(now))
    if not reason:
        raise ValidationFailed(
            _("Say why the standard is re-certified."), code="reason_required", field="reason"
        )
    with transaction.atomic():
        approved = ApprovedUse.objects.select_for_update().get(pk=approved_use_id)
        if not ApprovedUse.objects.current().filter(pk=approved.pk).exists():
            raise ValidationFailed(
                _("This standard is no longer in force: there is nothing to re-certify."),
                code="not_in_force",
                field="stage",
            )
        before = {"recertify_on": changelog.plain(approved.recertify_on)}
        approved.recertify_on = recertify_on
        approved.recertified_at = now
        approved.save(update_fields=["recertify_on", "recertified_at"])
        changelog.record(
            "approval.recertified",
            subject=approved,
            scope=approved.pilot,
            actor=actor,
            changes=changelog.diff(before, {"recertify_on": recertify_on}),
            reason=reason,
            at=now,
        )
    return approved
