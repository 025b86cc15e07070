"""Duplicate detection at intake: earlier pilots on the same tool with a similar problem.

Proposing (and approving) a pilot shows the running and concluded pilots on the same tool whose
problem statement is close to the one typed, with their outcome, so a team joins or learns
instead of repeating. Only pilots the viewer may see (`Pilot.objects.visible_to`).

Two ways to say "similar", chosen by the database vendor:
- PostgreSQL: trigram similarity of the problem statements (pg_trgm, installed by migration
  0016; `TrigramSimilarity` ≥ TRIGRAM_THRESHOLD), best first;
- elsewhere (SQLite): shared significant words (lowercased words of 4 letters or more, without
  common English and French words): at least two shared, or every word of a short problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from .choices import Stage
from .models import Pilot

# Running (in feedback, or paused) and concluded pilots: what a new team could join or learn from.
SHOWN_STAGES = (
    Stage.SANDBOX,
    Stage.PILOT,
    Stage.APPROVED,
    Stage.PAUSED,
    Stage.STOPPED,
    Stage.RETIRED,
)
RUNNING_STAGES = (Stage.SANDBOX, Stage.PILOT, Stage.APPROVED, Stage.PAUSED)
# How many similar pilots a page shows.
LIMIT = 5
# pg_trgm's similarity of two problem statements (0–1). Its default for `%` is 0.3, meant for
# short strings; two sentences on the same problem in other words score 0.2–0.4.
TRIGRAM_THRESHOLD = 0.2
# The candidates (same tool, one shared word) the word match ranks, most recent first.
WORD_CANDIDATES = 200
MIN_WORD_LENGTH = 4
STOP_WORDS = frozenset(
    [
        "about",
        "after",
        "also",
        "because",
        "been",
        "before",
        "being",
        "between",
        "could",
        "does",
        "doing",
        "from",
        "have",
        "having",
        "into",
        "more",
        "most",
        "much",
        "only",
        "other",
        "over",
        "same",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "your",
        "ours",
        "avec",
        "dans",
        "depuis",
        "elle",
        "elles",
        "être",
        "leur",
        "leurs",
        "mais",
        "même",
        "nous",
        "pour",
        "plus",
        "sans",
        "sont",
        "sous",
        "tous",
        "tout",
        "toute",
        "toutes",
        "très",
        "vous",
        "cette",
        "ces",
        "aussi",
        "entre",
        "donc",
        "alors",
        "comme",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Similar:
    """A similar pilot, how close its problem is (0–1), and its conclusion if it has one."""

    pilot: Pilot
    score: float

    @property
    def conclusion(self):
        return getattr(self.pilot, "conclusion", None)

    @property
    def is_running(self) -> bool:
        return self.pilot.stage in RUNNING_STAGES


def significant_words(text: str) -> set[str]:
    """The words that say what a problem is about (lowercase, 4+ letters, no common word)."""
    return {
        w
        for w in (m.casefold() for m in _WORD.findall(text or ""))
        if len(w) >= MIN_WORD_LENGTH and w not in STOP_WORDS and not w.isdigit()
    }


def similar_pilots(
    user, *, tool_id: int | None, problem: str, exclude_pilot_id: int | None = None
) -> list[Similar]:
    """Running or concluded pilots on this tool whose problem is like this one, best first.

    Empty without a tool or a problem. Two queries at most, whatever the number of pilots.
    """
    problem = (problem or "").strip()
    if not tool_id or not problem:
        return []
    pilots = (
        Pilot.objects.visible_to(user)
        .filter(tool_id=tool_id, stage__in=SHOWN_STAGES)
        .select_related("team", "tool", "conclusion")
    )
    if exclude_pilot_id is not None:
        pilots = pilots.exclude(pk=exclude_pilot_id)
    if connection.vendor == "postgresql":
        return _by_trigrams(pilots, problem)
    return _by_words(pilots, problem)


def _by_trigrams(pilots: QuerySet[Pilot], problem: str) -> list[Similar]:
    from django.contrib.postgres.search import TrigramSimilarity

    rows = (
        pilots.annotate(similarity=TrigramSimilarity("problem", problem))
        .filter(similarity__gte=TRIGRAM_THRESHOLD)
        .order_by("-similarity", "-stage_changed_at", "pk")[:LIMIT]
    )
    return [Similar(pilot=p, score=round(float(p.similarity), 2)) for p in rows]


def _by_words(pilots: QuerySet[Pilot], problem: str) -> list[Similar]:
    words = significant_words(problem)
    if not words:
        return []
    needed = min(2, len(words))
    match = Q()
    for word in words:
        match |= Q(problem__icontains=word)
    candidates = pilots.filter(match).order_by("-stage_changed_at", "pk")[:WORD_CANDIDATES]
    found = []
    for pilot in candidates:
        shared = words & significant_words(pilot.problem)
        if len(shared) >= needed:
            found.append(Similar(pilot=pilot, score=round(len(shared) / len(words), 2)))
    found.sort(key=lambda s: -s.score)
    return found[:LIMIT]
