"""Benchmark: a beat tick to 10,000 invitations handed to the email backend, through Redis.

A real `celery worker` (prefork, 2 processes, the project's Celery settings with
bench.settings: PostgreSQL and Redis) runs in a subprocess. Two runs, timed from the first
message published until the worker's count in Redis reaches the target:

* the tick: publish `feedback.tasks.open_due_rounds` (as beat does); the worker opens the
  rounds of every pilot (20 participants each: their prompts and invitations), fans the
  sending out (one task per round) and sends every invitation: token minted, email rendered in
  the participant's language, handed to the email backend (bench.worker_support.CountingBackend:
  each message's MIME bytes built, then counted);
* the baseline: publish as many `bench.worker_support.noop` tasks, each of which only counts
  itself, and let the same worker drain them.

Medians of REPEATS at two sizes (200 and 1,000 invitations; BENCH_SEND_INVITATIONS=10000 for
the issue's size), on empty round tables each time. Needs DATABASE_URL=postgres://… and
CELERY_BROKER_URL=redis://… (its own queue).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__:  # imported by the tests as bench.<name>
    from .bench_open_rounds import build, clear_all, clear_rounds
    from .support import ROOT, bench_database, postgres_url
else:  # run as a script: bench/ is on the path
    from bench_open_rounds import build, clear_all, clear_rounds
    from support import ROOT, bench_database, postgres_url

# (pilots, participants): 200 and 1,000 invitations; BENCH_SEND_INVITATIONS=10000 makes the
# larger size the 10,000 (minutes on a shared 2-core machine, so not by default).
SIZES = ((10, 20), (50, 20))
REPEATS = 3
TARGET_RATIO = 2.0
QUEUE = "bench-send"
TIMEOUT = 120.0


def redis_url() -> str | None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        sys.stderr.write("bench_send_invitations: set CELERY_BROKER_URL=redis://...\n")
        return None
    return url


class Worker:
    """`celery -A aiops_site worker` on the benchmark's database and Redis, in its own group."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, app) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(  # nosec B603 - our own celery
                [
                    celery,
                    "-A",
                    "aiops_site",
                    "worker",
                    "--loglevel=WARNING",
                    "--pool=prefork",
                    "--concurrency=2",
                    "--hostname=bench-send@localhost",
                    "-Q",
                    QUEUE,
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log}")
            if app.control.ping(destination=["bench-send@localhost"], timeout=0.5):
                return
        raise RuntimeError(f"the worker did not answer; see {self.log}")

    def stop(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def _wait_for(client, key: str, count: int, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while int(client.get(key) or 0) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{key}: {client.get(key)} of {count} after {TIMEOUT}s; see {log}")
        time.sleep(0.005)


def time_tick(client, invitations: int, log: Path) -> float:
    """Seconds from publishing the beat's tick until `invitations` emails were counted."""
    from bench import worker_support
    from feedback import tasks

    clear_rounds()
    client.delete(worker_support.EMAILS)
    start = time.perf_counter()
    tasks.open_due_rounds.delay()
    _wait_for(client, worker_support.EMAILS, invitations, log)
    return time.perf_counter() - start


def time_noops(client, count: int, log: Path) -> float:
    """Seconds from publishing the first of `count` no-op tasks until all of them ran."""
    from bench import worker_support

    client.delete(worker_support.NOOPS)
    start = time.perf_counter()
    for _ in range(count):
        worker_support.noop.delay()
    _wait_for(client, worker_support.NOOPS, count, log)
    return time.perf_counter() - start


def acknowledge_the_charter() -> None:
    """A published charter that every participant acknowledged, as in the demo: each
    invitation goes through the charter check (issue 13), as in production."""
    from django.contrib.auth import get_user_model

    from governance.models import Acknowledgement, CharterVersion
    from pilots.models import Participation

    author = get_user_model().objects.order_by("pk").first()
    version = CharterVersion.objects.create(number=1, body_en="Bench charter", published_by=author)
    Acknowledgement.objects.bulk_create(
        Acknowledgement(user_id=user_id, pilot_id=pilot_id, version=version)
        for user_id, pilot_id in Participation.objects.values_list("user_id", "pilot_id")
    )


def forget_the_charter() -> None:
    from governance.models import Acknowledgement, CharterVersion

    Acknowledgement.objects.all().delete()
    CharterVersion.objects.all().delete()


def measure(pilots: int, participants: int, client, log: Path, *, repeats: int = REPEATS) -> dict:
    from core.models import Delivery

    build(pilots, participants)
    acknowledge_the_charter()
    invitations = pilots * participants
    ticks, noops = [], []
    try:
        for _ in range(repeats):
            noops.append(time_noops(client, invitations, log))
            ticks.append(time_tick(client, invitations, log))
            sent = Delivery.objects.filter(kind="invitation", status="sent").count()
            if sent != invitations:
                raise RuntimeError(f"{sent} invitations marked sent, {invitations} expected")
    finally:
        forget_the_charter()
        clear_all()
    tick, noop = statistics.median(ticks), statistics.median(noops)
    return {"invitations": invitations, "tick": tick, "noop": noop, "ratio": tick / noop}


def main() -> int:
    url = postgres_url("bench_send_invitations")
    broker = redis_url()
    if url is None or broker is None:
        return 2
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "CELERY_SEND_QUEUE": QUEUE,
        "EMAIL_BACKEND": "bench.worker_support.CountingBackend",
        "FEEDBACK_ROUND_OPEN_HOUR": "0",
        "SITE_URL": "http://testserver",
    }
    sizes = SIZES
    if os.environ.get("BENCH_SEND_INVITATIONS"):
        sizes = (SIZES[0], (int(os.environ["BENCH_SEND_INVITATIONS"]) // 20, 20))
    rows = []
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-send-worker-{os.getpid()}.log"
    with bench_database("send", url, **env):
        import redis

        from aiops_site.celery import app

        client = redis.Redis.from_url(broker)
        client.delete(QUEUE, "unacked", "unacked_index")
        worker = Worker(log)
        worker.start(app)
        try:
            rows = [measure(p, n, client, log) for p, n in sizes]
        finally:
            worker.stop()
            client.delete(QUEUE, "unacked", "unacked_index")
    print(
        f"beat tick -> invitations handed to the email backend by a real worker (2 processes),"
        f" medians of {REPEATS}, vs draining as many no-op tasks through the same worker"
    )
    print(f"{'emails':>7} {'tick s':>8} {'no-op s':>8} {'ratio':>6} {'ms/email':>9}")
    for r in rows:
        print(
            f"{r['invitations']:>7} {r['tick']:>8.3f} {r['noop']:>8.3f} {r['ratio']:>6.2f} "
            f"{1000 * r['tick'] / r['invitations']:>9.2f}"
        )
    largest = rows[-1]
    print(
        f"target ratio <= {TARGET_RATIO}: "
        f"{'met' if largest['ratio'] <= TARGET_RATIO else 'NOT met'} "
        f"({largest['ratio']:.2f} at {largest['invitations']} invitations)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
