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
        'echo "$1 CI=$CI LEG=$AIOPS_TEST_LEG PART=$AIOPS_TEST_PART DATABASE_URL=$DATABASE_URL'
        ' BROKER=$CELERY_BROKER_URL QUEUE=$CELERY_TASK_DEFAULT_QUEUE" >> "$STATE/make_env"\n'
        'if test -n "$AIOPS_TEST_LEG"'
        ' && grep -qx "$AIOPS_TEST_LEG:$AIOPS_TEST_PART" "$STATE/failing_legs" 2>/dev/null;'
        ' then echo "$AIOPS_TEST_LEG leg $AIOPS_TEST_PART: 1 failed"; exit 1; fi'
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
# last, on both legs side by side (so in any order), the services leg in two parts.
CI_STEPS = ["make lint", "make check-migrations", "make check-deploy", "make setup"]
PG = "postgres://postgres@127.0.0.1:5432/aiops_ci"
REDIS = "redis://127.0.0.1:6379/0"


def run_ci(state: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{state.parent / 'bin'}:{os.environ.get('PATH', '')}",
        "STATE": str(state),
        "HOME": str(state),
        **extra,
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
        f"lint CI=true LEG= PART= DATABASE_URL={PG} BROKER={REDIS} QUEUE=",
        f"check-migrations CI=true LEG= PART= DATABASE_URL={PG} BROKER={REDIS} QUEUE=",
        f"check-deploy CI=true LEG= PART= DATABASE_URL={PG} BROKER={REDIS} QUEUE=",
        f"setup CI=true LEG= PART= DATABASE_URL={PG} BROKER={REDIS} QUEUE=",
    ]
    # The services leg's two parts run side by side, so each has its own database, Redis
    # database and queue: a worker test purges its queue and Redis's unacknowledged messages.
    assert sorted(lines[4:]) == [
        "test CI=true LEG=embedded PART= DATABASE_URL= BROKER= QUEUE=",
        f"test CI=true LEG=services PART=common DATABASE_URL={PG} BROKER={REDIS} QUEUE=",
        f"test CI=true LEG=services PART=services DATABASE_URL={PG}_services"
        " BROKER=redis://127.0.0.1:6379/1 QUEUE=celery-services",
    ]


def test_the_services_part_keeps_the_database_urls_options_and_the_next_redis_database(machine):
    (machine / "pg_up").touch()
    env = {
        "DATABASE_URL": "postgres://ci@db.example:5433/aiops?sslmode=require",
        "CELERY_BROKER_URL": "redis://broker.example:6379/15",
        "CELERY_TASK_DEFAULT_QUEUE": "ci",
    }
    assert run_ci(machine, **env).returncode == 0
    parts = [line for line in (machine / "make_env").read_text().splitlines() if "PART=" in line]
    assert (
        "test CI=true LEG=services PART=services"
        " DATABASE_URL=postgres://ci@db.example:5433/aiops_services?sslmode=require"
        " BROKER=redis://broker.example:6379/0 QUEUE=ci-services"
    ) in parts
    assert (
        "test CI=true LEG=services PART=common"
        " DATABASE_URL=postgres://ci@db.example:5433/aiops?sslmode=require"
        " BROKER=redis://broker.example:6379/15 QUEUE=ci"
    ) in parts


def assert_steps(state: Path) -> None:
    made = calls(state, "make")
    assert made[:4] == CI_STEPS
    assert made[4:] == ["make test", "make test", "make test"]


@pytest.mark.parametrize("failing", ["embedded:", "services:common", "services:services"])
def test_a_failing_part_fails_the_run_and_every_part_is_reported(machine, failing):
    (machine / "pg_up").touch()
    (machine / "failing_legs").write_text(failing + "\n")
    result = run_ci(machine)
    assert result.returncode != 0
    leg, part = failing.split(":")
    assert f"{leg} leg {part}: 1 failed" in result.stdout
    # The other parts ran to their end and their reports are printed too.
    assert "::::: embedded leg (exit" in result.stdout
    assert "::::: services leg, tests that need no service (exit" in result.stdout
    assert (
        "::::: services leg, tests that need PostgreSQL, a worker or the browser (exit"
    ) in result.stdout


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
