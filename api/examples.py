"""OpenAPI examples of the main writes: what the docs show, and what schemathesis's examples
phase sends (the ids name rows of a demo database; elsewhere they may answer 400 or 404)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

DRAFT = OpenApiExample(
    "A draft with one metric, one guardrail and a participant",
    value={
        "team": 1,
        "title": "Reply drafts",
        "tool": 1,
        "problem": "Replies are slow.",
        "hypothesis_intervention": "drafting replies",
        "hypothesis_outcome": "faster replies",
        "hypothesis_who": "agents",
        "hypothesis_signal": "reply time",
        "data_classification": "internal",
        "risk_level": "limited",
        "planned_start": "2027-01-04",
        "planned_end": "2027-04-02",
        "metrics": [{"name": "Time saved", "question_key": "minutes_saved", "target": "20"}],
        "guardrails": [{"description": "No customer data in prompts"}],
        "participants": ["alice"],
    },
    request_only=True,
)
SUBMIT = OpenApiExample("Submit a draft", value={"expected_stage": "draft"}, request_only=True)
APPROVE = OpenApiExample(
    "Approve a proposal (Ops)",
    value={"action": "approve", "expected_stage": "proposed", "rationale": "Reviewed."},
    request_only=True,
)
DECLARE = OpenApiExample(
    "Declare a tool in use",
    value={
        "tool_name": "Summarizer",
        "vendor": "Acme",
        "used_for": "Meeting notes",
        "data_classification": "internal",
    },
    request_only=True,
)
TOOL = OpenApiExample(
    "Register a tool (Ops)",
    value={
        "name": "Copilot",
        "vendor": "Microsoft",
        "approval_status": "approved",
        "max_data_classification": "internal",
        "notes": "Enterprise tenant only.",
    },
    request_only=True,
)
NOTE = OpenApiExample("With a note", value={"note": "Handled with the vendor."}, request_only=True)
