"""The decision record: report page, Markdown and CSV exports, permissions, query budget."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pilots import lifecycle
from pilots.models import GuardrailBreach
from tests.decisions.evidence_support import add_round, questionnaire
from tests.factories import (
    MembershipFactory,
    MetricGuardrailFactory,
    PilotFactory,
    SuccessMetricFactory,
)

pytestmark = pytest.mark.django_db

ANSWERS = [
    {"quality": 4, "trust": 4, "incident": False, "comment": "Saved me a lot of typing"},
    {"quality": 5, "trust": 4, "incident": False},
    {"quality": 4, "trust": 3, "incident": True, "incident_kind": "other"},
    {"quality": 5, "trust": 5, "incident": False},
    {"quality": 3, "trust": 4, "incident": False, "comment": "=HYPERLINK(evil)"},
]


@pytest.fixture
def pilot(team, lead):
    p = PilotFactory(stage="pilot", team=team, lead=lead, title="Ticket copilot")
    SuccessMetricFactory(pilot=p, name="Output quality", target=Decimal("3.2"), min_responses=5)
    return p


def test_the_report_shows_metrics_decisions_and_rounds_with_print_styles(client, ops, pilot):
    add_round(pilot, ANSWERS, weeks_ago=1)
    add_round(pilot, ANSWERS[:2], weeks_ago=0)  # under the threshold
    lifecycle.move(pilot.pk, "pause", actor=ops, expected_stage="pilot", rationale="Audit week")
    client.force_login(ops)
    page = client.get(reverse("pilot_report", args=[pilot.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ticket copilot" in html
    assert "Output quality" in html
    assert "Audit week" in html
    # Print styles come from a stylesheet of the site (no inline style under the CSP).
    assert "css/report" in html
    assert "@media print" in (settings.BASE_DIR / "static" / "css" / "report.css").read_text()
    assert "Not enough responses to show without identifying people." in html
    assert 'role="img"' in html


def test_the_report_is_refused_as_not_found_to_someone_who_cannot_see_the_pilot(
    client, outsider, team, lead
):
    draft = PilotFactory(stage="draft", team=team, lead=lead)
    client.force_login(outsider)
    for name in ("pilot_report", "pilot_report_markdown", "pilot_report_csv"):
        assert client.get(reverse(name, args=[draft.pk])).status_code == 404


def test_the_report_needs_a_signed_in_user(client, pilot):
    response = client.get(reverse("pilot_report", args=[pilot.pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_team_member_may_read_the_report_of_their_draft(client, team, lead, participant):
    draft = PilotFactory(stage="draft", team=team, lead=lead)
    client.force_login(participant)
    assert client.get(reverse("pilot_report", args=[draft.pk])).status_code == 200


def test_the_markdown_export_is_a_downloadable_markdown_document(client, ops, pilot):
    add_round(pilot, ANSWERS)
    client.force_login(ops)
    response = client.get(reverse("pilot_report_markdown", args=[pilot.pk]))
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/markdown")
    assert "attachment" in response["Content-Disposition"]
    assert text.startswith("# Ticket copilot")
    assert "| Output quality |" in text
    assert "&lt;" not in text and "&#x27;" not in text


def test_the_csv_export_has_aggregates_per_round_and_question_and_no_individual_answer(
    client, ops, pilot
):
    add_round(pilot, ANSWERS, weeks_ago=1)
    add_round(pilot, ANSWERS[:2], weeks_ago=0)
    client.force_login(ops)
    response = client.get(reverse("pilot_report_csv", args=[pilot.pk]))
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    quality = [r for r in rows if r["question"] == "quality"]
    assert [(r["answers"], r["shown"], r["mean"]) for r in quality] == [("5", "yes", "4.2")]
    # The round under the threshold: its counts, and no question at all.
    [small] = [r for r in rows if r["responses"] == "2"]
    assert (small["question"], small["answers"], small["shown"]) == ("", "", "no")
    assert "Saved me a lot of typing" not in body
    assert "HYPERLINK" not in body


def test_csv_cells_that_look_like_formulas_are_neutralised(client, ops, pilot):
    questionnaire().questions.filter(key="quality").update(text="=1+1 quality")
    add_round(pilot, ANSWERS)
    client.force_login(ops)
    body = client.get(reverse("pilot_report_csv", args=[pilot.pk])).content.decode()
    assert "'=1+1 quality" in body


def _report_queries(client, pilot) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("pilot_report", args=[pilot.pk])).status_code == 200
    return len(ctx)


def _history(pilot, count: int, ops) -> None:
    """`count` closed rounds, each with an open breach, and 2 × `count` stage changes."""
    guardrail = MetricGuardrailFactory(pilot=pilot, action="flag")
    for weeks in range(count):
        r = add_round(pilot, ANSWERS, weeks_ago=weeks)
        GuardrailBreach.objects.create(
            guardrail=guardrail, pilot=pilot, round=r, detail=f"Trust fell in week {weeks}."
        )
        lifecycle.move(pilot.pk, "pause", actor=ops, expected_stage="pilot", rationale="Check")
        lifecycle.move(pilot.pk, "resume", actor=ops, expected_stage="paused")
    assert pilot.breaches.open().count() == count
    assert pilot.stage_changes.count() == 2 * count


def test_the_report_takes_the_same_queries_at_2_and_50_rounds(client, team, lead, ops):
    small = PilotFactory(stage="pilot", team=team, lead=lead)
    big = PilotFactory(stage="pilot", team=team, lead=lead)
    for p, count in ((small, 2), (big, 50)):
        SuccessMetricFactory(pilot=p, target=Decimal("3.2"), min_responses=5)
        _history(p, count, ops)
    MembershipFactory(team=team)
    client.force_login(ops)
    html = client.get(reverse("pilot_report", args=[big.pk])).content.decode()
    assert "Trust fell in week 49." in html
    assert html.count("Check") >= 50  # every pause's rationale is on record
    _report_queries(client, small)  # warm the session
    # Queries: session, user, Ops group, pilot, closed rounds, metrics, open breaches,
    # participants, guardrails, latest guardrail checks, the rounds' questions (their
    # words), decisions.
    assert _report_queries(client, small) == _report_queries(client, big)
    assert _report_queries(client, big) <= 13


def _detail_queries(client, pilot) -> int:
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("pilot_detail", args=[pilot.pk]))
    assert page.status_code == 200
    return len(ctx)


def test_the_pilot_page_shows_the_evidence_with_the_same_queries_at_2_and_50_rounds(
    client, team, lead, ops
):
    small = PilotFactory(stage="pilot", team=team, lead=lead)
    big = PilotFactory(stage="pilot", team=team, lead=lead)
    for p, count in ((small, 2), (big, 50)):
        SuccessMetricFactory(pilot=p, name="Output quality", target=Decimal("3.2"), min_responses=5)
        _history(p, count, ops)
    client.force_login(ops)
    html = client.get(reverse("pilot_detail", args=[big.pk])).content.decode()
    assert "Recommendation" in html
    assert 'id="chart-response-rate"' in html
    assert "Output quality" in html
    assert "Trust fell in week 49." in html  # the 50th open breach is listed too
    _detail_queries(client, small)  # warm the session
    assert _detail_queries(client, small) == _detail_queries(client, big)


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_the_markdown_export_escapes_pipes_and_newlines_so_user_text_cannot_break_it(
    client, ops, team, lead
):
    pilot = PilotFactory(stage="pilot", team=team, lead=lead, title="Copilot | v2\n# Owned")
    SuccessMetricFactory(
        pilot=pilot,
        name="Quality | speed\n| injected | row | x | x | x | x |",
        target=Decimal("3.2"),
        min_responses=5,
    )
    add_round(pilot, ANSWERS)
    lifecycle.move(
        pilot.pk,
        "pause",
        actor=ops,
        expected_stage="pilot",
        rationale="Holiday\n## Fake heading <script>alert(1)</script>",
    )
    client.force_login(ops)
    text = client.get(reverse("pilot_report_markdown", args=[pilot.pk])).content.decode()
    lines = text.splitlines()
    assert lines[0] == r"# Copilot \| v2 # Owned"
    assert not any(line.startswith("| injected") for line in lines)
    assert not any(line.startswith("## Fake heading") for line in lines)
    table = [line for line in lines if line.startswith("|")]
    # Two tables, the results at a glance and the success metrics: header, rule, one metric.
    assert len(table) == 6
    assert all(_unescaped_pipes(line) == 7 for line in table)
    assert r"Quality \| speed \| injected \| row" in table[2]
    assert r"Quality \| speed \| injected \| row" in table[5]
    assert r"Holiday ## Fake heading \<script\>alert(1)\</script\>" in text
