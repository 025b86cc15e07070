"""`make run`'s launcher: Ctrl-C, or one child dying, stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and signals: POSIX")

RUN_PY = Path(__file__).resolve().parents[2] / "scripts" / "run.py"

# Each stands in for runserver, the worker or beat: writes its pid, and (like runserver's
# reloader or the worker's pool) a grandchild's pid, then runs until stopped.
CHILD = """
import os, subprocess, sys, time
out, mode = sys.argv[1], sys.argv[2]
if mode == "stubborn":
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(out + ".port", "w") as f:
    f.write(os.environ.get("PORT", "unset"))
with open(out + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {grandchild.pid}")
os.replace(out + ".tmp", out)
if mode == "dies":
    while not os.path.exists(out + ".die"):
        time.sleep(0.05)
    sys.exit(3)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Tell whether a process runs (an exited orphan not yet reaped is a zombie: not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(pid, 0) answered, so it runs
    return state != "Z"


class Launcher:
    def __init__(
        self,
        tmp_path: Path,
        modes: list[str],
        stop_timeout: float = 10,
        port: str | None = None,
    ) -> None:
        self.files = [tmp_path / f"child{i}" for i in range(len(modes))]
        commands = [
            [sys.executable, "-c", CHILD, str(f), mode]
            for f, mode in zip(self.files, modes, strict=True)
        ]
        env = {
            **{k: v for k, v in os.environ.items() if k != "PORT"},
            "RUN_COMMANDS": json.dumps(commands),
            "RUN_STOP_TIMEOUT": str(stop_timeout),
            **({"PORT": port} if port is not None else {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_PY)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        wait_until(lambda: all(f.exists() for f in self.files), what="every child started")
        self.pids = [int(p) for f in self.files for p in f.read_text().split()]

    def ports(self) -> list[str]:
        """The PORT each child found in its environment."""
        return [(f.parent / (f.name + ".port")).read_text() for f in self.files]

    def output(self) -> str:
        return self.process.communicate(timeout=30)[0]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Launcher]]:
    launched: list[Launcher] = []

    def make(modes: list[str], **kwargs) -> Launcher:
        launcher = Launcher(tmp_path, modes, **kwargs)
        launched.append(launcher)
        return launcher

    yield make
    for launcher in launched:  # a failed test leaves nothing running
        for pid in launcher.pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if launcher.process.poll() is None:
            launcher.process.kill()
            launcher.process.wait()


def test_ctrl_c_stops_every_child_and_what_each_started(launch):
    run = launch(["runs", "runs", "runs"])
    assert all(alive(pid) for pid in run.pids)
    run.process.send_signal(signal.SIGINT)
    output = run.output()
    assert "Stopped." in output
    assert "Killed" not in output  # each stopped on TERM, none waited for the deadline
    assert run.process.returncode == 0
    wait_until(lambda: not any(alive(pid) for pid in run.pids), what="every child gone", timeout=5)


def test_sigterm_stops_every_child_too(launch):
    run = launch(["runs", "runs"])
    run.process.terminate()
    assert "Killed" not in run.output()
    wait_until(lambda: not any(alive(pid) for pid in run.pids), what="every child gone", timeout=5)


def test_one_child_dying_stops_the_others(launch):
    run = launch(["runs", "dies", "runs"])
    (run.files[1].parent / (run.files[1].name + ".die")).touch()
    output = run.output()
    assert "exited with 3; stopping the others." in output
    assert "Killed" not in output
    assert run.process.returncode == 1
    wait_until(lambda: not any(alive(pid) for pid in run.pids), what="every child gone", timeout=5)


def test_a_child_that_ignores_terminate_is_killed_after_the_deadline(launch):
    run = launch(["runs", "stubborn"], stop_timeout=1)
    started = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    assert "Killed 1 process group(s) still running after 1 s." in run.output()
    assert time.monotonic() - started >= 1  # it waited for the deadline, then killed
    wait_until(lambda: not any(alive(pid) for pid in run.pids), what="every child gone", timeout=5)


@pytest.mark.parametrize(("port", "seen"), [("8123", "8123"), (None, "8000")])
def test_every_child_is_given_the_port_served(launch, port, seen):
    # The worker's emails link to SITE_URL, which defaults to http://127.0.0.1:$PORT.
    run = launch(["runs", "runs", "runs"], port=port)
    assert run.ports() == [seen] * 3
    run.process.send_signal(signal.SIGINT)
    assert "Stopped." in run.output()


def site_url(tmp_path: Path, **env: str) -> str:
    """SITE_URL as a fresh process's settings read it from exactly this environment."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SITE_URL)",
        ],
        cwd=RUN_PY.parents[1],
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "aiops_site.settings",
            "AIOPS_ENV_FILE": "",
            "AIOPS_VAR_DIR": str(tmp_path),
            "DEBUG": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_the_default_site_url_names_the_port_served_and_an_explicit_one_wins(tmp_path):
    assert site_url(tmp_path) == "http://127.0.0.1:8000"
    assert site_url(tmp_path, PORT="8123") == "http://127.0.0.1:8123"
    assert site_url(tmp_path, PORT="8123", SITE_URL="https://pilots.example.com") == (
        "https://pilots.example.com"
    )
