"""A file email backend that pauses before each message, to hold a worker mid fan-out.

The crash drills load it in the worker process through the EMAIL_BACKEND environment
variable; SLOW_EMAIL_SECONDS (default 0.03) sets the pause. Production code never sleeps.
"""

from __future__ import annotations

import os
import time

from tests.feedback.email_files import OneFilePerConnectionBackend

DEFAULT_PAUSE_SECONDS = 0.03


def pause_seconds() -> float:
    return float(os.environ.get("SLOW_EMAIL_SECONDS", DEFAULT_PAUSE_SECONDS))


class SlowFileBackend(OneFilePerConnectionBackend):
    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            # Not a test waiting for a condition: this stands for a slow mail server.
            time.sleep(pause_seconds())
            sent += super().send_messages([message])
        return sent
