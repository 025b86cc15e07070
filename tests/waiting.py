"""Waiting for a condition with a deadline, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.db import connection

POLL_SECONDS = 0.02  # how often a condition is looked at, not how long anything waits


def wait_until(
    condition: Callable[[], object], *, what: str = "the condition", timeout: float = 60
) -> None:
    """Return as soon as `condition()` is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_SECONDS)


def backends_waiting_for_a_lock() -> int:
    """Count the PostgreSQL sessions of this database blocked on a lock right now."""
    with connection.cursor() as cursor:
        # Inside a transaction the statistics are a snapshot: take a fresh one each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
