"""The Train view on a phone (390 px) as Chromium draws it (`ui.live_chart` fits each figure to its width):
each legend within its chart and under its title, the 2D view's height following its square plot, each
chart one image named with its newest values for a screen reader, and no chart toolbar in the tab order.
And the same view in a browser that prefers dark: the light page its charts are drawn for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gan_core.config import GANConfig
from gan_core.runner import Runner

from .conftest import Server, serve

pytestmark = pytest.mark.e2e

UI_TIMEOUT = 60_000  # ms
TRAIN_TIMEOUT = 120  # s
RING8 = "ring8-narrow"

# Per chart: its box, its titles' (the panels' title annotations, or the figure's title) and its legend
# entries' boxes, relative to the chart's top left; its role, text and focusable toolbar buttons
LAID_OUT = """(selector) => [...document.querySelectorAll(selector)].map((chart) => {
  const box = chart.getBoundingClientRect();
  const rel = (e) => {
    const r = e.getBoundingClientRect();
    const left = r.left - box.left, top = r.top - box.top;
    return {left: left, right: left + r.width, top: top, bottom: top + r.height};
  };
  const titled = (e) => /^(Losses|D accuracy|D's output|Gradient|step)/.test(e.textContent);
  const legends = [...chart.querySelectorAll('.infolayer > g')]
    .filter((g) => /^legend\\d*$/.test(g.getAttribute('class')));
  return {
    width: box.width, height: box.height,
    titles: [...chart.querySelectorAll('.gtitle, .annotation')].filter(titled).map(rel),
    legends: legends.map((legend) => ({box: rel(legend),
      entries: [...legend.querySelectorAll('text')].map(rel)})),  // (.legendtext, .legend2text ...)
    plot: chart._fullLayout ? {t: chart._fullLayout._size.t, h: chart._fullLayout._size.h,
      yLength: chart._fullLayout.yaxis._length, xLength: chart._fullLayout.xaxis._length} : null,
    role: chart.getAttribute('role'), label: chart.getAttribute('aria-label') || '',
    hidden: [...chart.querySelectorAll('svg')].every((svg) => svg.getAttribute('aria-hidden') === 'true'),
    tabbable: [...chart.querySelectorAll('.modebar-btn')].filter((b) => b.tabIndex >= 0).length,
  };
})"""


@pytest.fixture(scope="module")
def ring_server(tmp_path_factory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("narrow") / "runs"
    config = GANConfig(
        dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", checkpoint_every=0, steps=60
    )
    runner = Runner(config, root, RING8).start()
    assert runner.wait(TRAIN_TIMEOUT) and runner.status == "finished"
    with serve(root, tmp_path_factory.mktemp("narrow-log") / "streamlit.log") as server:
        yield server


def test_charts_fit_a_phone_and_read_as_images(ring_server, page):
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{ring_server.url}/?run={RING8}")
    page.wait_for_function(
        "() => document.querySelector('.st-key-chart_metrics .live-chart[aria-label]')", timeout=UI_TIMEOUT
    )
    page.wait_for_timeout(1500)  # (the other charts' draws)
    (metrics,) = page.evaluate(LAID_OUT, ".st-key-chart_metrics .live-chart")
    # the training panels: each legend inside the chart, below its panel's title (the Losses legend's four
    # entries take two rows here: planned as one for a wide page, it overlapped the title and cut d_loss_fake)
    assert len(metrics["titles"]) == 4 and len(metrics["legends"]) == 4, metrics
    for title, legend in zip(sorted(metrics["titles"], key=lambda t: t["top"]), metrics["legends"]):
        # (the texts' boxes: a title annotation's has a pixel of padding, the legend's a background)
        assert min(entry["top"] for entry in legend["entries"]) >= title["bottom"] - 2, (title, legend)
        assert all(entry["right"] <= metrics["width"] + 1 for entry in legend["entries"]), legend
    rows = {round(entry["top"]) for entry in metrics["legends"][0]["entries"]}
    assert len(rows) == 2, metrics["legends"][0]
    # read as one image with its newest values, panel by panel
    assert metrics["role"] == "img" and metrics["hidden"], metrics
    assert metrics["label"].startswith("Losses, step 60: d_loss "), metrics["label"]
    assert "; D accuracy, step 60: d_acc_real " in metrics["label"], metrics["label"]
    # the 2D view: its square plot as tall as wide, the chart no taller than that needs (it kept the
    # height planned for a wide page, its caption far below)
    (view,) = page.evaluate(LAID_OUT, ".st-key-chart_samples .live-chart")
    assert view["plot"]["yLength"] == pytest.approx(view["plot"]["xLength"], abs=2), view["plot"]
    assert view["plot"]["h"] == pytest.approx(view["plot"]["yLength"], abs=2), view["plot"]
    assert view["label"].startswith("step 60: real vs generated over D's verdict: real, generated"), view
    for title in view["titles"]:  # the long title broken into lines within the chart
        assert title["right"] <= view["width"] + 1, view
    # no chart's toolbar in the tab order (8 buttons a chart)
    charts = page.evaluate(LAID_OUT, ".live-chart")
    assert len(charts) >= 3 and all(chart["tabbable"] == 0 for chart in charts)
    assert all(chart["role"] == "img" and chart["label"] for chart in charts)


BOX = (
    "(s) => { const e = document.querySelector(s); if (!e) return null; const r = e.getBoundingClientRect(); "
    "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; }"
)


def test_the_2d_view_takes_the_whole_row_of_a_narrow_window_its_history_below(ring_server, page):
    """At 800 px two fixed columns left the view 170 px wide, its colour bar's title and notes cut (a
    review): where the two do not fit side by side, the history goes under the view."""
    page.set_viewport_size({"width": 800, "height": 1000})
    page.goto(f"{ring_server.url}/?run={RING8}")
    for selector in (".st-key-chart_samples .main-svg", ".st-key-chart_history_0 .main-svg"):
        page.wait_for_function(f"(s) => ({BOX})(s) !== null", arg=selector, timeout=UI_TIMEOUT)
    row = page.evaluate(BOX, ".st-key-points_view")
    view = page.evaluate(BOX, ".st-key-chart_samples .main-svg")
    history = page.evaluate(BOX, ".st-key-chart_history_0 .main-svg")
    assert view["width"] >= 0.9 * row["width"], (view, row)
    assert history["top"] >= view["bottom"] - 2, (history, view)


# The backgrounds, as (r, g, b) 0-255: the page's, the sidebar's, and each chart's paper and plot as
# plotly.js drew them (its full layout)
BACKGROUNDS = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const named = (color) => {  // any CSS colour ('white', '#fff') as the browser reads it
    const probe = document.createElement('span');
    probe.style.color = color;
    document.body.appendChild(probe);
    const read = getComputedStyle(probe).color;
    probe.remove();
    return rgb(read);
  };
  const style = (selector) => rgb(getComputedStyle(document.querySelector(selector)).backgroundColor);
  return {
    app: style('[data-testid="stApp"]'),
    sidebar: style('[data-testid="stSidebar"]'),
    text: rgb(getComputedStyle(document.querySelector('h1')).color),
    charts: [...document.querySelectorAll('.live-chart')].filter((chart) => chart._fullLayout).flatMap(
      (chart) => [named(chart._fullLayout.paper_bgcolor), named(chart._fullLayout.plot_bgcolor)]),
  };
}"""


def test_a_browser_that_prefers_dark_gets_the_light_page_its_charts_are_drawn_for(ring_server, browser):
    """Streamlit follows the system's dark mode unless the app sets a theme; the charts are drawn for white
    (D's heatmap is white where D cannot tell, labels darkened to read on white). The page stays light
    around them (.streamlit/config.toml's [theme]): white charts in a dark page was what a dark-mode user
    saw."""
    context = browser.new_context(color_scheme="dark", viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        page.goto(f"{ring_server.url}/?run={RING8}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.live-chart')].filter((c) => c._fullLayout).length >= 2",
            timeout=UI_TIMEOUT,
        )
        seen = page.evaluate(BACKGROUNDS)
    finally:
        context.close()
    assert min(seen["app"]) >= 240 and min(seen["sidebar"]) >= 230, seen  # light: white, the sidebar grey
    assert max(seen["text"]) <= 80, seen  # dark text on it
    assert seen["charts"] and all(min(chart) >= 250 for chart in seen["charts"]), seen
