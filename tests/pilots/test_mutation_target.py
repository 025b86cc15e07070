"""`make mutation` stays a developer's tool: never in the lock, the image or CI."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = {
    "pilots/lifecycle.py",
    "feedback/stats.py",
    "feedback/results.py",
    "decisions/evidence.py",
    "decisions/guardrails.py",
}


def test_mutmut_is_in_no_lock_file_and_its_files_reach_no_image():
    for lock in ("requirements.lock", "requirements-audit.lock"):
        assert not re.search(r"^mutmut\b", (ROOT / lock).read_text(), re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv-mutation/", "mutants/"} <= set(ignored)


def test_ci_never_runs_the_mutation_campaign():
    assert "mutation" not in (ROOT / ".ci" / "run").read_text()


def test_the_mutation_target_mutates_the_core_rules_and_their_tests_exist():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert set(config["only_mutate"]) == CORE
    for test_file in config["pytest_add_cli_args_test_selection"]:
        assert (ROOT / test_file).is_file(), test_file
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^mutation:", makefile, re.MULTILINE)
    assert ".venv-mutation" in makefile
