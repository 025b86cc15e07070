"""Which events go out, and when: the anonymity timing rule holds for webhooks too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.models import Delivery as OutboxDelivery
from feedback import scheduling
from feedback.anonymity import EXPOSURE_VALUE
from feedback.answering import submit_response
from feedback.models import Prompt
from pilots import declarations
from tests.decisions.evidence_support import scores
from tests.factories import (
    GuardrailFactory,
    MembershipFactory,
    MetricGuardrailFactory,
    PilotFactory,
    UserFactory,
)
from tests.notifications.support import open_round
from webhooks import endpoints
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db

ANSWER = {"minutes_saved": "10", "quality": "4", "trust": "4", "recommend": "8", "incident": "no"}


@pytest.fixture
def run(django_capture_on_commit_callbacks, celery_eager):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def everything(ops, private_hosts, receiver):
    """An endpoint subscribed to every event."""
    registered = endpoints.register(
        actor=ops, name="All", url=receiver.url, events=list(Event.values)
    )
    receiver.secret = registered.secret
    return registered.endpoint


def people(n, team):
    users = [UserFactory(username=f"p{i}") for i in range(n)]
    for user in users:
        MembershipFactory(team=team, user=user)
    return users


def test_an_open_anonymous_round_sends_nothing_until_it_closes(
    run, everything, receiver, team, lead, settings
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="sandbox", team=team, lead=lead, anonymous_feedback=True)
    invited = people(4, team)
    round_ = open_round(pilot, [], invited=invited)
    for prompt in Prompt.objects.filter(round=round_).select_related("participant")[:3]:
        run(submit_response, prompt_id=prompt.pk, user=prompt.participant, answers=ANSWER)
    assert round_.responses.count() == 3
    assert receiver.received == []
    assert not Delivery.objects.exists()
    run(scheduling.close_round, round_.pk)
    [call] = receiver.received
    assert call.event == "round.closed"
    data = call.json()["data"]
    assert data["round"]["responses"] == 3 and data["round"]["invited"] == 4
    # Counts and a link, never an answer.
    assert "answers" not in call.body.decode()
    assert "minutes_saved" not in call.body.decode()


def test_an_exposure_report_goes_at_once_without_naming_its_open_round(
    run, everything, receiver, team, lead, participant
):
    pilot = PilotFactory(stage="pilot", team=team, lead=lead, anonymous_feedback=True)
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True)
    round_ = open_round(pilot, [], invited=[participant])
    prompt = Prompt.objects.get(round=round_)
    run(
        submit_response,
        prompt_id=prompt.pk,
        user=participant,
        answers={**ANSWER, "incident": "yes", "incident_kind": EXPOSURE_VALUE},
    )
    events = [r.event for r in receiver.received]
    assert "breach.opened" in events
    breach = next(r for r in receiver.received if r.event == "breach.opened").json()["data"]
    assert breach["breach"]["trigger"] == "exposure"
    assert breach["breach"]["round"] is None  # the round is still open
    assert "round.closed" not in events


def test_a_breach_found_at_close_and_its_resolution_are_sent(
    run, everything, receiver, team, lead, ops, settings
):
    from decisions import guardrails

    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot", team=team, lead=lead)
    MetricGuardrailFactory(pilot=pilot, question_key="quality", threshold=Decimal("4"))
    round_ = open_round(pilot, scores("quality", [1, 2, 2]), invited=people(3, team))
    run(scheduling.close_round, round_.pk)
    opened = [r for r in receiver.received if r.event == "breach.opened"]
    assert len(opened) == 1
    data = opened[0].json()["data"]
    assert data["breach"]["round"] == round_.pk
    run(guardrails.resolve_breach, data["breach"]["id"], actor=ops, note="Retrained.")
    [resolved] = [r for r in receiver.received if r.event == "breach.resolved"]
    assert resolved.json()["data"]["note"] == "Retrained."
    assert resolved.key == f"breach.resolved/breach:{data['breach']['id']}"


def test_a_declaration_is_sent_without_who_declared_it(run, everything, receiver, participant):
    run(
        declarations.declare,
        user=participant,
        tool_name="Summarizer",
        used_for="Meeting notes",
        data_classification="internal",
    )
    [call] = receiver.received
    assert call.event == "declaration.received"
    assert call.json()["data"]["declaration"]["tool_name"] == "Summarizer"
    assert participant.username not in call.body.decode()
    assert participant.email not in call.body.decode()


def test_an_inactive_endpoint_gets_nothing(run, everything, receiver, ops, participant):
    endpoints.update(everything.pk, actor=ops, fields={"active": False})
    run(
        declarations.declare,
        user=participant,
        tool_name="Summarizer",
        used_for="Notes",
        data_classification="internal",
    )
    assert receiver.received == []
    assert not OutboxDelivery.objects.filter(kind="webhook").exists()
