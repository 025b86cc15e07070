"""Every email of the site in its recipient's language: invitations and Ops alerts too."""

import datetime

import pytest
import time_machine
from django.core import mail

from core import outbox
from decisions import guardrails
from feedback import invitations, scheduling
from notifications.models import Profile
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    MetricGuardrailFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db

WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC)


def test_an_invitation_goes_out_in_each_participants_language():
    pulse_questionnaire()
    with time_machine.travel(WEDNESDAY, tick=False):
        pilot = PilotFactory(
            team=TeamFactory(timezone="Europe/Paris"),
            cadence="weekly",
            cadence_weekday=0,
            stage="pilot",
            title="Copilot",
        )
        french, english = UserFactory(username="amelie"), UserFactory(username="bob")
        Profile.objects.create(user=french, language="fr")
        for user in (french, english):
            ParticipationFactory(pilot=pilot, user=user)
        [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
        outbox.deliver_batch(invitations.INVITATION, invitations.batch_of(round_id))
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["amelie@example.com"] == "Vos retours sur le pilote d’IA « Copilot »"
    assert subjects["bob@example.com"] == "Your feedback on the AI pilot “Copilot”"


def test_a_breach_alert_goes_out_in_each_ops_users_language(settings):
    settings.OPS_EMAILS = ["oncall@example.com"]
    french = OpsUserFactory(username="ops-fr")
    OpsUserFactory(username="ops-en")
    Profile.objects.create(user=french, language="fr")
    pilot = PilotFactory(stage="pilot", title="Copilot")
    MetricGuardrailFactory(pilot=pilot, action="flag")
    r = add_round(pilot, scores("trust", [1, 2, 2, 1, 2, 2]))
    guardrails.evaluate_round(r.pk)
    outbox.deliver_batch(guardrails.BREACH_ALERT, "")
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects == {
        "ops-fr@example.com": "Garde-fou enfreint : Copilot",
        "ops-en@example.com": "Guardrail broken: Copilot",
        "oncall@example.com": "Guardrail broken: Copilot",
    }
