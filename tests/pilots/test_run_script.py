"""`make run`'s launcher: Ctrl-C or the web server dying stops every process it started; the
worker or beat dying is restarted with growing delays while the web server keeps running."""

from __future__ import annotations

import json
import os
import re
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
NAMES = ("the Celery worker", "Celery beat", "the web server")  # as the launcher names them

# Each stands in for the worker, beat or runserver: at each start it appends its start time, its
# pid and (like runserver's reloader or the worker's pool) a grandchild's pid to OUT.starts,
# then behaves as MODE says:
#   runs         runs until stopped
#   stubborn     ignores TERM
#   dies         exits with 3 once OUT.die exists
#   crashes:N    its first N starts exit with 3 at once (leaving the grandchild), then it runs
#   dies-on-request   its k-th start exits with 3 once OUT.die<k> exists
CHILD = """
import os, subprocess, sys, time
out, mode = sys.argv[1], sys.argv[2]
if mode == "stubborn":
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(out + ".port", "w") as f:
    f.write(os.environ.get("PORT", "unset"))
with open(out + ".starts", "a") as f:
    f.write(f"{time.time()} {os.getpid()} {grandchild.pid}\\n")
with open(out + ".starts") as f:
    start = len(f.read().splitlines())
def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)
if mode == "dies":
    wait_for(out + ".die")
    sys.exit(3)
if mode.startswith("crashes:") and start <= int(mode.split(":")[1]):
    sys.exit(3)
if mode == "dies-on-request":
    wait_for(out + f".die{start}")
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


class Start:
    def __init__(self, line: str) -> None:
        at, pid, grandchild = line.split()
        self.at, self.pid, self.grandchild = float(at), int(pid), int(grandchild)


class Launcher:
    def __init__(
        self,
        tmp_path: Path,
        modes: list[str],
        stop_timeout: float = 10,
        port: str | None = None,
        stable_seconds: float | None = None,
    ) -> None:
        self.files = [tmp_path / f"child{i}" for i in range(len(modes))]
        # The last one stands for the web server, the others for the worker and beat.
        names = NAMES[-len(modes) :]
        children = [
            {
                "name": name,
                "argv": [sys.executable, "-c", CHILD, str(f), mode],
                "restart": name != "the web server",
            }
            for name, f, mode in zip(names, self.files, modes, strict=True)
        ]
        env = {
            **{k: v for k, v in os.environ.items() if k != "PORT"},
            "RUN_COMMANDS": json.dumps(children),
            "RUN_STOP_TIMEOUT": str(stop_timeout),
            **({"PORT": port} if port is not None else {}),
            **({"RUN_STABLE_SECONDS": str(stable_seconds)} if stable_seconds else {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_PY)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        wait_until(lambda: all(self.starts(i) for i in range(len(modes))), what="every start")

    def starts(self, child: int) -> list[Start]:
        """Every start of a child so far, oldest first."""
        path = self.files[child].parent / (self.files[child].name + ".starts")
        if not path.exists():
            return []
        # Only complete lines: a child may be writing its line right now.
        return [Start(line) for line in path.read_text().split("\n")[:-1]]

    @property
    def pids(self) -> list[int]:
        """Every process any start of any child was, or started."""
        return [
            pid
            for i in range(len(self.files))
            for start in self.starts(i)
            for pid in (start.pid, start.grandchild)
        ]

    def ports(self) -> list[str]:
        """The PORT each child found in its environment."""
        return [(f.parent / (f.name + ".port")).read_text() for f in self.files]

    def kill_child(self, child: int, *, start: int = -1) -> None:
        """Make a child in mode "dies" or "dies-on-request" exit with 3."""
        suffix = ".die" if start == -1 else f".die{start}"
        (self.files[child].parent / (self.files[child].name + suffix)).touch()

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
        if launcher.process.poll() is None:
            launcher.process.kill()
            launcher.process.wait()
        for pid in launcher.pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def all_gone(run: Launcher) -> None:
    wait_until(lambda: not any(alive(pid) for pid in run.pids), what="every child gone", timeout=5)


def test_ctrl_c_stops_every_child_and_what_each_started(launch):
    run = launch(["runs", "runs", "runs"])
    assert all(alive(pid) for pid in run.pids)
    run.process.send_signal(signal.SIGINT)
    output = run.output()
    assert "Stopped." in output
    assert "Killed" not in output  # each stopped on TERM, none waited for the deadline
    assert "Restarted" not in output  # stopped children are not restarted
    assert run.process.returncode == 0
    all_gone(run)


def test_sigterm_stops_every_child_too(launch):
    run = launch(["runs", "runs"])
    run.process.terminate()
    assert "Killed" not in run.output()
    all_gone(run)


def test_the_web_server_dying_stops_the_others(launch):
    run = launch(["runs", "runs", "dies"])
    run.kill_child(2)
    output = run.output()
    assert "The web server exited with code 3; stopping the others." in output
    assert "Killed" not in output
    assert "Restarted" not in output
    assert run.process.returncode == 1
    assert [len(run.starts(i)) for i in range(3)] == [1, 1, 1]
    all_gone(run)


def test_a_worker_crashing_twice_is_restarted_twice_with_growing_delays_and_the_web_server_runs_on(
    launch,
):
    run = launch(["crashes:2", "runs", "runs"])
    wait_until(lambda: len(run.starts(0)) == 2, what="the worker's second start", timeout=10)
    # What a crashed worker left behind (its pool) is stopped at once, not at the restart 2 s
    # later.
    second = run.starts(0)[1]
    wait_until(lambda: not alive(second.grandchild), what="the crashed pool gone", timeout=1.5)
    wait_until(lambda: len(run.starts(0)) == 3, what="the worker's third start", timeout=10)
    first, second, third = run.starts(0)
    assert not alive(first.grandchild)
    assert second.at - first.at >= 1
    assert third.at - second.at >= 2
    # The third one stays up; beat and the web server were never stopped nor restarted.
    assert alive(third.pid)
    [beat], [web] = run.starts(1), run.starts(2)
    assert alive(beat.pid) and alive(web.pid)

    run.process.send_signal(signal.SIGINT)
    output = run.output()
    lines = [line for line in output.splitlines() if "The Celery worker" in line]
    assert len(lines) == 2
    assert re.search(r"exited with code 3 after [\d.]+ s; restarting it in 1 s\.$", lines[0])
    assert re.search(r"exited with code 3 after [\d.]+ s; restarting it in 2 s\.$", lines[1])
    assert output.count("Restarted the Celery worker") == 2
    assert "stopping the others" not in output
    assert run.process.returncode == 0
    assert [len(run.starts(i)) for i in range(3)] == [3, 1, 1]
    all_gone(run)


def test_beat_killed_by_a_signal_is_restarted_and_the_log_names_the_signal(launch):
    run = launch(["runs", "runs", "runs"])
    [beat] = run.starts(1)
    os.kill(beat.pid, signal.SIGKILL)
    wait_until(lambda: len(run.starts(1)) == 2, what="beat restarted", timeout=10)
    wait_until(lambda: not alive(beat.grandchild), what="the killed beat's child gone", timeout=5)
    run.process.send_signal(signal.SIGINT)
    output = run.output()
    assert re.search(
        r"Celery beat was killed by signal SIGKILL after [\d.]+ s; restarting it in 1 s\.", output
    )
    assert [len(run.starts(i)) for i in range(3)] == [1, 2, 1]
    all_gone(run)


def test_a_child_that_stayed_up_long_enough_is_restarted_after_the_shortest_delay_again(launch):
    run = launch(["dies-on-request", "runs", "runs"], stable_seconds=1)
    run.kill_child(0, start=1)
    wait_until(lambda: len(run.starts(0)) == 2, what="the worker's second start", timeout=10)
    # The second worker stays up longer than RUN_STABLE_SECONDS, then dies.
    second = run.starts(0)[1]
    wait_until(lambda: time.time() - second.at > 1.5, what="the second worker up for 1.5 s")
    run.kill_child(0, start=2)
    wait_until(lambda: len(run.starts(0)) == 3, what="the worker's third start", timeout=10)
    run.process.send_signal(signal.SIGINT)
    delays = re.findall(r"The Celery worker exited .* restarting it in (\d+) s\.", run.output())
    assert delays == ["1", "1"]
    all_gone(run)


def test_ctrl_c_while_a_restart_is_pending_starts_nothing_more(launch):
    run = launch(["crashes:2", "runs", "runs"])
    # The second start crashes too: its restart waits 2 s, and Ctrl-C comes first.
    wait_until(lambda: len(run.starts(0)) == 2, what="the worker's second start", timeout=10)
    wait_until(lambda: not alive(run.starts(0)[1].pid), what="the second worker crashed")
    run.process.send_signal(signal.SIGINT)
    output = run.output()
    assert output.count("Restarted the Celery worker") == 1
    assert "Stopped." in output
    assert len(run.starts(0)) == 2
    all_gone(run)


def test_a_child_that_ignores_terminate_is_killed_after_the_deadline(launch):
    run = launch(["runs", "stubborn"], stop_timeout=1)
    started = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    assert "Killed 1 process group(s) still running after 1 s." in run.output()
    assert time.monotonic() - started >= 1  # it waited for the deadline, then killed
    all_gone(run)


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
