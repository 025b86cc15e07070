"""Review SLAs: proposals and requests for a decision waiting longer than REVIEW_SLA_DAYS are
flagged to Ops on their home and in one daily digest email; the lead is told of the answer."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core import outbox
from core.models import Delivery
from notifications import review_digest, tasks
from notifications.models import Profile
from pilots import decision_requests, history, lifecycle, review_sla
from pilots.lifecycle import Action
from pilots.models import DecisionRequest, Stage
from tests.decisions.test_banners import OPS_HOME_QUERIES
from tests.factories import (
    OpsUserFactory,
    PilotFactory,
    UserFactory,
    approval_scope,
    findings_for,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _sla(settings):
    settings.REVIEW_SLA_DAYS = 5
    settings.REVIEW_DIGEST_HOUR = 0
    # Time stands still, so "exactly five days" stays exactly five days during a test.
    with time_machine.travel(timezone.now().replace(hour=12), tick=False):
        yield


def proposal(waited: datetime.timedelta, **fields):
    return PilotFactory(stage=Stage.PROPOSED, stage_changed_at=timezone.now() - waited, **fields)


def request_for(pilot, lead, waited: datetime.timedelta) -> DecisionRequest:
    made = decision_requests.request(
        pilot.pk, actor=lead, action="promote", message="Every metric is met."
    )
    DecisionRequest.objects.filter(pk=made.pk).update(requested_at=timezone.now() - waited)
    made.refresh_from_db()
    return made


# --- The rule ----------------------------------------------------------------------------------


def test_exactly_the_sla_is_on_time_and_a_day_more_is_overdue():
    now = timezone.now()
    assert not review_sla.is_overdue(now - 5 * DAY, now)
    assert review_sla.is_overdue(now - 6 * DAY, now)
    on_time = proposal(5 * DAY)
    late = proposal(6 * DAY)
    assert list(review_sla.overdue_proposals(now)) == [late]
    # A day earlier, the late one had waited exactly five days: still on time.
    assert list(review_sla.overdue_proposals(now - DAY)) == []
    assert list(review_sla.overdue_proposals(now + DAY)) == [late, on_time]


def test_the_sla_follows_its_setting(settings):
    late = proposal(3 * DAY)
    assert list(review_sla.overdue_proposals()) == []
    settings.REVIEW_SLA_DAYS = 2
    assert list(review_sla.overdue_proposals()) == [late]


def test_only_open_requests_can_be_overdue(lead, team, ops):
    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team)
    made = request_for(pilot, lead, 10 * DAY)
    assert list(review_sla.overdue_requests()) == [made]
    lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=ops,
        expected_stage=Stage.PILOT,
        rationale="As asked.",
        conclusion=findings_for(Stage.PILOT, Action.STOP),
    )
    assert list(review_sla.overdue_requests()) == []


# --- The Ops home ------------------------------------------------------------------------------


def test_the_ops_home_flags_what_waits_longer_than_the_sla(client, ops, lead, team):
    proposal(5 * DAY, title="On time")
    proposal(6 * DAY, title="Late proposal")
    request_for(PilotFactory(stage=Stage.PILOT, lead=lead, team=team), lead, 7 * DAY)
    client.force_login(ops)
    response = client.get(reverse("home"))
    context = response.context["ops"]
    assert (context["proposals_count"], context["proposals_overdue"]) == (2, 1)
    assert (context["decision_requests_count"], context["decision_requests_overdue"]) == (1, 1)
    flagged = {p.title for p in context["proposals"] if p.overdue}
    assert flagged == {"Late proposal"}
    html = response.content.decode()
    assert "1 has waited longer than the review time of 5 days." in html
    assert html.count('class="overdue"') == 2


@pytest.mark.parametrize("size", [3, 30])
def test_the_ops_home_s_queries_hold_at_two_sizes(
    client, ops, lead, team, size, django_assert_max_num_queries
):
    for i in range(size):
        proposal((4 + i % 4) * DAY)
        running = PilotFactory(stage=Stage.PILOT, lead=lead, team=team)
        request_for(running, lead, (3 + i % 5) * DAY)
    for _ in range(min(size, 5)):
        pilot = PilotFactory(stage=Stage.PILOT)
        lifecycle.move(
            pilot.pk,
            Action.PROMOTE,
            actor=ops,
            expected_stage=Stage.PILOT,
            rationale="Met.",
            override=True,
            conclusion=findings_for(
                Stage.PILOT,
                Action.PROMOTE,
                approval=approval_scope(recertify_on=timezone.localdate() + DAY),
            ),
        )
    with time_machine.travel(timezone.now() + 2 * DAY, tick=False):
        client.force_login(ops)
        with django_assert_max_num_queries(OPS_HOME_QUERIES):
            response = client.get(reverse("home"))
    assert len(response.context["ops"]["recertification_due"]) == min(size, 5)


# --- The daily digest --------------------------------------------------------------------------


def _digests() -> list[Delivery]:
    return list(Delivery.objects.filter(kind=review_digest.REVIEW_DIGEST).order_by("pk"))


def test_nothing_overdue_sends_no_digest(ops):
    proposal(5 * DAY)
    assert tasks.send_review_digest() == {"queued": 0}
    assert _digests() == []


def test_the_digest_goes_once_a_day_to_each_ops_user_however_often_it_runs(ops, ops2):
    proposal(6 * DAY)
    assert tasks.send_review_digest() == {"queued": 2}
    assert tasks.send_review_digest() == {"queued": 0}
    assert {d.recipient_user for d in _digests()} == {ops, ops2}
    with time_machine.travel(timezone.now() + DAY):
        assert tasks.send_review_digest() == {"queued": 2}
    assert len(_digests()) == 4


def test_the_digest_waits_for_its_hour(ops, settings):
    settings.REVIEW_DIGEST_HOUR = 8
    proposal(6 * DAY)
    early = timezone.localtime().replace(hour=7, minute=0)
    assert review_digest.send_review_digest(now=early) == 0
    assert review_digest.send_review_digest(now=early.replace(hour=8)) == 1


def test_the_digest_lists_what_is_overdue_in_the_reader_s_language(ops, lead, team):
    french = OpsUserFactory(username="ops-fr")
    Profile.objects.create(user=french, language="fr")
    proposal(6 * DAY, title="Late proposal")
    proposal(2 * DAY, title="Fresh proposal")
    drafts = PilotFactory(stage=Stage.PILOT, lead=lead, team=team, title="Drafts")
    request_for(drafts, lead, 8 * DAY)
    review_digest.send_review_digest()
    report = outbox.deliver([d.pk for d in _digests()])
    assert report.sent == 2
    to_ops = next(m for m in mail.outbox if ops.email in m.to)
    assert "Late proposal" in to_ops.body and "Drafts" in to_ops.body
    assert "Fresh proposal" not in to_ops.body
    assert "1 proposal waits for review for longer than 5 days" in to_ops.body
    assert "1 lead waits for a decision for longer than 5 days" in to_ops.body
    to_french = next(m for m in mail.outbox if french.email in m.to)
    assert to_french.extra_headers["Content-Language"] == "fr"


def test_a_digest_whose_proposals_were_handled_meanwhile_is_cancelled(ops):
    late = proposal(6 * DAY)
    review_digest.send_review_digest()
    type(late).objects.filter(pk=late.pk).update(stage=Stage.SANDBOX)
    report = outbox.deliver([d.pk for d in _digests()])
    assert (report.sent, report.cancelled) == (0, 1)


def test_someone_no_longer_in_ops_gets_no_digest(ops):
    proposal(6 * DAY)
    review_digest.send_review_digest()
    ops.groups.clear()
    report = outbox.deliver([d.pk for d in _digests()])
    assert report.cancelled == 1 and not mail.outbox


# --- The lead is told, and it is all in the history --------------------------------------------


@pytest.mark.parametrize("action", [Action.PROMOTE, Action.STOP])
def test_the_lead_is_told_when_ops_decide_on_their_request(
    ops, lead, team, action, django_capture_on_commit_callbacks, celery_eager
):
    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team, title="Ticket drafts")
    decision_requests.request(pilot.pk, actor=lead, action=action, message="Please decide.")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.move(
            pilot.pk,
            action,
            actor=ops,
            expected_stage=Stage.PILOT,
            rationale="As the lead asked.",
            override=True,
            conclusion=findings_for(Stage.PILOT, action),
        )
    to_lead = [m for m in mail.outbox if lead.email in m.to]
    assert len(to_lead) == 1
    assert "Ticket drafts" in to_lead[0].subject
    assert "As the lead asked." in to_lead[0].body
    assert "This answers your request of" in to_lead[0].body
    assert not [m for m in mail.outbox if ops.email in m.to]


def test_the_request_its_answer_and_messages_are_in_the_pilot_s_history(client, ops, lead, team):
    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team)
    decision_requests.request(pilot.pk, actor=lead, action="stop", message="Nobody uses it.")
    lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=ops,
        expected_stage=Stage.PILOT,
        rationale="Stopped as the lead asked.",
        conclusion=findings_for(Stage.PILOT, Action.STOP),
    )
    words = [(e.action, e.record.reason) for e in history.entries(pilot)]
    assert ("Decision requested by the lead", "Nobody uses it.") in words
    assert ("Request for a decision answered", "Stopped as the lead asked.") in words
    client.force_login(UserFactory(is_superuser=True))
    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "Decision requested by the lead" in page and "Nobody uses it." in page
    assert "Request for a decision answered" in page


# --- Ops decline a request: the lead is told, the history says so ------------------------------


def test_ops_decline_a_request_and_the_lead_is_told_with_the_reply(
    ops, lead, team, django_capture_on_commit_callbacks, celery_eager
):
    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team, title="Ticket drafts")
    made = decision_requests.request(pilot.pk, actor=lead, action="promote", message="Met.")
    with django_capture_on_commit_callbacks(execute=True):
        decision_requests.decline(made.pk, actor=ops, reply="Wait for the legal review.")
    made.refresh_from_db()
    assert (made.status, made.reply, made.declined_by) == (
        "declined",
        "Wait for the legal review.",
        ops,
    )
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    to_lead = [m for m in mail.outbox if lead.email in m.to]
    assert len(to_lead) == 1
    assert "Ticket drafts" in to_lead[0].subject
    assert "Wait for the legal review." in to_lead[0].body
    words = [(e.action, e.record.reason) for e in history.entries(pilot)]
    assert ("Request for a decision declined by Ops", "Wait for the legal review.") in words
    # Declined, the request no longer waits: the lead may ask again.
    assert list(review_sla.overdue_requests(timezone.now() + 30 * DAY)) == []
    decision_requests.request(pilot.pk, actor=lead, action="promote", message="Now reviewed.")


@pytest.mark.parametrize(
    ("who", "reply", "error"),
    [("ops", "  ", "reply_required"), ("lead", "No.", "permission_denied")],
)
def test_a_decline_that_breaks_a_rule_is_refused(ops, lead, team, who, reply, error):
    from core.exceptions import DomainError

    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team)
    made = decision_requests.request(pilot.pk, actor=lead, action="stop", message="Stop it.")
    actor = {"ops": ops, "lead": lead}[who]
    with pytest.raises(DomainError) as refused:
        decision_requests.decline(made.pk, actor=actor, reply=reply)
    assert refused.value.code in (error, "not_ops")
    made.refresh_from_db()
    assert made.status == "open"


def test_the_database_refuses_a_declined_request_without_a_reply(ops, lead, team):
    from django.db import IntegrityError, transaction

    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team)
    made = decision_requests.request(pilot.pk, actor=lead, action="stop", message="Stop it.")
    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionRequest.objects.filter(pk=made.pk).update(
            status="declined", declined_by=ops, declined_at=timezone.now(), reply=""
        )


def test_ops_decline_in_the_admin_with_a_reply(client, ops, lead, team):
    pilot = PilotFactory(stage=Stage.PILOT, lead=lead, team=team)
    made = decision_requests.request(pilot.pk, actor=lead, action="stop", message="Stop it.")
    client.force_login(ops)
    url = reverse("admin:pilots_decisionrequest_changelist")
    page = client.post(
        url, {"action": "decline", "index": 0, "_selected_action": [made.pk]}
    ).content.decode()
    assert 'name="reply"' in page and "Stop it." in page
    refused = client.post(
        url, {"action": "decline", "confirm": "yes", "_selected_action": [made.pk], "reply": ""}
    ).content.decode()
    assert "Write your reply to the lead" in refused
    client.post(
        url,
        {
            "action": "decline",
            "confirm": "yes",
            "_selected_action": [made.pk],
            "reply": "Keep going one more round.",
        },
        follow=True,
    )
    made.refresh_from_db()
    assert (made.status, made.reply) == ("declined", "Keep going one more round.")
