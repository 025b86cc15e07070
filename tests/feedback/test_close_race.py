"""Drill: a round closing while answers arrive (PostgreSQL, real transactions, threads).

Every answer is either counted by the close or refused with "round closed"; none is lost and
none counted twice. Submissions and close_round lock the same round row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections

from feedback import answering
from feedback.models import FeedbackRound, Prompt, Response
from feedback.scheduling import close_round
from tests.factories import UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round
from tests.waiting import backends_waiting_for_a_lock, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 20.0


def run_in_thread(name: str, target: Callable[[], object], outcomes: dict) -> threading.Thread:
    def body() -> None:
        try:
            target()
            outcomes[name] = "saved"
        except answering.AnsweringClosed as e:
            outcomes[name] = e.code
        except answering.AlreadyAnswered as e:
            outcomes[name] = e.code
        except answering.UnknownLink as e:
            outcomes[name] = e.code
        except Exception as e:  # the test reports any other failure as an outcome
            outcomes[name] = f"error: {e!r}"
        finally:
            connections.close_all()

    thread = threading.Thread(target=body, name=name)
    thread.start()
    return thread


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(DEADLINE)
        assert not thread.is_alive(), f"{thread.name} still running after {DEADLINE}s"


def test_answers_racing_the_close_are_each_counted_once_or_refused(postgres):
    for attempt in range(3):
        feedback_round = pulse_round()
        tokens = [prompt_with_token(feedback_round, UserFactory())[1] for _ in range(12)]
        # Half the participants answer once before the race and edit during it.
        for token in tokens[:6]:
            answering.submit_response(token=token, answers=GOOD_ANSWERS)
        start = threading.Barrier(len(tokens) + 1, timeout=DEADLINE)
        outcomes: dict[str, str] = {}

        def answer(token: str, start: threading.Barrier = start) -> Callable[[], object]:
            def go() -> object:
                start.wait()
                return answering.submit_response(
                    token=token, answers={**GOOD_ANSWERS, "quality": "2"}
                )

            return go

        def close(start: threading.Barrier = start, round_id: int = feedback_round.pk) -> None:
            start.wait()
            close_round(round_id)

        threads = [run_in_thread(f"answer-{i}", answer(t), outcomes) for i, t in enumerate(tokens)]
        threads.append(run_in_thread("close", close, outcomes))
        join_all(threads)

        feedback_round.refresh_from_db()
        answers = {k: v for k, v in outcomes.items() if k.startswith("answer-")}
        assert set(answers.values()) <= {"saved", "round_closed"}, outcomes
        assert outcomes["close"] == "saved"
        assert feedback_round.status == FeedbackRound.Status.CLOSED
        responses = Response.objects.filter(round=feedback_round).count()
        new_saved = sum(1 for i in range(6, len(tokens)) if answers[f"answer-{i}"] == "saved")
        # Six answered before; the racing newcomers that were saved are the only others.
        assert responses == 6 + new_saved, (attempt, outcomes)
        assert feedback_round.response_count == responses, (attempt, outcomes)
        assert Prompt.objects.filter(round=feedback_round, answered=True).count() == responses


def test_an_answer_holding_the_lock_is_counted_and_one_after_the_close_is_refused(
    postgres, monkeypatch
):
    feedback_round = pulse_round()
    _p1, early = prompt_with_token(feedback_round, UserFactory())
    _p2, late = prompt_with_token(feedback_round, UserFactory())
    inside = threading.Event()
    release = threading.Event()
    validate = answering.validate_answers

    def slow_validate(questions, answers):
        # Runs with the round row locked: hold it until the close is queued behind us.
        if threading.current_thread().name == "early":
            inside.set()
            assert release.wait(DEADLINE)
        return validate(questions, answers)

    monkeypatch.setattr(answering, "validate_answers", slow_validate)
    outcomes: dict[str, str] = {}
    early_thread = run_in_thread(
        "early", lambda: answering.submit_response(token=early, answers=GOOD_ANSWERS), outcomes
    )
    assert inside.wait(DEADLINE)
    close_thread = run_in_thread("close", lambda: close_round(feedback_round.pk), outcomes)
    wait_until(backends_waiting_for_a_lock, what="close_round to wait for the round lock")
    release.set()
    join_all([early_thread, close_thread])

    with pytest.raises(answering.AnsweringClosed) as e:
        answering.submit_response(token=late, answers=GOOD_ANSWERS)

    assert outcomes == {"early": "saved", "close": "saved"}
    assert e.value.code == "round_closed"
    feedback_round.refresh_from_db()
    assert feedback_round.response_count == 1
    assert Response.objects.filter(round=feedback_round).count() == 1


def test_two_first_answers_with_one_token_at_once_make_one_response(postgres):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, UserFactory())
    start = threading.Barrier(4, timeout=DEADLINE)
    outcomes: dict[str, str] = {}

    def go() -> object:
        start.wait()
        return answering.submit_response(token=token, answers=GOOD_ANSWERS)

    join_all([run_in_thread(f"copy-{i}", go, outcomes) for i in range(4)])

    assert set(outcomes.values()) == {"saved"}, outcomes
    assert Response.objects.filter(round=feedback_round).count() == 1
    assert Prompt.objects.get().answered is True


def test_the_link_and_the_inbox_at_once_make_one_anonymous_response(postgres):
    feedback_round = pulse_round()
    user = UserFactory()
    prompt, token = prompt_with_token(feedback_round, user)
    start = threading.Barrier(2, timeout=DEADLINE)
    outcomes: dict[str, str] = {}

    def by_link() -> object:
        start.wait()
        return answering.submit_response(token=token, answers=GOOD_ANSWERS)

    def by_inbox() -> object:
        start.wait()
        return answering.submit_response(prompt_id=prompt.pk, user=user, answers=GOOD_ANSWERS)

    join_all([run_in_thread("link", by_link, outcomes), run_in_thread("inbox", by_inbox, outcomes)])

    # Whichever came first saved; the other found the prompt answered or its link replaced.
    assert sorted(outcomes.values()) in (
        ["already_answered", "saved"],
        ["saved", "unknown_link"],
    ), outcomes
    assert Response.objects.filter(round=feedback_round).count() == 1
