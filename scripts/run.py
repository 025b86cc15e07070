"""Start the web server, a Celery worker and Celery beat; Ctrl-C stops all three.

Only Python is needed (no bash features, no `setsid`). Each child runs in its own session, so
its process group holds what it starts itself (runserver's autoreloader child, the worker's
pool processes) and a terminal's Ctrl-C reaches only this launcher, which then stops them in
order: TERM to each leader first (the Celery worker finishes its running tasks and stops its
own pool: warm shutdown), then TERM to whatever a stopped leader left behind in its group,
and KILL to every group still alive after the deadline (RUN_STOP_TIMEOUT seconds, 30 by
default). When any child exits on its own, the others are stopped the same way. A second
Ctrl-C kills at once.

Environment: BIN (the virtualenv's bin directory, default .venv/bin), PORT (default 8000).
Every child gets PORT in its environment, so the settings' default SITE_URL (the base of the
links the worker emails) names the port runserver serves. RUN_COMMANDS replaces the three
commands with a JSON list of argument lists: tests only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POSIX = os.name == "posix"


def default_commands(bin_dir: str, port: str) -> list[list[str]]:
    """Return the worker, beat and web server commands, in the order they start."""
    return [
        [
            f"{bin_dir}/celery",
            "-A",
            "aiops_site",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--pool=prefork",
        ],
        [f"{bin_dir}/celery", "-A", "aiops_site", "beat", "--loglevel=INFO"],
        [f"{bin_dir}/python", "manage.py", "runserver", f"127.0.0.1:{port}"],
    ]


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


def main() -> int:
    bin_dir = os.environ.get("BIN", ".venv/bin")
    port = os.environ.get("PORT", "8000")
    timeout = float(os.environ.get("RUN_STOP_TIMEOUT", "30"))
    raw = os.environ.get("RUN_COMMANDS")
    commands = json.loads(raw) if raw else default_commands(bin_dir, port)

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
    children: list[subprocess.Popen] = []
    exit_code = 0
    try:
        for argv in commands:
            children.append(start(argv, env))
        if not raw:
            print(
                f"AI Pilot Tracker on http://127.0.0.1:{port}  (the sign-in page lists the demo "
                "users; password demo)",
                flush=True,
            )
        while not stopping:
            ended = [c for c in children if c.poll() is not None]
            if ended:
                for child in ended:
                    print(
                        f"{' '.join(map(str, child.args))} exited with {child.returncode}; "
                        "stopping the others.",
                        file=sys.stderr,
                        flush=True,
                    )
                exit_code = 1
                break
            time.sleep(0.2)
        stop_all(children, timeout)
    except KeyboardInterrupt:
        for child in children:
            if POSIX:
                signal_group(child.pid, signal.SIGKILL)
            else:
                child.kill()
        print("Killed.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
