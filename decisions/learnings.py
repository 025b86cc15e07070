"""The learnings library: every concluded pilot a person may see, searchable and filtered.

A learning is a pilot's `Conclusion` (pilots.conclusions) with the evidence snapshot of the
stage change that concluded it: its key figures are the figures Ops decided on, not today's.
Text search is PostgreSQL's full-text search over the pilot's title, problem, hypothesis, tool
and the takeaways; on SQLite every word must appear in one of them (icontains).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from pilots.models import Conclusion

from . import evidence

# The fields a search reads (through the conclusion's pilot).
SEARCHED = (
    "pilot__title",
    "pilot__problem",
    "pilot__hypothesis_intervention",
    "pilot__hypothesis_outcome",
    "pilot__hypothesis_who",
    "pilot__hypothesis_signal",
    "pilot__tool__name",
    "takeaways",
)
# Language-neutral: pilots are written in English and French; stemming one would miss the other.
SEARCH_CONFIG = "simple"
TOOL_HINTS = 5


@dataclass(frozen=True)
class Filters:
    text: str = ""
    tool: int | None = None
    team: int | None = None
    outcome: str = ""
    year: int | None = None


def concluded(user) -> QuerySet[Conclusion]:
    """Conclusions of the pilots this user may see, newest first, with what a row shows."""
    return Conclusion.objects.visible_to(user).select_related(
        "pilot__team", "pilot__tool", "stage_change"
    )


def search(qs: QuerySet[Conclusion], filters: Filters) -> QuerySet[Conclusion]:
    """Narrow conclusions by text (full-text on PostgreSQL) and by tool, team, outcome, year."""
    if filters.tool:
        qs = qs.filter(pilot__tool_id=filters.tool)
    if filters.team:
        qs = qs.filter(pilot__team_id=filters.team)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.year:
        qs = qs.filter(
            concluded_at__gte=_year_start(filters.year),
            concluded_at__lt=_year_start(filters.year + 1),
        )
    text = filters.text.strip()
    if not text:
        return qs
    if connection.vendor == "postgresql":
        return qs.annotate(document=SearchVector(*SEARCHED, config=SEARCH_CONFIG)).filter(
            document=SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
        )
    for word in text.split():
        any_field = Q()
        for name in SEARCHED:
            any_field |= Q(**{f"{name}__icontains": word})
        qs = qs.filter(any_field)
    return qs


def _year_start(year: int) -> datetime.datetime:
    return datetime.datetime(year, 1, 1, tzinfo=timezone.get_current_timezone())


def years(user) -> list[int]:
    """The years in which pilots this user may see were concluded, newest first (one query)."""
    return sorted({d.year for d in concluded(user).dates("concluded_at", "year")}, reverse=True)


def key_figures(conclusion: Conclusion) -> list[dict]:
    """The success metrics as they stood when the pilot was concluded, worded for the reader.

    From the stored snapshot: estimates withheld under the anonymity threshold were never in
    it, so none can appear here.
    """
    snapshot = evidence.worded_snapshot(conclusion.stage_change.evidence)
    return [
        {
            "metric": m.get("metric", ""),
            "estimate": m.get("estimate"),
            "target": m.get("target"),
            "direction": m.get("direction"),
            "status": m.get("status"),
            "status_label": m.get("status_label", ""),
        }
        for m in snapshot.get("metrics", [])
    ]


def row(conclusion: Conclusion) -> dict:
    return {"conclusion": conclusion, "pilot": conclusion.pilot, "figures": key_figures(conclusion)}


def about_tool(user, tool_id: int | None, *, limit: int = TOOL_HINTS) -> dict | None:
    """What earlier pilots on a tool taught, for the propose page (registered in pilots).

    None when no tool is chosen; otherwise the newest `limit` conclusions and their count.
    """
    if not tool_id:
        return None
    qs = concluded(user).filter(pilot__tool_id=tool_id)
    rows = [row(c) for c in qs[:limit]]
    return {
        "template": "decisions/_tool_learnings.html",
        "tool_id": tool_id,
        "rows": rows,
        "more": max(qs.count() - len(rows), 0) if len(rows) == limit else 0,
    }
