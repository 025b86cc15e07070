"""Backups: a backup restored into a fresh database serves the pilot page, on both databases.

The restored database is used by another process (manage.py restore, then a page request
through Django's test client), as an operator restoring onto a new server would.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from core import backups
from tests.factories import OpsUserFactory, PilotFactory

ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import sys, django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username="ops"))
page = client.get("/pilots/%s/" % sys.argv[1])
print(page.status_code, sys.argv[2] in page.content.decode())
"""


def run(database_url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "SECRET_KEY": "restore-test",
        "AIOPS_ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "aiops_site.settings",
    }
    result = subprocess.run(  # the tests' own interpreter and scripts
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def a_pilot() -> tuple[int, str]:
    OpsUserFactory(username="ops")
    pilot = PilotFactory(title="Backed-up pilot", stage="pilot")
    return pilot.pk, pilot.title


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_backup_restored_into_a_fresh_file_serves_the_pilot_page(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite leg; the PostgreSQL one is below")
    pk, title = a_pilot()
    dump = backups.backup(tmp_path / "backups")
    assert dump.suffix == ".sqlite3"

    fresh = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    run(fresh, "manage.py", "restore", str(dump), "--yes")

    assert run(fresh, "-c", SERVE, str(pk), title) == "200 True"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_postgresql_backup_restored_into_a_fresh_database_serves_the_pilot_page(
    postgres, tmp_path
):
    pk, title = a_pilot()
    dump = backups.backup(tmp_path / "backups")
    assert dump.suffix == ".dump"
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    s = connection.settings_dict
    fresh_name = f"{s['NAME']}_restored"
    server = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{fresh_name}"')
        cursor.execute(f'CREATE DATABASE "{fresh_name}"')
    try:
        run(f"{server}/{fresh_name}", "manage.py", "restore", str(dump), "--yes")
        assert run(f"{server}/{fresh_name}", "-c", SERVE, str(pk), title) == "200 True"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{fresh_name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)  # SQLite backs up committed pages only
def test_the_backup_command_keeps_only_the_newest_backups(tmp_path):
    directory = tmp_path / "backups"
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for day in range(5):
        backups.backup(directory, now=start + datetime.timedelta(days=day))

    call_command("backup", "--dir", str(directory), "--keep", "3")

    kept = sorted(p.name for p in directory.iterdir())
    assert len(kept) == 3
    assert kept[0].startswith("aiops-20260104")  # the two oldest are gone
    assert not any(name.startswith(("aiops-20260101", "aiops-20260102")) for name in kept)


def test_restoring_asks_for_confirmation(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(tmp_path / "none.sqlite3"))
