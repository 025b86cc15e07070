"""docker-compose.yml, checked as a file: no Docker engine runs here.

It must be valid against the Compose Specification's JSON schema (compose-spec.json, vendored
from check-jsonschema 0.39.0, Apache-2.0, LICENSE.compose-spec), and every command and health
check it runs must exist in the project: the image's entrypoints, the Celery app, the
gunicorn config, the health URL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
APP_SERVICES = ["migrate", "web", "worker", "beat"]
LONG_RUNNING = ["web", "worker", "beat", "postgres", "redis", "mailpit"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_follows_the_compose_specification(compose):
    schema = json.loads((HERE / "compose-spec.json").read_text())
    jsonschema.validate(compose, schema, cls=jsonschema.Draft202012Validator)


def test_every_service_is_there_and_restarts_on_failure(compose):
    services = compose["services"]
    assert set(services) == {*APP_SERVICES, "postgres", "redis", "mailpit"}
    for name in LONG_RUNNING:
        assert services[name]["restart"] in ("unless-stopped", "always", "on-failure"), name
    assert services["migrate"]["restart"] == "no"  # runs once
    assert services["mailpit"]["profiles"] == ["local"]  # never in production by accident
    assert services["beat"]["deploy"]["replicas"] == 1


def test_every_long_running_service_has_a_health_check(compose):
    for name in LONG_RUNNING:
        check = compose["services"][name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_app_services_start_after_healthy_databases_and_one_migration(compose):
    services = compose["services"]
    for name in ["web", "worker", "beat"]:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_state_lives_in_named_volumes_and_redis_keeps_an_append_only_file(compose):
    services = compose["services"]
    assert set(compose["volumes"]) == {"postgres-data", "redis-data"}
    assert services["postgres"]["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert services["redis"]["volumes"] == ["redis-data:/data"]
    assert services["redis"]["command"][-4:] == [
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
    ]


def test_settings_come_from_the_env_file_with_safe_values_winning(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == [{"path": ".env", "required": False}]
        assert service["environment"]["DEBUG"] == "0", name
        # Required values fail the start instead of running with a default.
        assert service["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert service["environment"]["EMAIL_URL"].startswith("${EMAIL_URL:?")
    example = (ROOT / "compose.env.example").read_text()
    for variable in ["SECRET_KEY", "EMAIL_URL", "ALLOWED_HOSTS", "POSTGRES_PASSWORD"]:
        assert re.search(rf"^#? ?{variable}=", example, re.MULTILINE), variable


def test_every_command_runs_something_the_project_has(compose):
    services = compose["services"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))
    assert services["web"]["command"] == cmd  # the image's own entrypoint
    assert cmd[:2] == ["gunicorn", "aiops_site.wsgi:application"]
    assert (ROOT / cmd[cmd.index("--config") + 1]).is_file()
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert (ROOT / "manage.py").is_file()
    for name, sub in [("worker", "worker"), ("beat", "beat")]:
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "aiops_site", sub], name
    from aiops_site.celery import app

    assert app.main == "aiops_site"


def test_every_health_check_asks_something_that_exists(compose):
    web = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/[^'\"]*)", web).group(1)
    assert resolve(path).url_name == "healthz"
    assert "celery -A aiops_site inspect ping" in " ".join(
        compose["services"]["worker"]["healthcheck"]["test"]
    )
    beat = " ".join(compose["services"]["beat"]["healthcheck"]["test"])
    schedule = compose["services"]["beat"]["command"][-1]
    assert schedule in beat
    assert "AIOPS_VAR_DIR=/app/var" in (ROOT / "Dockerfile").read_text()
    assert schedule.startswith("/app/var/")
