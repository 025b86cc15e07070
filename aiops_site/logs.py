"""Structured logs: one JSON line per request and per task, never a token, never a respondent.

`JsonFormatter` writes each record as one JSON object (time, level, logger, message and the
record's structured fields). `RequestLogMiddleware` writes one line per request to the
"aiops.request" logger: a request id (the incoming X-Request-ID when it is a plain short
token, else a new one, echoed in the response), the method, the route's name, the path with
answer tokens redacted, the status, the duration and the user's id. The task signals in
`aiops_site.celery` write one line per task to "aiops.task".

Answer requests (the emailed link and the inbox answer page, by link or by prompt id) get no
line, like in gunicorn's access log: while an anonymous round is open nothing may date an
answer (README, "the timing rule"), and a line carries its time. A server error on one is
logged with its route name only: no user, no client address, no path.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from feedback.log_filters import is_answer_request, redact

request_logger = logging.getLogger("aiops.request")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The record attributes every LogRecord has: anything else was passed as structured `extra`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; answer tokens redacted from the message."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


def _request_id(request: HttpRequest) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestLogMiddleware:
    """One structured line per request (none for answer requests: the timing rule)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request.request_id = _request_id(request)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        answer = is_answer_request(request.path)
        if answer and response.status_code < 500:
            return response
        match = getattr(request, "resolver_match", None)
        fields = {
            "request_id": request.request_id,
            "method": request.method,
            "route": match.view_name if match else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if not answer:
            user = getattr(request, "user", None)
            fields["path"] = redact(request.path)
            fields["user_id"] = user.pk if user is not None and user.is_authenticated else None
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        request_logger.log(level, "request", extra=fields)
        return response
