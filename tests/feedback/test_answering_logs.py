"""Answer tokens never reach the logs, even when Django logs a refused request's path."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from feedback.log_filters import RedactAnswerTokens, redact
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def test_a_refused_post_on_an_answer_link_logs_its_path_without_the_token(participant, caplog):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)
    caplog.set_level(logging.DEBUG)

    response = Client(enforce_csrf_checks=True).post(
        reverse("feedback_answer", args=[token]), GOOD_ANSWERS
    )

    assert response.status_code == 403
    # No line at all: its time would date an attempt to answer (the timing rule).
    assert "/feedback/answer/" not in caplog.text
    assert token not in caplog.text


def test_an_unknown_link_logs_no_token(client, caplog):
    caplog.set_level(logging.DEBUG)

    client.get(reverse("feedback_answer", args=["guessed-token-value"]))

    assert "/feedback/answer/" not in caplog.text
    assert "guessed-token-value" not in caplog.text


def test_a_server_error_on_an_answer_page_is_still_logged_without_its_token(caplog):
    from feedback.log_filters import DropAnswerRequests

    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/feedback/answer/s3cr3t-t0k3n/",),
        None,
    )
    record.status_code = 500
    assert DropAnswerRequests().filter(record)
    assert RedactAnswerTokens().filter(record) and "s3cr3t" not in record.getMessage()
    record.status_code = 404
    assert not DropAnswerRequests().filter(record)


def test_the_filter_redacts_messages_and_arguments():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /feedback/answer/abc_DEF-1/?saved=1 HTTP/1.1", "200"),
        None,
    )

    assert RedactAnswerTokens().filter(record) is True
    assert record.getMessage() == '"GET /feedback/answer/<redacted>/?saved=1 HTTP/1.1" 200'
    assert redact("/feedback/away/") == "/feedback/away/"


def test_the_inbox_answer_page_s_prompt_id_is_redacted_too():
    assert (
        redact("POST /feedback/prompts/42/ HTTP/1.1")
        == "POST /feedback/prompts/<redacted>/ HTTP/1.1"
    )
