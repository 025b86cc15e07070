"""Writing a pilot proposal: create and update a draft, and submit it for review.

A draft is saved with its success metrics, guardrails and participants in one transaction,
so a refused row leaves nothing half-written. Errors name the form field concerned; rows of
the metrics and guardrails are named like their form prefix (`metrics-0-target`), so the web
form can show each message next to its input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed

from . import access, lifecycle, measures, question_keys, registry, risk
from .models import Guardrail, Membership, Participation, Pilot, Stage, SuccessMetric, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The pilot fields a proposal sets; everything else (stage, audit) belongs to lifecycle.
PILOT_FIELDS = (
    "title",
    "tool",
    "problem",
    "hypothesis_intervention",
    "hypothesis_outcome",
    "hypothesis_who",
    "hypothesis_signal",
    "data_classification",
    "data_description",
    "risk_level",
    "risk_answers",
    "ai_act_category",
    "planned_start",
    "planned_end",
    "budget_cap",
    "budget_action",
    "anonymous_feedback",
    "cadence",
    "cadence_weekday",
    "response_window_days",
)
METRIC_FIELDS = ("name", "question_key", "direction", "baseline", "target", "min_responses")
GUARDRAIL_FIELDS = (
    "kind",
    "description",
    "forbids_data_exposure",
    "question_key",
    "statistic",
    "comparator",
    "threshold",
    "action",
)
# The days participants have to answer a round (the database checks the same range).
RESPONSE_WINDOW_DAYS = (1, 14)
METRIC_GUARDRAIL_FIELDS = ("question_key", "statistic", "comparator", "threshold")


@dataclass
class Proposal:
    """What a lead writes: the pilot's fields, its metric and guardrail rows, its people."""

    fields: dict[str, Any]
    metrics: Sequence[dict[str, Any]] = ()
    guardrails: Sequence[dict[str, Any]] = ()
    participants: Iterable[AbstractBaseUser] = field(default_factory=list)
    # Own questions as data (pilots.question_keys.own_questions), recreated with a new draft:
    # from a template or a cloned pilot. Metrics and guardrails may name them.
    questions: Sequence[dict[str, Any]] = ()
    # Where a new draft started from, kept in its change record: {"cloned_from": pilot id}
    # or {"template": template id}.
    origin: dict[str, Any] = field(default_factory=dict)


def create_draft(
    *,
    actor: AbstractBaseUser,
    team: Team,
    proposal: Proposal,
    lead: AbstractBaseUser | None = None,
    check_tool_ceiling: bool = True,
) -> Pilot:
    """Create a draft pilot with its metrics, guardrails and participants.

    The actor must lead the team, or be Ops (who may name another lead, e.g. when turning a
    tool declaration into a draft). A draft opened from a declaration keeps the data the
    person said they use even above the tool's ceiling (`check_tool_ceiling=False`): the
    lifecycle re-checks tool and data when it is submitted. Raises PermissionRefused or
    ValidationFailed.
    """
    lead = lead or actor
    if not access.may_propose_for(actor, team):
        raise PermissionRefused(
            _("Only a lead of %(team)s can propose a pilot for it.") % {"team": team.name},
            field="team",
        )
    proposal = _assessed(proposal, None)
    _validate(team, proposal, check_tool_ceiling=check_tool_ceiling)
    with transaction.atomic():
        pilot = Pilot(team=team, lead=lead, stage=Stage.DRAFT)
        for name in PILOT_FIELDS:
            if name in proposal.fields:
                setattr(pilot, name, proposal.fields[name])
        pilot.save()
        if proposal.questions:
            # Before the rows: a metric may be measured by one of these questions.
            question_keys.own_questions().write(pilot.pk, user=actor, rows=list(proposal.questions))
        _write_rows(pilot, proposal)
        changes = changelog.diff({}, _state(pilot))
        changes.update({name: [None, value] for name, value in proposal.origin.items()})
        changelog.record("pilot.created", subject=pilot, scope=pilot, actor=actor, changes=changes)
    return pilot


def update_draft(
    pilot_id: int,
    *,
    editor: AbstractBaseUser,
    proposal: Proposal,
    team: Team | None = None,
) -> Pilot:
    """Replace a draft's fields, metrics, enabled guardrails and participants.

    Only a draft is editable, and only by its lead or a lead of its team. A guardrail Ops
    disabled stays as it is, with its reason. Raises PermissionRefused (not editable),
    ValidationFailed (a field or a row).
    """
    with transaction.atomic():
        # The lock makes a concurrent submission wait; the stage is re-checked under it.
        pilot = Pilot.objects.select_for_update().get(pk=pilot_id)
        if pilot.stage != Stage.DRAFT:
            raise PermissionRefused(
                _("This pilot is %(stage)s: only a draft can be edited.")
                % {"stage": Stage(pilot.stage).label},
                code="not_editable",
            )
        if not access.may_edit(editor, pilot):
            raise PermissionRefused(
                _("Only the pilot's lead or a lead of its team can edit it."), code="not_editable"
            )
        if team is not None and team.pk != pilot.team_id:
            if not access.may_propose_for(editor, team):
                raise PermissionRefused(
                    _("Only a lead of %(team)s can propose a pilot for it.") % {"team": team.name},
                    field="team",
                )
            pilot.team = team
        proposal = _assessed(proposal, pilot)
        _validate(pilot.team, proposal, pilot=pilot)
        before = _state(pilot)
        for name in PILOT_FIELDS:
            if name in proposal.fields:
                setattr(pilot, name, proposal.fields[name])
        pilot.save()
        pilot.metrics.all().delete()
        # A draft has never run, so its guardrails have no breach that would protect them.
        pilot.guardrails.enabled().delete()
        _write_rows(pilot, proposal)
        changes = changelog.diff(before, _state(pilot))
        if changes:
            changelog.record(
                "pilot.edited", subject=pilot, scope=pilot, actor=editor, changes=changes
            )
    return pilot


def correct_draft(
    pilot_id: int,
    *,
    actor: AbstractBaseUser,
    proposal: Proposal,
    team: Team | None = None,
    lead: AbstractBaseUser | None = None,
    reason: str = "",
) -> Pilot:
    """Correct a draft as Ops (the admin): not a lead's edit, and recorded as a correction.

    The same rules as a lead's edit (drafts only, participants from the team, metric names and
    watched statistics unique, questions asked), but Ops may correct any team's draft and name
    another lead. Raises PermissionRefused (not Ops, not a draft) or ValidationFailed.
    """
    if not access.may_correct(actor):
        raise PermissionRefused(_("Only Ops can correct a pilot's proposal."), code="not_ops")
    with transaction.atomic():
        pilot = Pilot.objects.select_for_update().get(pk=pilot_id)
        if pilot.stage != Stage.DRAFT:
            raise PermissionRefused(
                _("This pilot is %(stage)s: only a draft can be edited.")
                % {"stage": Stage(pilot.stage).label},
                code="not_editable",
            )
        if team is not None:
            pilot.team = team
        if lead is not None:
            pilot.lead = lead
        proposal = _assessed(proposal, pilot)
        _validate(pilot.team, proposal, pilot=pilot)
        before = _state(Pilot.objects.get(pk=pilot.pk))
        for name in PILOT_FIELDS:
            if name in proposal.fields:
                setattr(pilot, name, proposal.fields[name])
        pilot.save()
        pilot.metrics.all().delete()
        pilot.guardrails.enabled().delete()
        _write_rows(pilot, proposal)
        changes = changelog.diff(before, _state(pilot))
        if changes:
            changelog.record(
                "pilot.corrected",
                subject=pilot,
                scope=pilot,
                actor=actor,
                changes=changes,
                reason=(reason or "").strip(),
            )
    return pilot


def _state(pilot: Pilot) -> dict[str, Any]:
    """What a proposal sets, as the change record keeps it: fields, rows, people (3 queries)."""
    state = changelog.snapshot(pilot, ("team", "lead", *PILOT_FIELDS))
    state["metrics"] = [
        changelog.plain(row) for row in pilot.metrics.order_by("pk").values(*METRIC_FIELDS)
    ]
    state["guardrails"] = [
        changelog.plain(row)
        for row in pilot.guardrails.enabled().order_by("pk").values(*GUARDRAIL_FIELDS)
    ]
    state["participants"] = sorted(
        pilot.participations.values_list("user_id", flat=True).order_by()
    )
    return state


def missing_for_submission(
    pilot: Pilot, *, metrics: int, guardrails: int, participants: int
) -> list[str]:
    """List what a draft still lacks before it can be submitted (empty: ready).

    Takes the counts so that a page listing many pilots can annotate them in one query;
    `guardrails` counts the enabled ones (a disabled guardrail guards nothing).
    """
    missing = []
    if not metrics:
        missing.append(_("Add at least one success metric."))
    if not guardrails:
        missing.append(_("Add at least one guardrail."))
    if not participants:
        missing.append(_("Choose at least one participant."))
    return missing


def check_submittable(pilot: Pilot) -> None:
    """Refuse to submit a draft that lacks what a proposal needs (ValidationFailed).

    Registered with the lifecycle (pilots.apps), which runs it inside every submit move, under
    the pilot's row lock: the web page, the API and any other adapter get the same refusal.
    Also unknown_question or question_kind_mismatch when a stored metric or enabled guardrail
    names a question the pilot's feedback does not ask (its field names the row, as the edit
    page does).
    """
    missing = missing_for_submission(
        pilot,
        metrics=pilot.metrics.count(),
        guardrails=pilot.guardrails.enabled().count(),
        participants=pilot.participations.count(),
    )
    if missing:
        raise ValidationFailed(" ".join(missing), code="incomplete_proposal")
    # Re-checked here, not only when saved: rows written before this rule, or a pilot's own
    # question removed since, would otherwise reach Ops unmeasurable.
    measures.check_stored_measures(pilot)


def submit(pilot_id: int, *, actor: AbstractBaseUser, expected_stage: str):
    """Submit a complete draft for Ops review; returns the StageChange.

    Raises what `check_submittable` raises (the move runs it), and whatever lifecycle.move
    raises.
    """
    return lifecycle.move(
        pilot_id, lifecycle.Action.SUBMIT, actor=actor, expected_stage=expected_stage
    )


# ---------------------------------------------------------------------------------------------


def _assessed(proposal: Proposal, pilot: Pilot | None) -> Proposal:
    """The proposal with its AI Act category and risk level derived from its risk answers.

    Refuses a prohibited practice (pilots.risk). The category is never taken from the caller;
    without answers in the proposal, a draft that has answers keeps its derived level.
    """
    fields = {k: v for k, v in proposal.fields.items() if k != "ai_act_category"}
    if "risk_answers" not in fields:
        if pilot is not None and pilot.risk_answers is not None:
            fields.pop("risk_level", None)
        return dataclasses.replace(proposal, fields=fields)
    assessment = risk.validate(fields["risk_answers"])
    if assessment is None:
        fields["ai_act_category"] = ""
    else:
        fields["risk_answers"] = sorted(r.key for r in assessment.rules)
        fields["ai_act_category"] = assessment.category
        fields["risk_level"] = assessment.risk_level
    return dataclasses.replace(proposal, fields=fields)


def _validate(
    team: Team,
    proposal: Proposal,
    *,
    pilot: Pilot | None = None,
    check_tool_ceiling: bool = True,
) -> None:
    f = proposal.fields
    registry.validate_tool_and_data(
        f.get("tool"),
        f.get("data_classification", "internal"),
        check_ceiling=check_tool_ceiling,
    )
    registry.validate_dates(f.get("planned_start"), f.get("planned_end"))
    low, high = RESPONSE_WINDOW_DAYS
    window = f.get("response_window_days")
    if window is not None and not low <= window <= high:
        raise ValidationFailed(
            _("Give participants from %(low)d to %(high)d days to answer.")
            % {"low": low, "high": high},
            code="window_out_of_range",
            field="response_window_days",
        )
    validate_measures(proposal, pilot=pilot)
    people = list(proposal.participants)
    if people:
        members = set(
            Membership.objects.filter(team=team, user__in=people).values_list("user_id", flat=True)
        )
        strangers = [p for p in people if p.pk not in members]
        if strangers:
            raise ValidationFailed(
                _("Participants must be members of %(team)s: %(names)s.")
                % {
                    "team": team.name,
                    "names": ", ".join(p.get_full_name() or p.get_username() for p in strangers),
                },
                code="participant_not_member",
                field="participants",
            )


def validate_measures(proposal: Proposal, *, pilot: Pilot | None = None) -> None:
    """Check a proposal's metrics, guardrails and own questions (ValidationFailed naming the
    row's field, `metrics-0-target`); pilot templates ask the same."""
    names: set[str] = set()
    for i, row in enumerate(proposal.metrics):
        try:
            registry.validate_target(
                row.get("direction", "higher"), row.get("baseline"), row.get("target")
            )
        except ValidationFailed as e:
            raise ValidationFailed(e.message, code=e.code, field=f"metrics-{i}-{e.field}") from e
        name = (row.get("name") or "").strip().casefold()
        if name in names:
            raise ValidationFailed(
                _("Two success metrics have the same name."),
                code="duplicate_metric",
                field=f"metrics-{i}-name",
            )
        names.add(name)
    watched: set[tuple[str, str]] = set()
    for i, row in enumerate(proposal.guardrails):
        try:
            registry.validate_guardrail(
                row.get("kind", Guardrail.Kind.POLICY),
                **{name: row.get(name) for name in METRIC_GUARDRAIL_FIELDS},
            )
        except ValidationFailed as e:
            raise ValidationFailed(e.message, code=e.code, field=f"guardrails-{i}-{e.field}") from e
        if row.get("kind") == Guardrail.Kind.METRIC:
            # One threshold per question and statistic: several ("mean ≥ 2, ≥ 3, ≥ 4…") on the
            # same few answers would tell Ops, from which of them broke, what people answered.
            watch = (row.get("question_key") or "", row.get("statistic") or "")
            if watch in watched:
                raise ValidationFailed(
                    _(
                        "Another guardrail already watches this statistic of this question: "
                        "one threshold per question and statistic."
                    ),
                    code="duplicate_guardrail",
                    field=f"guardrails-{i}-statistic",
                )
            watched.add(watch)
    _validate_questions(proposal, pilot)


def _validate_questions(proposal: Proposal, pilot: Pilot | None) -> None:
    """Refuse a metric or guardrail row whose question the pilot's feedback does not ask."""
    guardrails = [
        (i, row)
        for i, row in enumerate(proposal.guardrails)
        if row.get("kind", Guardrail.Kind.POLICY) == Guardrail.Kind.METRIC
    ]
    if not proposal.metrics and not guardrails and not proposal.questions:
        return  # nothing measured: spare the query
    asked = measures.questions_by_key(pilot)
    if proposal.questions:
        # The questions the new draft will ask once created (checked as add_question will).
        asked.update(
            {q.key: q for q in question_keys.own_questions().check(list(proposal.questions))}
        )
    for i, row in enumerate(proposal.metrics):
        measures.check_metric_question(asked, row.get("question_key"), prefix=f"metrics-{i}-")
    for i, row in guardrails:
        measures.check_guardrail_question(
            asked, row.get("question_key"), row.get("statistic"), prefix=f"guardrails-{i}-"
        )


def _write_rows(pilot: Pilot, proposal: Proposal) -> None:
    SuccessMetric.objects.bulk_create(
        SuccessMetric(pilot=pilot, **{k: row.get(k) for k in METRIC_FIELDS if k in row})
        for row in proposal.metrics
    )
    guardrails = []
    for row in proposal.guardrails:
        values = {k: row.get(k) for k in GUARDRAIL_FIELDS if k in row}
        for k in ("question_key", "statistic", "comparator"):
            values[k] = values.get(k) or ""
        guardrails.append(Guardrail(pilot=pilot, **values))
    Guardrail.objects.bulk_create(guardrails)
    wanted = {p.pk for p in proposal.participants}
    pilot.participations.exclude(user_id__in=wanted).delete()
    Participation.objects.bulk_create(
        [Participation(pilot=pilot, user_id=pk) for pk in wanted], ignore_conflicts=True
    )
