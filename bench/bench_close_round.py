"""Benchmark: closing an anonymous round of 10,000 invited × 6,000 responses, on PostgreSQL.

Two figures, each a median of REPEATS runs on the same round, at two sizes (1,000 and 10,000
invited, 60% answering) to show that both grow with the data and no faster:

* the aggregation: what the close reads to store the round's figures (its invited and response
  counts and `feedback.results.compute_results`: every question's count, mean, sample sd,
  median, distribution, yes/no and choice counts, comments), against one hand-written SQL
  aggregate of the plainer figures (invited, responses, and per question count, mean, sample
  sd and yes share), the fastest way PostgreSQL has to read them;
* the whole close (`feedback.scheduling.close_round`: counts, results, cancelled invitations,
  the anonymity rewrite of the round's prompts, responses and answers, the follow-up row),
  against the same aggregate: printed as its own ratio, with no target.

Each close runs inside a transaction rolled back afterwards, so every repeat closes the same
open round; the deferred foreign-key checks its commit would run are run and timed (SET
CONSTRAINTS ALL IMMEDIATE), the commit's flush is not. The answers are written with
INSERT … SELECT over generate_series: no Python loop builds the data.
"""

from __future__ import annotations

import datetime
import statistics
import sys
import time

if __package__:  # imported by the tests as bench.<name>
    from .support import bench_database, postgres_url
else:  # run as a script: bench/ is on the path
    from support import bench_database, postgres_url

SIZES = ((1_000, 600), (10_000, 6_000))  # (invited, responses)
REPEATS = 3
TARGET_RATIO = 1.5

# The plainer figures of every question in one statement: the baseline.
BASELINE_SQL = """
    SELECT
      (SELECT count(*) FROM feedback_prompt WHERE round_id = %(round)s) AS invited,
      (SELECT count(*) FROM feedback_response WHERE round_id = %(round)s) AS responses,
      a.question_id, count(*) AS n, avg(a.number) AS mean, stddev_samp(a.number) AS sd,
      avg(a.boolean::int) AS yes_share
    FROM feedback_answer a JOIN feedback_response r ON r.id = a.response_id
    WHERE r.round_id = %(round)s
    GROUP BY a.question_id
"""


def build(invited: int, responses: int, *, tag: str) -> int:
    """An open anonymous round of a new pilot with `invited` prompts, `responses` answered;
    return its id. Every response answers the pulse's required questions; one in ten reports
    an incident (with its kind and a description) and one in five leaves a comment."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from feedback.models import FeedbackRound, Questionnaire
    from pilots.models import AITool, Pilot, Team

    now = timezone.now()
    today = timezone.localdate()
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    tool, _ = AITool.objects.get_or_create(name="Bench tool", defaults={"vendor": "Bench"})
    lead, _ = get_user_model().objects.get_or_create(username="bench-lead")
    pilot = Pilot.objects.create(
        title=f"Bench pilot {tag}",
        team=team,
        lead=lead,
        tool=tool,
        problem="-",
        hypothesis_intervention="-",
        hypothesis_outcome="-",
        hypothesis_who="-",
        hypothesis_signal="-",
        planned_start=today,
        planned_end=today + datetime.timedelta(days=90),
        stage="pilot",
        anonymous_feedback=True,
    )
    questionnaire = Questionnaire.objects.get(is_default=True, is_current=True)
    round_ = FeedbackRound.objects.create(
        pilot=pilot,
        questionnaire=questionnaire,
        period_start=today,
        opens_at=now - datetime.timedelta(days=3),
        closes_at=now - datetime.timedelta(minutes=1),
        anonymous=True,
    )
    questions = {q.key: q.pk for q in questionnaire.questions.all()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.14)")
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, %(tag)s || '-' || g, '', '', %(tag)s || '-' || g || '@example.com',
                   false, true, now()
            FROM generate_series(1, %(n)s) g
            """,
            {"tag": f"bench-{tag}", "n": invited},
        )
        cursor.execute(
            """
            INSERT INTO feedback_prompt (round_id, participant_id, token_hash, created_at, answered)
            SELECT %(round)s, u.id, encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')),
                   'hex'), now(), row_number() OVER (ORDER BY u.id) <= %(responses)s
            FROM auth_user u WHERE u.username LIKE %(like)s
            """,
            {"round": round_.pk, "responses": responses, "like": f"bench-{tag}-%"},
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_response AS
            SELECT gen_random_uuid() AS id, g AS i FROM generate_series(1, %(n)s) g
            """,
            {"n": responses},
        )
        cursor.execute(
            """
            INSERT INTO feedback_response (id, round_id, respondent_id, edit_key_hash)
            SELECT id, %(round)s, NULL, encode(sha256(convert_to(id::text, 'UTF8')), 'hex')
            FROM bench_response
            """,
            {"round": round_.pk},
        )
        # (question key, number, boolean, text, which responses answer it)
        answers = [
            ("minutes_saved", "(i * 37 %% 240)::numeric", "NULL", "''", "true"),
            ("quality", "(1 + (i * 7 + (random() * 2)::int) %% 5)::numeric", "NULL", "''", "true"),
            ("trust", "(1 + i * 3 %% 5)::numeric", "NULL", "''", "true"),
            ("recommend", "(i * 13 %% 11)::numeric", "NULL", "''", "true"),
            ("incident", "NULL", "i %% 10 = 0", "''", "true"),
            ("incident_kind", "NULL", "NULL",
             "(ARRAY['other', 'wrong_output_acted_on'])[1 + i %% 2]", "i %% 10 = 0"),
            ("incident_description", "NULL", "NULL", "'What happened ' || i", "i %% 10 = 0"),
            ("comment", "NULL", "NULL", "'A comment ' || (i %% 50)", "i %% 5 = 0"),
        ]  # fmt: skip
        for key, number, boolean, text, where in answers:
            cursor.execute(
                f"""
                INSERT INTO feedback_answer (id, response_id, question_id, number, boolean, text)
                SELECT gen_random_uuid(), id, %(question)s, {number}, {boolean}, {text}
                FROM bench_response WHERE {where}
                """,  # nosec B608 - the bench's own constant expressions
                {"question": questions[key]},
            )
        cursor.execute("DROP TABLE bench_response")
        cursor.execute("ANALYZE")
    return round_.pk


def _timed(run) -> float:
    from django.db import connection, transaction

    with transaction.atomic():
        start = time.perf_counter()
        run()
        with connection.cursor() as cursor:
            # The deferred foreign-key checks a commit would run, run now (and timed).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return seconds


def measure(invited: int, responses: int, *, repeats: int = REPEATS) -> dict:
    """Build a round, time the baseline, the close's aggregation and the whole close."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback import results as round_results
    from feedback import scheduling
    from feedback.models import FeedbackRound

    round_id = build(invited, responses, tag=str(invited))
    round_ = FeedbackRound.objects.get(pk=round_id)

    def baseline() -> None:
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, {"round": round_id})
            cursor.fetchall()

    def aggregation() -> None:
        round_results.round_figures(round_)

    def close() -> None:
        assert scheduling.close_round(round_id) is not None

    with CaptureQueriesContext(connection) as captured:
        _timed(aggregation)
    aggregation_queries = len(captured)
    figures: dict[str, list[float]] = {"baseline": [], "aggregation": [], "close": []}
    for _ in range(repeats):
        figures["baseline"].append(_timed(baseline))
        figures["aggregation"].append(_timed(aggregation))
        figures["close"].append(_timed(close))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {
        "invited": invited,
        "responses": responses,
        **medians,
        "aggregation_queries": aggregation_queries,
        "aggregation_ratio": medians["aggregation"] / medians["baseline"],
        "close_ratio": medians["close"] / medians["baseline"],
    }


def main() -> int:
    url = postgres_url("bench_close_round")
    if url is None:
        return 2
    with bench_database("close", url):
        rows = [measure(invited, answered) for invited, answered in SIZES]
    print(
        f"close_round of an anonymous round, medians of {REPEATS}, vs one hand-written SQL"
        " aggregate (invited, responses, per question n, mean, sample sd, yes share)"
    )
    print(
        f"{'invited':>8} {'answers':>8} {'SQL s':>7} {'aggr. s':>8} {'queries':>7} "
        f"{'ratio':>6} {'close s':>8} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"{r['invited']:>8} {r['responses']:>8} {r['baseline']:>7.3f} "
            f"{r['aggregation']:>8.3f} {r['aggregation_queries']:>7} "
            f"{r['aggregation_ratio']:>6.2f} {r['close']:>8.3f} {r['close_ratio']:>6.2f}"
        )
    largest = rows[-1]
    growth = largest["close"] / rows[0]["close"]
    print(
        f"aggregation target <= {TARGET_RATIO}: "
        f"{'met' if largest['aggregation_ratio'] <= TARGET_RATIO else 'NOT met'} "
        f"({largest['aggregation_ratio']:.2f} at {largest['invited']} invited); whole close "
        f"{largest['close_ratio']:.2f}x the aggregate (no target); close time x{growth:.1f} "
        f"for x{largest['invited'] // rows[0]['invited']} the data"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
