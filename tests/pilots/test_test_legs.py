"""The two CI legs: which tests each collects, and that each refuses the wrong services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A test that asks for PostgreSQL only through its fixture (no marker), one marked for the
# browser, one for the worker, and one that needs nothing.
SAMPLES = [
    "tests/pilots/test_models.py::test_postgresql_refuses_a_pilot_on_a_tool_that_is_not_allowed",
    "tests/browser/test_ops_approve.py::test_ops_approve_a_proposal_in_the_admin_with_a_rationale",
    "tests/decisions/test_guardrails_worker.py",
    "tests/feedback/test_close_any_size.py",
]


def collect(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # The leg too: the suite itself may run as one leg, and "without a leg" must mean none.
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "AIOPS_TEST_LEG", "AIOPS_TEST_PART")
    }
    environment.update(AIOPS_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *SAMPLES,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_embedded_leg_leaves_every_service_test_to_the_other_leg(tmp_path):
    result = collect(tmp_path, AIOPS_TEST_LEG="embedded")
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected and all("test_close_any_size.py" in line for line in collected)
    assert "deselected" in result.stdout


def test_the_embedded_leg_refuses_to_run_on_postgresql(tmp_path):
    result = collect(
        tmp_path,
        AIOPS_TEST_LEG="embedded",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/aiops_legs",
    )
    assert result.returncode != 0
    assert "the embedded leg runs on SQLite and the filesystem broker" in result.stderr


def test_the_services_leg_refuses_to_run_on_sqlite(tmp_path):
    result = collect(tmp_path, AIOPS_TEST_LEG="services")
    assert result.returncode != 0
    assert "the services leg runs on PostgreSQL and Redis" in result.stderr


def test_without_a_leg_every_test_is_collected(tmp_path):
    result = collect(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert any("test_guardrails_worker.py" in line for line in collected)
    assert any("test_models.py" in line for line in collected)


def collected(result: subprocess.CompletedProcess) -> set[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_the_services_legs_two_parts_are_complementary(tmp_path):
    # CI runs the services leg as two processes: together they must run every test once.
    services = {
        "AIOPS_TEST_LEG": "services",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/aiops_legs",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    whole = collected(collect(tmp_path, **services))
    needing = collected(collect(tmp_path, AIOPS_TEST_PART="services", **services))
    common = collected(collect(tmp_path, AIOPS_TEST_PART="common", **services))
    assert needing and common
    assert needing | common == whole
    assert not needing & common
    # The worker, browser and PostgreSQL tests (by marker or only by fixture) are the services
    # part; the test that needs nothing is the common part.
    assert all("test_close_any_size.py" in line for line in common)
    assert any("test_models.py" in line for line in needing)
    assert any("test_ops_approve.py" in line for line in needing)
    assert any("test_guardrails_worker.py" in line for line in needing)


def test_an_unknown_part_or_service_tests_on_the_embedded_leg_are_refused(tmp_path):
    result = collect(tmp_path, AIOPS_TEST_PART="drills")
    assert result.returncode != 0
    assert "AIOPS_TEST_PART='drills'" in result.stderr
    result = collect(tmp_path, AIOPS_TEST_LEG="embedded", AIOPS_TEST_PART="services")
    assert result.returncode != 0
    assert "the embedded leg runs no service test" in result.stderr
