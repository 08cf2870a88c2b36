"""Sizes as Chromium lays them out (issue 11): G's image grid drawn the same size as the real grid beside
it (a collapsed grid was drawn at about 60% of it), the 2D view square over half the row with earlier
snapshots filling the other half (it left half its row empty), and Ask D's thumbnails about 64 px tall
(they were about 16 px)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from gan_core.config import GANConfig
from gan_core.runner import Runner

from .conftest import Server, serve

pytestmark = pytest.mark.e2e

UI_TIMEOUT = 90_000  # ms: a fresh server's first page loads torch (over 30 s in CI on a loaded machine)
TRAIN_TIMEOUT = 120  # s
TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu", checkpoint_every=0, steps=60)
DIGITS, RING8 = "digits-sizes", "ring8-sizes"
THUMBNAIL_PX = 64

RECT = """(selector) => {
  const e = document.querySelector(selector);
  if (!e) return null;
  const r = e.getBoundingClientRect();
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height};
}"""


# The drawn axes' lengths in px (plotly's own layout numbers: the data window, without title, legend and
# colour bar; an axis constrained to equal scale is shorter than the plot area)
PLOT_SIZE = """(selector) => {
  const layout = document.querySelector(`${selector} .js-plotly-plot`)._fullLayout;
  return {w: layout.xaxis._length, h: layout.yaxis._length};
}"""


@pytest.fixture(scope="module")
def sized_server(tmp_path_factory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("sizes") / "runs"
    runners = [
        Runner(GANConfig(dataset="digits", sample_every=20, **TINY), root, DIGITS).start(),
        Runner(GANConfig(dataset="ring8", sample_every=10, **TINY), root, RING8).start(),
    ]
    for runner in runners:
        assert runner.wait(TRAIN_TIMEOUT) and runner.status == "finished"
    with serve(root, tmp_path_factory.mktemp("sizes-log") / "streamlit.log") as server:
        yield server


def rect(page: Page, selector: str) -> dict:
    page.wait_for_function(f"(s) => ({RECT})(s) !== null", arg=selector, timeout=UI_TIMEOUT)
    return page.evaluate(RECT, selector)


def test_the_generated_grid_is_drawn_the_size_of_the_real_one(sized_server, page):
    page.goto(f"{sized_server.url}/?run={DIGITS}")
    generated = rect(page, ".st-key-chart_samples .imagelayer image")
    real = rect(page, ".st-key-chart_real .imagelayer image")
    assert generated["width"] > 250, generated  # a half-width column's worth, not a thumbnail
    assert generated["width"] == pytest.approx(real["width"], abs=2)
    assert generated["height"] == pytest.approx(real["height"], abs=2)
    assert generated["top"] == pytest.approx(real["top"], abs=2)  # side by side, level


def test_the_2d_view_is_square_over_half_its_row_with_earlier_snapshots_beside_it(sized_server, page):
    page.goto(f"{sized_server.url}/?run={RING8}")
    main = rect(page, ".st-key-live_samples")  # the samples' row, as wide as the page's main column
    view = rect(page, ".st-key-chart_samples .main-svg")
    assert 0.45 * main["width"] < view["width"] <= 0.55 * main["width"], (view, main)
    plot = page.evaluate(PLOT_SIZE, ".st-key-chart_samples")
    assert plot["h"] == pytest.approx(plot["w"], rel=0.1), plot  # square, as the data's window is
    history = [rect(page, f".st-key-chart_history_{i} .main-svg") for i in range(4)]
    assert all(h["left"] >= view["right"] for h in history)  # the other half of the row
    assert min(h["top"] for h in history) == pytest.approx(view["top"], abs=40)
    # filled down to the view's plot (the view's off-view note's band and colour bar, about 120 px, sit
    # below the plot)
    assert view["bottom"] - 145 <= max(h["bottom"] for h in history) <= view["bottom"] + 10
    titles = [page.locator(f".st-key-chart_history_{i} .gtitle").text_content() for i in range(4)]
    steps = [int(t.split()[-1]) for t in titles]
    assert steps == sorted(steps) and steps[0] == 0 and len(set(steps)) == 4, titles


def test_ask_d_shows_each_image_about_64_px_tall(sized_server, page):
    page.goto(f"{sized_server.url}/Probe?run={DIGITS}")
    page.get_by_role("tab", name="Ask D").click()  # G's samples from seed 0: 8 of them by default
    table = page.get_by_role("tabpanel", name="Ask D").get_by_test_id("stDataFrame")
    expect(table).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_text("D calls")).to_be_visible(timeout=UI_TIMEOUT)
    box = table.bounding_box()
    rows = 8
    # the header row, then one row per image, each tall enough for a 64 px picture (they were 16 px)
    assert rows * THUMBNAIL_PX + 30 <= box["height"] <= rows * 1.5 * THUMBNAIL_PX + 60, box
