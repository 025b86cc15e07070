"""Drill: Redis dies under a working Celery worker and comes back empty; the worker carries on.

The worker runs against a private redis-server (a port in 6390-6399, nothing kept on disk)
that the test kills with SIGKILL while a task is running, then restarts empty on the same
port. The shared Redis of the other drills is never touched.
"""

from __future__ import annotations

import datetime
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from core.models import Delivery
from feedback import tasks
from feedback.models import FeedbackRound
from tests.conftest import service_missing, start_celery_worker
from tests.feedback.email_files import read_emails
from tests.feedback.test_worker import make_pilot
from tests.waiting import wait_until

PORTS = range(6390, 6400)  # never 6379: the shared Redis of the other drills
PARTICIPANTS = 30

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    # Each email takes 0.1 s to be accepted, so the fan-out is still running (its message
    # unacknowledged) when Redis is killed. Periods start at midnight UTC: a round is due now.
    pytest.mark.worker_env(
        FEEDBACK_ROUND_OPEN_HOUR="0",
        EMAIL_BACKEND="tests.feedback.slow_email.SlowFileBackend",
        SLOW_EMAIL_SECONDS="0.1",
    ),
]


class PrivateRedis:
    """A redis-server of the test's own that keeps nothing on disk, killed and restarted."""

    def __init__(self, *, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on a free port of PORTS, or on the same port again after a kill."""
        ports = [self.port] if self.port is not None else [p for p in PORTS if port_free(p)]
        for port in ports:
            if self._start_on(port):
                return
        pytest.fail(f"no redis-server could listen on any of the ports {ports}")

    def _start_on(self, port: int) -> bool:
        import redis

        self.starts += 1
        log = open(self.log_dir / f"redis-{self.starts}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False  # the port was taken in the meantime
            try:
                if client.ping():
                    self.port, self.process = port, process
                    return True
            except redis.ConnectionError:
                time.sleep(0.02)
        process.kill()
        process.wait()
        return False

    def kill(self) -> None:
        """SIGKILL the server: it closes no connection politely and keeps nothing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        service_missing("needs redis-server on PATH to run a private Redis")
    server = PrivateRedis(log_dir=tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def drill_worker(request, private_redis, postgres, tmp_path):
    worker = start_celery_worker(request, broker_url=private_redis.url, tmp_path=tmp_path)
    yield worker
    worker.stop()
    worker.app.close()  # its pooled connections to the private Redis


def enqueue(worker, task, *args) -> None:
    """Publish one task to the drill's Redis (the test process's own broker is another)."""
    worker.app.send_task(task.name, args=args)


def count(**filters) -> int:
    """How many invitations the outbox holds, in the state given."""
    return Delivery.objects.filter(kind="invitation", **filters).count()


def test_a_worker_outlives_its_redis_killed_mid_task_and_restarted_empty(
    drill_worker, private_redis
):
    make_pilot(PARTICIPANTS)

    # The worker works: it opens the round and starts emailing the participants.
    enqueue(drill_worker, tasks.open_due_rounds)
    wait_until(lambda: count(status="sent") >= 3, what="the fan-out under way")

    # Redis dies while the send task runs (its message unacknowledged).
    private_redis.kill()
    assert count(status="queued") > 0, "the fan-out ended before Redis was killed"

    # The running task is not cancelled: it finishes its fan-out without Redis. Only its
    # acknowledgement is lost with the connection.
    wait_until(
        lambda: count(status="sent") == PARTICIPANTS or drill_worker.process.poll() is not None,
        what="the fan-out finished without Redis",
    )
    assert count(status="sent") == PARTICIPANTS, drill_worker.log_tail()

    # Redis comes back empty, on the same port: the worker reconnects and takes new work.
    private_redis.start()
    round_ = FeedbackRound.objects.get()
    now = timezone.now()
    FeedbackRound.objects.filter(pk=round_.pk).update(
        opens_at=now - datetime.timedelta(days=3), closes_at=now - datetime.timedelta(minutes=1)
    )
    enqueue(drill_worker, tasks.close_round, round_.pk)
    wait_until(
        lambda: FeedbackRound.objects.closed().exists() or drill_worker.process.poll() is not None,
        what="the round closed by the reconnected worker",
    )
    assert drill_worker.process.poll() is None, (
        f"the worker exited with {drill_worker.process.returncode}:\n{drill_worker.log_tail()}"
    )
    round_.refresh_from_db()
    assert (round_.status, round_.invited_count) == ("closed", PARTICIPANTS)

    # Each participant was emailed exactly once, the kill notwithstanding.
    per_person = Counter(e.to for e in read_emails(drill_worker.email_dir))
    assert len(per_person) == PARTICIPANTS
    assert set(per_person.values()) == {1}
    assert count(status="sent", attempts=1) == PARTICIPANTS
