"""Benchmark: open feedback rounds for 500 pilots and fan their prompts out, on PostgreSQL.

What is timed is `feedback.scheduling.open_due_rounds`: it reads the active pilots, creates the
500 rounds, their prompt rows (one per participant) and one invitation per prompt in the outbox
(core.Delivery), commits, and enqueues one send task (to an in-memory broker here) that fans
out a send per round. Emails are NOT sent: sending is the outbox workers' job.

It is compared, in the same run and the same database, with the fastest way PostgreSQL has to
write the same rows: a raw psycopg COPY of the prompts and of their invitations (rows
generated in Python, random token hashes).
Each measure is the best of REPEATS runs, on empty round and prompt tables each time.

Run with `make bench` (or `python bench/run.py`); needs DATABASE_URL=postgres://...; creates
and drops its own database `<name>_bench`.
"""

from __future__ import annotations

import datetime
import os
import secrets
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__:  # imported by the tests as bench.<name>
    from .support import admin, bench_database_url
else:  # run as a script: bench/ is on the path
    from support import admin, bench_database_url

ROOT = Path(__file__).resolve().parent.parent
PILOTS = 500
PARTICIPANTS = (20, 5)
REPEATS = 3
TARGET_RATIO = 3.0


def build(pilots: int, participants: int) -> None:
    """Create `pilots` active pilots with `participants` each (distinct users) and the pulse."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from feedback.models import Question, Questionnaire
    from pilots.models import AITool, Participation, Pilot, Team

    user_model = get_user_model()
    if not Questionnaire.objects.filter(is_default=True, is_current=True).exists():
        pulse = Questionnaire.objects.create(slug="bench", name="Bench", is_default=True)
        Question.objects.create(
            questionnaire=pulse,
            key="quality",
            text="Quality?",
            kind="scale",
            min_value=1,
            max_value=5,
        )
    zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]
    teams = [
        Team.objects.get_or_create(
            slug=f"bench-{i}", defaults={"name": f"Bench {i}", "timezone": tz}
        )[0]
        for i, tz in enumerate(zones)
    ]
    tool, _ = AITool.objects.get_or_create(name="Bench tool", defaults={"vendor": "Bench"})
    lead, _ = user_model.objects.get_or_create(username="bench-lead")
    users = user_model.objects.bulk_create(
        # An unusable password; an email, so that each prompt gets its invitation.
        user_model(
            username=f"bench-{participants}-{i}",
            email=f"bench-{participants}-{i}@example.com",
            password="!",
        )
        for i in range(pilots * participants)
    )
    today = timezone.localdate()
    now = timezone.now()
    # Bench setup writes the stage directly: pilots.lifecycle is not what is measured here.
    # Weekly on today's weekday *in the team's time zone* (it may differ from the server's
    # date), opening at midnight: a round is due whatever the hour.
    created = Pilot.objects.bulk_create(
        Pilot(
            title=f"Bench pilot {i}",
            team=teams[i % len(teams)],
            lead=lead,
            tool=tool,
            problem="-",
            hypothesis_intervention="-",
            hypothesis_outcome="-",
            hypothesis_who="-",
            hypothesis_signal="-",
            # A day early: a team ahead of or behind the server's date (near midnight) must
            # not find its period starting before the planned start.
            planned_start=today - datetime.timedelta(days=1),
            planned_end=today + datetime.timedelta(days=90),
            stage="pilot",
            cadence="weekly",
            cadence_weekday=timezone.localtime(
                now, ZoneInfo(teams[i % len(teams)].timezone)
            ).weekday(),
        )
        for i in range(pilots)
    )
    Participation.objects.bulk_create(
        Participation(pilot=pilot, user=users[i * participants + j])
        for i, pilot in enumerate(created)
        for j in range(participants)
    )


def clear_rounds() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_delivery, feedback_prompt, feedback_feedbackround CASCADE")
        cursor.execute("ANALYZE")


def clear_all() -> None:
    from django.db import connection

    clear_rounds()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE pilots_participation, pilots_pilot CASCADE")
        cursor.execute("DELETE FROM auth_user WHERE username LIKE 'bench-%%'")


def time_open(now: datetime.datetime) -> tuple[float, int, int]:
    """Return (seconds, queries, prompts) of one open_due_rounds on empty round tables."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback import scheduling
    from feedback.models import Prompt

    clear_rounds()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        scheduling.open_due_rounds(now=now)
        seconds = time.perf_counter() - start
    return seconds, len(queries), Prompt.objects.count()


def time_copy() -> tuple[float, int]:
    """COPY the same prompts and invitations with psycopg; (seconds, prompts)."""
    import json

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone

    from feedback.models import Prompt

    rows = list(
        Prompt.objects.values_list("pk", "round_id", "participant_id", "participant__email")
    )
    prompt_type = ContentType.objects.get_for_model(Prompt).pk
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_delivery, feedback_prompt CASCADE")
        cursor.execute("ANALYZE feedback_prompt")
        cursor.execute("ANALYZE core_delivery")
    now = timezone.now()
    raw = connection.connection
    start = time.perf_counter()
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY feedback_prompt (id, round_id, participant_id, token_hash, created_at, answered)"
            " FROM STDIN"
        ) as copy:
            for pk, round_id, participant_id, _email in rows:
                copy.write_row((pk, round_id, participant_id, secrets.token_hex(32), now, False))
        with cursor.copy(
            "COPY core_delivery (kind, channel, recipient, recipient_user_id, subject_type_id,"
            " subject_id, batch, dedupe_key, payload, status, attempts, created_at,"
            " next_attempt_at, last_error) FROM STDIN"
        ) as copy:
            for pk, round_id, participant_id, email in rows:
                copy.write_row(
                    (
                        "invitation",
                        "email",
                        email,
                        participant_id,
                        prompt_type,
                        str(pk),
                        f"round:{round_id}",
                        f"invitation:{pk}:1",
                        json.dumps({"prompt_id": pk}),
                        "queued",
                        0,
                        now,
                        now,
                        "",
                    )
                )
    return time.perf_counter() - start, len(rows)


def measure(pilots: int, participants: int, *, repeats: int = REPEATS) -> dict:
    """Build the data, time open_due_rounds and the COPY (best of `repeats`), clean up."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from feedback.models import Prompt

    build(pilots, participants)
    # Content types are cached for the process: warm, so both data sizes count alike.
    ContentType.objects.get_for_model(Prompt)
    now = timezone.now()
    opens, copies, queries, prompts = [], [], set(), 0
    try:
        for _ in range(repeats):
            seconds, count, prompts = time_open(now)
            opens.append(seconds)
            queries.add(count)
            copies.append(time_copy()[0])
    finally:
        clear_all()
    best_open, best_copy = min(opens), min(copies)
    return {
        "pilots": pilots,
        "participants": participants,
        "prompts": prompts,
        "open_seconds": best_open,
        "queries": max(queries),
        "copy_seconds": best_copy,
        "ratio": best_open / best_copy,
    }


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.stderr.write("bench_open_rounds: set DATABASE_URL=postgres://... (PostgreSQL).\n")
        return 2
    bench_url, admin_url, bench_name = bench_database_url(url, "bench")
    admin(admin_url, f'DROP DATABASE IF EXISTS "{bench_name}"')
    admin(admin_url, f'CREATE DATABASE "{bench_name}"')
    try:
        os.environ.update(
            {
                "DATABASE_URL": bench_url,
                "CELERY_BROKER_URL": "memory://localhost/",
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "DEBUG": "0",
                "CONN_MAX_AGE": "0",
                "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key",
                "FEEDBACK_ROUND_OPEN_HOUR": "0",
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "aiops_site.settings",
            }
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        results = [measure(PILOTS, n) for n in PARTICIPANTS]
        connections.close_all()
    finally:
        admin(admin_url, f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
    print(
        "open_due_rounds: rounds + prompts + their invitations in the outbox (no email sent),"
        f" best of {REPEATS}, vs a psycopg COPY of the same prompt and invitation rows"
    )
    print(
        f"{'pilots':>7} {'partic.':>7} {'prompts':>8} {'open s':>8} {'queries':>8} "
        f"{'COPY s':>8} {'ratio':>6}"
    )
    for r in results:
        print(
            f"{r['pilots']:>7} {r['participants']:>7} {r['prompts']:>8} "
            f"{r['open_seconds']:>8.3f} {r['queries']:>8} {r['copy_seconds']:>8.3f} "
            f"{r['ratio']:>6.2f}"
        )
    same = len({r["queries"] for r in results}) == 1
    print(
        f"queries independent of participants: {'yes' if same else 'NO'}; "
        f"target ratio <= {TARGET_RATIO}: "
        f"{'met' if results[0]['ratio'] <= TARGET_RATIO else 'NOT met'} "
        f"({results[0]['ratio']:.2f} at {results[0]['prompts']} prompts)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
