"""What the propose page shows beside the tool a lead chose, provided from above.

Earlier pilots' learnings live in `decisions` (a higher layer): `decisions.apps` registers a
provider here, so the propose page shows them without pilots importing decisions. A provider
takes the person and the chosen tool's id and returns a context for the template it names
(key "template"), or None to show nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ToolHint = Callable[[object, int | None], dict | None]

_tool_hints: list[ToolHint] = []


def register_tool_hint(provider: ToolHint) -> None:
    if provider not in _tool_hints:
        _tool_hints.append(provider)


def tool_hints(user, tool_id: int | None) -> list[dict]:
    """What each registered provider has to show about this tool, in registration order."""
    return [hint for hint in (p(user, tool_id) for p in _tool_hints) if hint is not None]
