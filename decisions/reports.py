"""The decision record of a pilot: a printable report, its Markdown export and a CSV export.

Only aggregated figures leave the database here: per round and question the stored results
(which already withhold everything under the anonymity threshold), never an individual answer.
The CSV leaves out free-text comments for the same reason.
"""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pilots.models import Pilot

from . import evidence

# Characters that make a spreadsheet read a cell as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _pilot_for(user, pk: int) -> Pilot:
    """The pilot if this user may see it, else 404 (never reveal that it exists)."""
    return get_object_or_404(
        Pilot.objects.visible_to(user).select_related("team", "tool", "lead"), pk=pk
    )


def report_context(pilot: Pilot) -> dict:
    """Everything the report shows. Queries: those of page_context, plus the decisions."""
    context = evidence.page_context(pilot, chart_rounds=None)
    context.update(
        pilot=pilot,
        decisions=evidence.decision_rows(
            list(pilot.stage_changes.select_related("actor").order_by("created_at", "pk"))
        ),
    )
    return context


@require_GET
@login_required
def pilot_report(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _pilot_for(request.user, pk)
    return render(request, "reports/pilot_report.html", report_context(pilot))


@require_GET
@login_required
def pilot_report_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _pilot_for(request.user, pk)
    text = render_to_string("reports/pilot_report.md", report_context(pilot), request=request)
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="pilot-{pilot.pk}-{slugify(pilot.title)}.md"'
    )
    return response


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


CSV_HEADER = [
    "round_period_start",
    "invited",
    "responses",
    "response_rate",
    "question",
    "question_text",
    "kind",
    "answers",
    "shown",
    "mean",
    "median",
    "sd",
    "ci95_low",
    "ci95_high",
    "nps",
    "yes",
    "no",
    "distribution",
]


def csv_rows(round_rows: list[dict]) -> list[list]:
    """One row per round and question: aggregated figures only, blank when withheld.

    `round_rows` come from evidence.round_rows: question texts in the reader's language.
    """
    rows = []
    for row in round_rows:
        r = row["round"]
        base = [
            r.period_start.isoformat(),
            row["invited"],
            row["responses"],
            row["response_rate"],
        ]
        if not row["all_questions"]:
            # A round below the threshold: its counts only, no question (not even how many
            # answered each).
            rows.append([*base, None, None, None, None, "no", *[None] * 9])
        for q in row["all_questions"]:
            shown = bool(q.get("shown"))
            ci = q.get("ci") or [None, None]
            if q.get("distribution"):
                dist = "; ".join(f"{_cell(float(v))}:{c}" for v, c in q["distribution"])
            elif q.get("choices"):
                dist = "; ".join(f"{v}:{c}" for v, _label, c in q["choices"])
            else:
                dist = ""
            rows.append(
                [
                    *base,
                    q.get("key"),
                    q.get("text"),
                    q.get("kind"),
                    q.get("n") if shown else None,
                    "yes" if shown else "no",
                    q.get("mean"),
                    q.get("median"),
                    q.get("sd"),
                    ci[0],
                    ci[1],
                    q.get("nps"),
                    q.get("yes"),
                    q.get("no"),
                    dist,
                ]
            )
    return rows


@require_GET
@login_required
def pilot_report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _pilot_for(request.user, pk)
    rounds = list(pilot.rounds.closed().order_by("period_start"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="pilot-{pilot.pk}-results.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for row in csv_rows(evidence.round_rows(rounds)):
        writer.writerow([_cell(v) for v in row])
    if not rounds:
        writer.writerow([_("no closed round yet")])
    return response
