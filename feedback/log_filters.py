"""Keep answer tokens out of the logs.

An answer link's token opens a prompt (so, a person) and, hashed differently, finds an
anonymous response: a log line holding it would link the two. Django logs the path of every
4xx/5xx response (django.request, django.security.csrf) and runserver logs every request
(django.server); this filter replaces the token (and the prompt id of inbox answer pages) in
those lines.
"""

from __future__ import annotations

import logging
import re

# The answer link's token; the inbox answer page's prompt id (a prompt names its participant,
# and the time of the request would point at the response written then).
TOKEN_IN_PATH = re.compile(r"(/feedback/(?:answer|prompts)/)[^/\s\"'?]+")
REDACTED = r"\1<redacted>"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


# Pages whose request line would say who sent something anonymous (an anonymous incident
# report, an anonymous tool declaration): left out of the request logs like answer pages.
ANONYMOUS_PATHS = re.compile(r"/(?:incidents/report|tools/declare)/anonymous/")


def is_answer_request(text: str) -> bool:
    """Tell whether a log line is about an answer page (by link or from the inbox), or any
    other page that sends something anonymous."""
    return bool(TOKEN_IN_PATH.search(text) or ANONYMOUS_PATHS.search(text))


class DropAnswerRequests(logging.Filter):
    """Keep answer requests out of the request logs, except server errors.

    The timing rule (README): while an anonymous round is open, nothing may date an answer.
    A line "POST /feedback/answer/<redacted>/ 302" carries its time (and, in an access log,
    the client's address): next to an exposure alert raised at that second it would say who
    reported it. A server error (5xx) is still logged, redacted: Ops need it to repair.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status >= 500:
            return True
        return not is_answer_request(record.getMessage())


class RedactAnswerTokens(logging.Filter):
    """Rewrite a record's message and arguments without the token of any answer link."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True
