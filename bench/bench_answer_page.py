"""Benchmark: the answer page under gunicorn (2 workers) against hello-world views, on PostgreSQL.

Measured from outside, over HTTP, by CLIENTS client threads, against one gunicorn started
with the project's config (aiops_site/gunicorn.conf.py, its token-redacting access log) and
bench.settings, whose URLconf adds two baselines that go through the same middleware:
- GET: the answer page of one prompt, by its link, vs a view rendering a one-line template;
- POST: a first answer, a distinct prompt token each, vs a POST passing the same CSRF check.
Each figure is the median of REPEATS runs (requests per second); a ratio is page / baseline.
Both at two round sizes (SIZES prompts, plus the POSTs' own): the GET's cost must stay flat in
the round; a first answer of an anonymous round rewrites the round's prompts (xmin, see the
README), so the POST's is linear in the round by design, and the table shows by how much.
After the POSTs, the responses stored in the round must equal the POSTs answered by a
redirect (a success): a fast page that drops answers is no result.

Run with `make bench` (or `python bench/run.py bench_answer_page`); needs
DATABASE_URL=postgres://...; creates and drops its own database `<name>_answerbench`.
"""

from __future__ import annotations

import datetime
import http.client
import itertools
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

if __package__:  # imported by the tests as bench.<name>
    from .support import admin, bench_database_url
else:  # run as a script: bench/ is on the path
    from support import admin, bench_database_url

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 2000)
CLIENTS = 4
REPEATS = 3
SECONDS = 1.0  # each run sends requests for this long (or until the POSTs' tokens run out)
POSTS = 400  # most POSTs of one run: a round of size n gets n + REPEATS * POSTS prompts
TARGETS = {"GET": 0.3, "POST": 0.2}
ANSWERS = {
    "minutes_saved": "30",
    "quality": "4",
    "trust": "3",
    "recommend": "8",
    "incident": "no",
}


def build(size: int) -> tuple[int, list[str]]:
    """Create an open anonymous round with `size` + the POSTs' prompts; (round id, tokens)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from feedback import tokens
    from feedback.models import FeedbackRound, Prompt, Questionnaire
    from pilots.models import AITool, Pilot, Team

    user_model = get_user_model()
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    tool, _ = AITool.objects.get_or_create(name="Bench tool", defaults={"vendor": "Bench"})
    lead, _ = user_model.objects.get_or_create(username="bench-lead")
    today = timezone.localdate()
    # Bench setup writes the stage directly: pilots.lifecycle is not what is measured here.
    pilot = Pilot.objects.create(
        title=f"Bench pilot {size}",
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
    now = timezone.now()
    feedback_round = FeedbackRound.objects.create(
        pilot=pilot,
        questionnaire=Questionnaire.objects.get(is_default=True, is_current=True),
        period_start=today,
        opens_at=now,
        closes_at=now + datetime.timedelta(days=3),
        anonymous=True,
        invited_count=size,
    )
    count = size + REPEATS * POSTS
    users = user_model.objects.bulk_create(
        user_model(username=f"bench-{size}-{i}", password="!") for i in range(count)
    )
    made = [tokens.make_token() for _ in range(count)]
    Prompt.objects.bulk_create(
        Prompt(round=feedback_round, participant=user, token_hash=token_hash)
        for user, (_token, token_hash) in zip(users, made, strict=True)
    )
    return feedback_round.pk, [token for token, _hash in made]


# ---------------------------------------------------------------------------------------------
# Client


class Server:
    """Gunicorn with 2 workers, the project's config and bench.settings, on a free port."""

    def __init__(self, env: dict[str, str]) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "2",
        }

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "aiops_site.wsgi:application",
                "--config",
                "aiops_site/gunicorn.conf.py",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            self.__exit__()
            raise RuntimeError("gunicorn did not start")
        for _ in range(4):  # both workers: imports, template and question caches
            request(self.port, "GET", "/bench/hello/")
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def request(
    port: int, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def csrf_pair(port: int) -> tuple[str, str]:
    """A CSRF cookie and a form token for it, as a browser gets them from a page."""
    _status, headers, body = request(port, "GET", "/bench/hello/")
    cookie = headers["set-cookie"].split(";")[0]
    token = body.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    return cookie, token


def run(port: int, jobs: Iterator[tuple[str, str, str, dict[str, str]]]) -> tuple[float, list[int]]:
    """Send requests from CLIENTS threads for SECONDS; return (requests per second, statuses)."""
    statuses: list[int] = []
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS

    def client() -> None:
        while time.perf_counter() < stop:
            with lock:
                job = next(jobs, None)
            if job is None:
                return
            status = request(port, *job)[0]
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(statuses) / (time.perf_counter() - start), statuses


def measure(port: int, size: int, round_id: int, tokens: list[str]) -> dict:
    """Median req/s of the page and its baseline, GET and POST, at one round size."""
    from feedback.models import Response

    cookie, csrf = csrf_pair(port)
    form = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    page = f"/feedback/answer/{tokens[0]}/"
    assert request(port, "GET", page)[0] == 200, "the answer page does not open"
    figures: dict[str, list[float]] = {"GET": [], "hello GET": [], "POST": [], "hello POST": []}
    hello_body = urlencode({"csrfmiddlewaretoken": csrf, "x": "1"})
    answers = [
        (
            "POST",
            f"/feedback/answer/{token}/",
            urlencode({**ANSWERS, "csrfmiddlewaretoken": csrf}),
            form,
        )
        for token in tokens[size:]
    ]
    posted: list[int] = []
    for n in range(REPEATS):
        figures["hello GET"].append(
            run(port, itertools.repeat(("GET", "/bench/hello/", "", {})))[0]
        )
        figures["GET"].append(run(port, itertools.repeat(("GET", page, "", {})))[0])
        hello = itertools.repeat(("POST", "/bench/hello/post/", hello_body, form))
        rate, statuses = run(port, hello)
        assert set(statuses) == {302}, f"hello POST refused: {set(statuses)}"
        figures["hello POST"].append(rate)
        rate, statuses = run(port, iter(answers[n * POSTS : (n + 1) * POSTS]))
        posted += statuses
        figures["POST"].append(rate)
    stored = Response.objects.filter(round_id=round_id).count()
    medians = {k: statistics.median(v) for k, v in figures.items()}
    return {
        "size": size,
        "prompts": size + REPEATS * POSTS,
        **medians,
        "GET ratio": medians["GET"] / medians["hello GET"],
        "POST ratio": medians["POST"] / medians["hello POST"],
        "posts": len(posted),
        "saved": posted.count(302),
        "stored": stored,
    }


# ---------------------------------------------------------------------------------------------


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.stderr.write("bench_answer_page: set DATABASE_URL=postgres://... (PostgreSQL).\n")
        return 2
    bench_url, admin_url, bench_name = bench_database_url(url, "answerbench")
    admin(admin_url, f'DROP DATABASE IF EXISTS "{bench_name}"')
    admin(admin_url, f'CREATE DATABASE "{bench_name}"')
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "CELERY_BROKER_URL": "memory://localhost/",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
    }
    results = []
    try:
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        built = {size: build(size) for size in SIZES}
        connections.close_all()
        with Server(env) as server:
            for size in SIZES:
                results.append(measure(server.port, size, *built[size]))
        connections.close_all()
    finally:
        admin(admin_url, f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
    print(
        f"answer page under gunicorn (2 workers, {CLIENTS} clients), req/s, median of"
        f" {REPEATS}; vs hello-world views with the same middleware"
    )
    print(
        f"{'prompts':>8} {'GET':>7} {'hello':>7} {'ratio':>6}   "
        f"{'POST':>7} {'hello':>7} {'ratio':>6}   {'saved':>6} {'stored':>6}"
    )
    for r in results:
        print(
            f"{r['prompts']:>8} {r['GET']:>7.0f} {r['hello GET']:>7.0f} {r['GET ratio']:>6.2f}   "
            f"{r['POST']:>7.0f} {r['hello POST']:>7.0f} {r['POST ratio']:>6.2f}   "
            f"{r['saved']:>6} {r['stored']:>6}"
        )
    failed = False
    for kind, target in TARGETS.items():
        worst = min(r[f"{kind} ratio"] for r in results)
        print(f"{kind}: target ratio >= {target}: {'met' if worst >= target else 'NOT met'}")
    for r in results:
        if not r["saved"] == r["stored"] == r["posts"]:
            print(f"stored responses != successful POSTs at {r['size']} prompts", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
