"""Emails written to files by a worker process, read back by the worker tests."""

from __future__ import annotations

import email
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend

SEPARATOR = b"\n" + b"-" * 79 + b"\n"
TOKEN_RE = re.compile(r"/feedback/answer/([A-Za-z0-9_\-]+)/")


class OneFilePerConnectionBackend(EmailBackend):
    """Django's file backend with collision-free file names across processes.

    Django names the file after the second and id(self), which two forked pool processes can
    share; a UUID cannot.
    """

    def _get_filename(self) -> str:
        if self._fname is None:
            self._fname = str(Path(self.file_path) / f"{uuid.uuid4().hex}.log")
        return self._fname


@dataclass(frozen=True)
class SentEmail:
    to: str
    subject: str
    body: str
    file: str
    message_id: str = ""

    @property
    def is_notification(self) -> bool:
        """A notification to a lead, a watcher or a participant (notifications app)."""
        return self.message_id.startswith("<notification-")

    @property
    def token(self) -> str | None:
        match = TOKEN_RE.search(self.body)
        return match.group(1) if match else None


def read_emails(directory: Path) -> list[SentEmail]:
    """Return every email the backend wrote under `directory`, oldest file first."""
    found = []
    if not directory.exists():
        return found
    for path in sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for chunk in path.read_bytes().split(SEPARATOR):
            if not chunk.strip():
                continue
            message = email.message_from_bytes(chunk)
            body = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
            found.append(
                SentEmail(
                    to=message["To"],
                    subject=str(message["Subject"]),
                    body=body,
                    file=path.name,
                    message_id=str(message["Message-ID"] or ""),
                )
            )
    return found
