""".ci/run, with the machine's tools replaced by stubs that record how they were called."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason=".ci/run is a bash script")

# Each stub appends its name and arguments to $STATE/calls. PostgreSQL answers once a cluster
# was started (or from the start when $STATE/pg_up exists); psql fails when $STATE/psql_fails.
STUBS = {
    "pg_isready": 'test -e "$STATE/pg_up"',
    "pg_lsclusters": 'cat "$STATE/clusters"',
    "pg_ctlcluster": 'touch "$STATE/pg_up"',
    "psql": 'if test -e "$STATE/psql_fails"; then cat "$STATE/psql_fails" >&2; exit 2; fi',
    "redis-cli": "true",
    "redis-server": "true",
    "apt-get": "true",
    "make": (
        'echo "$1 CI=$CI LEG=$AIOPS_TEST_LEG DATABASE_URL=$DATABASE_URL'
        ' BROKER=$CELERY_BROKER_URL" >> "$STATE/make_env"\n'
        'if test -n "$AIOPS_TEST_LEG"'
        ' && grep -qx "$AIOPS_TEST_LEG" "$STATE/failing_legs" 2>/dev/null;'
        ' then echo "$AIOPS_TEST_LEG leg: 1 failed"; exit 1; fi'
    ),
}


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A copy of .ci/run in an empty project, with stub tools first on PATH; returns $STATE."""
    project = tmp_path / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", project / ".ci" / "run")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in STUBS.items():
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "$STATE/calls"\n{body}\n')
        stub.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    (state / "calls").touch()
    (state / "clusters").write_text(
        "16 main 5432 down postgres /var/lib/postgresql/16/main /var/log/pg16.log\n"
        "15 main 5433 down postgres /var/lib/postgresql/15/main /var/log/pg15.log\n"
    )
    return state


# Lint, migrations written and production settings first, then the virtualenv once; the tests
# last, on both legs side by side (so in either order).
CI_STEPS = ["make lint", "make check-migrations", "make check-deploy", "make setup"]
PG = "postgres://postgres@127.0.0.1:5432/aiops_ci"
REDIS = "redis://127.0.0.1:6379/0"


def run_ci(state: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{state.parent / 'bin'}:{os.environ.get('PATH', '')}",
        "STATE": str(state),
        "HOME": str(state),
    }
    return subprocess.run(
        ["bash", str(state.parent / "project" / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def calls(state: Path, tool: str) -> list[str]:
    lines = (state / "calls").read_text().splitlines()
    return [line for line in lines if line.split()[0] == tool]


def test_it_starts_the_first_cluster_pg_lsclusters_lists_then_runs_the_tests(machine):
    result = run_ci(machine)
    assert result.returncode == 0, result.stderr
    assert calls(machine, "pg_ctlcluster") == [
        "pg_ctlcluster --skip-systemctl-redirect 16 main start"
    ]
    assert_steps(machine)
    # Every step runs strictly; the tests run on the embedded defaults (no database or broker
    # URL: SQLite and the filesystem broker) and on PostgreSQL and Redis.
    lines = (machine / "make_env").read_text().splitlines()
    assert lines[:4] == [
        f"lint CI=true LEG= DATABASE_URL={PG} BROKER={REDIS}",
        f"check-migrations CI=true LEG= DATABASE_URL={PG} BROKER={REDIS}",
        f"check-deploy CI=true LEG= DATABASE_URL={PG} BROKER={REDIS}",
        f"setup CI=true LEG= DATABASE_URL={PG} BROKER={REDIS}",
    ]
    assert sorted(lines[4:]) == [
        "test CI=true LEG=embedded DATABASE_URL= BROKER=",
        f"test CI=true LEG=services DATABASE_URL={PG} BROKER={REDIS}",
    ]


def assert_steps(state: Path) -> None:
    made = calls(state, "make")
    assert made[:4] == CI_STEPS
    assert made[4:] == ["make test", "make test"]


@pytest.mark.parametrize("failing", ["embedded", "services"])
def test_a_failing_leg_fails_the_run_and_both_legs_are_reported(machine, failing):
    (machine / "pg_up").touch()
    (machine / "failing_legs").write_text(failing + "\n")
    result = run_ci(machine)
    assert result.returncode != 0
    assert f"{failing} leg: 1 failed" in result.stdout
    # The other leg ran to its end and its report is printed too.
    assert "::::: embedded leg" in result.stdout
    assert "::::: services leg" in result.stdout


def test_a_running_postgresql_is_left_alone(machine):
    (machine / "pg_up").touch()
    assert run_ci(machine).returncode == 0
    assert calls(machine, "pg_ctlcluster") == []
    assert_steps(machine)


def test_no_cluster_to_start_is_a_clear_error_and_no_tests_run(machine):
    (machine / "clusters").write_text("")
    result = run_ci(machine)
    assert result.returncode != 0
    assert "pg_lsclusters finds no cluster" in result.stderr
    assert calls(machine, "make") == []


def test_a_postgresql_refusing_the_postgres_user_says_what_to_configure(machine):
    (machine / "pg_up").touch()
    (machine / "psql_fails").write_text(
        'FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "postgres"'
    )
    result = run_ci(machine)
    assert result.returncode != 0
    assert calls(machine, "psql") == ["psql -h 127.0.0.1 -U postgres -d postgres -X -q -c select 1"]
    assert 'no pg_hba.conf entry for host "127.0.0.1"' in result.stderr
    assert "host all postgres 127.0.0.1/32 trust" in result.stderr
    assert calls(machine, "make") == []
