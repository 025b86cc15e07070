"""Each access rule has one home: no module recomputes "is Ops" or "leads this pilot".

The source of every app module is read (migrations aside: they must not depend on code that
may change) and searched for the shapes those rules take. Only their homes may contain them:
core/ops.py (who is Ops), pilots/access.py (who leads, sees, edits a pilot) and
feedback/access.py (who may answer, resend, mark away).
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
HOMES = {"core/ops.py", "pilots/access.py", "feedback/access.py"}
# The shapes of a recomputed rule: Ops from the group's name, a lead by id or by membership.
FORBIDDEN = {
    "Ops looked up by group name": re.compile(r"groups__name|groups\.filter\(\s*name"),
    "the Ops group named outside its home": re.compile(r"""name\s*=\s*["']Ops["']"""),
    "a lead compared by id": re.compile(r"\blead_id\s*(==|!=)"),
    "a lead compared as a row": re.compile(r"\.lead\s*(==|!=)"),
    "a lead looked up by membership role": re.compile(
        r"memberships__role\s*=|role\s*=\s*Membership\.Role\.LEAD\s*\)\s*\.exists\(\)"
    ),
}


def offences(root: Path = ROOT) -> list[str]:
    """List every place outside the homes where a rule's shape appears."""
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative in HOMES or "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for rule, pattern in FORBIDDEN.items():
                    if pattern.search(line):
                        found.append(f"{relative}:{number}: {rule}: {line.strip()}")
    return found


def test_no_module_recomputes_an_access_rule_outside_its_home():
    assert offences() == []


def test_the_guard_finds_a_rule_recomputed_outside_its_home(tmp_path):
    module = tmp_path / "pilots" / "views.py"
    module.parent.mkdir()
    module.write_text(
        "leads_it = pilot.lead_id == request.user.pk\n"
        'ops = User.objects.filter(groups__name="Ops")\n'
    )
    home = tmp_path / "pilots" / "access.py"
    home.write_text("leads = pilot.lead_id == user.pk\n")
    found = offences(tmp_path)
    assert len(found) == 3
    assert all(line.startswith("pilots/views.py:") for line in found)
