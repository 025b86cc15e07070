"""A file email backend standing for a slow mail server, to act in the middle of a fan-out.

The drills load it in the worker process through the EMAIL_BACKEND environment variable.
Each message is written (the server accepted it), then the call takes SLOW_EMAIL_SECONDS
(default 0.03) to return: the window between acceptance and the worker's 'sent' commit.
With SLOW_EMAIL_HANG_AFTER=n the call never returns after the n-th message written in the
email directory, once per directory (a restarted worker does not hang again), so a drill can
kill the worker exactly in that window. With SLOW_EMAIL_HANG_BEFORE=n it hangs instead just
before the n-th message is written (claimed, not sent: a worker killed there sent nothing).
Production code never sleeps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.feedback.email_files import OneFilePerConnectionBackend, read_emails

DEFAULT_PAUSE_SECONDS = 0.03
HANG_SECONDS = 3600  # far longer than any drill: the worker is killed before it returns
HANG_MARKER = ".hung"


def pause_seconds() -> float:
    return float(os.environ.get("SLOW_EMAIL_SECONDS", DEFAULT_PAUSE_SECONDS))


class SlowFileBackend(OneFilePerConnectionBackend):
    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            if self._hang_now("SLOW_EMAIL_HANG_BEFORE", before=True):
                time.sleep(HANG_SECONDS)
            sent += super().send_messages([message])
            # Not a test waiting for a condition: the server is slow to confirm.
            time.sleep(pause_seconds())
            if self._hang_now("SLOW_EMAIL_HANG_AFTER"):
                time.sleep(HANG_SECONDS)
        return sent

    def _hang_now(self, variable: str, *, before: bool = False) -> bool:
        setting = os.environ.get(variable)
        if not setting:
            return False
        # Before the n-th: once n - 1 are written; after the n-th: once n are.
        written_needed = int(setting) - 1 if before else int(setting)
        directory = Path(self.file_path)
        if (directory / HANG_MARKER).exists() or len(read_emails(directory)) < written_needed:
            return False
        try:
            # O_EXCL: only the first process to get here hangs, and only once per directory.
            os.close(os.open(directory / HANG_MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True
