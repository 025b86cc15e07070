"""Gunicorn's access log, written past Django's logging, holds no answer token."""

from __future__ import annotations

import datetime
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from gunicorn.config import Config
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "aiops_site" / "gunicorn.conf.py"
TOKEN = "k3Y_9sEcReT-t0KeN-0123456789abcdefABCDEF"
# Everything the default and a detailed format could print: the request line, the path, the
# Referer of the page's next request and the Location of a redirect to a fresh answer link.
FORMAT = (
    '%(h)s %(t)s "%(r)s" %(U)s %(s)s "%(f)s" "%(a)s" %({location}o)s %({referer}i)s %({raw_uri}e)s'
)


def gunicorn_config(accesslog: Path) -> Config:
    """Build gunicorn's configuration from the project's config file, as `gunicorn -c` does."""
    cfg = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in cfg.settings:
            cfg.set(name, value)
    cfg.set("accesslog", str(accesslog))
    cfg.set("access_log_format", FORMAT)
    return cfg


def log_one_request(logger: Logger, path: str, referer_path: str | None = None) -> None:
    referer = f"https://pilots.example.com{referer_path or path}"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    request = SimpleNamespace(headers=[("REFERER", referer), ("USER-AGENT", "Mozilla/5.0")])
    response = SimpleNamespace(
        status="302 Found", sent=0, headers=[("Location", f"/feedback/answer/{TOKEN}/")]
    )
    logger.access(response, request, environ, datetime.timedelta(milliseconds=42))


def read_log(cfg: Config, logger: Logger, accesslog: Path) -> str:
    for handler in logger.access_log.handlers:
        handler.flush()
    return accesslog.read_text()


@pytest.mark.parametrize("path", [f"/feedback/answer/{TOKEN}/", "/feedback/prompts/48213/"])
def test_an_answer_request_leaves_no_line_in_the_access_log(tmp_path, path):
    """Its time and the client's address would date the answer (the timing rule)."""
    accesslog = tmp_path / "access.log"
    cfg = gunicorn_config(accesslog)
    logger = cfg.logger_class(cfg)
    log_one_request(logger, path)
    log_one_request(logger, "/pilots/")
    lines = read_log(cfg, logger, accesslog).splitlines()
    assert len(lines) == 1 and "/pilots/" in lines[0]
    assert TOKEN not in lines[0] and "48213" not in lines[0]


def test_the_next_page_after_an_answer_is_logged_without_the_token_in_its_referer(tmp_path):
    accesslog = tmp_path / "access.log"
    cfg = gunicorn_config(accesslog)
    logger = cfg.logger_class(cfg)
    log_one_request(logger, "/feedback/", referer_path=f"/feedback/answer/{TOKEN}/")
    line = read_log(cfg, logger, accesslog)
    assert "203.0.113.7" in line and "/feedback/answer/<redacted>/" in line
    assert TOKEN not in line


def test_gunicorns_own_logger_would_log_the_token(tmp_path):
    # The check above can fail: the same request through the default logger shows the token.
    accesslog = tmp_path / "access.log"
    cfg = gunicorn_config(accesslog)
    cfg.set("logger_class", "gunicorn.glogging.Logger")
    logger = cfg.logger_class(cfg)
    log_one_request(logger, f"/feedback/answer/{TOKEN}/")
    log_one_request(logger, "/feedback/", referer_path=f"/feedback/answer/{TOKEN}/")
    assert read_log(cfg, logger, accesslog).count(TOKEN) >= 2


def test_the_config_keeps_an_access_log_on_stdout():
    settings = runpy.run_path(str(CONF))
    assert settings["accesslog"] == "-"
    assert issubclass(settings["logger_class"], Logger)
    assert settings["bind"] == "0.0.0.0:8000"


def gunicorn_config_path(command: list[str]) -> str:
    for flag in ("--config", "-c"):
        if flag in command:
            return command[command.index(flag) + 1]
    pytest.fail(f"gunicorn runs without the project's config: {command}")


def test_the_compose_web_service_runs_gunicorn_with_the_redacting_config():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    command = services["web"]["command"]
    assert command[0] == "gunicorn"
    assert (ROOT / gunicorn_config_path(command)) == CONF
    # A command-line access log format or logger would override the config's.
    assert not {"--access-logformat", "--logger-class"} & set(command)


def test_the_dockerfile_runs_gunicorn_with_the_redacting_config():
    cmd_line = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    )
    command = yaml.safe_load(cmd_line.removeprefix("CMD").strip())
    assert command[0] == "gunicorn"
    assert (ROOT / gunicorn_config_path(command)) == CONF
    assert not {"--access-logformat", "--logger-class"} & set(command)
