"""What the send benchmark's worker loads (bench.settings only, never production).

`noop`: the baseline task, which only counts itself. `CountingBackend`: an email backend that
builds each message's MIME, as every real backend does, and counts it. Both counts go to Redis
(one INCRBY per task, and per mail connection), where the benchmark reads them.
"""

from __future__ import annotations

from functools import cache

from celery import shared_task
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

NOOPS = "bench:noops"
EMAILS = "bench:emails"


@cache
def _redis():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def noop() -> None:
    _redis().incr(NOOPS)


class CountingBackend(BaseEmailBackend):
    """Build every message (its MIME bytes) and count it; flush the count when closed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.opened = False
        self.pending = 0

    def open(self) -> bool:
        self.opened = True
        return True

    def close(self) -> None:
        self.opened = False
        self._flush()

    def _flush(self) -> None:
        if self.pending:
            _redis().incrby(EMAILS, self.pending)
            self.pending = 0

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            message.message().as_bytes()
        self.pending += len(email_messages)
        if not self.opened:
            self._flush()
        return len(email_messages)
