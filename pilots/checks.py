"""System check: success metrics and guardrails whose question the pilot's feedback never asks.

Rows written before keys were checked (or whose pilot's own question went away) can never be
judged, silently. This check names them. It reads the database, so, as Django's own database
checks, it runs when a database is given: `manage.py check --database default`, and at the
start of `migrate`. It asks `pilots.question_keys`, so it holds whatever provider the feedback
app registered.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from . import measures
from .models import ENDED_STAGES, Guardrail, Pilot, SuccessMetric


def _migrated(alias: str) -> bool:
    """Tell whether every migration is applied (before that, the tables may not be there)."""
    executor = MigrationExecutor(connections[alias])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


@register(Tags.database)
def check_question_keys(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn about each running pilot measuring a question its rounds do not ask (aiops.W001)."""
    if not databases or "default" not in databases or not _migrated("default"):
        return []
    try:
        common = measures.questions_by_key(None)
    except ImproperlyConfigured as e:
        return [Error(str(e), id="aiops.E002")]
    running = Pilot.objects.exclude(stage__in=ENDED_STAGES)
    metrics: dict[int, list[SuccessMetric]] = defaultdict(list)
    guardrails: dict[int, list[Guardrail]] = defaultdict(list)
    for metric in SuccessMetric.objects.filter(pilot__in=running).order_by("pk"):
        metrics[metric.pilot_id].append(metric)
    for guardrail in (
        Guardrail.objects.enabled()
        .filter(pilot__in=running, kind=Guardrail.Kind.METRIC)
        .order_by("pk")
    ):
        guardrails[guardrail.pilot_id].append(guardrail)
    suspects = [
        pilot_id
        for pilot_id in sorted({*metrics, *guardrails})
        if measures.stored_problems(
            metrics=metrics[pilot_id], guardrails=guardrails[pilot_id], asked=common
        )
    ]
    warnings = []
    # A pilot's own question never takes a questionnaire key, so only a pilot with a key the
    # questionnaire lacks needs its own questions read: one query per such pilot.
    for pilot in Pilot.objects.filter(pk__in=suspects).order_by("pk"):
        problems = measures.stored_problems(
            metrics=metrics[pilot.pk],
            guardrails=guardrails[pilot.pk],
            asked=measures.questions_by_key(pilot),
        )
        if not problems:
            continue
        warnings.append(
            Warning(
                f"Pilot “{pilot.title}” (id {pilot.pk}, {pilot.stage}) is measured by questions "
                f"its feedback does not ask: {'; '.join(_describe(p) for p in problems)}.",
                hint=(
                    "While no round of the pilot is answered, Ops correct the key in the admin "
                    "(Success metrics or Guardrails, action “Correct the question key”); after "
                    "that, disable the guardrail with a reason (action “Disable with a "
                    "reason”), or stop the pilot and start a new one."
                ),
                obj=pilot,
                id="aiops.W001",
            )
        )
    return warnings


def _describe(problem: measures.Problem) -> str:
    measure = problem.measure
    if isinstance(measure, Guardrail):
        what = f"guardrail “{measure.description}” ({measure.statistic})"
    else:
        what = f"success metric “{measure.name}”"
    if problem.error.code == "unknown_question":
        return f"{what} names the unknown key “{measure.question_key}”"
    return f"{what} names “{measure.question_key}”, a question of a kind that cannot measure it"
