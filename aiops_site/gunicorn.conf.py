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

from feedback.log_filters import is_answer_request, redact

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
accesslog = "-"


class RedactingLogger(Logger):
    """Gunicorn's logger: no line for an answer request, and no answer token in any other.

    An access line for an answer (its time and the client's address) would date it: the
    timing rule (README) allows no such thing while an anonymous round is open. Server errors
    on answer pages still go to the error log (Django's, redacted).
    """

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        if is_answer_request(environ.get("PATH_INFO", "") or ""):
            return
        super().access(resp, req, environ, request_time)

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
