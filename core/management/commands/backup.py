"""`manage.py backup [--dir DIR] [--keep N]`: back the database up, keep the newest N."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import backups


class Command(BaseCommand):
    help = "Back the database up (pg_dump custom format, or SQLite's online backup)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", default=str(Path(settings.VAR_DIR) / "backups"))
        parser.add_argument(
            "--keep", type=int, default=14, help="Newest backups to keep in --dir (default 14)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["dir"])
        try:
            path = backups.backup(directory)
        except backups.BackupFailed as e:
            raise CommandError(str(e)) from e
        deleted = backups.prune(directory, keep=max(options["keep"], 1))
        self.stdout.write(f"{path} ({len(deleted)} older backup(s) deleted)")
