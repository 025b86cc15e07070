"""`manage.py restore FILE --yes`: replace the database's contents with a backup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import backups


class Command(BaseCommand):
    help = "Replace the database's contents with a backup made by `manage.py backup`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--yes", action="store_true", help="Confirm: current data is lost.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError("Restoring replaces every row of the database: add --yes.")
        try:
            backups.restore(Path(options["file"]))
        except backups.BackupFailed as e:
            raise CommandError(str(e)) from e
        self.stdout.write(f"restored {options['file']}")
