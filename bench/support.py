"""What every benchmark shares: its own PostgreSQL database, Django set up against it.

`bench_database("portfolio")` creates `<name>_bench_portfolio` next to DATABASE_URL's database,
points Django at it (in-memory broker, DEBUG off, quiet logs), migrates, yields, and drops it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def admin(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE / DROP DATABASE)."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def postgres_url(bench: str) -> str | None:
    """DATABASE_URL if it is PostgreSQL, else None after saying why on stderr."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.stderr.write(f"{bench}: set DATABASE_URL=postgres://... (PostgreSQL).\n")
        return None
    return url


def bench_database_url(url: str, suffix: str) -> tuple[str, str, str]:
    """(the benchmark's database URL, the maintenance database's URL, the benchmark's name)."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{suffix}"
    return (
        urlunsplit(parts._replace(path=f"/{name}")),
        urlunsplit(parts._replace(path="/postgres")),
        name,
    )


@contextlib.contextmanager
def bench_database(suffix: str, url: str, *, pages: bool = False, **env: str) -> Iterator[None]:
    """Create, migrate and finally drop a database of its own for one benchmark.

    `pages`: the benchmark renders pages with DEBUG off, which serve static files from the
    collected manifest, so collect them first (into AIOPS_VAR_DIR, as a deployment does).
    """
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench_{suffix}"
    # Created from the maintenance database: DATABASE_URL's own need not exist.
    url = urlunsplit(parts._replace(path="/postgres"))
    admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(url, f'CREATE DATABASE "{name}"')
    try:
        os.environ.update(
            {
                "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}")),
                "CELERY_BROKER_URL": "memory://localhost/",
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "DEBUG": "0",
                "CONN_MAX_AGE": "0",
                "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key",
                "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "aiops_site.settings",
                **env,
            }
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if pages:
            call_command("collectstatic", interactive=False, verbosity=0)
        yield
        from django.db import connections

        connections.close_all()
    finally:
        admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
