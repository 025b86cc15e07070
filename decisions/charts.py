"""Server-rendered SVG charts: readable without JavaScript, with a title and a description.

Every chart is an <svg role="img" aria-labelledby="<title id> <desc id>"> whose <desc> states
the figures in words, so a screen reader gets the same information as the picture. A chart
with nothing to draw is a sentence saying so, never empty axes.

Each chart is drawn twice, for a wide and a narrow frame, and the stylesheet shows the one
that fits the screen (`.chart-wide` / `.chart-narrow`): an SVG scales its text with its width,
so one drawing cannot be legible both at 1280 and at 375 pixels. The hidden one is
`display: none`, which also hides it from screen readers.

Dates and numbers are formatted in the reader's language (Django's locale formats). All text
is escaped here; the result is marked safe only once it is fully built.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.formats import date_format, get_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from feedback import stats
from feedback.results import summary_of, summary_of_entry

if TYPE_CHECKING:
    from feedback.models import FeedbackRound
    from pilots.models import SuccessMetric

# Line colours: each has at least 3:1 contrast on white (WCAG 1.4.11, graphical objects).
PALETTE = ["#1f5f99", "#b04e15", "#2e7d32", "#7b1fa2", "#6d4c41", "#00838f", "#ad1457", "#546e7a"]
# The second cue of each series, so that no series is told from another by colour alone.
DASHES = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 5", "12 4 4 4", "6 2 1 2"]
MARKERS = ["circle", "square", "triangle", "diamond", "triangle-down", "plus", "cross", "bar"]
INK, AXIS, TARGET = "#1d2330", "#555", "#b04e15"
VALUE = "#1f5f99"


@dataclass(frozen=True)
class Frame:
    """The geometry one drawing of a chart is made for."""

    name: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    inset: int  # between the y axis (and the right edge) and the first (last) x position
    font: int
    max_labels: int  # x labels drawn at most, so that they never run into each other


WIDE = Frame("wide", 640, 240, 52, 24, 16, 40, 20, 12, 8)
NARROW = Frame("narrow", 360, 260, 44, 16, 16, 40, 24, 12, 4)
FRAMES = (WIDE, NARROW)


def _num(value: float) -> str:
    """A number in the reader's language, with at most two decimals (3.5, 3,5, 4)."""
    return number_format(Decimal(f"{value:.2f}".rstrip("0").rstrip(".")))


number = _num  # for the tables that print the same figures as the charts


def _abbreviated(format_name: str) -> str:
    # The locale's order (“Sept. 24” in English, “24 sept.” in French) with the month name
    # abbreviated ("N"), so that an axis holds its labels.
    return get_format(format_name).replace("F", "N")


def day_label(day: datetime.date) -> str:
    """A short day label for an axis, in the reader's language."""
    return date_format(day, _abbreviated("MONTH_DAY_FORMAT"))


def month_label(month: datetime.date) -> str:
    """A short month label for an axis, in the reader's language."""
    return date_format(month, _abbreviated("YEAR_MONTH_FORMAT"))


def _empty(chart_id: str, text: str) -> SafeString:
    return mark_safe(  # noqa: S308 # nosec B308 B703: the text is escaped
        f'<p class="chart-empty" id="{escape(chart_id)}">{escape(text)}</p>'
    )


def _svg(chart_id: str, frame: Frame, title: str, desc: str, body: list[str]) -> str:
    svg_id = f"{chart_id}-{frame.name}"
    title_id, desc_id = f"{svg_id}-title", f"{svg_id}-desc"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{frame.name}" '
            f'role="img" viewBox="0 0 {frame.width} {frame.height}" width="100%" '
            f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" id="{escape(svg_id)}" '
            f'font-size="{frame.font}" fill="{INK}">',
            f'<title id="{escape(title_id)}">{escape(title)}</title>',
            f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _drawn(
    chart_id: str,
    title: str,
    desc: str,
    draw: Callable[[Frame], list[str]],
    after: str = "",
) -> SafeString:
    svgs = [_svg(chart_id, frame, title, desc, draw(frame)) for frame in FRAMES]
    return mark_safe(  # noqa: S308 # nosec B308 B703: every text is escaped
        "\n".join([f'<div class="chart-drawing" id="{escape(chart_id)}">', *svgs, after, "</div>"])
    )


class _Scale:
    def __init__(self, frame: Frame, low: float, high: float, count: int) -> None:
        self.frame = frame
        self.low, self.high = low, high if high > low else low + 1.0
        self.count = max(count, 1)

    def x(self, index: int) -> float:
        f = self.frame
        # Inset from the axes, so the first and last bars do not straddle them.
        span = f.width - f.left - f.right - 2 * f.inset
        if self.count == 1:
            return f.left + f.inset + span / 2
        return f.left + f.inset + span * index / (self.count - 1)

    def y(self, value: float) -> float:
        f = self.frame
        span = f.height - f.top - f.bottom
        return f.top + span * (1 - (value - self.low) / (self.high - self.low))

    @property
    def slot(self) -> float:
        """The horizontal room of one x position."""
        f = self.frame
        return (f.width - f.left - f.right) / self.count


def _shown_labels(count: int, most: int) -> list[int]:
    """Indexes of the x labels to draw: the first, the last, and evenly spaced ones between."""
    if count <= most:
        return list(range(count))
    step = math.ceil((count - 1) / (most - 1))
    shown = list(range(0, count, step))
    if shown[-1] != count - 1:
        if count - 1 - shown[-1] < step:
            shown.pop()  # closer to the last one than the others are apart: they would touch
        shown.append(count - 1)
    return shown


def _axes(scale: _Scale, labels: list[str], ticks: list[float], unit: str = "") -> list[str]:
    f = scale.frame
    bottom = f.height - f.bottom
    body = [
        f'<line class="axis" x1="{f.left}" y1="{bottom}" x2="{f.width - f.right}" '
        f'y2="{bottom}" stroke="{AXIS}"/>',
        f'<line class="axis" x1="{f.left}" y1="{f.top}" x2="{f.left}" y2="{bottom}" '
        f'stroke="{AXIS}"/>',
    ]
    for tick in ticks:
        y = scale.y(tick)
        body.append(
            f'<text class="tick" x="{f.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_num(tick))}{escape(unit)}</text>"
        )
    for i in _shown_labels(len(labels), f.max_labels):
        body.append(
            f'<text class="x-label" x="{scale.x(i):.1f}" y="{bottom + 18}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    return body


def _nice_ticks(low: float, high: float, *, whole: bool = False) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering [low, high].

    `whole`: counts, whose ticks are whole numbers (no 2.5 step, none below 1).
    """
    if high <= low:
        high = low + 1.0
    raw = (high - low) / 4
    power = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multiples if m * power >= raw)
    if whole:
        step = max(1.0, step)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9:
        ticks.append(ticks[-1] + step)
    return ticks


def metric_chart(metric: SuccessMetric, rounds: list[FeedbackRound]) -> SafeString:
    """Value of a metric per round (oldest first) with its 95% band and the target line."""
    target = float(metric.target)
    chart_id = f"chart-metric-{metric.pk}"
    points = []
    for i, r in enumerate(rounds):
        # The same summary and interval the metric's status is judged from (yes/no included).
        summary = summary_of(r.results, metric.question_key)
        if summary is None or summary.mean is None:
            continue
        ci = stats.interval(summary)
        low, high = (ci.low, ci.high) if ci else (summary.mean, summary.mean)
        points.append((i, summary.mean, low, high, r))
    if not points:
        return _empty(
            chart_id,
            _("No round has enough answers to show this metric yet; target %(target)s.")
            % {"target": _num(target)},
        )
    labels = [day_label(r.period_start) for r in rounds]
    values = [target] + [v for p in points for v in p[1:4]]
    ticks = _nice_ticks(min(values), max(values))
    title = _("%(metric)s per round, with its 95%% interval and the target %(target)s") % {
        "metric": metric.name,
        "target": _num(target),
    }
    desc = _("Target %(target)s. ") % {"target": _num(target)} + " ".join(
        _("Round of %(date)s: %(mean)s (95%% interval %(low)s to %(high)s).")
        % {
            "date": date_format(r.period_start, "DATE_FORMAT"),
            "mean": _num(m),
            "low": _num(lo),
            "high": _num(hi),
        }
        for _i, m, lo, hi, r in points
    )
    # One band and one line per run of consecutive rounds: a withheld round leaves a gap.
    runs: list[list[tuple]] = []
    for point in points:
        if runs and runs[-1][-1][0] == point[0] - 1:
            runs[-1].append(point)
        else:
            runs.append([point])

    def draw(frame: Frame) -> list[str]:
        scale = _Scale(frame, ticks[0], ticks[-1], len(rounds))
        body = _axes(scale, labels, ticks)
        for run in (r for r in runs if len(r) > 1):
            upper = " ".join(f"{scale.x(i):.1f},{scale.y(hi):.1f}" for i, _m, _lo, hi, _r in run)
            lower = " ".join(
                f"{scale.x(i):.1f},{scale.y(lo):.1f}" for i, _m, lo, _hi, _r in reversed(run)
            )
            body.append(
                f'<polygon class="band" points="{upper} {lower}" fill="{VALUE}" '
                f'fill-opacity="0.15"/>'
            )
            line = " ".join(f"{scale.x(i):.1f},{scale.y(m):.1f}" for i, m, _lo, _hi, _r in run)
            body.append(
                f'<polyline class="value" points="{line}" fill="none" stroke="{VALUE}" '
                f'stroke-width="2"/>'
            )
        for i, m, lo, hi, _r in points:
            x = scale.x(i)
            body.append(
                f'<line class="interval" x1="{x:.1f}" y1="{scale.y(lo):.1f}" x2="{x:.1f}" '
                f'y2="{scale.y(hi):.1f}" stroke="{VALUE}"/>'
            )
            body.append(
                f'<circle class="point" cx="{x:.1f}" cy="{scale.y(m):.1f}" r="3.5" fill="{VALUE}"/>'
            )
        ty = scale.y(target)
        right = frame.width - frame.right
        body.append(
            f'<line class="target" x1="{frame.left}" y1="{ty:.1f}" x2="{right}" '
            f'y2="{ty:.1f}" stroke="{TARGET}" stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
        # A white halo keeps the label legible where it crosses the band or a line.
        body.append(
            f'<text class="target-label" x="{right}" y="{ty - 5:.1f}" text-anchor="end" '
            f'fill="{TARGET}" stroke="#fff" stroke-width="3" paint-order="stroke">'
            f"{escape(_('target'))} {escape(_num(target))}</text>"
        )
        return body

    return _drawn(chart_id, title, desc, draw)


def response_rate_chart(rounds: list[FeedbackRound]) -> SafeString:
    """Response rate per round (oldest first), as bars from 0 to 100%."""
    chart_id = "chart-response-rate"
    bars = [(i, 100.0 * r.response_rate, r) for i, r in enumerate(rounds) if r.invited_count]
    if not bars:
        return _empty(chart_id, _("No closed round yet."))
    labels = [day_label(r.period_start) for r in rounds]
    title = _("Response rate per round")
    desc = (
        "; ".join(
            _("%(date)s: %(rate)d%% (%(responses)d of %(invited)d)")
            % {
                "date": date_format(r.period_start, "DATE_FORMAT"),
                "rate": round(rate),
                "responses": r.response_count,
                "invited": r.invited_count,
            }
            for _i, rate, r in bars
        )
        + "."
    )

    def draw(frame: Frame) -> list[str]:
        scale = _Scale(frame, 0.0, 100.0, len(rounds))
        body = _axes(scale, labels, [0, 25, 50, 75, 100], "%")
        width = max(2.0, min(28.0, scale.slot * 0.6))
        bottom = frame.height - frame.bottom
        for i, rate, _r in bars:
            x, y = scale.x(i), scale.y(rate)
            body.append(
                f'<rect class="bar" x="{x - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{bottom - y:.1f}" fill="#2e7d32"/>'
            )
        return body

    return _drawn(chart_id, title, desc, draw)


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    """A series' marker shape, centred on (x, y), about 9 units across."""
    r = 4.5
    fill = f'fill="{colour}"'
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 0.5}" {fill}/>'
    if kind == "square":
        return f'<rect x="{x - r + 0.8:.1f}" y="{y - r + 0.8:.1f}" width="{2 * r - 1.6:.1f}" height="{2 * r - 1.6:.1f}" {fill}/>'  # noqa: E501
    if kind == "triangle":
        return f'<path d="M{x:.1f} {y - r:.1f}L{x + r:.1f} {y + r - 0.8:.1f}H{x - r:.1f}Z" {fill}/>'
    if kind == "triangle-down":
        return f'<path d="M{x:.1f} {y + r:.1f}L{x + r:.1f} {y - r + 0.8:.1f}H{x - r:.1f}Z" {fill}/>'
    if kind == "diamond":
        return (
            f'<path d="M{x:.1f} {y - r - 0.5:.1f}L{x + r:.1f} {y:.1f}L{x:.1f} {y + r + 0.5:.1f}'
            f'L{x - r:.1f} {y:.1f}Z" {fill}/>'
        )
    stroke = f'stroke="{colour}" stroke-width="2.5" fill="none"'
    if kind == "plus":
        return (
            f'<path d="M{x - r:.1f} {y:.1f}H{x + r:.1f}M{x:.1f} {y - r:.1f}V{y + r:.1f}" {stroke}/>'
        )
    if kind == "cross":
        d = r * 0.8
        return (
            f'<path d="M{x - d:.1f} {y - d:.1f}L{x + d:.1f} {y + d:.1f}M{x - d:.1f} {y + d:.1f}'
            f'L{x + d:.1f} {y - d:.1f}" {stroke}/>'
        )
    return f'<path d="M{x - r:.1f} {y:.1f}H{x + r:.1f}" stroke="{colour}" stroke-width="4"/>'


def _series_style(k: int) -> tuple[str, str, str]:
    return PALETTE[k % len(PALETTE)], DASHES[k % len(DASHES)], MARKERS[k % len(MARKERS)]


def _dash(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


def stage_history_chart(
    months: list[datetime.date], series: list[tuple[str, list[int]]]
) -> SafeString:
    """Number of pilots in each stage at the end of each month, one line per stage.

    Each stage has its colour, its dash pattern and its marker shape; the legend is a list
    below the chart, so it never covers the lines and reflows on a narrow screen.
    """
    chart_id = "chart-stage-history"
    if not series:
        return _empty(chart_id, _("No pilot yet."))
    labels = [month_label(m) for m in months]
    top = max([1, *(c for _label, counts in series for c in counts)])
    ticks = _nice_ticks(0.0, float(top), whole=True)
    title = _("Pilots per stage at the end of each month")
    desc = (
        "; ".join(
            _("%(stage)s: %(counts)s")
            % {
                "stage": label,
                "counts": ", ".join(
                    f"{date_format(m, 'YEAR_MONTH_FORMAT')} {c}"
                    for m, c in zip(months, counts, strict=True)
                ),
            }
            for label, counts in series
        )
        + "."
    )

    def draw(frame: Frame) -> list[str]:
        scale = _Scale(frame, ticks[0], ticks[-1], len(months))
        body = _axes(scale, labels, ticks)
        # Stages often share a count (0 most of all): each series is drawn a little to the side
        # of the month's position — never above or below it — so that every marker shows.
        step = min(7.0, scale.slot * 0.5 / len(series))
        for k, (label, counts) in enumerate(series):
            colour, dash, marker = _series_style(k)
            dodge = (k - (len(series) - 1) / 2) * step
            xs = [scale.x(i) + dodge for i in range(len(counts))]
            line = " ".join(f"{x:.1f},{scale.y(c):.1f}" for x, c in zip(xs, counts, strict=True))
            body.append(f'<g class="series" data-series="{escape(label)}">')
            body.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{_dash(dash)}/>'
            )
            body.extend(
                _marker(marker, x, scale.y(c), colour) for x, c in zip(xs, counts, strict=True)
            )
            body.append("</g>")
        return body

    legend = ['<ul class="chart-legend">']
    for k, (label, _counts) in enumerate(series):
        colour, dash, marker = _series_style(k)
        legend.append(
            '<li><svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false" '
            'width="40" height="14" viewBox="0 0 40 14">'
            f'<line x1="1" y1="7" x2="39" y2="7" stroke="{colour}" stroke-width="2"'
            f"{_dash(dash)}/>{_marker(marker, 20, 7, colour)}</svg> {escape(label)}</li>"
        )
    legend.append("</ul>")
    return _drawn(chart_id, title, desc, draw, after="".join(legend))


# ---------------------------------------------------------------------------------------------
# Results at a glance: one bar per row of the results table, all on one axis


@dataclass(frozen=True)
class ChangeAxis:
    """The shared axis of a results table: change from the baseline, in percent."""

    low: float
    high: float
    ticks: tuple[float, ...]

    def x(self, value: float, width: float = 200, pad: float = 6) -> float:
        span = (self.high - self.low) or 1.0
        return pad + (value - self.low) / span * (width - 2 * pad)


BAR_WIDTH, BAR_HEIGHT = 200, 28


def change_axis(values: list[float]) -> ChangeAxis | None:
    """One axis for every bar of a table, holding 0 (the baseline) and every value given."""
    if not values:
        return None
    ticks = _nice_ticks(min([0.0, *values]), max([0.0, *values]))
    return ChangeAxis(ticks[0], ticks[-1], tuple(ticks))


def _percent(value: float) -> str:
    return _("%(value)s%%") % {"value": ("+" if value > 0 else "") + _num(value)}


def change_axis_svg(axis: ChangeAxis) -> SafeString:
    """The scale above the bars' column: its ticks in percent of the baseline."""
    # The end ticks are anchored inside the box, so their labels are never cut at its edges.
    last = len(axis.ticks) - 1
    anchors = ["start" if i == 0 else "end" if i == last else "middle" for i in range(last + 1)]
    labels = [
        f'<text x="{axis.x(t, BAR_WIDTH):.1f}" y="12" text-anchor="{anchor}" font-size="10">'
        f"{escape(_percent(t))}</text>"
        for t, anchor in zip(axis.ticks, anchors, strict=True)
    ]
    return mark_safe(  # noqa: S308 - every text is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" class="change-axis" viewBox="0 0 {BAR_WIDTH} 16" '
        f'width="100%" aria-hidden="true" fill="{INK}">{"".join(labels)}</svg>'
    )


def interval_bar(
    bar_id: str,
    axis: ChangeAxis,
    *,
    name: str,
    estimate: float,
    low: float | None,
    high: float | None,
    target: float,
) -> SafeString:
    """A row's interval as a bar on the shared axis, its estimate a dot, the target a tick.

    All in percent of the baseline; 0 (the baseline) is the dotted line.
    """
    title = _("%(metric)s: change from the baseline") % {"metric": name}
    if low is not None and high is not None:
        desc = _(
            "Estimate %(estimate)s (95%% interval %(low)s to %(high)s) against a target of "
            "%(target)s, in percent of the baseline."
        ) % {
            "estimate": _percent(estimate),
            "low": _percent(low),
            "high": _percent(high),
            "target": _percent(target),
        }
    else:
        desc = _(
            "Estimate %(estimate)s against a target of %(target)s, in percent of the baseline."
        ) % {
            "estimate": _percent(estimate),
            "target": _percent(target),
        }
    title_id, desc_id = f"{bar_id}-title", f"{bar_id}-desc"
    mid = BAR_HEIGHT / 2
    body = [
        f'<line class="baseline" x1="{axis.x(0, BAR_WIDTH):.1f}" y1="2" '
        f'x2="{axis.x(0, BAR_WIDTH):.1f}" y2="{BAR_HEIGHT - 2}" stroke="{AXIS}" '
        f'stroke-dasharray="2 2"/>'
    ]
    if low is not None and high is not None:
        x1, x2 = axis.x(low, BAR_WIDTH), axis.x(high, BAR_WIDTH)
        body.append(
            f'<rect class="interval" x="{x1:.1f}" y="{mid - 5:.1f}" width="{max(x2 - x1, 1):.1f}" '
            f'height="10" fill="{VALUE}" fill-opacity="0.3" stroke="{VALUE}"/>'
        )
    body.append(
        f'<circle class="estimate" cx="{axis.x(estimate, BAR_WIDTH):.1f}" cy="{mid:.1f}" r="4" '
        f'fill="{VALUE}"/>'
    )
    tx = axis.x(target, BAR_WIDTH)
    body.append(
        f'<line class="target" x1="{tx:.1f}" y1="1" x2="{tx:.1f}" y2="{BAR_HEIGHT - 1}" '
        f'stroke="{TARGET}" stroke-width="2.5"/>'
    )
    return mark_safe(  # noqa: S308 - every text is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" class="interval-bar" role="img" '
        f'viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" width="100%" id="{escape(bar_id)}" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">'
        f'<title id="{escape(title_id)}">{escape(title)}</title>'
        f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>{"".join(body)}</svg>'
    )


# ---------------------------------------------------------------------------------------------
# Trends: every number, scale and yes/no question of a pilot across its rounds

TREND_KINDS = ("number", "scale", "yes_no")


@dataclass(frozen=True)
class TrendPoint:
    index: int  # the round's position on the x axis (oldest first)
    value: float  # a mean, or a share of "yes" in percent
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class Trend:
    """One question across rounds: a point only where its figures were shown."""

    key: str
    text: str
    kind: str
    unit: str
    points: tuple[TrendPoint, ...]
    withheld: tuple[int, ...]  # rounds (x positions) with no point

    @property
    def share(self) -> bool:
        return self.kind == "yes_no"


def _trend_point(index: int, entry: dict) -> TrendPoint | None:
    # The summary and interval of the stored, shown figures: a question withheld under the
    # anonymity threshold has no summary, so it gives no point (never a zero).
    summary = summary_of_entry(entry)
    if summary is None or summary.mean is None:
        return None
    ci = stats.interval(summary)
    low, high = (ci.low, ci.high) if ci else (None, None)
    if summary.proportion:
        scale = 100.0
        return TrendPoint(
            index,
            summary.mean * scale,
            low * scale if low is not None else None,
            high * scale if high is not None else None,
            summary.n,
        )
    return TrendPoint(index, summary.mean, low, high, summary.n)


def question_trends(round_rows: list[dict]) -> list[Trend]:
    """Each number, scale and yes/no question of these rounds (oldest first), one trend each.

    `round_rows` are decisions.evidence.round_row dicts (worded in the reader's language); no
    query. A question is listed when any round that met the anonymity threshold asked it; its
    points are the rounds where it had the threshold's answers itself.
    """
    order: list[str] = []
    words: dict[str, dict] = {}
    for row in round_rows:
        for q in row["questions"]:
            if q.get("kind") not in TREND_KINDS:
                continue
            if q["key"] not in words:
                order.append(q["key"])
            words[q["key"]] = q  # the newest round's words win
    trends = []
    for key in order:
        points = []
        for i, row in enumerate(round_rows):
            entry = next((q for q in row["questions"] if q.get("key") == key), None)
            point = _trend_point(i, entry) if entry else None
            if point is not None:
                points.append(point)
        shown = {p.index for p in points}
        trends.append(
            Trend(
                key=key,
                text=str(words[key].get("text") or key),
                kind=words[key]["kind"],
                unit=str(words[key].get("unit") or ""),
                points=tuple(points),
                withheld=tuple(i for i in range(len(round_rows)) if i not in shown),
            )
        )
    return trends


def trend_chart(trend: Trend, rounds: list[FeedbackRound]) -> SafeString:
    """A question's mean (or share of "yes") per round, with its 95% interval.

    Rounds where the question's figures were withheld have no point and break the line; the
    description names them, so a screen reader hears the same gaps.
    """
    chart_id = f"chart-question-{trend.key}"
    if not trend.points:
        return _empty(
            chart_id,
            _("No round has enough answers to this question to show it yet."),
        )
    labels = [day_label(r.period_start) for r in rounds]
    share = trend.share

    def figure(value: float) -> str:
        return _("%(value)s%%") % {"value": _num(value)} if share else _num(value)

    if share:
        title = _("%(question)s: share of “yes” per round, with its 95%% interval") % {
            "question": trend.text
        }
        ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
    else:
        title = _("%(question)s: mean per round, with its 95%% interval") % {"question": trend.text}
        values = [v for p in trend.points for v in (p.value, p.low, p.high) if v is not None]
        ticks = _nice_ticks(min(values), max(values))
    sentences = []
    for p in trend.points:
        date = date_format(rounds[p.index].period_start, "DATE_FORMAT")
        if p.low is not None and p.high is not None:
            sentences.append(
                _(
                    "Round of %(date)s: %(value)s (95%% interval %(low)s to %(high)s, "
                    "%(n)d answers)."
                )
                % {
                    "date": date,
                    "value": figure(p.value),
                    "low": figure(p.low),
                    "high": figure(p.high),
                    "n": p.n,
                }
            )
        else:
            sentences.append(
                _("Round of %(date)s: %(value)s (%(n)d answers).")
                % {"date": date, "value": figure(p.value), "n": p.n}
            )
    if trend.withheld:
        sentences.append(
            _("No figure for the rounds of %(dates)s: too few answers to show.")
            % {
                "dates": ", ".join(
                    date_format(rounds[i].period_start, "DATE_FORMAT") for i in trend.withheld
                )
            }
        )
    desc = " ".join(sentences)
    runs: list[list[TrendPoint]] = []
    for point in trend.points:
        if runs and runs[-1][-1].index == point.index - 1:
            runs[-1].append(point)
        else:
            runs.append([point])

    def draw(frame: Frame) -> list[str]:
        scale = _Scale(frame, ticks[0], ticks[-1], len(rounds))
        body = _axes(scale, labels, ticks, "%" if share else "")
        for run in (r for r in runs if len(r) > 1):
            line = " ".join(f"{scale.x(p.index):.1f},{scale.y(p.value):.1f}" for p in run)
            body.append(
                f'<polyline class="value" points="{line}" fill="none" stroke="{VALUE}" '
                f'stroke-width="2"/>'
            )
        for p in trend.points:
            x = scale.x(p.index)
            if p.low is not None and p.high is not None:
                body.append(
                    f'<line class="interval" x1="{x:.1f}" y1="{scale.y(p.low):.1f}" '
                    f'x2="{x:.1f}" y2="{scale.y(p.high):.1f}" stroke="{VALUE}"/>'
                )
            body.append(
                f'<circle class="point" data-round="{p.index}" cx="{x:.1f}" '
                f'cy="{scale.y(p.value):.1f}" r="3.5" fill="{VALUE}"/>'
            )
        return body

    return _drawn(chart_id, title, desc, draw)
