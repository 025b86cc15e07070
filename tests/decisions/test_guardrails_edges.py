"""Two pausing guardrails broken in the same round (found unbuilt by `make mutation`)."""

import pytest
from django.core import mail

from decisions import guardrails
from pilots.models import Guardrail, GuardrailBreach, StageChange
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
