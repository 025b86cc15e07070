"""Backups of the database: the only state to keep (Redis holds nothing it cannot rebuild).

PostgreSQL: `pg_dump --format=custom` (compressed, restorable table by table with pg_restore),
taken from a consistent snapshot while the site runs. SQLite (the embedded default): the
online backup API, which copies a consistent image page by page while writers continue.
A backup is one file named aiops-<UTC time>.<dump|sqlite3>; `prune` keeps the newest `keep`.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
import subprocess
from pathlib import Path

from django.db import connection

PREFIX = "aiops-"


class BackupFailed(Exception):
    code = "backup_failed"


def _suffix() -> str:
    return "dump" if connection.vendor == "postgresql" else "sqlite3"


def _pg_env() -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes through the environment."""
    s = connection.settings_dict
    args = ["--host", s["HOST"] or "localhost", "--username", s["USER"] or "postgres"]
    if s["PORT"]:
        args += ["--port", str(s["PORT"])]
    env = {**os.environ}
    if s["PASSWORD"]:
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


def backup(directory: Path, *, now: datetime.datetime | None = None) -> Path:
    """Write a backup of the default database into `directory`; return its path."""
    now = now or datetime.datetime.now(datetime.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}.{_suffix()}"
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        command = ["pg_dump", "--format=custom", "--no-owner", *args, "--file", str(target)]
        result = subprocess.run(  # noqa: S603 - fixed program, arguments from settings
            [*command, connection.settings_dict["NAME"]], env=env, capture_output=True, text=True
        )
        if result.returncode:
            target.unlink(missing_ok=True)
            raise BackupFailed(result.stderr.strip())
        return target
    if connection.in_atomic_block:
        # SQLite's backup would wait forever for this connection's own write lock.
        raise BackupFailed("Back up outside of a transaction.")
    connection.ensure_connection()
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)
    copy.close()
    return target


def restore(source: Path) -> None:
    """Replace the default database's contents with the backup `source`."""
    if not source.is_file():
        raise BackupFailed(f"No backup at {source}.")
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        result = subprocess.run(  # noqa: S603 - fixed program, arguments from settings
            [*command, *args, "--dbname", connection.settings_dict["NAME"], str(source)],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise BackupFailed(result.stderr.strip())
        return
    connection.ensure_connection()
    with sqlite3.connect(source) as original:
        original.backup(connection.connection)
    original.close()


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `directory`; return the deleted paths."""
    backups = sorted(directory.glob(f"{PREFIX}*.{_suffix()}"), reverse=True)
    deleted = backups[keep:]
    for path in deleted:
        path.unlink()
    return deleted
