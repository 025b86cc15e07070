"""The tech radar: which AI tools and uses the organisation adopts, trials, assesses or holds.

An entry is a tool and a use. Pilots have no "use" field: the use is the pilot's title (the
short label a lead writes, e.g. "Ticket reply drafts"), so pilots of one tool with the same
title (compared without case or extra spaces) are one entry — a rerun stays the same entry.

Rings, from the stages (nothing is stored for the radar):
- Adopt = an approved standard, Trial = a pilot, Assess = a sandbox;
- an entry is placed by its most advanced active pilot; with none active, a paused pilot holds
  it in the ring it was paused from (shown as paused);
- Hold = its pilots all stopped or retired, or its tool is not allowed, whatever the stages.
Drafts and proposals are not on the radar: nothing has been tried yet.

History: each entry's ring over time is replayed from the stage history (`StageChange`) of its
pilots and from the tool's approval status as the change log recorded it (`tool.added` /
`tool.changed` records written by pilots.tools); no second source of truth. "Since the last
quarter" compares the ring now with the ring at the end of the previous calendar quarter.
Ring now is read from the pilots' and tools' current rows.

Only pilots the person may see count (Pilot.objects.visible_to). Three queries whatever the
number of pilots: the pilots with their tool and team, their stage changes, the tools'
recorded status changes.
"""

from __future__ import annotations

import datetime
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import ChangeRecord
from pilots.models import AITool, DataClassification, Pilot, Stage, StageChange

ADOPT, TRIAL, ASSESS, HOLD = "adopt", "trial", "assess", "hold"
RINGS = (ADOPT, TRIAL, ASSESS, HOLD)  # inside out
RING_LABELS = {
    ADOPT: gettext_lazy("Adopt"),
    TRIAL: gettext_lazy("Trial"),
    ASSESS: gettext_lazy("Assess"),
    HOLD: gettext_lazy("Hold"),
}
RING_MEANINGS = {
    ADOPT: gettext_lazy("An approved standard: available to every team."),
    TRIAL: gettext_lazy("In pilot: a wider group uses it for real work, under guardrails."),
    ASSESS: gettext_lazy("In sandbox: a small group experiments."),
    HOLD: gettext_lazy("Stopped or retired, or the tool is not allowed."),
}
RING_OF_STAGE = {
    Stage.SANDBOX: ASSESS,
    Stage.PILOT: TRIAL,
    Stage.APPROVED: ADOPT,
    Stage.STOPPED: HOLD,
    Stage.RETIRED: HOLD,
}
ACTIVE_RANK = {ASSESS: 1, TRIAL: 2, ADOPT: 3}
# The quadrants: the data the entry's placing pilot gives the tool.
QUADRANTS = tuple(DataClassification)
ON_RADAR = (*RING_OF_STAGE, Stage.PAUSED)

# How an entry moved since the last quarter.
NEW, MOVED, UNCHANGED = "new", "moved", "unchanged"


@dataclass(frozen=True)
class PilotState:
    """A pilot's ring at some moment: (ring, paused) or None when not on the radar."""

    ring: str | None
    paused: bool = False


def _state(stage: str, paused_from: str = "") -> PilotState:
    if stage == Stage.PAUSED:
        return PilotState(RING_OF_STAGE.get(paused_from), paused=True)
    return PilotState(RING_OF_STAGE.get(stage))


@dataclass
class Entry:
    tool_id: int
    tool: str
    use: str
    number: int = 0
    ring: str = HOLD
    paused: bool = False
    quadrant: str = DataClassification.INTERNAL
    placed_by: dict | None = None  # the pilot that places it: pk, title, stage label, team
    pilots: list[dict] = field(default_factory=list)
    history: list[tuple[datetime.datetime, str]] = field(default_factory=list)
    previous_ring: str | None = None
    movement: str = UNCHANGED

    @property
    def ring_label(self) -> str:
        return str(RING_LABELS[self.ring])

    @property
    def previous_ring_label(self) -> str:
        return str(RING_LABELS[self.previous_ring]) if self.previous_ring else ""

    @property
    def quadrant_label(self) -> str:
        return str(DataClassification(self.quadrant).label)

    @property
    def history_rows(self) -> list[dict]:
        return [{"since": at, "ring": str(RING_LABELS[ring])} for at, ring in self.history]


def use_key(title: str) -> str:
    """The use a pilot's title names, for grouping: lower case, single spaces."""
    return re.sub(r"\s+", " ", title).strip().casefold()


def place(states: list[tuple[PilotState, dict]], *, tool_allowed: bool) -> tuple | None:
    """(ring, paused, the placing pilot) of an entry from its pilots' states, None if off.

    The most advanced active pilot places it; else a paused one, in the ring it left; else
    its ended pilots put it on hold. A tool that is not allowed puts every entry on hold.
    """
    on = [(s, p) for s, p in states if s.ring is not None]
    if not on:
        return None
    active = [(s, p) for s, p in on if s.ring in ACTIVE_RANK and not s.paused]
    paused = [(s, p) for s, p in on if s.ring in ACTIVE_RANK and s.paused]
    if active:
        state, pilot = max(active, key=lambda sp: ACTIVE_RANK[sp[0].ring])
    elif paused:
        state, pilot = max(paused, key=lambda sp: ACTIVE_RANK[sp[0].ring])
    else:
        state, pilot = on[-1]
    if not tool_allowed:
        return HOLD, False, pilot
    return state.ring, state.paused, pilot


def quarter_start(now: datetime.datetime) -> datetime.datetime:
    """The start of the current calendar quarter, local time (the last quarter's end)."""
    local = timezone.localtime(now)
    month = 3 * ((local.month - 1) // 3) + 1
    return local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


class _Timeline:
    """A pilot's stage changes, replayed to its ring at any moment."""

    def __init__(self, changes: list[tuple[datetime.datetime, str, str]]) -> None:
        self.changes = changes  # (when, from, to), oldest first

    def at(self, moment: datetime.datetime) -> PilotState:
        last = None
        for change in self.changes:
            if change[0] > moment:
                break
            last = change
        if last is None:
            return PilotState(None)
        _when, from_stage, to_stage = last
        return _state(to_stage, from_stage if to_stage == Stage.PAUSED else "")


def _tool_status_at(current: str, records: list[tuple], moment: datetime.datetime) -> str | None:
    """A tool's approval status at a moment: today's, undoing the recorded changes since."""
    status = current
    for when, before, _after in reversed(records):  # newest first
        if when <= moment:
            break
        status = before
    return status


def build(user, *, now: datetime.datetime | None = None) -> dict:
    """The radar as this person may see it: entries numbered, grouped by ring and quadrant."""
    now = now or timezone.now()
    since = quarter_start(now)
    pilots = list(
        Pilot.objects.visible_to(user)
        .filter(stage__in=ON_RADAR)
        .order_by("tool__name", "pk")
        .values(
            "pk",
            "title",
            "stage",
            "paused_from",
            "stage_changed_at",
            "data_classification",
            "tool_id",
            "tool__name",
            "tool__approval_status",
            "team__name",
        )
    )
    ids = [p["pk"] for p in pilots]
    timelines: dict[int, list] = defaultdict(list)
    visible_ids = Pilot.objects.visible_to(user).filter(stage__in=ON_RADAR).order_by().values("pk")
    for pilot_id, when, from_stage, to_stage in (
        StageChange.objects.filter(pilot_id__in=visible_ids)
        .order_by("created_at", "pk")
        .values_list("pilot_id", "created_at", "from_stage", "to_stage")
    ):
        timelines[pilot_id].append((when, from_stage, to_stage))
    tool_ids = {p["tool_id"] for p in pilots}
    status_records: dict[int, list] = defaultdict(list)
    if ids:
        for subject_id, when, changes in (
            ChangeRecord.objects.filter(
                Q(action="tool.added") | Q(action="tool.changed"),
                subject_type__app_label="pilots",
                subject_type__model="aitool",
                changes__has_key="approval_status",
            )
            .order_by("created_at", "pk")
            .values_list("subject_id", "created_at", "changes")
        ):
            if subject_id.isdigit() and int(subject_id) in tool_ids:
                before, after = changes["approval_status"]
                status_records[int(subject_id)].append((when, before, after))

    groups: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for p in pilots:
        groups[p["tool_id"], use_key(p["title"])].append(p)

    entries = []
    for (tool_id, _use), members in groups.items():
        first = members[0]
        current_status = first["tool__approval_status"]
        placed = place(
            [(_state(p["stage"], p["paused_from"]), p) for p in members],
            tool_allowed=current_status != AITool.ApprovalStatus.NOT_ALLOWED,
        )
        if placed is None:
            continue
        ring, paused, pilot = placed
        entry = Entry(
            tool_id=tool_id,
            tool=first["tool__name"],
            use=pilot["title"],
            ring=ring,
            paused=paused,
            quadrant=pilot["data_classification"],
            placed_by={
                "pk": pilot["pk"],
                "title": pilot["title"],
                "stage": Stage(pilot["stage"]).label,
                "team": pilot["team__name"],
            },
            pilots=[
                {"pk": p["pk"], "title": p["title"], "stage": Stage(p["stage"]).label}
                for p in members
            ],
        )
        records = status_records.get(tool_id, [])

        def ring_at(moment, members=members, records=records, current=current_status):
            status = _tool_status_at(current, records, moment)
            states = [(_Timeline(timelines.get(p["pk"], [])).at(moment), p) for p in members]
            found = place(states, tool_allowed=status != AITool.ApprovalStatus.NOT_ALLOWED)
            return found[0] if found else None

        moments = sorted(
            {when for p in members for when, _f, _t in timelines.get(p["pk"], [])}
            | {when for when, _b, _a in records}
        )
        for moment in moments:
            ring_then = ring_at(moment)
            if ring_then is not None and (not entry.history or entry.history[-1][1] != ring_then):
                entry.history.append((moment, ring_then))
        if not entry.history or entry.history[-1][1] != ring:
            # Rows written without their stage history (imports): today's ring, from when
            # its placing pilot entered its stage.
            entry.history.append((pilot["stage_changed_at"], ring))
        entry.previous_ring = ring_at(since)
        if entry.previous_ring is None:
            entry.movement = NEW
        elif entry.previous_ring != ring:
            entry.movement = MOVED
        entries.append(entry)

    entries.sort(key=lambda e: (RINGS.index(e.ring), QUADRANTS.index(e.quadrant), e.tool, e.use))
    for number, entry in enumerate(entries, start=1):
        entry.number = number
    rings = []
    for ring in RINGS:
        members = [e for e in entries if e.ring == ring]
        rings.append(
            {
                "key": ring,
                "label": RING_LABELS[ring],
                "meaning": RING_MEANINGS[ring],
                "entries": members,
                "moved_in": [e for e in members if e.movement != UNCHANGED],
                "moved_out": [e for e in entries if e.previous_ring == ring and e.ring != ring],
            }
        )
    return {
        "entries": entries,
        "rings": rings,
        "since": since,
        "svg": radar_svg(entries, since=since),
    }


# ---------------------------------------------------------------------------------------------
# Drawing

SIZE = 640
CENTRE = SIZE / 2
RADII = {ADOPT: 110, TRIAL: 185, ASSESS: 250, HOLD: 305}  # outer radius of each ring
RING_FILLS = {ADOPT: "#dfe9f5", TRIAL: "#e8f0e4", ASSESS: "#f6efe1", HOLD: "#f3e3e3"}
INK, AXIS = "#1d2330", "#555"
MARK = {UNCHANGED: "#1f5f99", MOVED: "#b04e15", NEW: "#2e7d32"}


def _inner(ring: str) -> float:
    index = RINGS.index(ring)
    return 0.0 if index == 0 else RADII[RINGS[index - 1]]


def _positions(entries: list[Entry]) -> dict[int, tuple[float, float]]:
    """Where each entry sits: spread over its quadrant and ring band, never on the axes."""
    cells: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        cells[e.ring, e.quadrant].append(e)
    out = {}
    for (ring, quadrant), members in cells.items():
        q = QUADRANTS.index(quadrant)
        start, end = q * 90 + 8, (q + 1) * 90 - 8  # degrees, clockwise from the right
        low, high = _inner(ring) + 14, RADII[ring] - 12
        lanes = max(1, min(3, int((high - low) // 16)))
        per_lane = math.ceil(len(members) / lanes)
        for i, e in enumerate(members):
            lane, slot = divmod(i, per_lane)
            angle = math.radians(start + (end - start) * (slot + 0.5) / per_lane)
            radius = low + (high - low) * (lane + 0.5) / lanes
            out[e.number] = (CENTRE + radius * math.cos(angle), CENTRE + radius * math.sin(angle))
    return out


def _mark(entry: Entry, x: float, y: float) -> str:
    colour = MARK[entry.movement]
    if entry.movement == MOVED:  # a triangle: moved since the last quarter
        shape = (
            f'<path d="M{x:.1f} {y - 7:.1f}L{x + 7:.1f} {y + 5:.1f}H{x - 7:.1f}Z" fill="{colour}"/>'
        )
    elif entry.movement == NEW:  # a square: new since the last quarter
        shape = f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{colour}"/>'
    else:
        shape = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6.5" fill="{colour}"/>'
    return (
        f'<g class="radar-entry radar-{entry.movement}" data-entry="{entry.number}" '
        f'data-ring="{entry.ring}">{shape}<text x="{x:.1f}" y="{y + 3.5:.1f}" '
        f'text-anchor="middle" font-size="9" fill="#fff">{entry.number}</text></g>'
    )


def radar_svg(entries: list[Entry], *, since: datetime.datetime) -> SafeString:
    """The radar: four rings (Adopt inside, Hold outside), a quadrant per data classification.

    Its description states how many entries each ring and quadrant holds and what moved; the
    table beside it lists every entry with the same numbers.
    """
    title = _("Tech radar of AI tools and uses")
    parts = []
    for ring in RINGS:
        members = [e for e in entries if e.ring == ring]
        parts.append(
            _("%(ring)s: %(count)d (%(quadrants)s).")
            % {
                "ring": RING_LABELS[ring],
                "count": len(members),
                "quadrants": ", ".join(
                    f"{DataClassification(q).label} {sum(1 for e in members if e.quadrant == q)}"
                    for q in QUADRANTS
                ),
            }
        )
    moved = [e for e in entries if e.movement != UNCHANGED]
    parts.append(
        _("Since %(date)s: %(moved)d new or moved.")
        % {"date": date_format(since, "DATE_FORMAT"), "moved": len(moved)}
    )
    desc = " ".join(parts)
    body = []
    for ring in reversed(RINGS):
        body.append(
            f'<circle class="ring ring-{ring}" cx="{CENTRE}" cy="{CENTRE}" r="{RADII[ring]}" '
            f'fill="{RING_FILLS[ring]}" stroke="{AXIS}" stroke-width="1"/>'
        )
    body.append(
        f'<line x1="{CENTRE - RADII[HOLD]}" y1="{CENTRE}" x2="{CENTRE + RADII[HOLD]}" '
        f'y2="{CENTRE}" stroke="{AXIS}"/>'
        f'<line x1="{CENTRE}" y1="{CENTRE - RADII[HOLD]}" x2="{CENTRE}" '
        f'y2="{CENTRE + RADII[HOLD]}" stroke="{AXIS}"/>'
    )
    for ring in RINGS:
        # Ring names along the upward axis, in the middle of each band.
        y = CENTRE - (_inner(ring) + RADII[ring]) / 2
        body.append(
            f'<text class="ring-label" x="{CENTRE + 4}" y="{y + 4:.1f}" font-size="12" '
            f'font-weight="600" fill="{INK}">{escape(RING_LABELS[ring])}</text>'
        )
    corners = [
        (SIZE - 6, SIZE - 6, "end"),  # first quadrant: lower right (angles 0–90° clockwise)
        (6, SIZE - 6, "start"),
        (6, 16, "start"),
        (SIZE - 6, 16, "end"),
    ]
    for quadrant, (x, y, anchor) in zip(QUADRANTS, corners, strict=True):
        body.append(
            f'<text class="quadrant-label" x="{x}" y="{y}" text-anchor="{anchor}" '
            f'font-size="13" font-weight="600" fill="{INK}">'
            f"{escape(DataClassification(quadrant).label)}</text>"
        )
    positions = _positions(entries)
    for e in entries:
        x, y = positions[e.number]
        body.append(_mark(e, x, y))
    return mark_safe(  # noqa: S308 # nosec B308 B703: every text is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" class="radar" role="img" '
        f'viewBox="0 0 {SIZE} {SIZE}" width="100%" aria-labelledby="radar-title radar-desc" '
        f'id="radar-chart" font-family="sans-serif">'
        f'<title id="radar-title">{escape(title)}</title>'
        f'<desc id="radar-desc">{escape(desc)}</desc>{"".join(body)}</svg>'
    )
