"""Shared fixtures: the actors, and access to real services (strict under CI)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import translation

from tests.factories import MembershipFactory, OpsUserFactory, TeamFactory, UserFactory

STRICT = os.environ.get("CI", "").lower() == "true" or os.environ.get("AIOPS_STRICT") == "1"
# Which leg of CI this run is: "embedded" (SQLite and the filesystem broker, what a new user
# meets first) or "services" (PostgreSQL and Redis). Unset: whatever the environment gives.
LEG = os.environ.get("AIOPS_TEST_LEG", "")
# Which part of the leg this process runs, so that CI can run the services leg as two processes
# side by side: "services" (the tests that need PostgreSQL, a real worker or the browser, which
# spend their time waiting), "common" (every other test) or unset (all of them). The two parts
# are complementary by construction: both are decided by service_markers() below.
PART = os.environ.get("AIOPS_TEST_PART", "")
# Tests that need a real service, found by the fixtures they use as well as by their markers,
# so a test that asks for PostgreSQL can never run (or be skipped) on the embedded leg.
SERVICE_MARKERS = {
    "postgres": ("postgres",),
    "celery_worker": ("celery_worker", "redis_url"),
    "browser": ("chromium", "browser_page"),
}


def service_missing(reason: str) -> None:
    """Skip a test whose real service is missing, or fail it in strict mode (CI)."""
    if STRICT:
        pytest.fail(f"{reason} (strict mode: CI=true or AIOPS_STRICT=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def postgres(db) -> None:
    """Require the tests' database to be PostgreSQL (row locks, concurrency)."""
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://...")


@pytest.fixture
def redis_url() -> str:
    """Return the Redis broker URL, requiring a Redis server that answers."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        service_missing("needs Redis: set CELERY_BROKER_URL=redis://...")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} does not answer: {exc}")
    return url


# `make mutation` only: the path of a copy of the test database as migrations build it. mutmut
# runs pytest once per mutant in a forked process, and building the database by migrations
# (data migrations included) would take most of each run. Unset (`make test`, CI): pytest-django
# builds it as usual.
MUTATION_DB_TEMPLATE = os.environ.get("AIOPS_MUTATION_DB_TEMPLATE", "")

if MUTATION_DB_TEMPLATE:

    @pytest.fixture(scope="session")
    def django_db_setup(request, django_test_environment, django_db_blocker):
        """The usual in-memory test database, filled from the template instead of migrated.

        The first run (no template yet) builds the database as pytest-django always does, then
        saves it whole (schema, data migrations' rows) as the template; later runs open the
        same in-memory database and restore the template into it with SQLite's backup.
        """
        import sqlite3
        from pathlib import Path

        from django.test.utils import setup_databases, teardown_databases

        template = Path(MUTATION_DB_TEMPLATE)
        assert connection.vendor == "sqlite", "the mutation template is for SQLite only"
        with django_db_blocker.unblock():
            if template.exists():
                old_name = connection.settings_dict["NAME"]
                test_name = connection.creation._get_test_db_name()
                connection.close()
                settings.DATABASES[connection.alias]["NAME"] = test_name
                connection.settings_dict["NAME"] = test_name
                connection.ensure_connection()
                source = sqlite3.connect(template)
                try:
                    source.backup(connection.connection)
                finally:
                    source.close()
                db_cfg = [(connections[connection.alias], old_name, True)]
            else:
                db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
                connection.ensure_connection()
                partial = template.with_name(f"{template.name}.{os.getpid()}.tmp")
                target = sqlite3.connect(partial)
                try:
                    connection.connection.backup(target)
                finally:
                    target.close()
                os.replace(partial, template)
        yield
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=0)


@pytest.fixture
def team():
    return TeamFactory(name="Support", slug="support")


@pytest.fixture
def ops():
    return OpsUserFactory(username="ops")


@pytest.fixture
def ops2():
    return OpsUserFactory(username="ops2")


@pytest.fixture
def lead(team):
    user = UserFactory(username="lead")
    MembershipFactory(team=team, user=user, role="lead")
    return user


@pytest.fixture
def participant(team):
    user = UserFactory(username="participant")
    MembershipFactory(team=team, user=user, role="member")
    return user


@pytest.fixture
def outsider():
    user = UserFactory(username="outsider")
    MembershipFactory(team=TeamFactory(name="Finance", slug="finance"), user=user, role="lead")
    return user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Hash test passwords with MD5: PBKDF2 makes every user factory call slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """Leave no language active: a test request's LocaleMiddleware activates the language of
    its Accept-Language in the thread and nothing deactivates it, so the next test would run
    in French."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _plain_static_files(settings) -> None:
    """Serve static files unhashed: tests do not run collectstatic to build a manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def spine_messages(request, monkeypatch) -> list:
    """What the spine would publish after commit (follow-ups, deliveries), recorded not sent.

    Unit tests have no worker: publishing would only leave messages in a broker. Tests that
    run tasks (celery_eager in-process, celery_worker for real) publish as production does.
    """
    published: list = []
    if {"celery_eager", "celery_worker"} & set(request.fixturenames):
        return published
    from core import followups, outbox

    monkeypatch.setattr(followups, "_enqueue", lambda pk: published.append(("followup", pk)))
    monkeypatch.setattr(
        outbox, "_enqueue_task", lambda *args: published.append(("deliveries", *args))
    )
    return published


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process (delay runs the task at once) for the duration of a test."""
    from aiops_site.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


class CeleryWorkerProcess:
    """A real `celery -A aiops_site worker` subprocess against the tests' database and Redis.

    `broker_url` is the Redis the worker consumes from (its env's CELERY_BROKER_URL); the
    test talks to the worker (ping, inspect, queue length) through the same Redis.
    """

    def __init__(
        self,
        *,
        env: dict[str, str],
        log_dir,
        name: str,
        concurrency: int,
        broker_url: str | None = None,
    ) -> None:
        self.env = env
        self.log_dir = log_dir
        self.name = name
        self.concurrency = concurrency
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.process = None
        self.starts = 0
        self.log_path = None

    @property
    def nodename(self) -> str:
        return f"{self.name}@localhost"

    @property
    def app(self):
        """The Celery app that reaches this worker: the project's, or one on its own broker."""
        from aiops_site.celery import app

        if self.broker_url == settings.CELERY_BROKER_URL:
            return app
        if getattr(self, "_own_app", None) is None:
            from celery import Celery

            own = Celery("aiops_site", set_as_current=False)
            own.config_from_object("django.conf:settings", namespace="CELERY")
            # Celery resolved the read and write URLs from the settings' URL: replace all three.
            own.conf.update(
                broker_url=self.broker_url,
                broker_read_url=self.broker_url,
                broker_write_url=self.broker_url,
            )
            self._own_app = own
        return self._own_app

    def log_tail(self, lines: int = 40) -> str:
        """The end of the current run's log, to show why a worker exited."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self, *, timeout: float = 60) -> None:
        """Start the worker and wait until it answers a control ping."""
        import subprocess
        import sys
        import time
        from pathlib import Path

        self.starts += 1
        self.log_path = Path(self.log_dir) / f"worker-{self.starts}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115
        celery = str(Path(sys.executable).with_name("celery"))
        self.process = subprocess.Popen(
            [
                celery,
                "-A",
                "aiops_site",
                "worker",
                "--loglevel=INFO",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                f"--hostname={self.nodename}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill reaches the pool too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}; see {log.name}")
            if self.app.control.ping(destination=[self.nodename], timeout=0.5):
                return
        self.stop()
        pytest.fail(f"the worker did not answer a ping within {timeout}s; see {log.name}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or an OOM kill would."""
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the worker (warm shutdown), killing it if it does not exit in time."""
        import signal
        import subprocess

        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait_idle(self, *, timeout: float = 60) -> None:
        """Wait until the queue is empty and the worker runs and holds no task."""
        import time

        import redis

        client = redis.Redis.from_url(self.broker_url)
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            inspect = self.app.control.inspect(destination=[self.nodename], timeout=0.5)
            try:
                active, reserved = inspect.active(), inspect.reserved()
            except redis.ConnectionError:
                # A broker restarted by a drill closed this process's pooled connection: the
                # failed one is dropped, the next look opens a new one.
                quiet = 0
                time.sleep(0.05)
                continue
            busy = (
                client.llen(queue)
                or active is None
                or reserved is None
                or any(active.values())
                or any(reserved.values())
            )
            # Twice in a row: a task may be between the queue and the pool at one look.
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return
        pytest.fail(f"the worker was still busy after {timeout}s")


def _purge_broker(url: str) -> None:
    """Drop queued and unacknowledged messages a previous run may have left in Redis."""
    import redis

    client = redis.Redis.from_url(url)
    keys = [settings.CELERY_TASK_DEFAULT_QUEUE, "unacked", "unacked_index", "unacked_mutex"]
    keys += [k.decode() for k in client.keys(f"{settings.CELERY_TASK_DEFAULT_QUEUE}\x06\x16*")]
    client.delete(*keys)


def start_celery_worker(request, *, broker_url: str, tmp_path) -> CeleryWorkerProcess:
    """Start a real Celery worker on the test database and `broker_url`; return it started.

    Extra environment for the worker can be given with @pytest.mark.worker_env(NAME="value"),
    its pool size with @pytest.mark.worker_concurrency(n). Emails go to files under
    worker.email_dir. The caller stops it.
    """
    from urllib.parse import quote

    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    email_dir = tmp_path / "emails"
    email_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}{host}:{port}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "tests.feedback.email_files.OneFilePerConnectionBackend",
        "EMAIL_FILE_PATH": str(email_dir),
        "SITE_URL": "http://testserver",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "CONN_MAX_AGE": "0",
        "PYTHONPATH": str(settings.BASE_DIR),
        "AIOPS_VAR_DIR": str(tmp_path / "var"),
    }
    concurrency = 2
    for marker in reversed(list(request.node.iter_markers("worker_env"))):  # closest wins
        env.update({k: str(v) for k, v in marker.kwargs.items()})
    for marker in request.node.iter_markers("worker_concurrency"):
        concurrency = marker.args[0]
    worker = CeleryWorkerProcess(
        env=env,
        log_dir=tmp_path,
        name=f"test-{os.getpid()}",
        concurrency=concurrency,
        broker_url=broker_url,
    )
    worker.email_dir = email_dir
    worker.start()
    return worker


@pytest.fixture
def celery_worker(request, redis_url, postgres, tmp_path):
    """Start a real Celery worker on the test database; yield it; stop it afterwards.

    Use with @pytest.mark.django_db(transaction=True): the worker is another process and sees
    only committed rows. Options: see start_celery_worker.
    """
    _purge_broker(redis_url)
    worker = start_celery_worker(request, broker_url=redis_url, tmp_path=tmp_path)
    yield worker
    worker.stop()
    _purge_broker(redis_url)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "worker_env(**env): extra environment for celery_worker")
    config.addinivalue_line("markers", "worker_concurrency(n): pool size of celery_worker")
    if LEG not in ("", "embedded", "services"):
        raise pytest.UsageError(f"AIOPS_TEST_LEG={LEG!r}: use embedded or services")
    if PART not in ("", "services", "common"):
        raise pytest.UsageError(f"AIOPS_TEST_PART={PART!r}: use services or common")
    if PART == "services" and LEG == "embedded":
        raise pytest.UsageError("AIOPS_TEST_PART=services: the embedded leg runs no service test")
    engine = settings.DATABASES["default"]["ENGINE"]
    broker = settings.CELERY_BROKER_URL
    if LEG == "embedded" and (
        not engine.endswith("sqlite3") or not broker.startswith("filesystem")
    ):
        raise pytest.UsageError(
            f"the embedded leg runs on SQLite and the filesystem broker, not {engine} / {broker}:"
            " unset DATABASE_URL and CELERY_BROKER_URL"
        )
    if LEG == "services" and (not engine.endswith("postgresql") or not broker.startswith("redis")):
        raise pytest.UsageError(
            f"the services leg runs on PostgreSQL and Redis, not {engine} / {broker}:"
            " set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://..."
        )


def service_markers(item) -> set[str]:
    """The services a collected test needs, from its markers and from its fixtures."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return {
        marker
        for marker, names in SERVICE_MARKERS.items()
        if item.get_closest_marker(marker) or fixtures.intersection(names)
    }


def _restore_migrated_rows(item) -> None:
    """Give transactional tests the rows data migrations wrote (serialized rollback).

    A transactional test ends by flushing every table, which also drops what migrations
    created (the default questionnaire, the Ops group): the next transactional test would meet
    a database no deployment ever has. With serialized_rollback, Django reloads those rows
    before each such test.
    """
    marker = item.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    if "serialized_rollback" not in marker.kwargs:
        item.add_marker(
            pytest.mark.django_db(*marker.args, **marker.kwargs, serialized_rollback=True),
            append=False,
        )


def pytest_collection_modifyitems(config, items) -> None:
    """Mark service tests by their fixtures; on the embedded leg, leave them to the other leg.

    AIOPS_TEST_PART keeps only the service tests ("services") or only the others ("common").
    """
    kept, left = [], []
    for item in items:
        _restore_migrated_rows(item)
        needs = service_markers(item)
        for marker in needs:
            if not item.get_closest_marker(marker):
                item.add_marker(marker)
        leave = (LEG == "embedded" or PART == "common") if needs else PART == "services"
        (left if leave else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
