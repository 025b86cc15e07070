"""Benchmark: the portfolio page at 1,000 pilots against the same page at 10, on PostgreSQL.

Each pilot has participants, three closed rounds with results (hours saved) and two stage
changes in past months, so every part of the page works: the board, the hours saved by stage
and team, the stage history of the last six months. What is timed is a GET of /pilots/ by an
Ops user through Django's test client (the whole middleware stack and the template), best of
REPEATS after one warm-up. Target (issue "Production-ready and fast"): the same number of
queries at both sizes and at most 2x the time.
"""

from __future__ import annotations

import datetime
import sys
import time

if __package__:  # imported by the tests as bench.<name>
    from .support import bench_database, postgres_url
else:  # run as a script: bench/ is on the path
    from support import bench_database, postgres_url

SIZES = (10, 1000)
PARTICIPANTS = 5
REPEATS = 5
TARGET_RATIO = 2.0
PATHS: dict = {}
STAGES = ("draft", "proposed", "sandbox", "pilot", "approved", "paused", "stopped", "retired")


def stage_paths() -> dict:
    """The shortest run of lifecycle transitions from draft to each stage."""
    from pilots.lifecycle import TRANSITIONS

    paths = {"draft": []}
    frontier = ["draft"]
    while frontier:
        stage = frontier.pop(0)
        for t in TRANSITIONS:
            if t.source == stage and t.target and t.target not in paths:
                paths[t.target] = [*paths[stage], t]
                frontier.append(t.target)
    return paths


def template_results() -> dict:
    """The results a real close computes for a round of eight answers (copied to every round)."""
    from tests.decisions.evidence_support import add_round
    from tests.factories import PilotFactory

    pilot = PilotFactory(stage="pilot")
    answers = [
        {
            "minutes_saved": 30 + 5 * i,
            "quality": 3 + i % 3,
            "trust": 4,
            "recommend": 7,
            "incident": False,
        }
        for i in range(8)
    ]
    return add_round(pilot, answers, invited=10).results


def build(count: int, start: int, results: dict) -> None:
    """Add `count` pilots (numbered from `start`) with their people, rounds and history."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from feedback.models import FeedbackRound, Questionnaire
    from feedback.results import store_summaries
    from pilots.models import AITool, Participation, Pilot, StageChange, Team

    user_model = get_user_model()
    teams = [
        Team.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench team {i}"})[0]
        for i in range(8)
    ]
    tool, _ = AITool.objects.get_or_create(name="Bench tool", defaults={"vendor": "Bench"})
    lead, _ = user_model.objects.get_or_create(username="bench-lead")
    questionnaire = Questionnaire.objects.filter(is_current=True).first()
    now = timezone.now()
    today = timezone.localdate()
    pilots = Pilot.objects.bulk_create(
        Pilot(
            title=f"Bench pilot {n}",
            team=teams[n % len(teams)],
            lead=lead,
            tool=tool,
            problem="-",
            hypothesis_intervention="-",
            hypothesis_outcome="-",
            hypothesis_who="-",
            hypothesis_signal="-",
            planned_start=today,
            planned_end=today + datetime.timedelta(days=90),
            stage=STAGES[n % len(STAGES)],
            paused_from="pilot" if STAGES[n % len(STAGES)] == "paused" else "",
            cadence="weekly",
            created_at=now - datetime.timedelta(days=200),
            stage_changed_at=now - datetime.timedelta(days=n % 150),
        )
        for n in range(start, start + count)
    )
    users = user_model.objects.bulk_create(
        user_model(username=f"bench-{p.pk}-{j}", password="!")
        for p in pilots
        for j in range(PARTICIPANTS)
    )
    Participation.objects.bulk_create(
        Participation(pilot=p, user=users[i * PARTICIPANTS + j])
        for i, p in enumerate(pilots)
        for j in range(PARTICIPANTS)
    )
    rounds = []
    for p in pilots:
        for weeks in (1, 2, 3):
            opened = now - datetime.timedelta(weeks=weeks)
            rounds.append(
                FeedbackRound(
                    pilot=p,
                    questionnaire=questionnaire,
                    period_start=opened.date(),
                    opens_at=opened,
                    closes_at=opened + datetime.timedelta(days=3),
                    status="closed",
                    closed_at=opened + datetime.timedelta(days=3),
                    invited_count=10,
                    response_count=8,
                    results=results,
                )
            )
    FeedbackRound.objects.bulk_create(rounds)
    # The question summary rows close_round writes with the results.
    store_summaries(rounds)
    changes = []
    for i, p in enumerate(pilots):
        path = PATHS[p.stage]
        for step, transition in enumerate(path):
            days = 150 - 120 * step // max(len(path), 1) - i % 30
            changes.append(
                StageChange(
                    pilot=p,
                    action=transition.action,
                    from_stage=transition.source,
                    to_stage=transition.target,
                    created_at=now - datetime.timedelta(days=days),
                    rationale="bench" if transition.rationale_required else "",
                )
            )
    StageChange.objects.bulk_create(changes)


def time_page(client) -> tuple[float, int]:
    """(best seconds, queries) of GET /pilots/."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get("/pilots/", secure=True).status_code == 200  # warm-up
    best = float("inf")
    queries = 0
    for _ in range(REPEATS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get("/pilots/", secure=True)
            best = min(best, time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return best, queries


def main() -> int:
    url = postgres_url("bench_portfolio")
    if url is None:
        return 2
    rows = []
    with bench_database("portfolio", url, pages=True):
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from tests.decisions.evidence_support import questionnaire

        questionnaire()
        ops = get_user_model().objects.create_superuser("bench-ops", "ops@example.com", "x")
        client = Client()
        client.force_login(ops)
        results = template_results()
        global PATHS
        PATHS = stage_paths()
        built = 0
        for size in SIZES:
            build(size - built, built, results)
            built = size
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            from pilots.models import Pilot

            seconds, queries = time_page(client)
            rows.append((Pilot.objects.count(), seconds, queries))
    print(f"portfolio GET as Ops, best of {REPEATS}: 1,000 pilots vs 10 (same run)")
    print(f"{'pilots':>7} {'seconds':>8} {'queries':>8}")
    for pilots, seconds, queries in rows:
        print(f"{pilots:>7} {seconds:>8.3f} {queries:>8}")
    ratio = rows[-1][1] / rows[0][1]
    same = rows[0][2] == rows[-1][2]
    print(
        f"same queries at both sizes: {'yes' if same else 'NO'}; ratio {ratio:.2f}; "
        f"target <= {TARGET_RATIO}: {'met' if same and ratio <= TARGET_RATIO else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
