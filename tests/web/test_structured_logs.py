"""Structured logs: one JSON line per request and per task, and nothing that names a respondent."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from aiops_site.logs import JsonFormatter
from feedback import tasks as feedback_tasks
from feedback.models import Prompt
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def lines(caplog, logger: str | None = None) -> list[dict]:
    """Every captured record as the JSON line production writes."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(r))
        for r in caplog.records
        if logger is None or r.name == logger
    ]


def test_a_page_request_is_one_json_line_with_its_route_status_duration_and_user(
    client, lead, caplog
):
    client.force_login(lead)
    with caplog.at_level(logging.INFO, logger="aiops.request"):
        response = client.get(reverse("home"), HTTP_X_REQUEST_ID="trace-12345678")
    [line] = lines(caplog, "aiops.request")
    assert line["route"] == "home"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["user_id"] == lead.pk
    assert line["request_id"] == "trace-12345678" == response["X-Request-ID"]
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO"


def test_a_request_id_that_is_not_a_plain_token_is_replaced(client, caplog):
    with caplog.at_level(logging.INFO, logger="aiops.request"):
        response = client.get(reverse("login"), HTTP_X_REQUEST_ID='x"\n{"forged": 1}')
    [line] = lines(caplog, "aiops.request")
    assert line["request_id"] == response["X-Request-ID"]
    assert "forged" not in line["request_id"]
    assert len(line["request_id"]) == 32


def test_answering_leaves_no_line_that_names_or_dates_the_respondent(client, participant, caplog):
    """The attack: read every log line written while someone answers, by link and from the inbox."""
    round_ = pulse_round()
    _prompt, token = prompt_with_token(round_, participant)
    other = Prompt.objects.create(
        round=round_,
        participant=participant.__class__.objects.create(username="second-respondent"),
        token_hash="f" * 64,
    )
    with caplog.at_level(logging.DEBUG):
        client.get(reverse("feedback_answer", args=[token]))
        client.post(reverse("feedback_answer", args=[token]), GOOD_ANSWERS)
        client.force_login(other.participant)
        client.get(reverse("feedback_prompt", args=[other.pk]))
        client.post(reverse("feedback_prompt", args=[other.pk]), GOOD_ANSWERS)
    written = json.dumps(lines(caplog))
    assert Prompt.objects.filter(answered=True).count() == 2  # both answers went through
    assert lines(caplog, "aiops.request") == []
    for secret in (
        token,
        participant.username,
        "second-respondent",
        f"/feedback/prompts/{other.pk}/",
        "127.0.0.1",
    ):
        assert secret not in written, secret


def test_a_server_error_on_an_answer_page_names_the_route_only(client, participant, monkeypatch):
    round_ = pulse_round()
    _prompt, token = prompt_with_token(round_, participant)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("feedback.answering.submit_response", broken)
    client.raise_request_exception = False
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("aiops.request").addHandler(handler)
    try:
        response = client.post(reverse("feedback_answer", args=[token]), GOOD_ANSWERS)
    finally:
        logging.getLogger("aiops.request").removeHandler(handler)
    assert response.status_code == 500
    [line] = [json.loads(JsonFormatter().format(r)) for r in records]
    assert (line["route"], line["status"], line["level"]) == ("feedback_answer", 500, "ERROR")
    assert "path" not in line and "user_id" not in line
    assert token not in json.dumps(line)


def test_a_task_is_one_json_line_with_its_name_outcome_and_duration_never_its_arguments(caplog):
    task = feedback_tasks.close_round
    with caplog.at_level(logging.INFO, logger="aiops.task"):
        task.apply(args=[987654])
    [line] = lines(caplog, "aiops.task")
    assert line["task"] == "feedback.tasks.close_round"
    assert line["outcome"] == "success"
    assert isinstance(line["duration_ms"], float)
    assert "987654" not in json.dumps(line)


def test_the_json_formatter_redacts_answer_tokens_in_any_message():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/feedback/answer/abc123/",),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Not Found: /feedback/answer/<redacted>/"
