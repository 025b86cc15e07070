"""The demo's feedback: rounds where the scheduler would have put them, one open prompt."""

from __future__ import annotations

import datetime
import itertools
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core import outbox
from feedback import invitations, scheduling
from feedback.models import Answer, FeedbackRound, Prompt, Response
from feedback.tokens import hash_token
from pilots.models import ACTIVE_STAGES, GuardrailBreach, Pilot, Stage, StageChange
from tests.factories import pulse_questionnaire

pytestmark = pytest.mark.django_db

LINK = re.compile(r"(\S+)/feedback/answer/([A-Za-z0-9_\-]+)/")


@pytest.fixture
def demo(settings, capsys):
    """Run the whole seed_demo command; return what it printed."""
    settings.DEMO_MODE = True
    settings.SITE_URL = "http://127.0.0.1:8123"
    pulse_questionnaire()
    call_command("seed_demo")
    return capsys.readouterr().out


def stage_at(pilot: Pilot, when: datetime.datetime) -> str:
    stage = Stage.DRAFT
    for change in pilot.stage_changes.all():
        if change.created_at > when:
            break
        stage = change.to_stage
    return stage


def test_every_running_pilot_has_closed_rounds_answered_past_the_anonymity_threshold(demo):
    ran = Pilot.objects.filter(stage__in=[*ACTIVE_STAGES, Stage.PAUSED, Stage.RETIRED])
    assert {p.stage for p in ran} == {*ACTIVE_STAGES, Stage.PAUSED, Stage.RETIRED}
    for pilot in ran:
        closed = list(pilot.rounds.closed())
        assert len(closed) >= 3, pilot
        for round_ in closed:
            assert round_.response_count == round_.responses.count() >= 5
            assert round_.invited_count == round_.prompts.count()
            assert round_.prompts.filter(answered=True).count() == round_.response_count
            assert round_.results
    never_ran = Pilot.objects.filter(stage__in=[Stage.DRAFT, Stage.PROPOSED, Stage.STOPPED])
    assert not FeedbackRound.objects.filter(pilot__in=never_ran).exists()


def check_rounds_fall_while_their_pilot_runs_after_its_planned_start() -> None:
    rounds = FeedbackRound.objects.select_related("pilot__team").prefetch_related(
        "pilot__stage_changes"
    )
    assert rounds.count() >= 25
    for round_ in rounds:
        pilot = round_.pilot
        tz = ZoneInfo(pilot.team.timezone)
        assert round_.period_start >= pilot.planned_start, round_
        assert round_.opens_at >= scheduling.opening_instant(pilot.planned_start, tz)
        assert stage_at(pilot, round_.opens_at) in ACTIVE_STAGES, round_
        end = min(round_.closes_at, timezone.now())
        left = [
            c
            for c in pilot.stage_changes.all()
            if round_.opens_at < c.created_at < end and c.to_stage not in ACTIVE_STAGES
        ]
        assert not left, (round_, left)


def check_rounds_lie_within_their_periods() -> None:
    for round_ in FeedbackRound.objects.select_related("pilot__team").prefetch_related(
        "pilot__stage_changes"
    ):
        pilot = round_.pilot
        tz = ZoneInfo(pilot.team.timezone)
        stage = stage_at(pilot, round_.opens_at)
        cadence = Pilot.Cadence.MONTHLY if stage == Stage.APPROVED else pilot.cadence
        start = round_.period_start
        assert (
            scheduling.period_start_on_or_before(cadence, pilot.cadence_weekday, start) == start
        ), round_
        next_start = scheduling.next_period_start(cadence, pilot.cadence_weekday, start)
        assert scheduling.opening_instant(start, tz) <= round_.opens_at, round_
        assert round_.closes_at <= scheduling.opening_instant(next_start, tz), round_
        window = datetime.timedelta(days=pilot.response_window_days)
        assert round_.closes_at - round_.opens_at <= window


def check_rounds_never_overlap_and_ids_follow_their_opening() -> None:
    for pilot in Pilot.objects.all():
        rounds = list(pilot.rounds.order_by("opens_at"))
        for earlier, later in itertools.pairwise(rounds):
            assert earlier.closes_at <= later.opens_at
    by_opening = list(FeedbackRound.objects.order_by("opens_at", "pk").values_list("pk", flat=True))
    assert by_opening == sorted(by_opening)


def check_one_open_round_open_now_and_the_others_past() -> None:
    now = timezone.now()
    for round_ in FeedbackRound.objects.closed():
        assert round_.closed_at == round_.closes_at <= now
    [open_round] = FeedbackRound.objects.open()
    assert open_round.opens_at <= now < open_round.closes_at
    assert open_round.pilot.title == "Knowledge base search"
    assert open_round.pilot.stage == Stage.PILOT
    prompts = Prompt.objects.filter(
        participant__username="participant", round__status=FeedbackRound.Status.OPEN
    )
    assert [p.round_id for p in prompts] == [open_round.pk]


def check_the_beat_finds_nothing_due() -> None:
    now = timezone.now()
    assert scheduling.open_due_rounds(now=now) == []
    assert scheduling.remind(now=now) == []
    assert scheduling.close_due_rounds(now=now) == []


def test_rounds_fall_while_their_pilot_runs_and_after_its_planned_start(demo):
    check_rounds_fall_while_their_pilot_runs_after_its_planned_start()


def test_every_round_lies_within_its_period(demo):
    check_rounds_lie_within_their_periods()


def test_rounds_of_a_pilot_never_overlap_and_ids_follow_their_opening(demo):
    check_rounds_never_overlap_and_ids_follow_their_opening()


def test_closed_rounds_are_past_and_the_one_open_round_is_open_now(demo):
    check_one_open_round_open_now_and_the_others_past()


def test_the_beat_finds_nothing_to_open_remind_or_close_after_seeding(demo):
    check_the_beat_finds_nothing_due()


@pytest.mark.parametrize(
    "when",
    [
        "2025-03-30 07:30",  # a Sunday morning, the day clocks go forward, before 9:00
        "2025-10-27 08:55",  # a Monday before the rounds open, the day after clocks go back
        "2026-01-01 23:50",  # New Year's night: a new month and year
        "2026-02-28 12:00",  # a Saturday, the last day of February
    ],
)
def test_the_demo_holds_whatever_the_day_and_hour_it_is_seeded(settings, capsys, when):
    settings.DEMO_MODE = True
    pulse_questionnaire()
    local = datetime.datetime.fromisoformat(when).replace(tzinfo=ZoneInfo("Europe/Paris"))
    with time_machine.travel(local, tick=False):
        call_command("seed_demo")
        assert len(LINK.findall(capsys.readouterr().out)) == 1
        assert not StageChange.objects.filter(overridden=True).exists()
        check_rounds_fall_while_their_pilot_runs_after_its_planned_start()
        check_rounds_lie_within_their_periods()
        check_rounds_never_overlap_and_ids_follow_their_opening()
        check_one_open_round_open_now_and_the_others_past()
        check_the_beat_finds_nothing_due()


def test_no_demo_round_broke_a_guardrail(demo):
    assert not GuardrailBreach.objects.exists()
    assert not StageChange.objects.filter(actor__isnull=True).exists()  # no system pause


def test_anonymous_demo_responses_carry_no_respondent_or_edit_key(demo):
    anonymous = Response.objects.filter(round__pilot__anonymous_feedback=True)
    assert anonymous.exists()
    assert not anonymous.filter(respondent__isnull=False).exists()
    assert not anonymous.filter(edit_key_hash__isnull=False).exists()
    assert Answer.objects.filter(question__key="trust").exists()


def test_the_participant_has_one_open_prompt_whose_printed_link_works(demo, client):
    [(site, token)] = LINK.findall(demo)
    assert site == "http://127.0.0.1:8123"
    prompt = Prompt.objects.get(token_hash=hash_token(token))
    assert prompt.participant.username == "participant"
    assert prompt.round.status == "open"
    assert prompt.answered is False
    assert "'Knowledge base search'" in demo
    assert client.get(reverse("feedback_answer", args=[token])).status_code == 200
    client.force_login(prompt.participant)
    inbox = client.get(reverse("feedback_inbox")).content.decode()
    assert inbox.count('href="/feedback/prompts/') == 1  # one "Answer now" in the inbox
    assert f'href="{reverse("feedback_prompt", args=[prompt.pk])}"' in inbox


def test_it_says_who_else_answers_the_open_round_from_their_inbox(demo):
    assert "http://127.0.0.1:8123/feedback/" in demo
    assert "amy, ben, emma, farid, gus are invited too" in demo
    [open_round] = FeedbackRound.objects.open()
    invited = set(open_round.prompts.values_list("participant__username", flat=True))
    assert {"participant", "amy", "ben", "emma", "farid", "gus"} <= invited


def test_the_worker_emails_the_others_links_to_site_url(demo, settings):
    [open_round] = FeedbackRound.objects.open()
    report = outbox.deliver_batch(invitations.INVITATION, invitations.batch_of(open_round.pk))
    assert report.sent == open_round.prompts.count() - 1  # participant's link was printed
    assert mail.outbox
    for message in mail.outbox:
        assert "http://127.0.0.1:8123/feedback/answer/" in message.body
    assert not any(m.to == ["participant@example.com"] for m in mail.outbox)


def test_seeding_twice_adds_nothing_and_prints_a_new_working_link(demo, capsys, client):
    counts = (FeedbackRound.objects.count(), Prompt.objects.count(), Response.objects.count())
    [(_site, first)] = LINK.findall(demo)
    call_command("seed_demo")
    again = capsys.readouterr().out
    assert (
        FeedbackRound.objects.count(),
        Prompt.objects.count(),
        Response.objects.count(),
    ) == counts
    assert "0 pilot(s) created, 8 already there" in again
    [(_site, second)] = LINK.findall(again)
    assert second != first
    assert client.get(reverse("feedback_answer", args=[second])).status_code == 200
    assert client.get(reverse("feedback_answer", args=[first])).status_code == 404
    # The same useful lines, the counts and the link apart.
    assert [LINK.sub("LINK", line) for line in demo.splitlines()[1:]] == [
        LINK.sub("LINK", line) for line in again.splitlines()[1:]
    ]


def test_once_answered_a_rerun_says_so_and_mints_nothing(demo, capsys):
    prompt = Prompt.objects.get(
        participant__username="participant", round__status=FeedbackRound.Status.OPEN
    )
    Prompt.objects.filter(pk=prompt.pk).update(answered=True)
    call_command("seed_demo")
    again = capsys.readouterr().out
    assert not LINK.findall(again)
    assert "'participant' has answered it" in again
    assert Prompt.objects.get(pk=prompt.pk).token_hash == prompt.token_hash
