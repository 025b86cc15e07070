"""Guardrails at the shapes `make mutation` found unbuilt: two pausing guardrails broken in
the same round, resolving a breach (its history, announcement and refusals)."""

import pytest
from django.core import mail

from core import followups
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord, FollowUp
from decisions import guardrails
from pilots.models import (
    BREACH_RESOLVED,
    Guardrail,
    GuardrailBreach,
    GuardrailCheck,
    StageChange,
)
from tests.decisions.evidence_support import add_round
from tests.factories import MetricGuardrailFactory, PilotFactory

pytestmark = pytest.mark.django_db


def test_two_pausing_guardrails_broken_in_one_round_pause_once_and_both_breaches_are_recorded(
    ops, django_capture_on_commit_callbacks, celery_eager
):
    pilot = PilotFactory(stage="pilot")
    trust = MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    quality = MetricGuardrailFactory(
        pilot=pilot,
        action=Guardrail.Action.PAUSE,
        description="Quality must stay at 3 or above.",
        question_key="quality",
    )
    r = add_round(pilot, [{"trust": 2, "quality": 1} for _ in range(6)])
    with django_capture_on_commit_callbacks(execute=True):
        created = guardrails.evaluate_round(r.pk)
    assert len(created) == 2
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.paused_from) == ("paused", "pilot")
    [pause] = StageChange.objects.filter(pilot=pilot)
    assert (pause.action, pause.actor) == ("pause", None)
    breaches = {b.guardrail_id: b for b in GuardrailBreach.objects.all()}
    assert set(breaches) == {trust.pk, quality.pk}
    # The first breach paused the pilot; the second found it no longer running.
    paused = GuardrailBreach.objects.get(pk=pause.evidence["breach"])
    assert paused.action_taken == "paused"
    [other] = [b for b in breaches.values() if b.pk != paused.pk]
    assert other.action_taken == "not_running"
    # Ops hear of both breaches.
    alerts = [m for m in mail.outbox if m.subject.startswith("Guardrail broken")]
    assert len(alerts) == 2


def test_resolving_a_breach_is_recorded_in_the_pilots_history_and_announced(ops):
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    guardrails.resolve_breach(breach.pk, actor=ops, note="Retrained the team.")
    breach.refresh_from_db()
    assert (breach.resolved_by, breach.resolution_note) == (ops, "Retrained the team.")
    assert breach.resolved_at is not None
    [record] = ChangeRecord.objects.filter(subject_id=str(breach.pk), action="breach.resolved")
    assert (record.actor, record.scope_id, record.changes, record.reason) == (
        ops,
        pilot.pk,
        {"resolved": [False, True]},
        "Retrained the team.",
    )
    # Whoever listens (webhooks) is told which breach was resolved.
    listeners = followups._subscribers[BREACH_RESOLVED]
    assert listeners
    announced = {f.kind: f.payload for f in FollowUp.objects.filter(key=f"breach:{breach.pk}")}
    for kind in listeners:
        assert announced[kind] == {"breach_id": breach.pk}


def test_refusals_to_resolve_say_why_on_the_note(ops, lead):
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    with pytest.raises(PermissionRefused, match=r"^Only Ops can resolve a guardrail breach\.$"):
        guardrails.resolve_breach(breach.pk, actor=lead, note="Fine")
    with pytest.raises(
        ValidationFailed, match=r"^Write a note saying how the breach was resolved\.$"
    ):
        guardrails.resolve_breach(breach.pk, actor=ops, note=" ")
    with pytest.raises(ValidationFailed, match=r"^This breach does not exist\.$") as missing:
        guardrails.resolve_breach(breach.pk + 1000, actor=ops, note="Done")
    assert missing.value.code == "breach_not_found"
    guardrails.resolve_breach(breach.pk, actor=ops, note="Done")
    with pytest.raises(
        guardrails.BreachAlreadyResolved,
        match=r"^This breach was already resolved by someone else\.$",
    ) as twice:
        guardrails.resolve_breach(breach.pk, actor=ops, note="Again")
    assert twice.value.field == "note"


def test_a_round_is_judged_on_its_own_answers_not_an_earlier_rounds(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)  # trust ≥ 3
    add_round(pilot, [{"trust": 1, "quality": 1}] * 6, weeks_ago=2)
    # This round's trust holds (mean 4); with last round's answers it would be 2.5.
    later = add_round(pilot, [{"trust": 4, "quality": 1}] * 6)
    assert guardrails.evaluate_round(later.pk) == []
    [check] = GuardrailCheck.objects.filter(round=later)
    assert (check.outcome, check.observed_value) == (GuardrailCheck.Outcome.HOLDING, 4)
