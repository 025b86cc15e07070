"""Shared fixtures: the actors, and access to real services (strict under CI)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import MembershipFactory, OpsUserFactory, TeamFactory, UserFactory

STRICT = os.environ.get("CI", "").lower() == "true" or os.environ.get("AIOPS_STRICT") == "1"


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
def _plain_static_files(settings) -> None:
    """Serve static files unhashed: tests do not run collectstatic to build a manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process (delay runs the task at once) for the duration of a test."""
    from aiops_site.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
