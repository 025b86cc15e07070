"""Settings from the environment: production passes `check --deploy`, secrets are required."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with exactly the given environment (plus PATH)."""
    base = {
        "PATH": os.environ.get("PATH", ""),
        "AIOPS_VAR_DIR": str(tmp_path / "var"),
        "AIOPS_ENV_FILE": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "pilots.example.com",
    "DATABASE_URL": "postgres://aiops:secret@db.example.com:5432/aiops",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("email_url", "backend"),
    [
        ("consolemail://", "django.core.mail.backends.console.EmailBackend"),
        ("filemail:///tmp/emails", "django.core.mail.backends.filebased.EmailBackend"),
    ],
)
def test_an_email_backend_that_writes_links_to_the_output_fails_the_deploy_check(
    tmp_path, email_url, backend
):
    # The prompt emails hold the recipient next to the answer link (its token).
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), "EMAIL_URL": email_url}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "aiops.E001" in result.stderr + result.stdout
    assert backend in result.stderr + result.stdout


def test_no_email_url_with_debug_off_fails_the_deploy_check(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_URL"}
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = manage("check", "--deploy", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "aiops.E001" in result.stderr + result.stdout


def test_the_console_email_backend_passes_the_check_in_debug(tmp_path):
    result = manage("check", "--deploy", env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert "aiops.E001" not in result.stderr + result.stdout


def test_a_missing_secret_key_with_debug_off_fails_clearly(tmp_path):
    result = manage("check", env=PRODUCTION, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_weak_secret_key_fails_the_deploy_check(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": "short"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


def test_with_no_environment_it_uses_sqlite_and_the_filesystem_broker(tmp_path):
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
        "'debug': s.DEBUG, 'email': s.EMAIL_BACKEND, 'tz': s.TIME_ZONE}))"
    )
    result = manage("shell", "-c", code, env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "engine": "django.db.backends.sqlite3",
        "broker": "filesystem://",
        "debug": True,
        "email": "django.core.mail.backends.console.EmailBackend",
        "tz": "Europe/Paris",
    }
    assert (tmp_path / "var" / "celery-broker" / "queue").is_dir()


@pytest.mark.parametrize(
    ("name", "value", "setting", "expected"),
    [
        ("TIME_ZONE", "UTC", "TIME_ZONE", "UTC"),
        (
            "DATABASE_URL",
            "postgres://u:p@db:5432/x",
            "DATABASES['default']['ENGINE']",
            "django.db.backends.postgresql",
        ),
    ],
)
def test_the_environment_overrides_the_defaults(tmp_path, name, value, setting, expected):
    code = f"from django.conf import settings as s; print(s.{setting})"
    result = manage("shell", "-c", code, env={"DEBUG": "1", name: value}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


@pytest.mark.parametrize(("trust", "secure"), [(None, False), ("0", False), ("1", True)])
def test_x_forwarded_proto_is_trusted_only_when_configured(tmp_path, trust, secure):
    # Without a proxy that sets the header (and drops a client's own), anyone could claim HTTPS.
    code = (
        "from django.test import RequestFactory; "
        "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure())"
    )
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    if trust is not None:
        env["TRUST_X_FORWARDED_PROTO"] = trust
    result = manage("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(secure)


def test_production_settings_behind_a_proxy_pass_the_deploy_check(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), "TRUST_X_FORWARDED_PROTO": "1"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_developers_env_file_is_read_and_the_real_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nSECRET_KEY=from-the-file\nTIME_ZONE=Asia/Tokyo\n")
    code = (
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.SECRET_KEY, settings.TIME_ZONE)"
    )
    env = {"AIOPS_ENV_FILE": str(env_file), "TIME_ZONE": "UTC"}
    result = manage("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", "from-the-file", "UTC"]


def test_without_an_env_file_a_missing_secret_key_still_stops_everything(tmp_path):
    env = {"AIOPS_ENV_FILE": str(tmp_path / "absent.env")}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
