"""Helpers for the web pages' tests: a valid proposal as a browser would post it."""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import pytest

from tests.factories import AIToolFactory


def _compile_messages() -> None:
    """Compile the .po files, as `make setup` does, so a bare `pytest` sees the French pages."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "compile_messages.py"
    spec = importlib.util.spec_from_file_location("compile_messages", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


# At collection, before any test asks for a French catalogue (Django caches it per process).
_compile_messages()


@pytest.fixture
def tool():
    return AIToolFactory(name="Copilot", max_data_classification="confidential")


def management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def proposal_post(*, team, tool, participants=(), action: str = "save", **overrides) -> dict:
    """The form data of a complete proposal with one metric and one guardrail."""
    start = datetime.date(2026, 12, 1)
    data = {
        "action": action,
        "title": "Reply drafts",
        "team": str(team.pk),
        "problem": "Ticket replies take too long.",
        "hypothesis_intervention": "using the copilot to draft ticket replies",
        "hypothesis_outcome": "cut reply time",
        "hypothesis_who": "support agents",
        "hypothesis_signal": "median reply time falls below 10 minutes",
        "tool": str(tool.pk),
        "data_classification": "internal",
        "data_description": "",
        "risk_level": "limited",
        "planned_start": start.isoformat(),
        "planned_end": (start + datetime.timedelta(days=60)).isoformat(),
        "participants": [str(p.pk) for p in participants],
        "cadence": "weekly",
        "cadence_weekday": "0",
        "response_window_days": "3",
        "anonymous_feedback": "on",
        **management("metrics", 2),
        "metrics-0-name": "Reply quality",
        "metrics-0-question_key": "quality",
        "metrics-0-direction": "higher",
        "metrics-0-baseline": "3.0",
        "metrics-0-target": "3.5",
        "metrics-0-min_responses": "10",
        "metrics-1-name": "",
        "metrics-1-question_key": "",
        "metrics-1-direction": "higher",
        "metrics-1-baseline": "",
        "metrics-1-target": "",
        "metrics-1-min_responses": "10",
        **management("guardrails", 2),
        "guardrails-0-kind": "metric",
        "guardrails-0-description": "Trust stays at 3 or above",
        "guardrails-0-question_key": "trust",
        "guardrails-0-statistic": "mean",
        "guardrails-0-comparator": "ge",
        "guardrails-0-threshold": "3",
        "guardrails-0-action": "pause",
        "guardrails-1-kind": "policy",
        "guardrails-1-description": "",
        "guardrails-1-question_key": "",
        "guardrails-1-statistic": "",
        "guardrails-1-comparator": "",
        "guardrails-1-threshold": "",
        "guardrails-1-action": "flag",
    }
    data.update(overrides)
    return data
