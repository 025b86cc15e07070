"""Server-rendered SVG charts: readable without JavaScript, with a title and a description.

Every chart is an <svg role="img" aria-labelledby="<title id> <desc id>"> whose <desc> states
the figures in words, so a screen reader gets the same information as the picture. All text
is escaped here; the result is marked safe only once it is fully built.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from feedback import stats
from feedback.results import summary_of

if TYPE_CHECKING:
    from feedback.models import FeedbackRound

    from .models import SuccessMetric

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36
INSET = 16
PALETTE = ["#1f5f99", "#c2571a", "#2e7d32", "#7b1fa2", "#6d4c41", "#00838f", "#ad1457", "#546e7a"]


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, title: str, desc: str, body: list[str]) -> SafeString:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'aria-labelledby="{title_id} {desc_id}" id="{escape(chart_id)}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(desc)}</desc>',
        *body,
        "</svg>",
    ]
    return mark_safe("\n".join(parts))  # noqa: S308 - every interpolated text is escaped above


class _Scale:
    def __init__(self, low: float, high: float, count: int) -> None:
        if high <= low:
            high = low + 1.0
        pad = (high - low) * 0.05
        self.low, self.high, self.count = low - pad, high + pad, max(count, 1)

    def x(self, index: int) -> float:
        # Inset from the axes, so the first and last bars do not straddle them.
        span = WIDTH - LEFT - RIGHT - 2 * INSET
        if self.count == 1:
            return LEFT + INSET + span / 2
        return LEFT + INSET + span * index / (self.count - 1)

    def y(self, value: float) -> float:
        span = HEIGHT - TOP - BOTTOM
        return TOP + span * (1 - (value - self.low) / (self.high - self.low))


def _axes(scale: _Scale, labels: list[str], ticks: list[float], unit: str = "") -> list[str]:
    body = [
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}" stroke="#555"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="#555"/>',
    ]
    for tick in ticks:
        y = scale.y(tick)
        body.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(_num(tick))}{escape(unit)}</text>"
        )
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step and i != len(labels) - 1:
            continue
        body.append(
            f'<text x="{scale.x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle" font-size="11">{escape(label)}</text>'
        )
    return body


def _nice_ticks(low: float, high: float) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9:
        ticks.append(ticks[-1] + step)
    return ticks


def metric_chart(metric: SuccessMetric, rounds: list[FeedbackRound]) -> SafeString:
    """Value of a metric per round (oldest first) with its 95% band and the target line."""
    target = float(metric.target)
    points = []
    for i, r in enumerate(rounds):
        # The same summary and interval the metric's status is judged from (yes/no included).
        summary = summary_of(r.results, metric.question_key)
        if summary is None or summary.mean is None:
            continue
        ci = stats.interval(summary)
        low, high = (ci.low, ci.high) if ci else (summary.mean, summary.mean)
        points.append((i, summary.mean, low, high, r))
    labels = [r.period_start.strftime("%d %b") for r in rounds]
    values = [target] + [v for p in points for v in p[1:4]]
    ticks = _nice_ticks(min(values), max(values))
    scale = _Scale(ticks[0], ticks[-1], len(rounds))
    scale.low, scale.high = ticks[0], ticks[-1]
    title = _("%(metric)s per round, with its 95%% interval and the target %(target)s") % {
        "metric": metric.name,
        "target": _num(target),
    }
    if points:
        desc = _("Target %(target)s. ") % {"target": _num(target)} + " ".join(
            _("Round of %(date)s: %(mean)s (95%% interval %(low)s to %(high)s).")
            % {
                "date": r.period_start.isoformat(),
                "mean": _num(m),
                "low": _num(lo),
                "high": _num(hi),
            }
            for _i, m, lo, hi, r in points
        )
    else:
        desc = _("No round has enough answers to show this metric yet; target %(target)s.") % {
            "target": _num(target)
        }
    body = _axes(scale, labels, ticks)
    # One band and one line per run of consecutive rounds: a withheld round leaves a gap.
    runs: list[list[tuple]] = []
    for point in points:
        if runs and runs[-1][-1][0] == point[0] - 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    for run in (r for r in runs if len(r) > 1):
        upper = " ".join(f"{scale.x(i):.1f},{scale.y(hi):.1f}" for i, _m, _lo, hi, _r in run)
        lower = " ".join(
            f"{scale.x(i):.1f},{scale.y(lo):.1f}" for i, _m, lo, _hi, _r in reversed(run)
        )
        body.append(
            f'<polygon class="band" points="{upper} {lower}" fill="#1f5f99" fill-opacity="0.15"/>'
        )
        line = " ".join(f"{scale.x(i):.1f},{scale.y(m):.1f}" for i, m, _lo, _hi, _r in run)
        body.append(
            f'<polyline class="value" points="{line}" fill="none" stroke="#1f5f99" '
            f'stroke-width="2"/>'
        )
    for i, m, lo, hi, _r in points:
        x = scale.x(i)
        body.append(
            f'<line class="interval" x1="{x:.1f}" y1="{scale.y(lo):.1f}" x2="{x:.1f}" '
            f'y2="{scale.y(hi):.1f}" stroke="#1f5f99"/>'
        )
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{scale.y(m):.1f}" r="3.5" fill="#1f5f99"/>'
        )
    ty = scale.y(target)
    body.append(
        f'<line class="target" x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" '
        f'y2="{ty:.1f}" stroke="#c2571a" stroke-dasharray="6 4" stroke-width="1.5"/>'
    )
    body.append(
        f'<text x="{WIDTH - RIGHT}" y="{ty - 4:.1f}" text-anchor="end" font-size="11" '
        f'fill="#c2571a">{escape(_("target"))} {escape(_num(target))}</text>'
    )
    return _svg(f"chart-metric-{metric.pk}", title, desc, body)


def response_rate_chart(rounds: list[FeedbackRound]) -> SafeString:
    """Response rate per round (oldest first), as bars from 0 to 100%."""
    scale = _Scale(0.0, 100.0, len(rounds))
    scale.low, scale.high = 0.0, 100.0
    labels = [r.period_start.strftime("%d %b") for r in rounds]
    body = _axes(scale, labels, [0, 25, 50, 75, 100], "%")
    described = []
    span = (WIDTH - LEFT - RIGHT) / max(len(rounds), 1)
    bar = max(2.0, min(28.0, span * 0.6))
    for i, r in enumerate(rounds):
        if not r.invited_count:
            continue
        rate = 100.0 * r.response_count / r.invited_count
        x, y = scale.x(i), scale.y(rate)
        body.append(
            f'<rect class="bar" x="{x - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
            f'height="{HEIGHT - BOTTOM - y:.1f}" fill="#2e7d32"/>'
        )
        described.append(
            _("%(date)s: %(rate)d%% (%(responses)d of %(invited)d)")
            % {
                "date": r.period_start.isoformat(),
                "rate": round(rate),
                "responses": r.response_count,
                "invited": r.invited_count,
            }
        )
    title = _("Response rate per round")
    desc = "; ".join(described) + "." if described else _("No closed round yet.")
    return _svg("chart-response-rate", title, desc, body)


def stage_history_chart(months: list[str], series: list[tuple[str, list[int]]]) -> SafeString:
    """Number of pilots in each stage at the end of each month, one line per stage."""
    top = max([1, *(c for _label, counts in series for c in counts)])
    scale = _Scale(0.0, float(top), len(months))
    scale.low, scale.high = 0.0, float(top)
    body = _axes(scale, months, sorted({0.0, float(top // 2), float(top)}))
    described = []
    for k, (label, counts) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        line = " ".join(f"{scale.x(i):.1f},{scale.y(c):.1f}" for i, c in enumerate(counts))
        body.append(
            f'<polyline class="series" points="{line}" fill="none" '
            f'stroke="{colour}" stroke-width="2"><title>{escape(label)}</title>'
            f"</polyline>"
        )
        body.append(
            f'<text x="{LEFT + 4 + 90 * (k % 6)}" y="{TOP + 10 + 14 * (k // 6)}" '
            f'font-size="11" fill="{colour}">{escape(label)}</text>'
        )
        described.append(
            _("%(stage)s: %(counts)s")
            % {
                "stage": label,
                "counts": ", ".join(f"{m} {c}" for m, c in zip(months, counts, strict=True)),
            }
        )
    title = _("Pilots per stage at the end of each month")
    desc = "; ".join(described) + "." if described else _("No pilot yet.")
    return _svg("chart-stage-history", title, desc, body)
