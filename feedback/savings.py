"""Each pilot's minutes saved, pooled over its last RECENT_ROUNDS answered rounds, kept as a row.

`store` writes feedback.PilotMinutesSaved for some pilots, in the transaction that closed one of
their rounds (`results.store_summaries`): the minutes-saved question's shown summary rows
(feedback.RoundQuestionSummary) of the pilot's last RECENT_ROUNDS answered rounds, pooled as
`stats.pool` and `stats.effective_n` pool them, and the interval `stats.interval` draws around
the pooled mean with that effective n. The portfolio (decisions.evidence) scales the row by the
pilot's cadence and participants and sums the rows in SQL; which rounds count changes only
when one of the pilot's rounds closes (rounds are never edited nor deleted on their own).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Count, F, FloatField, Max, Min, Q, Sum, Value, Window
from django.db.models.functions import Coalesce, RowNumber

from . import stats
from .models import FeedbackRound, PilotMinutesSaved, RoundQuestionSummary

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import QuerySet

RECENT_ROUNDS = 3
MINUTES_KEY = "minutes_saved"
# Keys of the transaction-level advisory lock taken per pilot while its row is rewritten.
_LOCK_SPACE = 7_141_001


def pooled(answered_rounds: QuerySet, summaries, key: str) -> dict[int, tuple[stats.Summary, int]]:
    """Each pilot's question `key` pooled over its last RECENT_ROUNDS of `answered_rounds`.

    `answered_rounds`: answered rounds (`FeedbackRound.objects.answered()`, narrowed to some
    pilots); `summaries`: RoundQuestionSummary's manager (a migration passes its historical
    models). One query, a row per pilot with a figure: what `stats.pool` and
    `stats.effective_n` give for the rounds' shown summaries, as sums grouped by pilot: Σn,
    Σn·m, Σ((n − 1)·s² + n·m²) and max n, and the pooled grid (`stats.Grid.combine`). The
    pooled sum of squares is then Σ((n − 1)·s² + n·m²) − N·m̄², the same figure as the pooled
    deviations (up to rounding).
    """
    recent = (
        answered_rounds.annotate(
            rank=Window(
                RowNumber(), partition_by=[F("pilot_id")], order_by=F("period_start").desc()
            )
        )
        .filter(rank__lte=RECENT_ROUNDS)
        .values("pk")
    )
    sd = Coalesce(F("sd"), Value(0.0), output_field=FloatField())
    rows = (
        summaries.filter(key=key, round__in=recent)
        .values("round__pilot_id")
        .annotate(
            total=Sum("n"),
            sum_x=Sum(F("n") * F("mean"), output_field=FloatField()),
            sum_xx=Sum(
                (F("n") - 1) * sd * sd + F("n") * F("mean") * F("mean"), output_field=FloatField()
            ),
            n_eff=Max("n"),
            means=Count("pk", filter=Q(proportion=False)),
            grids=Count("pk", filter=Q(step__isnull=False)),
            coarsest=Max("step"),
            open_low=Count("pk", filter=Q(step__isnull=False, min_value__isnull=True)),
            low=Min("min_value"),
            open_high=Count("pk", filter=Q(step__isnull=False, max_value__isnull=True)),
            high=Max("max_value"),
            counted=Count("pk", filter=Q(counts=True)),
        )
        .order_by()
    )
    out = {}
    for row in rows:
        total = row["total"]
        mean = row["sum_x"] / total
        grid = (
            stats.Grid(
                step=row["coarsest"],
                minimum=None if row["open_low"] else row["low"],
                maximum=None if row["open_high"] else row["high"],
                counts=row["counted"] > 0,
            )
            if row["grids"]
            else None
        )
        spread = None
        if total >= 2:
            squares = row["sum_xx"] - total * mean * mean
            spread = math.sqrt(max(squares, 0.0) / (total - 1))
        summary = stats.Summary(total, mean, spread, row["means"] == 0, grid)
        out[row["round__pilot_id"]] = (summary, row["n_eff"])
    return out


def figures(summary: stats.Summary, n_eff: int) -> dict:
    """A PilotMinutesSaved row's columns for a pilot's pooled minutes saved."""
    interval = stats.interval(summary, n_eff=n_eff)
    return {
        "n": summary.n,
        "n_eff": n_eff,
        "mean": summary.mean,
        "ci_low": interval.low if interval else None,
        "ci_high": interval.high if interval else None,
    }


def store(pilot_ids: Iterable[int]) -> int:
    """Rewrite the pilots' minutes-saved rows from their summary rows; return the rows written.

    Run inside the transaction that wrote a round's summary rows. Four queries whatever the
    number of pilots (with the lock on PostgreSQL). Two rounds of one pilot closing at once:
    the pilot's advisory lock makes the second wait for the first's commit, so its pooling
    (READ COMMITTED: a fresh snapshot per statement) sees both rounds.
    """
    ids = sorted(set(pilot_ids))
    if not ids:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # In id order: two closes that rewrite several pilots never wait on each other.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, x)"
                " FROM (SELECT x FROM unnest(%s::int[]) AS x ORDER BY x) AS ids",
                [_LOCK_SPACE, ids],
            )
    found = pooled(
        FeedbackRound.objects.answered().filter(pilot_id__in=ids),
        RoundQuestionSummary.objects,
        MINUTES_KEY,
    )
    PilotMinutesSaved.objects.filter(pilot_id__in=ids).exclude(pilot_id__in=list(found)).delete()
    rows = [
        PilotMinutesSaved(pilot_id=pk, **figures(summary, n_eff))
        for pk, (summary, n_eff) in found.items()
    ]
    PilotMinutesSaved.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["pilot"],
        update_fields=["n", "n_eff", "mean", "ci_low", "ci_high"],
    )
    return len(rows)
