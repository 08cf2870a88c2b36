"""Charts read on a narrow screen, without colour vision, and without sight: what the figures give the
browser (`ui.live_chart` fits them to the width they are drawn at), the text colours' contrast and the
palette's colours under deuteranopia."""

import itertools

import numpy as np
import plotly.graph_objects as go
import pytest

from gan_core import charts
from gan_core.store import MetricStore
from gan_core.trainer import RECORD_COLUMNS


def metric_view(n: int = 200):
    store = MetricStore(RECORD_COLUMNS, capacity=64)
    steps = np.arange(1, n + 1, dtype=np.float64)
    for step in steps:
        store.append((step, *(1.5 + np.sin(step / (5 + j)) for j in range(1, len(RECORD_COLUMNS)))))
    return store.view(max_points=1000)


def event(step: int, kind: str, **fields) -> dict:
    return {"step": step, "time": "t", "kind": kind, "detail": "", "fields": fields}


# every kind of event marker: a failure, a flag to watch and the healthy flag, raised and cleared; a setting
EVERY_MARKER = [
    event(20, "hparam", field="lr_g", old=0.0002, new=0.001),
    event(40, "flag", flag="exploding_gradients"),
    event(60, "flag_cleared", flag="exploding_gradients"),
    event(80, "flag", flag="d_leads"),
    event(100, "flag_cleared", flag="d_leads"),
    event(120, "flag", flag="equilibrium"),
    event(140, "flag_cleared", flag="equilibrium"),
]


def test_contrast_ratio_is_wcag_2s():
    assert charts.contrast_ratio("#000000") == pytest.approx(21.0)
    assert charts.contrast_ratio("#ffffff") == pytest.approx(1.0)
    # WCAG's own reference points: #767676 is the lightest grey at 4.5:1 on white, #777777 just under it
    assert charts.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)
    assert charts.contrast_ratio("#777777") == pytest.approx(4.48, abs=0.01)
    assert charts.contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)  # either order


def test_label_color_darkens_a_light_colour_keeping_its_hue():
    for color in ["#e99a9b", "#95cfa8", "#9ec5e8", "#f0e442"]:  # the cleared flags' lines, yellow: all < 3:1
        assert charts.contrast_ratio(color) < 3
        shade = charts.label_color(color)
        assert charts.contrast_ratio(shade) >= 4.5
        assert charts.contrast_ratio(shade) < 5.2  # no darker than it needs (2 % steps)
        light, dark = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in (color, shade))
        np.testing.assert_allclose(dark / dark.max(), light / light.max(), atol=0.02)  # the same hue
    assert charts.label_color("#d62728") == "#d62728"  # already readable: kept


def test_every_event_label_text_reads_on_white():
    """The labels drawn beside the event lines, on the metric charts (by kind) and on the compare chart (in
    each run's colour): 4.5:1 or more on the white plot, the lines themselves keeping their light colours."""
    figure = go.Figure(charts.metric_figure(metric_view(), ["d_loss"], title="t", events=EVERY_MARKER))
    labels = [a for a in figure.layout.annotations if a.xref == "x"]
    assert len(labels) == len(EVERY_MARKER)
    for label in labels:
        assert charts.contrast_ratio(label.font.color) >= charts.MIN_TEXT_CONTRAST, (
            label.text,
            label.font.color,
        )
    lines = {s.line.color for s in figure.layout.shapes if s.yref == "paper"}
    assert {"#e99a9b", "#95cfa8", "#9ec5e8"} <= lines  # the cleared flags' lines as light as before
    views = {f"run-{i}": metric_view() for i in range(len(charts.PALETTE))}
    events = {run_id: EVERY_MARKER[1:3] for run_id in views}
    compare = go.Figure(charts.compare_figure(views, "d_loss", events=events))
    texts = [a.font.color for a in compare.layout.annotations if a.xref == "x" and a.font.color]
    assert texts
    for color in {*texts, *(charts.label_color(c) for c in charts.PALETTE)}:
        assert charts.contrast_ratio(color) >= charts.MIN_TEXT_CONTRAST, color


# Machado, Oliveira and Fernandes (2009): deuteranopia (severity 1.0) on linear RGB
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)


def seen(color: str, matrix=None) -> np.ndarray:
    """A "#rrggbb" colour in CIELAB (D65), as a deuteranope sees it when ``matrix`` is given."""
    srgb = np.array([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if matrix is not None:
        linear = np.clip(matrix @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_palette_colours_stay_apart_under_deuteranopia():
    """Runs on the compare chart are told apart by colour alone: every two of the palette differ by 15 or
    more (CIE76 delta E) as a deuteranope sees them (Tableau 10's red and green, runs 3 and 5: 0.9)."""
    for a, b in itertools.combinations(charts.PALETTE, 2):
        assert np.linalg.norm(seen(a, DEUTERANOPIA) - seen(b, DEUTERANOPIA)) >= 15, (a, b)
    # real and generated points, everywhere side by side
    real, fake = (seen(c, DEUTERANOPIA) for c in (charts.REAL_COLOR, charts.FAKE_COLOR))
    assert np.linalg.norm(real - fake) >= 15


def test_healthy_flag_lines_differ_from_failures_without_colour():
    styles = charts.EVENT_STYLES
    dashes = [styles[kind][1] for kind in ("flag", "flag_cleared", "healthy", "healthy_cleared", "hparam")]
    assert len(set(dashes)) == len(dashes)


def test_panels_figure_plans_its_bands_for_the_browser():
    """The training panels carry their plan in pixels (layout.meta), from which the browser lays them out
    again with more legend rows: each band, plot, y axis, legend and title annotation, as drawn."""
    # (every column of the view is a sine, the learning rates too: their panel is the fifth)
    figure = charts.training_figure(metric_view(), [], 0.0)
    layout = figure["layout"]
    plan = layout["meta"]
    panels = plan["panels"]
    assert len(panels) == 5 and plan["legend_row"] == charts.LEGEND_ROW_PX
    bands, plots = [p["band"] for p in panels], [p["plot"] for p in panels]
    assert layout["height"] == sum(bands) + sum(plots) + plan["gap"] * 4 + plan["bottom"]
    assert layout["margin"]["t"] == bands[0] and layout["margin"]["b"] == plan["bottom"]
    area = layout["height"] - bands[0] - plan["bottom"]
    top = 0
    titles = ["Losses", "D accuracy", "D's output", "Gradient", "Learning rates"]
    for panel, band, plot, title in zip(panels, bands, plots, titles, strict=True):
        domain = layout[panel["yaxis"]]["domain"]
        assert domain[1] == pytest.approx(1 - (top + band - bands[0]) / area)
        assert domain[0] == pytest.approx(1 - (top + band + plot - bands[0]) / area)
        assert layout[panel["legend"]]["y"] == pytest.approx(domain[1])
        annotation = layout["annotations"][panel["title"]]
        assert annotation["text"].startswith(title) and annotation["y"] == pytest.approx(
            1 - (top - bands[0]) / area
        )
        top += band + plot + plan["gap"]
    go.Figure(figure)  # (meta is plotly's own field: the figure stays valid)
