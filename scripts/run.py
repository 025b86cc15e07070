"""Start the web server, a Celery worker and Celery beat; Ctrl-C stops all three.

Only Python's standard library is needed (no bash features, no `setsid`). Each child runs in
its own session, so its process group holds what it starts itself (runserver's autoreloader
child, the worker's pool processes) and a terminal's Ctrl-C reaches only this launcher, which
then stops them in order: TERM to each leader first (the Celery worker finishes its running
tasks and stops its own pool: warm shutdown), then TERM to whatever a stopped leader left behind
in its group, and KILL to every group still alive after the deadline (RUN_STOP_TIMEOUT seconds,
30 by default). A second Ctrl-C kills at once.

When the worker or beat exits on its own (a crash, a kill, an error at start-up), the launcher
says which one, with its exit code or signal, TERMs what it left in its group, and starts it
again after a delay that doubles with each quick exit: 1, 2, 4, 8, 16 then 30 s; one that ran
for RUN_STABLE_SECONDS (60 by default) starts over at 1 s. The web server keeps running
meanwhile. When the web server exits on its own, everything stops, as with Ctrl-C. Nothing is
restarted once stopping has begun.

Environment: BIN (the virtualenv's bin directory, default .venv/bin), PORT (default 8000).
Every child gets PORT in its environment, so the settings' default SITE_URL (the base of the
links the worker emails) names the port runserver serves. RUN_COMMANDS replaces the three
children with a JSON list of {"name", "argv", "restart"} objects, started in that order: tests
only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

POSIX = os.name == "posix"
# Seconds before restarting a child that exited on its own, by how many quick exits in a row.
RESTART_DELAYS = (1, 2, 4, 8, 16, 30)


@dataclass
class Child:
    """One command the launcher runs; `restart` says whether it is started again if it exits."""

    name: str
    argv: list[str]
    restart: bool
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_exits: int = 0  # exits in a row, each after less than the stable time
    restart_at: float | None = None  # set while waiting to start it again


def default_children(bin_dir: str, port: str) -> list[Child]:
    """Return the worker, beat and web server, in the order they start."""
    celery = [f"{bin_dir}/celery", "-A", "aiops_site"]
    # Gossip exchanges events between several workers; alone, it only logs a misleading
    # AttributeError traceback ("Error on restarting Gossip") each time Redis goes away.
    worker = ["worker", "--loglevel=INFO", "--concurrency=2", "--pool=prefork", "--without-gossip"]
    return [
        Child("the Celery worker", [*celery, *worker], restart=True),
        Child("Celery beat", [*celery, "beat", "--loglevel=INFO"], restart=True),
        Child(
            "the web server",
            [f"{bin_dir}/python", "manage.py", "runserver", f"127.0.0.1:{port}"],
            restart=False,
        ),
    ]


def children_from_json(raw: str) -> list[Child]:
    return [Child(c["name"], list(c["argv"]), bool(c["restart"])) for c in json.loads(raw)]


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start one child in a session (POSIX) or process group (Windows) of its own."""
    if POSIX:
        return subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603 - ours
    return subprocess.Popen(  # noqa: S603
        argv, env=env, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP
    )


def group_alive(pgid: int) -> bool:
    """Tell whether a process group still has a live (non-zombie) member."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return True
    # Orphans that exited stay zombies until their new parent reaps them: they are not running.
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def signal_group(pgid: int, sig: int) -> None:
    # A group that is gone already needs no signal.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def describe_exit(returncode: int) -> str:
    """Say how a process ended: its exit code, or the signal that killed it."""
    if returncode < 0:
        try:
            return f"was killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def restart_delay(child: Child, *, ran: float, stable: float) -> float:
    """Return how long to wait before starting `child` again, and count this exit."""
    if ran >= stable:
        child.quick_exits = 0
    delay = RESTART_DELAYS[min(child.quick_exits, len(RESTART_DELAYS) - 1)]
    child.quick_exits += 1
    return delay


def sentence(name: str) -> str:
    """Capitalise a child's name to start a sentence with it ("the web server" -> "The...")."""
    return name[:1].upper() + name[1:]


def say(message: str) -> None:
    print(f"[run.py {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stop_all(children: list[subprocess.Popen], timeout: float) -> None:
    """Stop every child and everything it started, within `timeout` seconds, then kill."""
    print("Stopping...", flush=True)
    for child in children:
        if child.poll() is None:
            child.terminate()
    if not POSIX:
        deadline = time.monotonic() + timeout
        for child in children:
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        print("Stopped.", flush=True)
        return
    deadline = time.monotonic() + timeout
    killed = False
    termed: set[int] = set()
    while True:
        alive = [c for c in children if c.poll() is None or group_alive(c.pid)]
        if not alive:
            break
        if time.monotonic() >= deadline:
            if killed:
                print("Some processes did not stop even when killed.", file=sys.stderr)
                break
            for child in alive:
                signal_group(child.pid, signal.SIGKILL)
            print(
                f"Killed {len(alive)} process group(s) still running after {timeout:g} s.",
                file=sys.stderr,
                flush=True,
            )
            killed = True
            deadline = time.monotonic() + 5
        else:
            for child in alive:
                if child.poll() is not None and child.pid not in termed:
                    # The leader is gone: what it started is left in its group.
                    signal_group(child.pid, signal.SIGTERM)
                    termed.add(child.pid)
        time.sleep(0.1)
    print("Stopped.", flush=True)


def supervise(
    children: list[Child], env: dict[str, str], stopping: list[int], stable: float
) -> int:
    """Restart the restartable children that exit, until a stop; return the exit code."""
    while not stopping:
        now = time.monotonic()
        for child in children:
            if stopping:
                break  # a Ctrl-C just arrived: nothing more is started
            if child.restart_at is not None:
                if now >= child.restart_at:
                    if POSIX and group_alive(child.process.pid):
                        # Still there after TERM and the delay: it must not meet its successor.
                        signal_group(child.process.pid, signal.SIGKILL)
                    child.process, child.started_at = start(child.argv, env), now
                    child.restart_at = None
                    say(f"Restarted {child.name} (pid {child.process.pid}).")
                continue
            returncode = child.process.poll()
            if returncode is None:
                continue
            if not child.restart:
                say(f"{sentence(child.name)} {describe_exit(returncode)}; stopping the others.")
                return 1
            ran = now - child.started_at
            delay = restart_delay(child, ran=ran, stable=stable)
            say(
                f"{sentence(child.name)} {describe_exit(returncode)} after {ran:.1f} s; "
                f"restarting it in {delay:g} s."
            )
            if POSIX:
                # What it started (the worker's pool processes) goes with it.
                signal_group(child.process.pid, signal.SIGTERM)
            child.restart_at = now + delay
        time.sleep(0.1)
    return 0


def main() -> int:
    bin_dir = os.environ.get("BIN", ".venv/bin")
    port = os.environ.get("PORT", "8000")
    timeout = float(os.environ.get("RUN_STOP_TIMEOUT", "30"))
    stable = float(os.environ.get("RUN_STABLE_SECONDS", "60"))
    raw = os.environ.get("RUN_COMMANDS")
    children = children_from_json(raw) if raw else default_children(bin_dir, port)

    stopping: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if stopping:
            # A second Ctrl-C: no more waiting.
            raise KeyboardInterrupt
        stopping.append(signum)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)

    # The worker's emails link to SITE_URL, which defaults to this port (aiops_site.settings).
    env = {**os.environ, "PORT": port}
    exit_code = 0
    try:
        for child in children:
            child.process, child.started_at = start(child.argv, env), time.monotonic()
        if not raw:
            print(
                f"AI Pilot Tracker on http://127.0.0.1:{port}  (the sign-in page lists the demo "
                "users; password demo)",
                flush=True,
            )
        exit_code = supervise(children, env, stopping, stable)
        # A child waiting for its restart is not started again; what it left is stopped too.
        stop_all([c.process for c in children if c.process is not None], timeout)
    except KeyboardInterrupt:
        for child in children:
            if child.process is None:
                continue
            if POSIX:
                signal_group(child.process.pid, signal.SIGKILL)
            else:
                child.process.kill()
        print("Killed.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
