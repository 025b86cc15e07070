"""Server-rendered SVG charts: accessible, escaped, honest when empty, in the reader's language."""

import datetime
import itertools
import re
from decimal import Decimal

import pytest
from django.utils import translation

from decisions import charts
from tests.decisions.evidence_support import add_round, scores
from tests.factories import PilotFactory, SuccessMetricFactory

pytestmark = pytest.mark.django_db


def _drawings(html: str) -> list[str]:
    """The chart's SVG drawings (wide and narrow), each checked for its title and description."""
    drawings = re.findall(r'<svg [^>]*class="chart chart-(?:wide|narrow)".*?</svg>', html, re.S)
    assert [re.search(r'chart-(wide|narrow)"', d).group(1) for d in drawings] == [
        "wide",
        "narrow",
    ]
    for svg in drawings:
        assert 'role="img"' in svg
        title_id, desc_id = re.search(r'aria-labelledby="([^" ]+) ([^"]+)"', svg).groups()
        assert f'<title id="{title_id}">' in svg
        assert f'<desc id="{desc_id}">' in svg
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "ids must be unique on the page"
    return drawings


def _x_labels(svg: str) -> list[str]:
    return re.findall(r'<text class="x-label"[^>]*>([^<]*)</text>', svg)


def test_a_metric_chart_has_a_band_points_a_target_line_and_a_description():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("3.5"))
    rounds = [add_round(pilot, scores("quality", [4, 5, 3, 4, 5]), weeks_ago=w) for w in (2, 1, 0)]
    for svg in _drawings(str(charts.metric_chart(metric, rounds))):
        assert svg.count('class="point"') == 3
        assert 'class="band"' in svg
        assert 'class="target"' in svg
        assert "Target 3.5." in svg
        assert "4.2 (95% interval" in svg


def test_a_round_withheld_under_the_threshold_leaves_a_gap(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot)
    rounds = [
        add_round(pilot, scores("quality", [4, 5, 3, 4, 5]), weeks_ago=1),
        add_round(pilot, scores("quality", [1, 1]), weeks_ago=0),
    ]
    for svg in _drawings(str(charts.metric_chart(metric, rounds))):
        assert svg.count('class="point"') == 1


def test_chart_text_is_escaped():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, name="<script>alert(1)</script>")
    rounds = [add_round(pilot, scores("quality", [4, 5, 3, 4, 5]))]
    html = str(charts.metric_chart(metric, rounds))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    _drawings(html)
    legend = str(charts.stage_history_chart([datetime.date(2026, 1, 1)], [("<b>x</b>", [1])]))
    assert "<b>" not in legend and "&lt;b&gt;x&lt;/b&gt;" in legend


def test_a_metric_without_data_says_so_in_words_instead_of_drawing_empty_axes():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"))
    for rounds in ([], [add_round(pilot, scores("trust", [4, 4, 4, 4, 4]))]):
        html = str(charts.metric_chart(metric, rounds))
        assert "<svg" not in html
        assert html == (
            f'<p class="chart-empty" id="chart-metric-{metric.pk}">No round has enough answers '
            "to show this metric yet; target 3.5.</p>"
        )


def test_the_response_rate_chart_draws_one_bar_per_round_and_says_the_rates():
    pilot = PilotFactory(stage="pilot")
    rounds = [
        add_round(pilot, scores("quality", [4] * 5), invited=10, weeks_ago=1),
        add_round(pilot, scores("quality", [4] * 8), invited=8, weeks_ago=0),
    ]
    for svg in _drawings(str(charts.response_rate_chart(rounds))):
        assert svg.count('class="bar"') == 2
        assert "50% (5 of 10)" in svg and "100% (8 of 8)" in svg


def test_the_response_rate_chart_without_an_invitation_says_so_in_words():
    pilot = PilotFactory(stage="pilot")
    nobody_invited = add_round(pilot, [], invited=0)
    for rounds in ([], [nobody_invited]):
        html = str(charts.response_rate_chart(rounds))
        assert "<svg" not in html
        assert "No closed round yet." in html


def test_the_stage_history_chart_describes_each_series():
    months = [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)]
    for svg in _drawings(str(charts.stage_history_chart(months, [("Pilot", [1, 3])]))):
        assert "Pilot: January 2026 1, February 2026 3." in svg


def test_the_stage_history_without_a_pilot_says_so_in_words():
    html = str(charts.stage_history_chart([datetime.date(2026, 1, 1)], []))
    assert "<svg" not in html
    assert "No pilot yet." in html


def test_each_stage_is_told_apart_by_colour_dash_and_marker_with_a_legend_outside_the_plot():
    months = [datetime.date(2026, m, 1) for m in range(1, 7)]
    stages = ["Draft", "Proposed", "Sandbox", "Pilot", "Approved standard", "Paused"]
    series = [(label, [k % 3] * 6) for k, label in enumerate(stages)]
    html = str(charts.stage_history_chart(months, series))
    wide, narrow = _drawings(html)
    for svg in (wide, narrow):
        groups = re.findall(r'<g class="series" data-series="([^"]+)">(.*?)</g>', svg, re.S)
        assert [label for label, _body in groups] == stages
        looks = set()
        for _label, body in groups:
            line = re.search(r"<polyline [^>]*>", body).group(0)
            colour = re.search(r'stroke="([^"]+)"', line).group(1)
            dash = re.search(r'stroke-dasharray="([^"]+)"', line)
            markers = re.findall(r"<(circle|rect|path) ", body)
            assert len(markers) == 6  # one marker per month
            shape = re.search(r"<(?:circle|rect|path) ([^>]*)>", body).group(1)
            shape = re.sub(r"[\d.]+", "n", shape)  # the shape, not where it is
            looks.add((colour, dash and dash.group(1), shape))
        assert len({c for c, _d, _s in looks}) == 6
        assert len({d for _c, d, _s in looks}) == 6
        assert len({s for _c, _d, s in looks}) == 6
        # No legend text inside the plot: only the axes' labels.
        texts = re.findall(r'<text class="([^"]+)"', svg)
        assert set(texts) == {"tick", "x-label"}
    legend = html.split('<ul class="chart-legend">')[1]
    assert re.findall(r"</svg> ([^<]+)</li>", legend) == stages
    assert legend.count('aria-hidden="true"') == 6


def test_counts_are_ticked_in_whole_numbers():
    months = [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)]
    for top, expected in (
        (1, ["0", "1"]),
        (3, ["0", "1", "2", "3"]),
        (7, ["0", "2", "4", "6", "8"]),
    ):
        wide, _narrow = _drawings(str(charts.stage_history_chart(months, [("Pilot", [0, top])])))
        assert re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', wide) == expected


def test_an_axis_draws_few_enough_labels_to_keep_them_apart():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot)
    rounds = [add_round(pilot, scores("quality", [4] * 5), weeks_ago=w) for w in range(23, -1, -1)]
    wide, narrow = _drawings(str(charts.metric_chart(metric, rounds)))
    first, last = (
        charts.day_label(rounds[0].period_start),
        charts.day_label(rounds[-1].period_start),
    )
    for svg, most in ((wide, charts.WIDE.max_labels), (narrow, charts.NARROW.max_labels)):
        labels = _x_labels(svg)
        assert 2 < len(labels) <= most
        assert labels[0] == first and labels[-1] == last
        xs = [float(x) for x in re.findall(r'<text class="x-label" x="([\d.]+)"', svg)]
        gaps = [b - a for a, b in itertools.pairwise(xs)]
        assert min(gaps) >= max(gaps) / 2


@pytest.mark.parametrize("most", [charts.WIDE.max_labels, charts.NARROW.max_labels])
def test_the_labels_drawn_include_the_first_and_last_and_are_evenly_apart(most):
    for count in range(1, 40):
        shown = charts._shown_labels(count, most)
        assert shown[0] == 0 and shown[-1] == count - 1
        assert len(shown) <= most
        gaps = [b - a for a, b in itertools.pairwise(shown)]
        if gaps:
            # No two labels closer than the usual step: the last one never touches its neighbour.
            assert min(gaps) >= max(gaps) / 2, (count, shown)
            assert gaps[-1] >= gaps[0], (count, shown)
    assert charts._shown_labels(6, 4) == [0, 2, 5]


def test_chart_dates_and_numbers_follow_the_reader_language():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, name="Qualité", target=Decimal("3.5"))
    feedback_round = add_round(pilot, scores("quality", [4, 5, 3, 4, 5]))
    feedback_round.period_start = datetime.date(2026, 9, 24)
    months = [datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)]
    with translation.override("fr"):
        metric_svgs = _drawings(str(charts.metric_chart(metric, [feedback_round])))
        rate_svgs = _drawings(str(charts.response_rate_chart([feedback_round])))
        history_svgs = _drawings(str(charts.stage_history_chart(months, [("Pilote", [1, 2])])))
    for svg in metric_svgs + rate_svgs:
        assert _x_labels(svg) == ["24 sept."]
        assert "24 septembre 2026" in svg
        assert "2026-09-24" not in svg and "Sep" not in svg
    for svg in metric_svgs:
        assert "cible 3,5" in svg or "target 3,5" in svg  # the word is translated centrally
    for svg in history_svgs:
        assert _x_labels(svg) == ["sept. 2026", "oct. 2026"]
        assert "septembre 2026 1, octobre 2026 2" in svg
    with translation.override("en"):
        svg = _drawings(str(charts.stage_history_chart(months, [("Pilot", [1, 2])])))[0]
    assert _x_labels(svg) == ["Sept. 2026", "Oct. 2026"]
