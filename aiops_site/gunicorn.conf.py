"""Gunicorn settings of the web service (Dockerfile, docker-compose.yml): `gunicorn -c` this file.

The access log stays (one line per request, for operations), but without answer tokens: the
default line holds the request's full path (/feedback/answer/<token>/) next to its time and
address, and a token opens one person's prompt and, hashed differently, finds their anonymous
response. Django's own loggers are redacted by feedback.log_filters; gunicorn writes its access
log itself, past Django's logging, so its logger class applies the same redaction.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from gunicorn.glogging import Logger

from feedback.log_filters import redact

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
accesslog = "-"


class RedactingLogger(Logger):
    """Gunicorn's logger, whose access-log atoms carry no answer token."""

    def atoms(
        self, resp: Any, req: Any, environ: dict, request_time: datetime.timedelta
    ) -> dict[str, Any]:
        # Every string atom, not only the request line: the path also appears as %(U)s, in the
        # Referer of the page's next requests and in the Location of a redirect to a new link,
        # and any header or environ variable can be put in the format.
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }


logger_class = RedactingLogger
