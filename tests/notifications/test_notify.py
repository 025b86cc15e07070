"""Leads, watchers, Ops and participants are told what happened, each once, in their language."""

import pytest
from django.core import mail
from django.db import IntegrityError

from core import followups
from core.models import Delivery, FollowUp
from feedback import scheduling
from notifications import notify, watching
from notifications.models import Preference, Profile, Watch
from pilots import lifecycle, reviews
from tests.decisions.evidence_support import scores
from tests.factories import (
    MembershipFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    UserFactory,
)
from tests.notifications.support import emails_to, move, open_round, recipients

pytestmark = pytest.mark.django_db

A = lifecycle.Action


@pytest.fixture
def run(django_capture_on_commit_callbacks, celery_eager):
    """Run what commits ask for (follow-ups, then deliveries) in-process, as a worker would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def watcher(team):
    user = UserFactory(username="watcher")
    MembershipFactory(team=team, user=user)
    return user


def pilot_in(stage: str, *, team, lead, **kwargs):
    return PilotFactory(
        stage=stage,
        team=team,
        lead=lead,
        paused_from="sandbox" if stage == "paused" else "",
        title="Copilot for tickets",
        **kwargs,
    )


# (action, stage before, rationale): each move a lead is told about.
LEAD_MOVES = [
    (A.APPROVE, "proposed", ""),
    (A.SEND_BACK, "proposed", "Say which data the tool sees."),
    (A.REJECT, "proposed", "The tool is banned."),
    (A.PROMOTE, "sandbox", "Enough evidence."),
    (A.PAUSE, "sandbox", "A vendor incident."),
    (A.RESUME, "paused", ""),
    (A.STOP, "pilot", "No time saved."),
]


@pytest.mark.parametrize(("action", "stage", "rationale"), LEAD_MOVES)
def test_each_stage_decision_reaches_the_lead_and_the_watchers_and_nobody_else(
    run, team, lead, watcher, ops, ops2, outsider, participant, action, stage, rationale
):
    pilot = pilot_in(stage, team=team, lead=lead)
    watching.watch(pilot.pk, actor=watcher)
    run(move, pilot, action, actor=ops, rationale=rationale, override=action == A.PROMOTE)
    told = {"lead@example.com", "watcher@example.com"}
    assert set(recipients()) == told
    assert len(mail.outbox) == 2  # one each
    body = emails_to("lead@example.com")[0].body
    assert "Copilot for tickets" in emails_to("lead@example.com")[0].subject
    if rationale:
        assert rationale in body  # a sent-back pilot comes with the message


def test_a_sent_back_pilot_tells_its_lead_the_message(run, team, lead, ops):
    pilot = pilot_in("proposed", team=team, lead=lead)
    run(move, pilot, A.SEND_BACK, actor=ops, rationale="Name the data the tool may read.")
    [email] = emails_to("lead@example.com")
    assert email.subject == "Copilot for tickets was sent back to its lead (now: Draft)"
    assert "Why: Name the data the tool may read." in email.body


def test_a_guardrail_pause_tells_the_lead_that_the_system_paused_it_and_why(run, team, lead, ops):
    from decisions import guardrails
    from tests.decisions.evidence_support import add_round
    from tests.factories import MetricGuardrailFactory

    pilot = pilot_in("pilot", team=team, lead=lead)
    MetricGuardrailFactory(pilot=pilot, action="pause")
    r = add_round(pilot, scores("trust", [1, 2, 2, 1, 2, 2]))
    run(guardrails.evaluate_round, r.pk)
    [email] = emails_to("lead@example.com")
    assert email.subject == "Copilot for tickets was paused (now: Paused)"
    assert "the system, because a guardrail broke" in email.body
    assert "it must stay ≥ 3" in email.body


def test_submission_tells_every_ops_superusers_included_and_not_the_lead_who_submitted(
    run, team, lead, ops, outsider, watcher
):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    pilot = PilotFactory(team=team, lead=lead, complete=True, title="Copilot for tickets")
    watching.watch(pilot.pk, actor=watcher)
    run(move, pilot, A.SUBMIT, actor=lead)
    assert recipients() == ["ops@example.com", "root@example.com", "watcher@example.com"]
    [email] = emails_to("root@example.com")
    assert email.subject == "Copilot for tickets was submitted for review (now: Proposed)"
    assert "you are in Ops" in email.body
    assert root.pk  # a superuser outside the Ops group


def test_whoever_made_the_move_is_not_told_of_it(run, team, lead, ops):
    pilot = pilot_in("sandbox", team=team, lead=lead)
    watching.watch(pilot.pk, actor=ops)
    run(move, pilot, A.PAUSE, actor=ops, rationale="Vendor incident.")
    assert recipients() == ["lead@example.com"]


def test_a_recorded_review_reaches_the_lead_and_watchers_not_the_reviewer(
    run, team, lead, watcher, ops, outsider
):
    pilot = pilot_in("pilot", team=team, lead=lead)
    watching.watch(pilot.pk, actor=watcher)
    watching.watch(pilot.pk, actor=ops)
    run(
        reviews.record_review,
        pilot.pk,
        actor=ops,
        kind="security",
        outcome="cleared_with_conditions",
        notes="No customer data in prompts.",
    )
    assert recipients() == ["lead@example.com", "watcher@example.com"]
    [email] = emails_to("watcher@example.com")
    assert email.subject == "Copilot for tickets: Security review, Cleared with conditions"
    assert "No customer data in prompts." in email.body
    assert "you watch this pilot" in email.body


def test_a_watcher_who_can_no_longer_see_the_pilot_is_not_told(run, team, lead, watcher, ops):
    pilot = pilot_in("proposed", team=team, lead=lead)
    watching.watch(pilot.pk, actor=watcher)
    watcher.memberships.all().delete()  # left the team: a proposal is no longer theirs to see
    run(move, pilot, A.SEND_BACK, actor=ops, rationale="More detail.")  # back to a draft
    assert recipients() == ["lead@example.com"]


def test_a_topic_set_to_nothing_is_not_sent(run, team, lead, watcher, ops):
    pilot = pilot_in("sandbox", team=team, lead=lead)
    watching.watch(pilot.pk, actor=watcher)
    Preference.objects.create(user=lead, topic="stage", channel="none")
    run(move, pilot, A.PAUSE, actor=ops, rationale="Vendor incident.")
    assert recipients() == ["watcher@example.com"]
    assert not Delivery.objects.filter(recipient_user=lead).exists()


def test_a_notification_still_queued_when_its_topic_is_turned_off_is_cancelled(
    team, lead, ops, django_capture_on_commit_callbacks
):
    pilot = pilot_in("sandbox", team=team, lead=lead)
    move(pilot, A.PAUSE, actor=ops, rationale="Vendor incident.")
    [cause] = FollowUp.objects.filter(kind=notify.ON_STAGE_CHANGE)
    followups.run(cause.pk)
    [delivery] = Delivery.objects.filter(kind=notify.NOTIFICATION)
    Preference.objects.create(user=lead, topic="stage", channel="none")
    from core import outbox

    assert outbox.deliver([delivery.pk]).cancelled == 1
    assert mail.outbox == []


def test_participants_hear_the_decision_and_its_rationale(run, team, lead, ops, participant):
    pilot = pilot_in("pilot", team=team, lead=lead)
    ParticipationFactory(pilot=pilot, user=participant)
    run(move, pilot, A.STOP, actor=ops, rationale="It saved no time at all.")
    [email] = emails_to("participant@example.com")
    assert email.subject == "Copilot for tickets was stopped (now: Stopped)"
    assert "Why: It saved no time at all." in email.body
    assert "Thank you for your feedback" in email.body


def test_participants_are_not_told_of_a_proposal_sent_back(run, team, lead, ops, participant):
    pilot = pilot_in("proposed", team=team, lead=lead)
    ParticipationFactory(pilot=pilot, user=participant)
    run(move, pilot, A.SEND_BACK, actor=ops, rationale="More detail.")
    assert recipients() == ["lead@example.com"]


def test_a_lead_who_watches_and_takes_part_gets_one_email(run, team, lead, ops):
    pilot = pilot_in("sandbox", team=team, lead=lead)
    watching.watch(pilot.pk, actor=lead)
    ParticipationFactory(pilot=pilot, user=lead)
    run(move, pilot, A.PAUSE, actor=ops, rationale="Vendor incident.")
    [email] = mail.outbox
    assert "you lead this pilot" in email.body


def test_a_french_reader_gets_the_email_in_french(run, team, lead, watcher, ops):
    Profile.objects.create(user=lead, language="fr")
    pilot = pilot_in("proposed", team=team, lead=lead)
    watching.watch(pilot.pk, actor=watcher)
    run(move, pilot, A.APPROVE, actor=ops)
    [french] = emails_to("lead@example.com")
    [english] = emails_to("watcher@example.com")
    assert "a été approuvé (désormais : Bac à sable)" in french.subject
    assert french.extra_headers["Content-Language"] == "fr"
    assert "(now: Sandbox)" in english.subject
    assert english.extra_headers["Content-Language"] == "en"


def test_the_same_followup_and_delivery_run_twice_send_one_email_per_recipient(
    team, lead, watcher, ops, django_capture_on_commit_callbacks
):
    from core import outbox

    pilot = pilot_in("sandbox", team=team, lead=lead)
    watching.watch(pilot.pk, actor=watcher)
    change = move(pilot, A.PAUSE, actor=ops, rationale="Vendor incident.")
    # The cause announced twice (a repeated task), its handler run three times.
    followups.announce(
        lifecycle.STAGE_CHANGED,
        key=f"stage_change:{change.pk}",
        payload={"stage_change_id": change.pk},
    )
    [cause] = FollowUp.objects.filter(kind=notify.ON_STAGE_CHANGE)
    followups.run(cause.pk)
    notify.stage_changed(change.pk)
    notify.stage_changed(change.pk)
    ids = list(Delivery.objects.filter(kind=notify.NOTIFICATION).values_list("pk", flat=True))
    assert len(ids) == 2
    outbox.deliver(ids)
    outbox.deliver(ids)
    assert recipients() == ["lead@example.com", "watcher@example.com"]


def test_the_database_refuses_a_second_watch_of_the_same_pilot(team, lead, watcher):
    pilot = pilot_in("sandbox", team=team, lead=lead)
    Watch.objects.create(user=watcher, pilot=pilot)
    with pytest.raises(IntegrityError):
        Watch.objects.create(user=watcher, pilot=pilot)


def test_the_database_refuses_an_unknown_channel(lead):
    with pytest.raises(IntegrityError):
        Preference.objects.create(user=lead, topic="stage", channel="pigeon")


def test_a_past_history_recorded_with_a_date_tells_nobody(team, lead, ops):
    import datetime

    from django.utils import timezone

    pilot = pilot_in("sandbox", team=team, lead=lead)
    pilot.stage_changed_at = timezone.now() - datetime.timedelta(days=10)
    pilot.save(update_fields=["stage_changed_at"])
    lifecycle.move(
        pilot.pk,
        A.PAUSE,
        actor=ops,
        expected_stage="sandbox",
        rationale="Then.",
        now=timezone.now() - datetime.timedelta(days=1),
    )
    assert not FollowUp.objects.filter(kind=notify.ON_STAGE_CHANGE).exists()


# ---------------------------------------------------------------------------------------------
# "You said → we decided": the round digest


def people(n: int, team) -> list:
    users = [UserFactory(username=f"p{i}") for i in range(n)]
    for user in users:
        MembershipFactory(team=team, user=user)
    return users


def test_each_invited_person_gets_the_results_of_a_round_that_met_the_threshold(
    run, team, lead, settings
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = pilot_in("pilot", team=team, lead=lead)
    invited = people(7, team)
    r = open_round(pilot, scores("quality", [4, 4, 5, 3, 4, 4]), invited=invited)
    run(scheduling.close_round, r.pk)
    assert recipients() == sorted(f"p{i}@example.com" for i in range(7))
    email = emails_to("p0@example.com")[0]
    assert email.subject.startswith("Copilot for tickets: what the feedback round of")
    assert "6 people answered this round." in email.body
    assert "quality?: average 4.0" in email.body
    assert "trust?" not in email.body
    assert "7 other questions had too few answers to show." in email.body


def test_a_round_below_the_threshold_says_only_how_many_answered(run, team, lead, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = pilot_in("pilot", team=team, lead=lead)
    invited = people(4, team)
    r = open_round(pilot, scores("quality", [1, 5, 2]), invited=invited)
    run(scheduling.close_round, r.pk)
    assert len(mail.outbox) == 4
    body = mail.outbox[0].body
    assert "3 people answered this round." in body
    assert "fewer than 5, so no result is shown" in body
    assert "quality" not in body
    assert "average" not in body


ANSWER = {"minutes_saved": "10", "quality": "4", "trust": "4", "recommend": "8", "incident": "no"}


def test_an_open_anonymous_round_leads_to_no_notification_and_none_tells_anything_of_it(
    run, team, lead, ops, watcher, participant, settings
):
    from feedback.answering import submit_response
    from feedback.models import Prompt

    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = pilot_in("sandbox", team=team, lead=lead, anonymous_feedback=True)
    ParticipationFactory(pilot=pilot, user=participant)
    watching.watch(pilot.pk, actor=watcher)
    invited = [participant, *people(3, team)]
    r = open_round(pilot, [], invited=invited)
    # Answers arrive: nobody hears of them, not even that one came.
    for prompt in Prompt.objects.filter(round=r).select_related("participant")[:3]:
        run(submit_response, prompt_id=prompt.pk, user=prompt.participant, answers=ANSWER)
    assert r.responses.count() == 3
    assert mail.outbox == []
    assert not Delivery.objects.filter(kind=notify.NOTIFICATION).exists()
    # A decision while it is open says nothing about the round.
    run(move, pilot, A.PAUSE, actor=ops, rationale="Vendor incident.")
    assert recipients() == ["lead@example.com", "participant@example.com", "watcher@example.com"]
    for email in mail.outbox:
        assert "answered" not in email.body
        assert "round" not in email.body.lower()
    assert not Delivery.objects.filter(kind=notify.NOTIFICATION, payload__event="round").exists()


def test_a_topic_turned_off_stops_the_digest_but_never_an_invitation(
    run, team, lead, settings, client
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = pilot_in("pilot", team=team, lead=lead)
    invited = people(3, team)
    Preference.objects.create(user=invited[0], topic="round_results", channel="none")
    r = open_round(pilot, scores("quality", [4, 4, 5]), invited=invited)
    run(scheduling.close_round, r.pk)
    assert recipients() == ["p1@example.com", "p2@example.com"]


def test_the_digest_is_written_in_each_invited_persons_language(run, team, lead, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = pilot_in("pilot", team=team, lead=lead)
    invited = people(3, team)
    Profile.objects.create(user=invited[1], language="fr")
    r = open_round(pilot, scores("quality", [4, 4, 5]), invited=invited)
    run(scheduling.close_round, r.pk)
    languages = {m.to[0]: m.extra_headers["Content-Language"] for m in mail.outbox}
    assert languages == {"p0@example.com": "en", "p1@example.com": "fr", "p2@example.com": "en"}


def test_ops_users_who_are_inactive_or_without_an_email_are_not_queued(run, team, lead, ops):
    OpsUserFactory(username="gone", is_active=False)
    OpsUserFactory(username="nomail", email="")
    pilot = PilotFactory(team=team, lead=lead, complete=True)
    run(move, pilot, A.SUBMIT, actor=lead)
    assert recipients() == ["ops@example.com"]


def test_a_round_closed_long_ago_and_a_review_dated_long_ago_are_history_not_news(
    run, team, lead, ops, settings
):
    import datetime

    from django.utils import timezone

    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = pilot_in("pilot", team=team, lead=lead)
    r = open_round(pilot, scores("quality", [4, 4, 5]), invited=people(3, team))
    weeks_ago = timezone.now() - datetime.timedelta(days=notify.NEWS_DAYS + 1)
    run(scheduling.close_round, r.pk, now=weeks_ago)
    run(
        reviews.record_review,
        pilot.pk,
        actor=ops,
        kind="legal",
        outcome="cleared",
        reviewed_on=weeks_ago.date(),
    )
    assert mail.outbox == []
