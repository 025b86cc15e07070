"""docker-compose.yml and the Dockerfile describe a stack whose commands exist (no engine here)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def check_command(command: list[str]) -> None:
    """Assert that a service's command names modules and files that exist in the project."""
    program = command[0]
    if program == "gunicorn":
        target = next(arg for arg in command[1:] if ":" in arg and not arg.startswith("-"))
        module, attribute = target.split(":")
        assert callable(getattr(importlib.import_module(module), attribute))
    elif program == "celery":
        app_module = command[command.index("-A") + 1]
        app = importlib.import_module(f"{app_module}.celery").app
        assert app.main == app_module
        assert command[command.index("-A") + 2] in ("worker", "beat")
    elif program == "python":
        assert (ROOT / command[1]).is_file()
    else:
        pytest.fail(f"unexpected command {command}")


def test_it_declares_web_worker_beat_postgres_and_redis(services):
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_application_command_references_real_modules(services, name):
    check_command(services[name]["command"])


@pytest.mark.parametrize("name", ["web", "worker", "beat", "postgres", "redis"])
def test_each_long_running_service_has_a_healthcheck(services, name):
    assert services[name]["healthcheck"]["test"]


def test_the_web_healthcheck_calls_the_health_endpoint(services):
    probe = " ".join(services["web"]["healthcheck"]["test"])
    assert "/healthz" in probe
    assert resolve("/healthz").url_name == "healthz"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_application_services_run_in_production_mode_against_postgres_and_redis(services, name):
    env = services[name]["environment"]
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    # No console default: it would print each prompt's answer link next to its recipient.
    assert env["EMAIL_URL"].startswith("${EMAIL_URL:?")
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_web_waits_for_migrations(services):
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["command"][1:3] == ["manage.py", "migrate"]


def test_the_dockerfile_installs_the_lock_and_serves_the_wsgi_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile
    assert "collectstatic" in dockerfile
    assert '"aiops_site.wsgi:application"' in dockerfile
    assert "USER app" in dockerfile


def test_the_web_behind_its_proxy_trusts_x_forwarded_proto_by_default(services):
    # Settings trust the header only when told (TRUST_X_FORWARDED_PROTO); here TLS ends at the
    # proxy in front of "web", so without it every request would look like plain HTTP.
    assert services["web"]["environment"]["TRUST_X_FORWARDED_PROTO"] == (
        "${TRUST_X_FORWARDED_PROTO:-1}"
    )


def test_a_developers_env_file_never_reaches_the_image():
    # The Dockerfile copies the whole context; a developer's .env holds DEBUG=1 and their key.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored
