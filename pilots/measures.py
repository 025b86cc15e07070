"""What a pilot measures must exist: the questions behind success metrics and guardrails.

A success metric and a metric guardrail name the feedback question that measures them by its
key. The key must be one of the questions the pilot's rounds ask (the default questionnaire's
and the pilot's own, see `question_keys`), of a kind that gives what is measured: a number,
scale or yes/no answer for a metric; a number or scale for a mean, a yes/no for a count or
share of 'yes'. Every entry point (the proposal, the admin, the submission) asks the functions
below, so each refuses with the same code and message, on the same field.

Ops repair what older rows got wrong: they correct a key while the pilot has no answered round
(afterwards the answers already given were to the question the key names), and disable a
guardrail that cannot be judged, with a reason. A disabled guardrail is never evaluated again;
it stays, with its breaches, on record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed

from . import access, question_keys
from .models import ENDED_STAGES, Guardrail, Pilot, SuccessMetric
from .question_keys import METRIC_KINDS, NUMERIC_KINDS, YES_NO, AskedQuestion

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# The kinds of question each guardrail statistic can be computed from.
STATISTIC_KINDS: dict[str, frozenset[str]] = {
    Guardrail.Statistic.MEAN: NUMERIC_KINDS,
    Guardrail.Statistic.YES_COUNT: frozenset({YES_NO}),
    Guardrail.Statistic.YES_SHARE: frozenset({YES_NO}),
}
# A guardrail may use any question some statistic can be computed from.
GUARDRAIL_KINDS = frozenset().union(*STATISTIC_KINDS.values())
# Pilots whose metrics and guardrails are no longer judged.
# How many uses a refusal names before "and N more".
USES_NAMED = 5


def questions_by_key(pilot: Pilot | None, language: str | None = None) -> dict[str, AskedQuestion]:
    """The questions a pilot's rounds ask, by key, in the order they are asked."""
    return {q.key: q for q in question_keys.asked_questions(pilot, language)}


def metric_questions(asked: Iterable[AskedQuestion]) -> list[AskedQuestion]:
    """The questions that can measure a success metric."""
    return [q for q in asked if q.kind in METRIC_KINDS]


def guardrail_questions(asked: Iterable[AskedQuestion]) -> list[AskedQuestion]:
    """The questions a metric guardrail can watch (some statistic can be computed from them)."""
    return [q for q in asked if q.kind in GUARDRAIL_KINDS]


def _unknown(key: str, field: str) -> ValidationFailed:
    return ValidationFailed(
        _("“%(key)s” is not a question this pilot's feedback asks: choose one from the list.")
        % {"key": key},
        code="unknown_question",
        field=field,
    )


def check_metric_question(
    asked: Mapping[str, AskedQuestion], key: str, *, prefix: str = ""
) -> None:
    """Refuse a success metric's key that names no asked question, or one giving no number."""
    question = asked.get(key or "")
    if question is None:
        raise _unknown(key, f"{prefix}question_key")
    if question.kind not in METRIC_KINDS:
        raise ValidationFailed(
            _(
                "A success metric needs a number, scale or yes/no question; “%(question)s” is "
                "a question of kind “%(kind)s”."
            )
            % {"question": question.label, "kind": question.kind_label},
            code="question_kind_mismatch",
            field=f"{prefix}question_key",
        )


def check_guardrail_question(
    asked: Mapping[str, AskedQuestion],
    key: str,
    statistic: str,
    *,
    prefix: str = "",
    statistic_field: str = "statistic",
) -> None:
    """Refuse a metric guardrail's key that names no asked question, or one its statistic
    cannot be computed from (a mean needs a number or scale, a 'yes' count or share a yes/no).
    """
    question = asked.get(key or "")
    if question is None:
        raise _unknown(key, f"{prefix}question_key")
    kinds = STATISTIC_KINDS.get(statistic)
    if kinds is None or question.kind in kinds:
        # No statistic chosen yet: registry.validate_guardrail says so on its own field.
        return
    params = {
        "statistic": Guardrail.Statistic(statistic).label,
        "question": question.label,
        "kind": question.kind_label,
    }
    if kinds == NUMERIC_KINDS:
        message = _(
            "“%(statistic)s” needs a number or scale question; “%(question)s” is a question "
            "of kind “%(kind)s”: choose a statistic of 'yes' answers, or another question."
        )
    else:
        message = _(
            "“%(statistic)s” needs a yes/no question; “%(question)s” is a question of kind "
            "“%(kind)s”: choose the mean, or another question."
        )
    raise ValidationFailed(
        message % params, code="question_kind_mismatch", field=f"{prefix}{statistic_field}"
    )


@dataclass(frozen=True)
class Problem:
    """A stored metric or guardrail whose question is not asked, or does not fit it."""

    measure: SuccessMetric | Guardrail
    # Its code and message say what is wrong; its field names the row as the edit page does.
    error: ValidationFailed


def stored_problems(
    *,
    metrics: Sequence[SuccessMetric],
    guardrails: Sequence[Guardrail],
    asked: Mapping[str, AskedQuestion],
) -> list[Problem]:
    """Every stored metric and guardrail whose question is not asked or does not fit.

    `guardrails` are the pilot's enabled ones, in the order the edit page lists them, so each
    error names its row as the page does (`guardrails-1-question_key`).
    """
    problems = []
    for i, metric in enumerate(metrics):
        try:
            check_metric_question(asked, metric.question_key, prefix=f"metrics-{i}-")
        except ValidationFailed as e:
            message = _("Success metric “%(name)s”: %(problem)s") % {
                "name": metric.name,
                "problem": e.message,
            }
            problems.append(Problem(metric, ValidationFailed(message, code=e.code, field=e.field)))
    for i, guardrail in enumerate(guardrails):
        if guardrail.kind != Guardrail.Kind.METRIC:
            continue
        try:
            check_guardrail_question(
                asked, guardrail.question_key, guardrail.statistic, prefix=f"guardrails-{i}-"
            )
        except ValidationFailed as e:
            message = _("Guardrail “%(name)s”: %(problem)s") % {
                "name": guardrail.description,
                "problem": e.message,
            }
            problems.append(
                Problem(guardrail, ValidationFailed(message, code=e.code, field=e.field))
            )
    return problems


def check_stored_measures(pilot: Pilot) -> None:
    """Refuse a pilot whose stored metrics or enabled guardrails name a question not asked.

    Rows may have been written before this rule existed, or the pilot's own question they
    name removed since: a submission re-checks them all.
    """
    metrics = list(pilot.metrics.order_by("pk"))
    guardrails = list(pilot.guardrails.enabled().order_by("pk"))
    if not metrics and not any(g.kind == Guardrail.Kind.METRIC for g in guardrails):
        return
    problems = stored_problems(
        metrics=metrics, guardrails=guardrails, asked=questions_by_key(pilot)
    )
    if problems:
        raise problems[0].error


def has_answered_round(pilot_id: int) -> bool:
    """Tell whether anyone answered any round of the pilot."""
    return Pilot.objects.filter(pk=pilot_id, rounds__responses__isnull=False).exists()


def check_key_changeable(pilot: Pilot, key: str) -> None:
    """Refuse changing the question of a pilot's metric or guardrail once anyone answered.

    The answers already given were to the question the key names: pointing the row at
    another question would judge it on answers to a question nobody was asked.
    """
    if has_answered_round(pilot.pk):
        raise ValidationFailed(
            _(
                "“%(pilot)s” already has answered feedback rounds: those answers were given "
                "to the question “%(key)s” names, so it can no longer change. Disable the "
                "guardrail, or stop the pilot and start a new one."
            )
            % {"pilot": pilot.title, "key": key},
            code="pilot_has_answers",
            field="question_key",
        )


def uses_of(keys: Iterable[str], *, pilot_id: int | None = None) -> list[str]:
    """Name the success metrics and enabled guardrails of running pilots that use these keys.

    Only the pilot's own rows with `pilot_id`; empty when nothing uses them.
    """
    keys = set(keys)
    if not keys:
        return []
    scope = Q(question_key__in=keys) & ~Q(pilot__stage__in=ENDED_STAGES)
    if pilot_id is not None:
        scope &= Q(pilot_id=pilot_id)
    named: list[str] = []
    metrics = (
        SuccessMetric.objects.filter(scope)
        .select_related("pilot")
        .order_by("pilot__title", "pk")[: USES_NAMED + 1]
    )
    for metric in metrics:
        named.append(
            _("the success metric “%(name)s” of “%(pilot)s”")
            % {"name": metric.name, "pilot": metric.pilot.title}
        )
    guardrails = (
        Guardrail.objects.enabled()
        .filter(scope)
        .select_related("pilot")
        .order_by("pilot__title", "pk")[: USES_NAMED + 1]
    )
    for guardrail in guardrails:
        named.append(
            _("the guardrail “%(name)s” of “%(pilot)s”")
            % {"name": guardrail.description, "pilot": guardrail.pilot.title}
        )
    if len(named) > USES_NAMED:
        # The exact count costs two more queries; the refusal only needs to say there are more.
        named = [*named[:USES_NAMED], _("and more")]
    return named


# ---------------------------------------------------------------------------------------------
# Ops repairs


def _require_ops(actor: AbstractBaseUser | None) -> None:
    if not access.may_correct(actor):
        raise PermissionRefused(_("Only Ops can repair what a pilot measures."))


def _lock_pilot_of(model: type[SuccessMetric] | type[Guardrail], measure_id: int) -> Pilot:
    pilot_id = model.objects.filter(pk=measure_id).values_list("pilot_id", flat=True).first()
    if pilot_id is None:
        raise ValidationFailed(_("This row no longer exists."), code="not_found")
    return Pilot.objects.select_for_update().get(pk=pilot_id)


def correct_metric_key(
    metric_id: int, *, actor: AbstractBaseUser, question_key: str, reason: str = ""
) -> SuccessMetric:
    """Point a success metric at another asked question, while nobody answered its pilot."""
    return _correct_key(
        SuccessMetric, metric_id, actor=actor, question_key=question_key, reason=reason
    )


def correct_guardrail_key(
    guardrail_id: int, *, actor: AbstractBaseUser, question_key: str, reason: str = ""
):
    """Point a metric guardrail at another asked question, while nobody answered its pilot."""
    return _correct_key(
        Guardrail, guardrail_id, actor=actor, question_key=question_key, reason=reason
    )


def _correct_key(
    model: type[SuccessMetric] | type[Guardrail],
    measure_id: int,
    *,
    actor: AbstractBaseUser,
    question_key: str,
    reason: str = "",
) -> SuccessMetric | Guardrail:
    _require_ops(actor)
    question_key = (question_key or "").strip()
    with transaction.atomic():
        pilot = _lock_pilot_of(model, measure_id)
        # Answering locks the round it adds a response to: with the pilot's rounds locked, no
        # response reaches them until this commits, so "no answered round" holds for the
        # write. (A round opened meanwhile gets no answer before its emails, sent after it.)
        list(pilot.rounds.select_for_update().values_list("pk", flat=True))
        measure = model.objects.select_for_update().get(pk=measure_id)
        check_key_changeable(pilot, measure.question_key)
        asked = questions_by_key(pilot)
        if isinstance(measure, Guardrail):
            if measure.kind != Guardrail.Kind.METRIC:
                raise ValidationFailed(
                    _("A policy rule is measured by no question."),
                    code="policy_guardrail",
                    field="question_key",
                )
            check_guardrail_question(
                asked, question_key, measure.statistic, statistic_field="question_key"
            )
        else:
            check_metric_question(asked, question_key)
        before = measure.question_key
        if before != question_key:
            measure.question_key = question_key
            measure.save(update_fields=["question_key"])
            # An Ops correction, not a lead's edit: it has its own action and its own rule.
            changelog.record(
                "metric.key_corrected" if model is SuccessMetric else "guardrail.key_corrected",
                subject=measure,
                scope=pilot,
                actor=actor,
                changes={"question_key": [before, question_key]},
                reason=(reason or "").strip(),
            )
    logger.info(
        "Pilot %s: %s %s now measured by %r instead of %r (corrected by user %s).",
        pilot.pk,
        model._meta.model_name,
        measure.pk,
        question_key,
        before,
        actor.pk,
    )
    return measure


def disable_guardrail(guardrail_id: int, *, actor: AbstractBaseUser, reason: str) -> Guardrail:
    """Stop evaluating a guardrail (Ops), recording who, when and why; it is never deleted."""
    _require_ops(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the guardrail is disabled: the reason is kept with it."),
            code="reason_required",
            field="reason",
        )
    with transaction.atomic():
        # The pilot's lock is the one evaluate_round holds: an evaluation under way finishes
        # with the guardrail, every later one skips it.
        _lock_pilot_of(Guardrail, guardrail_id)
        guardrail = Guardrail.objects.select_for_update().get(pk=guardrail_id)
        if guardrail.disabled_at is not None:
            raise ValidationFailed(
                _("This guardrail was already disabled: %(reason)s")
                % {"reason": guardrail.disabled_reason},
                code="already_disabled",
                field="reason",
            )
        guardrail.disabled_at = timezone.now()
        guardrail.disabled_by = actor
        guardrail.disabled_reason = reason
        guardrail.save(update_fields=["disabled_at", "disabled_by", "disabled_reason"])
        changelog.record(
            "guardrail.disabled",
            subject=guardrail,
            scope=guardrail.pilot,
            actor=actor,
            changes={"enabled": [True, False]},
            reason=reason,
        )
    return guardrail
