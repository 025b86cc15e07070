"""Rules that were once written several times have one home each; a copy elsewhere fails here.

The review behind issue "One spine" found the ended stages in four lists and the response rate
computed four ways. Each now lives once (pilots.models.ENDED_STAGES;
feedback.models.response_rate and response_rate_sql); this scans the source for a new copy.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "core",
    "pilots",
    "governance",
    "feedback",
    "decisions",
    "notifications",
    "webhooks",
    "api",
    "aiops_site",
)

COPIES = {
    # A list or tuple of the two ended stages, in either order.
    "ended stages": (
        re.compile(r"[\[(]\s*Stage\.(STOPPED|RETIRED),\s*Stage\.(STOPPED|RETIRED)\s*[\])]"),
        {"pilots/models.py"},
    ),
    # responses divided by invited, in Python or in an F() expression.
    "response rate": (
        re.compile(
            r"response_count\W{0,3}(\*\s*1\.0\s*)?/\s*\W{0,5}\w*\.?invited_count|"
            r"responses\s*/\s*invited\b"
        ),
        {"feedback/models.py"},
    ),
}


def scan(root: Path) -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if "/migrations/" in rel:
                continue
            text = path.read_text()
            for rule, (pattern, homes) in COPIES.items():
                if rel not in homes and pattern.search(text):
                    found.append(f"{rule}: {rel}")
    return found


def test_each_rule_is_written_in_its_home_only():
    assert scan(ROOT) == []


def test_the_scan_finds_a_copy(tmp_path):
    (tmp_path / "pilots").mkdir()
    (tmp_path / "pilots" / "views.py").write_text(
        "ENDED = (Stage.STOPPED, Stage.RETIRED)\nrate = r.response_count / r.invited_count\n"
    )
    assert scan(tmp_path) == ["ended stages: pilots/views.py", "response rate: pilots/views.py"]
