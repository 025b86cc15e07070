"""The audit log of a period, exported for Ops as CSV or JSON (streamed, any size).

A period is given by days in the site's time zone, both included. Values a spreadsheet would
run as a formula (a reason starting with "=") are quoted in the CSV.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from . import changelog
from .models import ChangeRecord

COLUMNS = (
    "when",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "scope_type",
    "scope_id",
    "changes",
    "reason",
)
FORMATS = ("csv", "json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class BadPeriod(ValueError):
    """A period the export cannot read; `field` names the parameter (start or end)."""

    code = "bad_period"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def parse_period(start: str | None, end: str | None) -> tuple[datetime.datetime, datetime.datetime]:
    """The [start, end) instants of days `start` to `end` included; BadPeriod names the field."""
    days = {}
    for name, raw in (("start", start), ("end", end)):
        try:
            days[name] = datetime.date.fromisoformat((raw or "").strip())
        except ValueError:
            raise BadPeriod(
                _("Give the %(field)s day as YYYY-MM-DD.") % {"field": name}, field=name
            ) from None
    if days["end"] < days["start"]:
        raise BadPeriod(_("The end day comes before the start day."), field="end")
    tz = timezone.get_current_timezone()
    first = datetime.datetime.combine(days["start"], datetime.time.min, tzinfo=tz)
    last = datetime.datetime.combine(
        days["end"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
    )
    return first, last


def row(record: ChangeRecord) -> dict:
    """One record as the export writes it (the actor by username; empty for the system)."""
    return {
        "when": record.created_at.isoformat(),
        "actor": record.actor.get_username() if record.actor_id else "",
        "action": record.action,
        "subject_type": _type(record.subject_type),
        "subject_id": record.subject_id,
        "scope_type": _type(record.scope_type),
        "scope_id": record.scope_id,
        "changes": record.changes,
        "reason": record.reason,
    }


def _type(content_type) -> str:
    return f"{content_type.app_label}.{content_type.model}" if content_type else ""


def records(start: datetime.datetime, end: datetime.datetime) -> Iterator[ChangeRecord]:
    # A server-side cursor in chunks: memory stays flat however long the period.
    return changelog.in_period(start, end).order_by("created_at", "pk").iterator(chunk_size=500)


def csv_lines(start: datetime.datetime, end: datetime.datetime) -> Iterator[str]:
    """The CSV export, line by line, header first."""

    class Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Line())
    yield writer.writerow(COLUMNS)
    for record in records(start, end):
        values = row(record)
        values["changes"] = json.dumps(values["changes"], ensure_ascii=False, sort_keys=True)
        yield writer.writerow([_cell(values[name]) for name in COLUMNS])


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def json_chunks(start: datetime.datetime, end: datetime.datetime) -> Iterator[str]:
    """The JSON export (one array of records), in pieces."""
    yield "["
    for i, record in enumerate(records(start, end)):
        yield ("," if i else "") + "\n" + json.dumps(row(record), ensure_ascii=False)
    yield "\n]\n"
