"""Scheduling rules: periods, time zones, opening, fan-out, closing (emails: test_invitations)."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from core.exceptions import DomainError, PermissionRefused
from core.models import Delivery
from feedback import scheduling
from feedback.models import FeedbackRound, Prompt
from pilots.models import Pilot
from tests.factories import (
    FeedbackRoundFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    PromptFactory,
    ResponseFactory,
    TeamFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.followups_support import requested

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
PARIS = ZoneInfo("Europe/Paris")
# Wednesday 25 November 2026, 10:00 UTC (11:00 in Paris).
WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TOKEN_RE = re.compile(r"/feedback/answer/([A-Za-z0-9_\-]+)/")


def make_pilot(
    *, participants: int = 3, stage: str = "pilot", tz: str = "Europe/Paris", **kwargs
) -> Pilot:
    kwargs = {"cadence": "weekly", "cadence_weekday": 0, **kwargs}
    team = TeamFactory(timezone=tz)
    pilot = PilotFactory(stage=stage, team=team, **kwargs)
    for _ in range(participants):
        ParticipationFactory(pilot=pilot)
    return pilot


@pytest.fixture
def pulse():
    return pulse_questionnaire()


def tokens_in(messages) -> list[str]:
    return [TOKEN_RE.search(m.body).group(1) for m in messages]


# ---------------------------------------------------------------------------------------------
# Periods


def test_a_weekly_period_starts_on_its_weekday_at_nine_local_time():
    pilot = make_pilot(participants=0, cadence="weekly", cadence_weekday=0)
    period = scheduling.current_period(pilot, now=WEDNESDAY)
    assert period.start == datetime.date(2026, 11, 23)
    assert period.opens_at == datetime.datetime(2026, 11, 23, 9, tzinfo=PARIS)
    assert period.opens_at.astimezone(UTC).hour == 8
    assert period.next_opens_at == datetime.datetime(2026, 11, 30, 9, tzinfo=PARIS)


def test_before_the_opening_hour_the_previous_period_is_still_current():
    pilot = make_pilot(participants=0, cadence="weekly", cadence_weekday=0)
    monday_early = datetime.datetime(2026, 11, 30, 7, 59, tzinfo=UTC)  # 08:59 in Paris
    assert scheduling.current_period(pilot, now=monday_early).start == datetime.date(2026, 11, 23)
    monday_nine = datetime.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert scheduling.current_period(pilot, now=monday_nine).start == datetime.date(2026, 11, 30)


def test_biweekly_periods_are_fixed_fortnights_counted_from_the_anchor_week():
    pilot = make_pilot(participants=0, cadence="biweekly", cadence_weekday=2)  # Wednesdays
    starts = {
        scheduling.current_period(pilot, now=WEDNESDAY + datetime.timedelta(days=d)).start
        for d in range(14)
    }
    assert len(starts) == 2
    for start in starts:
        assert start.weekday() == 2
        assert (start - datetime.date(2024, 1, 3)).days % 14 == 0


def test_a_monthly_period_starts_on_the_first_such_weekday_of_the_month():
    pilot = make_pilot(participants=0, cadence="monthly", cadence_weekday=0)
    assert scheduling.current_period(pilot, now=WEDNESDAY).start == datetime.date(2026, 11, 2)
    sunday_first = datetime.datetime(2026, 11, 1, 12, tzinfo=UTC)
    period = scheduling.current_period(pilot, now=sunday_first)
    assert period.start == datetime.date(2026, 10, 5)
    assert period.next_opens_at.date() == datetime.date(2026, 11, 2)


def test_an_approved_standard_is_surveyed_monthly_whatever_its_cadence():
    pilot = make_pilot(participants=0, stage="approved", cadence="weekly", cadence_weekday=0)
    assert scheduling.effective_cadence(pilot) == "monthly"
    assert scheduling.current_period(pilot, now=WEDNESDAY).start == datetime.date(2026, 11, 2)


def test_the_opening_hour_stays_local_across_a_daylight_saving_change():
    pilot = make_pilot(participants=0, cadence="weekly", cadence_weekday=0)
    before = scheduling.current_period(pilot, now=datetime.datetime(2026, 3, 25, tzinfo=UTC))
    after = scheduling.current_period(pilot, now=datetime.datetime(2026, 4, 1, tzinfo=UTC))
    assert before.opens_at.astimezone(UTC) == datetime.datetime(2026, 3, 23, 8, tzinfo=UTC)
    assert after.opens_at.astimezone(UTC) == datetime.datetime(2026, 3, 30, 7, tzinfo=UTC)
    # The week that contains the change lasts 167 hours.
    assert before.next_opens_at - before.opens_at == datetime.timedelta(hours=167)


def test_a_team_far_east_opens_its_round_on_what_is_still_sunday_in_utc():
    pilot = make_pilot(participants=2, cadence="weekly", cadence_weekday=0, tz="Pacific/Auckland")
    pulse_questionnaire()
    sunday_evening_utc = datetime.datetime(2026, 11, 29, 20, 30, tzinfo=UTC)  # Mon 09:30 NZDT
    [round_id] = scheduling.open_due_rounds(now=sunday_evening_utc)
    assert FeedbackRound.objects.get(pk=round_id).period_start == datetime.date(2026, 11, 30)
    assert pilot.rounds.count() == 1


# ---------------------------------------------------------------------------------------------
# Opening rounds and creating prompts


def test_rounds_open_only_for_pilots_in_sandbox_pilot_or_approved(pulse):
    opened_for = {make_pilot(stage=s).pk for s in ("sandbox", "pilot", "approved")}
    for stage in ("draft", "proposed", "stopped", "retired"):
        make_pilot(stage=stage)
    make_pilot(stage="paused", paused_from="pilot")
    round_ids = scheduling.open_due_rounds(now=WEDNESDAY)
    rounds = FeedbackRound.objects.filter(pk__in=round_ids)
    assert {r.pilot_id for r in rounds} == opened_for
    assert FeedbackRound.objects.count() == 3
    assert all(r.questionnaire == pulse for r in rounds)


def test_no_round_opens_before_the_pilots_planned_start(pulse):
    """Approved on the Wednesday, starting the next Monday: nothing is sent before then."""
    pilot = make_pilot(
        planned_start=datetime.date(2026, 11, 30), planned_end=datetime.date(2027, 2, 28)
    )
    assert scheduling.open_due_rounds(now=WEDNESDAY) == []
    monday = datetime.datetime(2026, 11, 30, 8, 5, tzinfo=UTC)  # 09:05 in Paris
    assert len(scheduling.open_due_rounds(now=monday)) == 1
    assert pilot.rounds.get().period_start == datetime.date(2026, 11, 30)


def test_a_pilot_starting_midweek_waits_for_its_first_whole_period(pulse):
    make_pilot(planned_start=datetime.date(2026, 11, 24), planned_end=datetime.date(2027, 2, 28))
    assert scheduling.open_due_rounds(now=WEDNESDAY) == []


def test_rounds_go_on_past_the_planned_end_while_the_pilot_runs(pulse):
    pilot = make_pilot(
        planned_start=datetime.date(2026, 1, 5), planned_end=datetime.date(2026, 6, 30)
    )
    assert scheduling.open_due_rounds(now=WEDNESDAY) == [pilot.rounds.get().pk]


def test_opening_creates_one_queued_prompt_per_participant(pulse):
    pilot = make_pilot(participants=4)
    [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
    prompts = Prompt.objects.filter(round_id=round_id)
    assert sorted(p.participant_id for p in prompts) == sorted(
        pilot.participations.values_list("user_id", flat=True)
    )
    assert len({p.token_hash for p in prompts}) == 4
    assert all(len(p.token_hash) == 64 for p in prompts)


def test_opening_twice_opens_and_prompts_nothing_twice(pulse):
    make_pilot(participants=3)
    first = scheduling.open_due_rounds(now=WEDNESDAY)
    second = scheduling.open_due_rounds(now=WEDNESDAY + datetime.timedelta(minutes=5))
    assert len(first) == 1
    assert second == []
    assert FeedbackRound.objects.count() == 1
    assert Prompt.objects.count() == 3
    assert scheduling.create_prompts(first) == 0
    assert Prompt.objects.count() == 3


def test_the_window_runs_from_the_actual_opening_for_the_pilots_window_days(pulse):
    make_pilot(cadence="weekly", cadence_weekday=0, response_window_days=3)
    [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
    round_ = FeedbackRound.objects.get(pk=round_id)
    assert round_.opens_at == WEDNESDAY
    assert round_.closes_at == WEDNESDAY + datetime.timedelta(days=3)


def test_a_late_round_closes_when_the_next_period_begins(pulse):
    make_pilot(cadence="weekly", cadence_weekday=0, response_window_days=3)
    saturday = datetime.datetime(2026, 11, 28, 8, tzinfo=UTC)
    [round_id] = scheduling.open_due_rounds(now=saturday)
    assert FeedbackRound.objects.get(pk=round_id).closes_at == datetime.datetime(
        2026, 11, 30, 9, tzinfo=PARIS
    )


def test_no_round_opens_when_less_than_a_day_is_left_in_the_period(pulse):
    make_pilot(cadence="weekly", cadence_weekday=0)
    sunday_late = datetime.datetime(2026, 11, 29, 20, tzinfo=UTC)
    assert scheduling.open_due_rounds(now=sunday_late) == []
    assert FeedbackRound.objects.count() == 0


def test_after_beat_was_silent_for_three_periods_only_the_current_period_opens(pulse):
    pilot = make_pilot(cadence="weekly", cadence_weekday=0)
    scheduling.open_due_rounds(now=datetime.datetime(2026, 11, 2, 9, tzinfo=UTC))
    back = datetime.datetime(2026, 11, 24, 9, tzinfo=UTC)  # three Mondays later
    opened = scheduling.open_due_rounds(now=back)
    assert len(opened) == 1
    assert list(pilot.rounds.order_by("period_start").values_list("period_start", flat=True)) == [
        datetime.date(2026, 11, 2),
        datetime.date(2026, 11, 23),
    ]


def test_a_participant_away_at_the_period_start_gets_no_prompt(pulse):
    pilot = make_pilot(participants=2)
    away = ParticipationFactory(pilot=pilot).user
    away.absences.create(starts_on=datetime.date(2026, 11, 20), ends_on=datetime.date(2026, 11, 23))
    [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
    prompted = set(
        Prompt.objects.filter(round_id=round_id).values_list("participant_id", flat=True)
    )
    assert len(prompted) == 2
    assert away.pk not in prompted


def test_an_inactive_user_gets_no_prompt(pulse):
    pilot = make_pilot(participants=1)
    ParticipationFactory(pilot=pilot, user=UserFactory(is_active=False))
    scheduling.open_due_rounds(now=WEDNESDAY)
    assert Prompt.objects.count() == 1


def test_opening_queues_one_invitation_per_prompt_sent_after_commit(
    pulse, spine_messages, django_capture_on_commit_callbacks
):
    make_pilot(participants=3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
    invitations_ = Delivery.objects.filter(kind="invitation")
    assert sorted(invitations_.values_list("subject_id", flat=True)) == sorted(
        str(pk) for pk in Prompt.objects.values_list("pk", flat=True)
    )
    assert set(invitations_.values_list("status", "batch")) == {("queued", f"round:{round_id}")}
    assert spine_messages == []  # nothing published before the commit
    for callback in callbacks:
        callback()
    assert spine_messages == [("deliveries", "invitation", f"round:{round_id}", None)]


def test_opening_many_rounds_publishes_one_message_for_their_invitations(
    pulse, monkeypatch, django_capture_on_commit_callbacks
):
    from core import outbox

    published = []
    monkeypatch.setattr(
        "celery.app.task.Task.delay", lambda self, *args: published.append((self.name, args))
    )
    for _ in range(3):
        make_pilot(participants=1)
    with django_capture_on_commit_callbacks(execute=True):
        round_ids = scheduling.open_due_rounds(now=WEDNESDAY)
    assert published == [(outbox.FAN_OUT_TASK, ("invitation", [f"round:{pk}" for pk in round_ids]))]


def test_without_a_default_questionnaire_no_round_opens(pulse):
    make_pilot()
    type(pulse).objects.update(is_default=False)
    assert scheduling.open_due_rounds(now=WEDNESDAY) == []


def test_opening_and_fan_out_cost_the_same_queries_for_2_or_12_participants(
    pulse, django_assert_max_num_queries
):
    # Allowed: questionnaire, active pilots with teams, existing rounds, savepoint, insert
    # rounds, read their ids, insert prompts, the prompt content type, insert invitations,
    # release savepoint.
    make_pilot(participants=2)
    with django_assert_max_num_queries(9):
        assert len(scheduling.open_due_rounds(now=WEDNESDAY)) == 1
    FeedbackRound.objects.all().delete()
    for _ in range(3):
        make_pilot(participants=12)
    with django_assert_max_num_queries(9):
        assert len(scheduling.open_due_rounds(now=WEDNESDAY)) == 4
    assert Prompt.objects.count() == 2 + 36


def open_one(participants: int = 3, **kwargs) -> FeedbackRound:
    make_pilot(participants=participants, **kwargs)
    [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
    return FeedbackRound.objects.get(pk=round_id)


# ---------------------------------------------------------------------------------------------
# Closing


def test_closing_records_counts_results_and_evaluates_guardrails_after_commit(
    pulse, monkeypatch, django_capture_on_commit_callbacks
):
    round_ = open_one(4)
    ResponseFactory(round=round_)
    ResponseFactory(round=round_)
    computed = []
    monkeypatch.setattr(
        "feedback.results.compute_results", lambda r, **kw: computed.append(r.pk) or {"n": 2}
    )
    closed_at = WEDNESDAY + datetime.timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        closed = scheduling.close_round(round_.pk, now=closed_at)
    round_.refresh_from_db()
    assert closed == round_
    assert (round_.status, round_.closed_at) == ("closed", closed_at)
    assert (round_.invited_count, round_.response_count) == (4, 2)
    assert round_.results == {"n": 2}
    assert computed == [round_.pk]
    assert requested("round_closed") == [round_.pk]


def test_closing_twice_is_a_no_op(pulse, monkeypatch):
    round_ = open_one(2)
    first_close = WEDNESDAY + datetime.timedelta(days=3)
    assert scheduling.close_round(round_.pk, now=first_close) is not None
    assert scheduling.close_round(round_.pk, now=first_close + datetime.timedelta(hours=1)) is None
    round_.refresh_from_db()
    assert round_.closed_at == first_close


def test_only_rounds_whose_window_has_passed_are_closed(pulse, django_capture_on_commit_callbacks):
    due = FeedbackRoundFactory(
        opens_at=WEDNESDAY - datetime.timedelta(days=4),
        closes_at=WEDNESDAY - datetime.timedelta(days=1),
    )
    FeedbackRoundFactory(opens_at=WEDNESDAY, closes_at=WEDNESDAY + datetime.timedelta(days=3))
    with django_capture_on_commit_callbacks() as callbacks:
        assert scheduling.close_due_rounds(now=WEDNESDAY) == [due.pk]
    assert len(callbacks) == 1


def test_a_closed_round_counts_prompts_of_answered_and_unanswered_participants(pulse):
    round_ = FeedbackRoundFactory()
    PromptFactory(round=round_, answered=True)
    PromptFactory(round=round_)
    ResponseFactory(round=round_)
    scheduling.close_round(round_.pk, now=WEDNESDAY)
    round_.refresh_from_db()
    assert (round_.invited_count, round_.response_count) == (2, 1)
    assert round_.response_rate == 0.5


# ---------------------------------------------------------------------------------------------
# The database refuses what the scheduling relies on


def refused(constraint: str, make) -> None:
    from django.db import IntegrityError, connection, transaction

    with pytest.raises(IntegrityError) as error, transaction.atomic():
        make()
    if connection.vendor == "postgresql":  # SQLite names the columns, not the constraint
        assert constraint in str(error.value)


def test_the_database_refuses_a_second_round_for_the_same_period(pulse):
    round_ = FeedbackRoundFactory()
    refused(
        "feedback_feedbackround_one_per_period",
        lambda: FeedbackRoundFactory(pilot=round_.pilot, period_start=round_.period_start),
    )


def test_the_database_refuses_a_second_prompt_for_the_same_participant(pulse):
    prompt = PromptFactory()
    refused(
        "feedback_prompt_one_per_participant",
        lambda: PromptFactory(round=prompt.round, participant=prompt.participant),
    )


def test_the_database_refuses_a_round_closing_before_it_opens(pulse):
    refused(
        "feedback_feedbackround_window_in_order",
        lambda: FeedbackRoundFactory(opens_at=WEDNESDAY, closes_at=WEDNESDAY),
    )


def test_the_database_refuses_a_closed_round_without_a_closing_time(pulse):
    refused(
        "feedback_feedbackround_closed_at_iff_closed",
        lambda: FeedbackRoundFactory(status="closed", closed_at=None),
    )
    refused(
        "feedback_feedbackround_closed_at_iff_closed",
        lambda: FeedbackRoundFactory(status="open", closed_at=WEDNESDAY),
    )


def test_the_database_refuses_more_responses_than_invitations(pulse):
    refused(
        "feedback_feedbackround_responses_within_invited",
        lambda: FeedbackRoundFactory(invited_count=2, response_count=3),
    )


def test_the_database_refuses_two_current_versions_or_two_defaults(pulse):
    from tests.factories import QuestionnaireFactory

    refused(
        "feedback_questionnaire_one_current_version",
        lambda: QuestionnaireFactory(slug=pulse.slug, version=pulse.version + 1, is_current=True),
    )
    refused(
        "feedback_questionnaire_one_default",
        lambda: QuestionnaireFactory(is_default=True, is_current=True),
    )


# ---------------------------------------------------------------------------------------------
# Ops acting now: the beat's functions, for chosen pilots or rounds, at once


def test_ops_open_now_the_round_the_beat_would_open_for_that_pilot_only(pulse, ops, caplog):
    pilot = make_pilot(participants=2)
    other = make_pilot(participants=2)
    caplog.set_level("INFO", logger="feedback.scheduling")
    report = scheduling.open_rounds_now([pilot.pk], actor=ops, now=WEDNESDAY)
    [round_] = report.opened
    assert report.refused == {}
    assert (round_.pilot_id, round_.period_start) == (pilot.pk, datetime.date(2026, 11, 23))
    assert (round_.opens_at, round_.closes_at) == (WEDNESDAY, WEDNESDAY + datetime.timedelta(3))
    assert round_.prompt_count == 2
    assert Prompt.objects.filter(round=round_).count() == 2
    assert not other.rounds.exists()
    assert f"Feedback round(s) {round_.pk} opened now by user {ops.pk}." in caplog.messages
    # The beat, ticking next, opens the other pilot's round and nothing twice.
    assert FeedbackRound.objects.get(pk=scheduling.open_due_rounds(now=WEDNESDAY)[0]).pilot == other
    assert FeedbackRound.objects.count() == 2


def test_opening_now_twice_opens_once_and_says_the_round_is_already_open(pulse, ops):
    pilot = make_pilot(participants=2)
    scheduling.open_rounds_now([pilot.pk], actor=ops, now=WEDNESDAY)
    again = scheduling.open_rounds_now(
        [pilot.pk], actor=ops, now=WEDNESDAY + datetime.timedelta(minutes=1)
    )
    assert again.opened == []
    assert again.refused[pilot.pk].code == "round_already_open"
    assert "already open" in again.refused[pilot.pk].message
    assert pilot.rounds.count() == 1
    assert Prompt.objects.count() == 2


def test_a_period_whose_round_was_closed_gets_no_second_round(pulse, ops):
    pilot = make_pilot()
    [round_] = scheduling.open_rounds_now([pilot.pk], actor=ops, now=WEDNESDAY).opened
    scheduling.close_round_now(round_.pk, actor=ops, now=WEDNESDAY + datetime.timedelta(hours=1))
    again = scheduling.open_rounds_now([pilot.pk], actor=ops, now=WEDNESDAY)
    assert again.refused[pilot.pk].code == "round_already_closed"
    assert pilot.rounds.count() == 1


@pytest.mark.parametrize(
    ("pilot_kwargs", "now", "code", "words"),
    [
        ({"stage": "proposed"}, WEDNESDAY, "pilot_not_running", "The pilot is Proposed"),
        (
            {"stage": "paused", "paused_from": "pilot"},
            WEDNESDAY,
            "pilot_not_running",
            "The pilot is Paused",
        ),
        (
            {
                "planned_start": datetime.date(2026, 11, 25),
                "planned_end": datetime.date(2027, 3, 1),
            },
            WEDNESDAY,
            "before_planned_start",
            "its first round opens on Nov. 30, 2026",
        ),
        (
            {},
            datetime.datetime(2026, 11, 29, 20, tzinfo=UTC),
            "too_little_time",
            "Less than a day is left before the next period begins (Nov. 30, 2026)",
        ),
    ],
)
def test_opening_now_is_refused_with_the_reason_the_beat_would_open_nothing(
    pulse, ops, pilot_kwargs, now, code, words
):
    pilot = make_pilot(**pilot_kwargs)
    report = scheduling.open_rounds_now([pilot.pk], actor=ops, now=now)
    assert report.opened == []
    assert report.refused[pilot.pk].code == code
    assert words in report.refused[pilot.pk].message
    assert not FeedbackRound.objects.exists()
    assert scheduling.open_due_rounds(now=now) == []  # the beat agrees


def test_opening_now_without_a_default_questionnaire_is_refused(pulse, ops):
    pilot = make_pilot()
    type(pulse).objects.update(is_default=False)
    with pytest.raises(DomainError) as refused:
        scheduling.open_rounds_now([pilot.pk], actor=ops, now=WEDNESDAY)
    assert (refused.value.code, refused.value.field) == (
        "no_default_questionnaire",
        "questionnaire",
    )
    assert not FeedbackRound.objects.exists()


def test_opening_now_for_several_pilots_opens_some_and_explains_the_others(pulse, ops):
    running = make_pilot()
    draft = make_pilot(stage="draft")
    report = scheduling.open_rounds_now([draft.pk, running.pk, 987654], actor=ops, now=WEDNESDAY)
    assert [r.pilot_id for r in report.opened] == [running.pk]
    assert list(report.refused) == [draft.pk, 987654]
    assert report.refused[draft.pk].code == "pilot_not_running"
    assert report.refused[987654].code == "pilot_not_found"


@pytest.mark.parametrize("who", ["lead", "inactive_ops"])
def test_only_active_ops_may_act_on_rounds_now(pulse, who, lead):
    actor = lead if who == "lead" else OpsUserFactory(username="gone", is_active=False)
    pilot = make_pilot()
    round_ = FeedbackRoundFactory(pilot=pilot, opens_at=WEDNESDAY)
    for act in (
        lambda: scheduling.open_rounds_now([pilot.pk], actor=actor, now=WEDNESDAY),
        lambda: scheduling.remind_now(round_.pk, actor=actor, now=WEDNESDAY),
        lambda: scheduling.close_round_now(round_.pk, actor=actor, now=WEDNESDAY),
    ):
        with pytest.raises(PermissionRefused):
            act()
    assert pilot.rounds.get() == round_
    round_.refresh_from_db()
    assert round_.status == "open"


def test_ops_close_a_round_now_and_its_guardrails_are_evaluated_after_commit(
    pulse, ops, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    round_ = open_one(4)
    ResponseFactory(round=round_)
    early = WEDNESDAY + datetime.timedelta(hours=5)
    caplog.set_level("INFO", logger="feedback.scheduling")
    with django_capture_on_commit_callbacks(execute=True):
        closed = scheduling.close_round_now(round_.pk, actor=ops, now=early)
    assert (closed.status, closed.closed_at) == ("closed", early)
    assert (closed.invited_count, closed.response_count) == (4, 1)
    assert requested("round_closed") == [round_.pk]
    assert f"Feedback round {round_.pk} closed now by user {ops.pk}." in caplog.messages
    with pytest.raises(DomainError) as refused:
        scheduling.close_round_now(round_.pk, actor=ops, now=early)
    assert (refused.value.code, refused.value.message) == (
        "round_closed",
        "This round is already closed.",
    )
    assert requested("round_closed") == [round_.pk]
    round_.refresh_from_db()
    assert round_.closed_at == early
    with pytest.raises(DomainError) as refused:
        scheduling.close_round_now(987654, actor=ops)
    assert refused.value.code == "round_not_found"
