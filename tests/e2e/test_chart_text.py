"""What a screen reader is told of each kind of chart (`ui.live_chart`'s ``describe``, the ``aria-label`` of a
chart drawn by the live chart component), and of Compare's colour swatches (`ui.common.line_swatch`).

The figures are built by `gan_core.charts` as the pages build them, and drawn by the component's own script
(`live_chart._JS`, its default export called as Streamlit calls it) in headless Chromium on a blank page:
no Streamlit server, each chart's text read once its draw is done."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from playwright.sync_api import Page

from gan_core import charts
from tests.test_class_shares import record
from ui import live_chart
from ui.common import line_swatch

pytestmark = pytest.mark.e2e

# Each payload drawn into a div of its own by the component's default export, as Streamlit mounts it; the
# chart's text once every draw is done (`window.__liveChartDraws`, the draws in flight)
DRAW_ALL = """async ([source, payloads]) => {
  const url = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
  const mount = (await import(url)).default;
  const texts = [];
  for (const bytes of payloads) {
    const host = document.createElement("div");
    host.style.width = "700px";
    document.body.appendChild(host);
    mount({data: new Uint8Array(bytes), parentElement: host, setTriggerValue: () => {}});
    await new Promise((resolve) => setTimeout(resolve, 0));
    while (window.__liveChartDraws.size) await Promise.allSettled([...window.__liveChartDraws]);
    const chart = host.querySelector(".live-chart");
    texts.push({role: chart.getAttribute("role"), label: chart.getAttribute("aria-label")});
  }
  return texts;
}"""


@pytest.fixture(scope="module")
def blank(browser) -> Iterator[Page]:
    """A blank page with plotly.js loaded (the library the component would load from the server)."""
    context = browser.new_context(viewport={"width": 900, "height": 800})
    try:
        page = context.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        page.add_script_tag(path=str(live_chart.PLOTLY_JS_DIR / "plotly.min.js"))
        yield page
    finally:
        context.close()


def read_aloud(page: Page, *figures: Mapping[str, Any] | Any) -> list[str]:
    """The text each figure's chart gives a screen reader, as `live_chart` sends and draws it."""
    payloads = []
    for figure in figures:
        figure = figure if isinstance(figure, Mapping) else figure.to_plotly_json()
        height = int(figure["layout"].get("height") or live_chart.DEFAULT_HEIGHT)
        figure = {**figure, "layout": {**figure["layout"], "height": height}}
        body = pio.to_json(figure, validate=False).encode()
        payloads.append(list(live_chart.payload(body, height=height)))
    drawn = page.evaluate(DRAW_ALL, [live_chart._JS, payloads])
    assert [each["role"] for each in drawn] == ["img"] * len(figures)
    return [each["label"] for each in drawn]


def shares(**overrides: Any) -> dict[str, Any]:
    """A ``class_shares`` record (`RunView.class_shares`) at step 500: classes 2 and 4 under-represented."""
    return record(**{"step": 500, **overrides})


# a conditional G's fidelity per class asked for (mean 0.84)
FIDELITY = [0.9, 1.0, 0.3, 0.8, 1.0, 1.0, 0.5, 1.0, 1.0, 0.9]


def test_a_per_class_chart_reads_gs_share_of_each_class_and_the_real_share(blank):
    """The bars by their categories: G's share of each class, the under-represented ones by their trace's
    name, the real share (the same for every class); not a line's last point (it read "Per class at step
    500, class 9.42: real share 0.1", 9.42 the end of the real share's level line over class 9)."""
    per_class, per_mode, conditional = read_aloud(
        blank,
        charts.class_share_figure(shares()),
        charts.class_share_figure(
            shares(
                per="mode",
                names=[str(m) for m in range(8)],
                share=[0.25, 0.25, 0.5, *[0.0] * 5],
                real_share=[0.125] * 8,
                nearest=[0.25, 0.25, 0.5, *[0.0] * 5],
            )  # fmt: skip
        ),
        charts.class_share_figure(shares(names=["T-shirt/top", *"123456789"], fidelity=FIDELITY)),
    )
    assert per_class == (
        "Per class at step 500: G's share per class 0: 12%, 1: 11%, 3: 13%, 5: 10%, 6: 12%, 7: 14%, 8: 12%, "
        "9: 12%; under-represented (< 50% of real) per class 2: 0%, 4: 4%; real share 10% per class"
    )
    assert per_mode == (
        "Per mode at step 500: G's share per mode 0: 25%, 1: 25%, 2: 50%; under-represented (nearest < 50% "
        "of real) per mode 3: 0%, 4: 0%, 5: 0%, 6: 0%, 7: 0%; nearest this mode (any distance) per mode 0: "
        "25%, 1: 25%, 2: 50%, 3: 0%, 4: 0%, 5: 0%, 6: 0%, 7: 0%; real share 12.5% per mode"
    )
    # a conditional G's: the fidelity per class asked for under the shares (its x axis titled, the shares'
    # not), a class by its index and name, the mean's level line by its value
    assert conditional == (
        "Per class at step 500: G's share 0 T-shirt/top: 12%, 1: 11%, 3: 13%, 5: 10%, 6: 12%, 7: 14%, "
        "8: 12%, 9: 12%; under-represented (< 50% of real) 2: 0%, 4: 4%; real share 10% each; "
        "fidelity per class 0 T-shirt/top: 0.9, 1: 1, 2: 0.3, 3: 0.8, 4: 1, 5: 1, 6: 0.5, 7: 1, 8: 1, "
        "9: 0.9; mean 0.84 (label_fidelity) 0.84"
    )


def test_a_bar_trace_with_no_value_reads_none_not_zero(blank):
    """A trace of categories whose values are all missing (None: a share not measured) read "nb 0"
    (JavaScript's Number(null) is 0): it is named, with no value."""
    figure = {
        "data": [
            {"type": "bar", "x": [0, 1], "y": [0.5, 0.25], "name": "measured"},
            {"type": "scatter", "mode": "lines", "x": [-0.4, 1.4], "y": [None, None], "name": "nb"},
        ],
        "layout": {"title": {"text": "Shares"}, "xaxis": {"tickvals": [0, 1], "ticktext": ["a", "b"]}},
    }
    (text,) = read_aloud(blank, figure)
    assert text == "Shares: measured a: 0.5, b: 0.25; nb"


def test_a_sample_grid_reads_its_title_once_and_what_it_shows(blank):
    """An image figure (a sample grid, the real one, Probe's walk) read its title twice ("real: real"):
    now its title, once, then the image, its size in its own pixels and its rows' labels where it has
    them (a class-conditional grid's classes)."""
    # 64 tiles of 8 x 8 pixels, 8 to a row, 1 px of padding around each (`rundir.image_grid`): 73 x 73
    grid = np.zeros((73, 73, 3), dtype=np.uint8)
    by_class = np.zeros((91, 19, 3), dtype=np.uint8)  # 10 rows (a class each) of 2 tiles
    strip = np.zeros((10, 91, 3), dtype=np.uint8)  # a walk of 10 steps, one row
    texts = read_aloud(
        blank,
        charts.image_grid_figure(grid, title="G(z), fixed noise, step 700"),
        charts.image_grid_figure(grid, title="real"),
        charts.image_grid_figure(
            by_class,
            title="G(z, class): a row per class, class 0 at the top, step 700",
            row_labels=charts.grid_row_labels(10, ["T-shirt/top"]),
        ),
        charts.image_grid_figure(strip, title="G along the slerp path: seed 0 (left) to 1 (right)"),
        charts.snapshot_figure({"grid": grid}, None, midpoint=0.5, title="step 700"),  # (Compare's)
    )
    assert texts == [
        "G(z), fixed noise, step 700: an image 73 by 73 pixels",
        "real: an image 73 by 73 pixels",
        "G(z, class): a row per class, class 0 at the top, step 700: an image 19 by 91 pixels, its rows "
        "labelled 0 T-shirt/top, 1, 2, 3, 4, 5, 6, 7, 8, 9",
        "G along the slerp path: seed 0 (left) to 1 (right): an image 91 by 10 pixels",
        "step 700: an image 73 by 73 pixels",
    ]


def test_a_2d_view_names_what_it_draws_and_its_notes(blank):
    """The 2D view (equal scale) names its traces: its lines (a latent walk, G's map of its noise, G's
    arrows) are no series over x (a walk read "..., Click to enter X axis title 0.412: latent walk 1.04",
    plotly.js's placeholder for an untitled axis and the walk's last point), and the note written on the
    plot (points outside the view) is read with them."""
    rng = np.random.default_rng(0)
    real = rng.normal(0.0, 1.0, (50, 2))
    bounds = (-3.0, 3.0, -3.0, 3.0)
    heatmap = np.full((12, 12), 0.5)
    fake, path = rng.normal(0.0, 1.0, (40, 2)), rng.normal(0.0, 1.0, (10, 2))
    mesh = rng.normal(0.0, 1.0, (7, 7, 2))  # G's map of its noise: 7 lines of 7 points
    common = {"bounds": bounds, "heatmap": heatmap}
    walk_title = "G along the slerp path from seed 0 (A) to seed 1 (B), over D's output"
    view_title = "step 700: real vs generated over D's verdict"
    walk, scatter, off_view = read_aloud(
        blank,
        charts.points_figure(real, fake[:0], path=path, title=walk_title, **common),
        charts.points_figure(real, fake, mesh=mesh, mesh_dims=4, grads=fake, title=view_title, **common),
        charts.points_figure(real, np.full((5, 2), 100.0), title="step 700", **common),
    )
    assert walk == "G along the slerp path from seed 0 (A) to seed 1 (B), over D's output: real, latent walk"
    # (semicolons between them where a name has a comma of its own)
    assert scatter == (
        "step 700: real vs generated over D's verdict: G's map of the plane z1, z2 (of 4); real; generated; "
        "where G pushes its points"
    )
    assert off_view == (
        "step 700: real, generated; 5 of 5 generated points outside this view (|x| or |y| up to 1e+02): "
        "arrows at its edge"
    )


def test_line_charts_read_their_newest_values_and_placeholders_their_message(blank):
    """The line charts as before (each line's newest value, at its step where older than the newest);
    a placeholder (no data yet) its message too, which it left out."""
    runs = {
        "run-a": pd.DataFrame({"step": [10, 20, 30], "d_loss": [1.5, 1.25, 0.875]}),
        "run-b": pd.DataFrame({"step": [10, 20], "d_loss": [2.0, 1.75]}),
    }
    texts = read_aloud(
        blank,
        charts.compare_figure(runs, "d_loss"),
        charts.compare_figure({"run-a": None}, "d_loss"),
        charts.quality_figures(None)["pending"],
        charts.training_figure(None),
    )
    assert texts == [
        "d_loss, step 30: run-a 0.875, run-b 1.75 (step 20)",
        "d_loss: no data yet",
        "Quality (every eval_every steps): no evaluation yet",
        "Losses: no data yet; D accuracy: no data yet; D's output: no data yet; Gradient norms: no data yet",
    ]


def test_a_runs_colour_swatch_is_hidden_from_a_screen_reader_and_its_name_read(page):
    """Compare's swatch beside a run's name is decoration: a screen reader read "line" before each name."""
    page.set_content(f'<div id="run">{line_swatch("#0072b2", "dot")} run-a</div>')
    assert page.locator("#run").aria_snapshot() == "- text: run-a"
