"""The drills' slow email backend: it pauses before each message and still writes it."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.mail import EmailMessage

from tests.feedback.email_files import read_emails
from tests.feedback.slow_email import HANG_SECONDS, SlowFileBackend


def test_the_slow_backend_pauses_before_each_message_and_writes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOW_EMAIL_SECONDS", "0.01")
    pauses = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    backend = SlowFileBackend(file_path=str(tmp_path))
    messages = [EmailMessage(subject="s", body="b", to=[f"p{i}@example.com"]) for i in range(3)]
    assert backend.send_messages(messages) == 3
    assert pauses == [0.01, 0.01, 0.01]
    assert [e.to for e in read_emails(tmp_path)] == [f"p{i}@example.com" for i in range(3)]


def test_production_settings_have_no_drill_pause():
    assert not hasattr(settings, "FEEDBACK_SEND_DELAY_SECONDS")


def test_the_slow_backend_hangs_once_per_directory_after_the_given_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOW_EMAIL_SECONDS", "0")
    monkeypatch.setenv("SLOW_EMAIL_HANG_AFTER", "2")
    pauses = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    messages = [EmailMessage(subject="s", body="b", to=[f"p{i}@example.com"]) for i in range(3)]
    SlowFileBackend(file_path=str(tmp_path)).send_messages(messages)
    SlowFileBackend(file_path=str(tmp_path)).send_messages(messages)  # a restarted worker
    assert pauses.count(HANG_SECONDS) == 1
    assert pauses.index(HANG_SECONDS) == 2  # right after the second message and its pause
    assert len(read_emails(tmp_path)) == 6
