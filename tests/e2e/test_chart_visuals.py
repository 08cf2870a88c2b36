"""The charts as Chromium draws them: what the figure data alone cannot show.

Issue 11 saw, in a real browser: Compare's legend cut off at the top of every chart, D's heatmap without a
visible colour scale, zeros vanishing from log axes, marker labels printed over each other or cut off.
Each is checked here on the drawn SVG, against run folders trained before the server starts: three tiny
ring8 runs with 40-character ids (one stepped by hand: single D and G steps, a setting change), and one
tiny run that diverges within a second (Adam with beta2 0), whose G gradient is exactly 0 for most of
its steps and which raises exploding_gradients and diverged. The Train view's colour bar is also watched
on a live run for several refreshes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from gan_core import charts as gan_charts
from gan_core.config import GANConfig
from gan_core.runner import Runner

from .conftest import Server, serve

pytestmark = pytest.mark.e2e

UI_TIMEOUT = 30_000  # ms: the machine is slow and shared
TRAIN_TIMEOUT = 120  # s, for a tiny run
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", checkpoint_every=0)
# as the registry names runs: data, loss, time, 4 hex digits (40 characters: two do not fit a row)
RUN_IDS = [f"ring8-nonsaturating-20261130-12430{i}-ab1{i}" for i in range(3)]
STEPPED = RUN_IDS[0]
DIVERGING = "divergence-20261130-124427-5f3a"
LIVE = "ring8-open-ended-20261130-124500-cd01"  # stopped early: the colour bar test resumes it
WATCH_SECONDS = 2.0

# Every drawn box of a chart, in page coordinates: the figure's SVG, its plot area (plotly's own
# numbers), legend entries, annotations, the colour bar and its texts, and the points of each trace.
CHART_BOXES = """(key) => {
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  if (!gd || !gd._fullLayout || !gd._fullData) return null;
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const svg = box(gd.querySelector('svg.main-svg'));
  const size = gd._fullLayout._size;
  const plot = {left: svg.left + size.l, top: svg.top + size.t, right: svg.left + size.l + size.w,
                bottom: svg.top + size.t + size.h};
  const traces = gd._fullData.map((t) => ({
    name: t.name, legendgroup: t.legendgroup, showlegend: t.showlegend,
    points: [...gd.querySelectorAll(`.trace${t.uid} path.point`)].map(box),
  }));
  const colorbar = gd.querySelector('.colorbar');
  return {
    svg, plot, traces,
    legend: [...gd.querySelectorAll('.legend .traces')].map((e) =>
      ({...box(e), text: e.querySelector('.legendtext').textContent})),
    annotations: [...gd.querySelectorAll('.annotation-text-g')].map((e) =>
      ({...box(e), text: e.textContent})),
    colorbar: colorbar && {...box(colorbar),
                           texts: [...colorbar.querySelectorAll('text')].map((e) => e.textContent)},
  };
}"""


# The same for one panel of a figure of panels (the Train view's metric charts, `charts.panels_figure`):
# its plot area, its traces, its legend's entries and its annotations (those on its axes: the marker
# labels; the panels' titles are the figure's).
PANEL_BOXES = """([key, panel]) => {
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  if (!gd || !gd._fullLayout || !gd._fullData) return null;
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const svg = box(gd.querySelector('svg.main-svg'));
  const x = panel === 0 ? 'x' : `x${panel + 1}`;
  const y = panel === 0 ? 'y' : `y${2 * panel + 1}`;
  const xaxis = gd._fullLayout[`xaxis${x.slice(1)}`], yaxis = gd._fullLayout[`yaxis${y.slice(1)}`];
  if (!xaxis || !yaxis) return null;
  const left = svg.left + xaxis._offset, top = svg.top + yaxis._offset;
  const plot = {left, top, right: left + xaxis._length, bottom: top + yaxis._length};
  const traces = gd._fullData.filter((t) => t.xaxis === x).map((t) => ({
    name: t.name, legendgroup: t.legendgroup, showlegend: t.showlegend,
    points: [...gd.querySelectorAll(`.trace${t.uid} path.point`)].map(box),
  }));
  const legendId = panel === 0 ? 'legend' : `legend${panel + 1}`;  // (its texts: class legend2text ...)
  const legend = gd.querySelector(`.infolayer > .${legendId}`);
  const notes = gd._fullLayout.annotations;
  return {
    svg, plot, traces, range: xaxis.range,
    legend: [...(legend ? legend.querySelectorAll('.traces') : [])].map((e) => {
      const text = e.querySelector(`.${legendId}text`);
      return {...box(e), text: text.textContent, written: box(text)};  // the entry, and its text's box
    }),
    annotations: [...gd.querySelectorAll('.annotation')]
      .filter((e) => [x, `${x} domain`].includes(notes[Number(e.dataset.index)].xref))
      .map((e) => ({...box(e.querySelector('.annotation-text-g')), text: e.textContent})),
    titles: [...gd.querySelectorAll('.annotation')]
      .filter((e) => notes[Number(e.dataset.index)].xref === 'paper')
      .map((e) => ({...box(e.querySelector('.annotation-text-g')), text: e.textContent})),
  };
}"""
# The metric charts' panels, in order (`charts.training_figure`).
LOSS_PANEL, ACCURACY_PANEL, D_OUTPUT_PANEL, GRAD_PANEL = range(4)


def tiny_run(root: Path, run_id: str, paused: bool = False, **overrides) -> Runner:
    return Runner(GANConfig(**{**TINY, **overrides}), root, run_id).start(paused=paused)


def wait_paused_at(runner: Runner, step: int) -> None:
    runner.run_to(step)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step >= step, TRAIN_TIMEOUT)


def single_step(runner: Runner, mode: str) -> None:
    before = len(runner.events)
    runner.step(mode)
    assert runner.wait_until(lambda r: len(r.events) > before, TRAIN_TIMEOUT)


@pytest.fixture(scope="module")
def chart_runs(tmp_path_factory) -> Path:
    """The run folders the tests look at, trained before the server starts (about ten seconds)."""
    root = tmp_path_factory.mktemp("chart-visuals") / "runs"
    # Adam as the divergence preset has it (beta1 0.9, beta2 0) at lr 1e-3: D's ReLUs die, so G's
    # gradient is exactly 0 from step 11, norms pass 100 and a NaN ends the run at step 40 (seed 0),
    # every record up to it kept. Trained alone first: runs trained side by side draw their initial
    # weights from one shared generator, and this one's numbers are the point.
    diverging = tiny_run(
        root,
        DIVERGING,
        steps=600,
        sample_every=10,
        spectral_norm=False,
        lr_g=1e-3,
        lr_d=1e-3,
        beta1=0.9,
        beta2=0.0,
    )
    assert diverging.wait(TRAIN_TIMEOUT) and diverging.status == "failed"
    stepped = tiny_run(root, STEPPED, paused=True, steps=0, sample_every=10, seed=1)
    wait_paused_at(stepped, 30)
    for mode in ("d", "d", "g", "full"):
        single_step(stepped, mode)
    stepped.set_hparams(lr_d=1e-3, lr_g=5e-4)
    wait_paused_at(stepped, 60)
    stepped.stop()
    runners = [stepped]
    for i, run_id in enumerate(RUN_IDS[1:], start=2):
        runners.append(tiny_run(root, run_id, steps=60, sample_every=10, seed=i))
    live = tiny_run(root, LIVE, paused=True, steps=0, sample_every=5, seed=5)
    wait_paused_at(live, 10)
    live.stop()
    runners.append(live)
    for runner in runners:
        assert runner.wait(TRAIN_TIMEOUT), f"{runner.run_id} did not end"
    kinds = pd.read_csv(root / DIVERGING / "events.csv")["kind"].tolist()
    assert kinds.count("flag") >= 2, kinds  # exploding_gradients and diverged
    return root


@pytest.fixture(scope="module")
def chart_server(chart_runs, tmp_path_factory) -> Iterator[Server]:
    with serve(chart_runs, tmp_path_factory.mktemp("chart-visuals-log") / "streamlit.log") as server:
        yield server


def chart_boxes(page: Page, key: str) -> dict:
    page.wait_for_function(f"(key) => ({CHART_BOXES})(key) !== null", arg=key, timeout=UI_TIMEOUT)
    return page.evaluate(CHART_BOXES, key)


def panel_boxes(page: Page, panel: int, key: str = "chart_metrics") -> dict:
    args = [key, panel]
    page.wait_for_function(f"(args) => ({PANEL_BOXES})(args) !== null", arg=args, timeout=UI_TIMEOUT)
    return page.evaluate(PANEL_BOXES, args)


def inside(box: dict, outer: dict, tolerance: float = 0.5) -> bool:
    return (
        box["left"] >= outer["left"] - tolerance
        and box["top"] >= outer["top"] - tolerance
        and box["right"] <= outer["right"] + tolerance
        and box["bottom"] <= outer["bottom"] + tolerance
    )


def centre_inside(box: dict, outer: dict) -> bool:
    """A marker's centre inside ``outer``: a mark on the plot's edge (an accuracy of 1) is drawn there,
    half over the edge, as plotly draws every point on an axis' end."""
    x, y = (box["left"] + box["right"]) / 2, (box["top"] + box["bottom"]) / 2
    return outer["left"] <= x <= outer["right"] and outer["top"] <= y <= outer["bottom"]


def overlap(a: dict, b: dict, slack: float = 1) -> bool:
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack and (
        min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    )


def choose(page: Page, picker: int, name: str) -> None:
    """Add ``name`` to one of Compare's multiselects: type the end of it (each key redraws the list),
    pick it, and wait until the page has drawn with it."""
    box = page.get_by_test_id("stMultiSelect").nth(picker)
    box.locator("input").click()
    page.keyboard.type(name[-6:])
    page.get_by_role("option", name=name, exact=True).click()
    page.keyboard.press("Escape")
    expect(box).to_contain_text(name, timeout=UI_TIMEOUT)


def open_compare(page: Page, server: Server, metrics: list[str] = ()) -> None:
    """Compare with all four runs chosen, and ``metrics`` added to the default ones."""
    page.goto(f"{server.url}/Compare")
    expect(page.get_by_role("heading", name="Compare runs")).to_be_visible(timeout=UI_TIMEOUT)
    picker = page.get_by_test_id("stMultiSelect").first
    expect(picker).to_contain_text("-", timeout=UI_TIMEOUT)  # the default runs
    for run_id in [r for r in [*RUN_IDS, DIVERGING] if r not in picker.inner_text()]:
        choose(page, 0, run_id)
    for metric in metrics:
        choose(page, 1, metric)
    for metric in ("d_loss", *metrics):
        legend = page.locator(f".st-key-cmp_chart_{metric} .legend .traces")
        expect(legend.filter(has_text=DIVERGING)).to_have_count(1, timeout=UI_TIMEOUT)


def legend_runs(boxes: dict) -> list[str]:
    """The runs a Compare chart's legend lists, in order (not the keys of its edge marks: the diverging
    run's values past the axis, "above the axis", or its NaN)."""
    marks = {name for name, _, _ in gan_charts.EDGE_MARKS.values()}
    return [e["text"] for e in boxes["legend"] if e["text"] not in marks]


def assert_legend_readable(boxes: dict, run_ids: list[str]) -> None:
    # (a run with nothing to place on a log axis, minimax's g_loss, is named so: "ID (≤ 0 everywhere: ...)")
    entries = [e for e in boxes["legend"] if e["text"].split(" (", 1)[0] in run_ids]
    assert [e["text"].split(" (", 1)[0] for e in entries] == run_ids, "every run is listed, in full"
    assert inside(entries[0], boxes["svg"]), f"first entry {entries[0]} cut off by the chart {boxes['svg']}"
    for entry in boxes["legend"]:
        assert inside(entry, boxes["svg"]), f"{entry['text']!r} is cut off"
        assert entry["bottom"] <= boxes["plot"]["top"] + 0.5, f"{entry['text']!r} lies over the plot"
    for i, a in enumerate(boxes["legend"]):
        for b in boxes["legend"][i + 1 :]:
            assert not overlap(a, b), f"legend entries {a['text']!r} and {b['text']!r} overlap"


def pinned(boxes: dict, kind: str) -> dict:
    """A chart's (or a panel's) marks pinned to the plot's edge of one kind: their trace (a panel's legend
    groups are named after the panel, "3:edge_nan")."""
    (marks,) = [
        t
        for t in boxes["traces"]
        if t["legendgroup"].split(":")[-1] == f"edge_{kind}" and not t["showlegend"]
    ]
    return marks


def zero_marks(boxes: dict) -> list[dict]:
    return pinned(boxes, "nonpositive")["points"]


def test_compare_legends_stay_inside_the_charts_and_log_zeros_are_drawn(chart_server, chart_runs, page):
    zeros = int((pd.read_csv(chart_runs / DIVERGING / "metrics.csv")["g_grad_norm"] == 0).sum())
    assert zeros >= 10  # the diverging run's G gradient really is 0 for a stretch
    open_compare(page, chart_server, metrics=["g_grad_norm"])
    run_ids = legend_runs(chart_boxes(page, "cmp_chart_d_loss"))
    assert set(run_ids) >= {*RUN_IDS, DIVERGING} and len(run_ids) <= 5  # LIVE if it is a default
    keys = ["cmp_chart_d_loss", "cmp_chart_g_loss", "cmp_chart_d_acc_real", "cmp_chart_d_acc_fake"]
    for key in [*keys, "cmp_chart_g_grad_norm"]:
        assert_legend_readable(chart_boxes(page, key), run_ids)
    # a while later, and after a rerun has redrawn every chart on log axes (more legend entries: the
    # keys of the marks for zeros), every entry is still inside
    time.sleep(WATCH_SECONDS / 2)
    page.get_by_text("log scale", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.st-key-cmp_chart_g_grad_norm .legendtext')]"
        ".some((e) => e.textContent.startsWith('≤ 0'))",
        timeout=UI_TIMEOUT,
    )
    for key in [*keys, "cmp_chart_g_grad_norm"]:
        assert_legend_readable(chart_boxes(page, key), run_ids)
    # the diverging run's zero G gradients: one mark per step, near the bottom, inside the plot
    boxes = chart_boxes(page, "cmp_chart_g_grad_norm")
    points = zero_marks(boxes)
    assert len(points) == zeros, "one mark per zero step"
    plot = boxes["plot"]
    for point in points:
        assert point["width"] > 3 and inside(point, plot), f"zero mark {point} outside the plot {plot}"
        assert point["top"] > plot["bottom"] - 0.15 * (plot["bottom"] - plot["top"]), "not at the bottom"
    # its flags, in its colour, on every chart
    labels = [a["text"] for a in boxes["annotations"]]
    assert "diverged" in labels and all(inside(a, plot) for a in boxes["annotations"])


# Every Compare chart refitted to the width it is drawn at now (`ui.live_chart`: its ResizeObserver's
# refit over, at the chart's present width), and drawn
COMPARE_FITTED = """() => {
  const charts = [...document.querySelectorAll('[class*="st-key-cmp_"] .live-chart')];
  return charts.length > 0 && charts.every((chart) => !chart.refitting && chart.fitWidth === chart.offsetWidth
    && chart.querySelector('svg.main-svg') && chart.getAttribute('role') === 'img');
}"""
# The width of each of ``texts`` in the font of the legend of chart ``key`` (as plotly.js draws it)
TEXT_WIDTHS = """([key, texts]) => {
  const written = document.querySelector(`.st-key-${key} .legendtext`);
  const context = document.createElement('canvas').getContext('2d');
  context.font = `${written.style.fontSize} ${written.style.fontFamily}`;
  return texts.map((text) => context.measureText(text).width);
}"""
ELLIPSIS = "\u2026"


def shows(text: str, run_id: str) -> bool:
    """A legend entry ``text`` names ``run_id``: whole, or cut in its middle with an ellipsis, at least
    four characters of each end kept (a registry id's start says what run it is, its end which one)."""
    if text == run_id:
        return True
    head, cut, tail = text.partition(ELLIPSIS)
    kept = len(head) >= 4 and len(tail) >= 4
    return bool(cut) and kept and run_id.startswith(head) and run_id.endswith(tail)


def test_compare_charts_fit_their_legends_to_the_width_drawn_at_and_say_their_values(chart_server, page):
    """Compare's charts are live charts (`ui.live_chart`), fitted to the width they are drawn at: at
    1024 px with the sidebar open a chart is about 270 px wide, narrower than a 40-character run id in its
    legend, which st.plotly_chart ran past the chart's edge (two runs' ids cut to one text there); it is
    cut in its middle with an ellipsis, only there. At 1440 and 768 px (the sidebar then closed, the
    charts wider) every id is whole. Each chart is one image to a screen reader, its text the chart's
    title and each run's newest value under its whole id; the toolbars are out of the tab order. At 1920
    px two ids fit a row of the legend and take one."""
    open_compare(page, chart_server)
    run_ids = legend_runs(chart_boxes(page, "cmp_chart_d_loss"))
    assert set(run_ids) >= {*RUN_IDS, DIVERGING} and len(run_ids) <= 5
    keys = ["cmp_chart_d_loss", "cmp_chart_g_loss", "cmp_chart_d_acc_real", "cmp_chart_d_acc_fake"]
    cut_at, fits_more = {}, {}
    for width in (1920, 1440, 1024, 768):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_function(COMPARE_FITTED, timeout=UI_TIMEOUT)
        for key in keys:
            boxes = chart_boxes(page, key)
            # the runs, then any marks' keys ("NaN": the diverging run's last step, on some charts)
            texts = [e["text"] for e in boxes["legend"]][: len(run_ids)]
            assert len(set(texts)) == len(run_ids), texts  # every run listed, told apart
            assert all(shows(text, run_id) for text, run_id in zip(texts, run_ids)), (width, texts)
            for i, entry in enumerate(boxes["legend"]):
                assert inside(entry, boxes["svg"]), f"{entry['text']!r} is cut off at {width} px"
                assert entry["bottom"] <= boxes["plot"]["top"] + 0.5, f"{entry['text']!r} lies over the plot"
                for other in boxes["legend"][i + 1 :]:
                    assert not overlap(entry, other), f"{entry['text']!r} and {other['text']!r} overlap"
            # cut only where the whole id (and its entry's symbol) is wider than the plot
            plot = boxes["plot"]["right"] - boxes["plot"]["left"]
            whole = page.evaluate(TEXT_WIDTHS, [key, run_ids])
            symbol = gan_charts.LEGEND_SYMBOL_PX
            for text, run_id, px in zip(texts, run_ids, whole):
                assert (text != run_id) == (px + symbol > plot), (width, run_id, text, px, plot)
            cut_at[width] = [text for text, run_id in zip(texts, run_ids) if text != run_id]
            # as many entries a row as fit the plot drawn, not only the narrowest plot's, which the server
            # plans for (ten runs were one a row at 1920 px, 200 px of legend over each chart)
            entries = len(boxes["legend"])
            fit = min(entries, max(1, int(plot // (max(whole) + symbol))))
            rows = len({round(e["top"]) for e in boxes["legend"]})
            assert rows == -(-entries // fit), (width, key, plot, rows, fit, entries)
            fits_more[width] = fits_more.get(width, False) or fit > 1
            chart = page.locator(f".st-key-{key} .live-chart")
            expect(chart).to_have_attribute("role", "img")
            label = chart.get_attribute("aria-label")
            metric = key.removeprefix("cmp_chart_")
            assert label.startswith(f"{metric}, step "), label
            for run_id in run_ids:  # whole, with a number, however its legend entry is cut
                assert re.search(rf"{re.escape(run_id)} -?[0-9.e+-]+", label), (run_id, label)
            tabbable = chart.locator(".modebar-btn:not([tabindex='-1'])")
            expect(tabbable).to_have_count(0)
    # the 40-character ids are cut at 1024 px (the case this test is for), and whole at 1440 and 768 px
    assert cut_at[1024] and cut_at[1920] == cut_at[1440] == cut_at[768] == [], cut_at
    assert fits_more == {1920: True, 1440: False, 1024: False, 768: False}, fits_more
    samples = page.locator(".st-key-cmp_samples_0 .live-chart")
    expect(samples).to_have_attribute("role", "img")
    expect(samples).to_have_attribute("aria-label", re.compile(r"^step \d+: "))


# Each Compare metric chart's runs and whether they are drawn: chart key -> {run id: plotly's visible}
RUNS_SHOWN = """() => Object.fromEntries(
  [...document.querySelectorAll('[class*="st-key-cmp_chart_"] .live-chart')].map((gd) => [
    [...gd.closest('[class*="st-key-cmp_chart_"]').classList].find((c) => c.startsWith('st-key-'))
      .slice('st-key-'.length),
    Object.fromEntries((gd._fullData || [])
      .filter((t) => t.showlegend !== false && t.legendgroup && !(t.meta && t.meta.marks_key))
      .map((t) => [t.legendgroup, t.visible])),
  ]))"""


# A run's flags on each Compare metric chart: its lines and labels drawn (visible), its caps' visible
DIVERGING_FLAGS = """(run) => Object.fromEntries(
  [...document.querySelectorAll('[class*="st-key-cmp_chart_"] .live-chart')].map((gd) => [
    [...gd.closest('[class*="st-key-cmp_chart_"]').classList].find((c) => c.startsWith('st-key-')),
    {shapes: (gd._fullLayout.shapes || []).filter((s) => s.name === run).map((s) => s.visible),
     labels: (gd._fullLayout.annotations || []).filter((a) => a.name === run).map((a) => a.visible),
     caps: gd._fullData.filter((t) => t.name === 'events' && t.legendgroup === run).map((t) => t.visible)},
  ]).filter(([, f]) => f.shapes.length))"""


# A run's marks at the edge (its NaN, its values beyond the axis) on each Compare metric chart that has
# them, and the marks' keys there: chart key -> {marks: [visible], keys: [visible]}
RUN_MARKS = """(run) => Object.fromEntries(
  [...document.querySelectorAll('[class*="st-key-cmp_chart_"] .live-chart')].map((gd) => [
    [...gd.closest('[class*="st-key-cmp_chart_"]').classList].find((c) => c.startsWith('st-key-')),
    {marks: gd._fullData.filter((t) => t.meta && t.meta.run === run).map((t) => t.visible),
     keys: gd._fullData.filter((t) => t.meta && t.meta.marks_key).map((t) => t.visible)},
  ]).filter(([, m]) => m.marks.length))"""


def runs_shown(page: Page, expected: dict[str, object], others: object = True) -> dict:
    """Wait until every Compare metric chart shows each run as ``expected`` (run id -> True or
    "legendonly"), and every other run as ``others``;
    return what they show."""
    page.wait_for_function(
        f"""([expected, others]) => {{
          const shown = ({RUNS_SHOWN})();
          const charts = Object.values(shown);
          return charts.length >= 4 && charts.every((runs) => Object.keys(runs).length >= 4
            && Object.entries(runs).every(([run, v]) => v === (expected[run] ?? others)));
        }}""",
        arg=[expected, others],
        timeout=UI_TIMEOUT,
    )
    return page.evaluate(RUNS_SHOWN)


def test_a_run_hidden_in_one_compare_legend_is_hidden_in_every_chart_and_stays_hidden(chart_server, page):
    """Plotly's legend hid a run in the chart clicked only: hiding one run of five took a click in each of
    the page's charts (TensorBoard and W&B hide a run everywhere at once). A click on a run's entry now
    hides it in every metric chart, its flags and its marks at the edge with it, through a redraw of the
    page; a double-click shows it alone, and a second double-click every run again."""
    open_compare(page, chart_server)
    page.wait_for_function(COMPARE_FITTED, timeout=UI_TIMEOUT)
    hidden = RUN_IDS[1]
    entries = page.locator(".st-key-cmp_chart_d_loss .legend .traces")
    texts = [e["text"] for e in chart_boxes(page, "cmp_chart_d_loss")["legend"]]
    entries.nth(next(i for i, t in enumerate(texts) if shows(t, hidden))).click()
    shown = runs_shown(page, {hidden: "legendonly"})
    assert all(runs[hidden] == "legendonly" for runs in shown.values()), shown
    # a redraw of every chart (the log scale turned on) keeps it hidden
    page.get_by_text("log scale", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('.st-key-cmp_chart_d_loss .js-plotly-plot')._fullLayout.yaxis.type"
        " === 'log'",
        timeout=UI_TIMEOUT,
    )
    page.wait_for_function(COMPARE_FITTED, timeout=UI_TIMEOUT)
    runs_shown(page, {hidden: "legendonly"})
    # a run hidden takes its flags with it: the diverging run's lines, labels and caps on every chart
    entries = page.locator(".st-key-cmp_chart_d_loss .legend .traces")
    texts = [e["text"] for e in chart_boxes(page, "cmp_chart_d_loss")["legend"]]
    entries.nth(next(i for i, t in enumerate(texts) if shows(t, DIVERGING))).click()
    runs_shown(page, {hidden: "legendonly", DIVERGING: "legendonly"})
    flags = page.evaluate(DIVERGING_FLAGS, DIVERGING)
    assert flags and all(f["shapes"] and not any(f["shapes"]) for f in flags.values()), flags
    assert all(not any(f["labels"]) and set(f["caps"]) == {"legendonly"} for f in flags.values()), flags
    # and its marks at the edge (its NaN from the divergence on), the marks' keys staying
    marks = page.evaluate(RUN_MARKS, DIVERGING)
    assert marks and all(set(m["marks"]) == {"legendonly"} for m in marks.values()), marks
    assert all(m["keys"] and set(m["keys"]) == {True} for m in marks.values()), marks
    entries.nth(next(i for i, t in enumerate(texts) if shows(t, DIVERGING))).click()
    runs_shown(page, {hidden: "legendonly"})
    flags = page.evaluate(DIVERGING_FLAGS, DIVERGING)
    assert all(all(f["shapes"]) and set(f["caps"]) == {True} for f in flags.values()), flags
    marks = page.evaluate(RUN_MARKS, DIVERGING)
    assert marks and all(set(m["marks"]) == {True} for m in marks.values()), marks
    # a double-click on another run's entry (in another chart) shows it alone; again, every run
    alone = RUN_IDS[2]
    entries = page.locator(".st-key-cmp_chart_g_loss .legend .traces")
    texts = [e["text"] for e in chart_boxes(page, "cmp_chart_g_loss")["legend"]]
    entry = entries.nth(next(i for i, t in enumerate(texts) if shows(t, alone)))
    entry.dblclick()
    runs_shown(page, {alone: True}, others="legendonly")
    marks = page.evaluate(RUN_MARKS, DIVERGING)  # the others' marks go with them; the keys stay
    assert marks and all(set(m["marks"]) == {"legendonly"} for m in marks.values()), marks
    assert all(set(m["keys"]) == {True} for m in marks.values()), marks
    entry.dblclick()
    runs_shown(page, {})
    marks = page.evaluate(RUN_MARKS, DIVERGING)
    assert marks and all(set(m["marks"]) == {True} for m in marks.values()), marks
    # a double-click on a kind of marks' key shows that kind alone among the kinds, the runs staying (the
    # runs were hidden, and every mark with them: an empty chart)
    entries = page.locator(".st-key-cmp_chart_g_loss .legend .traces")
    texts = [e["text"] for e in chart_boxes(page, "cmp_chart_g_loss")["legend"]]
    kind = "NaN"
    entries.nth(texts.index(kind)).dblclick()
    shown_kinds = """([key, run]) => {
      const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
      const of = (t) => [t.legendgroup, t.visible];
      return {keys: Object.fromEntries(gd._fullData.filter((t) => t.meta && t.meta.marks_key).map(of)),
              marks: Object.fromEntries(gd._fullData.filter((t) => t.meta && t.meta.run === run).map(of))};
    }"""
    page.wait_for_function(
        f"""(args) => {{ const s = ({shown_kinds})(args);
          return Object.entries(s.keys).every(([k, v]) => v === (k === 'edge_nan' ? true : 'legendonly'));
        }}""",
        arg=["cmp_chart_g_loss", DIVERGING],
        timeout=UI_TIMEOUT,
    )
    state = page.evaluate(shown_kinds, ["cmp_chart_g_loss", DIVERGING])
    assert len(state["keys"]) >= 2, state  # (another kind to hide: the diverged run's values off the axis)
    assert state["marks"]["edge_nan"] is True, state
    assert all(v == "legendonly" for k, v in state["marks"].items() if k != "edge_nan"), state
    runs_shown(page, {})  # every run still drawn
    entries.nth(texts.index(kind)).dblclick()  # alone already: every kind again
    page.wait_for_function(
        f"(args) => Object.values(({shown_kinds})(args).keys).every((v) => v === true)",
        arg=["cmp_chart_g_loss", DIVERGING],
        timeout=UI_TIMEOUT,
    )


def test_compare_samples_slider_comes_back_at_the_chosen_step_after_the_runs_were_cleared(chart_server, page):
    """Every run taken out (the slider is not drawn), then one added: the slider shows that run's newest
    snapshot, and its picture is of that step (the browser's slider once came back at step 0)."""
    page.goto(f"{chart_server.url}/Compare")
    picker = page.get_by_test_id("stMultiSelect").first
    slider = page.locator("[class*=st-key-cmp_sample_step]")  # (its key moves on: cmp_sample_step-1, ...)
    title = page.locator(".st-key-cmp_samples_0 .gtitle")
    for _ in range(2):  # the second time, the step kept from the first is one of the run's own
        expect(picker).to_contain_text("-", timeout=UI_TIMEOUT)  # runs chosen
        picker.get_by_role("button", name="Clear all").click()
        expect(slider).to_have_count(0, timeout=UI_TIMEOUT)
        choose(page, 0, RUN_IDS[1])
        expect(slider).to_contain_text("60", timeout=UI_TIMEOUT)
        expect(slider.get_by_role("slider")).to_have_attribute("aria-valuetext", "60", timeout=UI_TIMEOUT)
        expect(title).to_have_text("step 60", timeout=UI_TIMEOUT)


# The cells of Compare's summary table as its grid gives them to a screen reader (the grid is drawn on a
# canvas; its accessible table holds the columns in view): the header, then each row.
SUMMARY_CELLS = """() => {
  const grid = document.querySelector('[data-testid=stDataFrame]');
  if (!grid) return null;
  const rows = [...grid.querySelectorAll('tr')].map((tr) =>
    [...tr.querySelectorAll('th, td')].map((cell) => cell.textContent));
  return rows.length > 1 ? rows : null;
}"""


def test_compare_summary_leads_the_page_and_reads_at_768_px(chart_server, chart_runs, page):
    """The table of the chosen runs, above their charts, one row per run in their order: at 768 px it fits
    the page's width (it scrolls inside itself, the run's name pinned), and its first columns say how far
    each run got and that the diverging one failed."""
    page.set_viewport_size({"width": 768, "height": 1200})
    page.goto(f"{chart_server.url}/Compare?runs={RUN_IDS[1]},{DIVERGING}&metrics=d_loss")
    page.wait_for_function(f"() => ({SUMMARY_CELLS})() !== null", timeout=UI_TIMEOUT)
    header, *rows = page.evaluate(SUMMARY_CELLS)
    assert header[:6] == ["run", "status", "step", "quality", "latest", "@ step"], header
    assert [row[0] for row in rows] == [RUN_IDS[1], DIVERGING]
    reached = int(pd.read_csv(chart_runs / DIVERGING / "metrics.csv")["step"].max())
    assert rows[0][1:3] == ["finished", "60 of 60"] and rows[1][1:3] == ["failed", f"{reached} of 600"]
    table = page.get_by_test_id("stDataFrame").first.bounding_box()
    chart = chart_boxes(page, "cmp_chart_d_loss")["svg"]
    assert table["y"] + table["height"] <= chart["top"], "the table is above the charts"
    assert table["width"] >= 600 and table["x"] + table["width"] <= 768, table  # inside the page, not past it


def test_compare_address_opens_the_comparison_and_follows_it(chart_server, page):
    """A link names two runs, an id no run may have, a metric and one no run has: the two runs and the
    metric are drawn, one message names the other two; a metric added goes into the address, and a reload
    of that address draws the same comparison, with nothing to say."""
    page.goto(
        f"{chart_server.url}/Compare?runs={RUN_IDS[2]},no%20such!,{DIVERGING}&metrics=g_loss,not_logged"
    )
    runs, metrics = page.get_by_test_id("stMultiSelect").first, page.get_by_test_id("stMultiSelect").nth(1)
    expect(runs).to_contain_text(DIVERGING, timeout=UI_TIMEOUT)
    assert RUN_IDS[2] in runs.inner_text() and RUN_IDS[0] not in runs.inner_text()
    said = page.get_by_test_id("stAlert")
    expect(said).to_have_count(1, timeout=UI_TIMEOUT)
    expect(said).to_contain_text("'no such!'")
    expect(said).to_contain_text("not_logged")
    expect(page.locator(".st-key-cmp_chart_g_loss .js-plotly-plot")).to_have_count(1, timeout=UI_TIMEOUT)
    expect(page.locator("[class*=st-key-cmp_chart_]")).to_have_count(1)
    choose(page, 1, "d_real")
    expect(page).to_have_url(re.compile(r"metrics=g_loss%2Cd_real$"), timeout=UI_TIMEOUT)
    assert f"runs={RUN_IDS[2]}%2C{DIVERGING}&" in page.url
    page.reload()
    expect(page.locator(".st-key-cmp_chart_d_real .js-plotly-plot")).to_have_count(1, timeout=UI_TIMEOUT)
    assert runs.inner_text().index(RUN_IDS[2]) < runs.inner_text().index(DIVERGING)  # in the link's order
    assert "g_loss" in metrics.inner_text() and "d_real" in metrics.inner_text()
    expect(page.get_by_test_id("stAlert")).to_have_count(0)


def test_train_view_marks_are_whole_apart_and_inside(chart_server, chart_runs, page):
    page.goto(f"{chart_server.url}/?run={STEPPED}")
    for panel in (LOSS_PANEL, ACCURACY_PANEL, D_OUTPUT_PANEL):
        boxes = panel_boxes(page, panel)
        labels = boxes["annotations"]
        assert any(label["text"] == "lr_d 0.001, lr_g 0.0005" for label in labels), labels
        for label in labels:
            assert inside(label, boxes["plot"]), f"label {label['text']!r} cut off or outside the plot"
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                assert not overlap(a, b), f"labels {a['text']!r} and {b['text']!r} print over each other"
        # two D-only steps on each of the chart's D metrics, as their own points, inside the plot
        (d_only,) = [t for t in boxes["traces"] if t["name"] == "D-only step" and t["showlegend"] is False]
        assert len(d_only["points"]) >= 4 and all(centre_inside(p, boxes["plot"]) for p in d_only["points"])
        assert "D-only step" in [e["text"] for e in boxes["legend"]]
    # the divergence: G's zero gradients and the NaN that ended the run, on the log gradient chart
    page.goto(f"{chart_server.url}/?run={DIVERGING}")
    boxes = panel_boxes(page, GRAD_PANEL)
    metrics = pd.read_csv(chart_runs / DIVERGING / "metrics.csv")
    assert len(zero_marks(boxes)) == int((metrics["g_grad_norm"] == 0).sum())
    assert all(inside(p, boxes["plot"]) for p in zero_marks(boxes))
    nan = pinned(boxes, "nan")
    assert len(nan["points"]) == 1 and inside(nan["points"][0], boxes["plot"])
    texts = [label["text"] for label in boxes["annotations"]]
    assert "diverged" in texts and set(texts) <= {"exploding_gradients", "diverged"}, texts
    for label in boxes["annotations"]:
        assert inside(label, boxes["plot"])


def test_train_view_panels_are_readable_and_zoom_together(chart_server, page):
    # The metric charts as the panels of one figure: each panel's title, then its legend, then its plot,
    # top to bottom, nothing printed over anything else; a zoom on steps in one applies to all. (The
    # stepped run's learning rates changed at step 30: their panel is the fifth.)
    page.goto(f"{chart_server.url}/?run={STEPPED}")
    # (a 2D run's view comes first, above the charts: the box zoom below needs the panels on screen)
    # (its top at the window's: the element grows to its chart's fitted height once drawn, so "if needed"
    # could leave the first panel below the window, where a mouse drag does not reach)
    metrics = page.locator(".st-key-chart_metrics")
    metrics.wait_for(timeout=UI_TIMEOUT)
    page.wait_for_function(
        f"() => {{ const b = ({PANEL_BOXES})(['chart_metrics', 0]); return b && b.range; }}",
        timeout=UI_TIMEOUT,
    )
    metrics.evaluate("element => element.scrollIntoView({block: 'start'})")
    panels = [panel_boxes(page, panel) for panel in range(5)]
    assert panels[0]["plot"]["top"] >= 0 and panels[0]["plot"]["bottom"] <= page.viewport_size["height"]
    titles = panels[0]["titles"]
    assert [t["text"] for t in titles] == [
        "Losses",
        "D accuracy",
        "D's output",
        "Gradient norms",
        "Learning rates",
    ]
    svg = panels[0]["svg"]
    above = svg["top"]  # the bottom of what the panel above drew (its plot; the figure's top first)
    for title, boxes in zip(titles, panels):
        plot = boxes["plot"]
        assert 150 <= plot["bottom"] - plot["top"] <= 190  # PANEL_PLOT_PX, every panel alike
        assert plot["right"] - plot["left"] >= 600  # the page's width, not half of it
        assert above <= title["top"] and title["bottom"] <= plot["top"], (title, plot)
        entries = boxes["legend"]
        assert {"d_loss", "d_acc_real", "d_real", "d_grad_norm", "lr_d"} & {e["text"] for e in entries}
        for entry in entries:
            assert inside(entry, svg), f"{entry['text']!r} is cut off"
            # (an entry's box holds its click target, a few pixels taller than its text; text boxes may
            # touch by a pixel or two: a legend of one row, the learning rates', sits 1 px nearer its
            # title than one of two, as plotly.js rows are 19 px where the plan gives each `LEGEND_ROW_PX`)
            assert title["bottom"] - 2 <= entry["written"]["top"] and entry["bottom"] <= plot["top"] + 0.5, (
                f"{entry['text']!r} is not between its panel's title and plot"
            )
        for i, a in enumerate(entries):
            assert not overlap(a["written"], title, 2), f"{a['text']!r} over the title"
            for b in entries[i + 1 :]:
                assert not overlap(a, b), f"legend entries {a['text']!r} and {b['text']!r} overlap"
        above = plot["bottom"]
    assert panels[-1]["plot"]["bottom"] <= svg["bottom"]
    # a box zoom on the losses' steps 10 to 40 (of 0 to 60): every panel shows those steps
    before = panels[0]["range"]
    assert [p["range"] for p in panels] == [before] * 5
    plot = panels[0]["plot"]
    span = before[1] - before[0]
    left = plot["left"] + (10 - before[0]) / span * (plot["right"] - plot["left"])
    right = plot["left"] + (40 - before[0]) / span * (plot["right"] - plot["left"])
    middle = (plot["top"] + plot["bottom"]) / 2
    page.mouse.move(left, middle)
    page.mouse.down()
    page.mouse.move((left + right) / 2, middle + 2, steps=4)
    page.mouse.move(right, middle + 4, steps=4)
    page.mouse.up()
    page.wait_for_function(
        f"() => {{ const b = ({PANEL_BOXES})(['chart_metrics', 4]); return b && b.range[1] < 45; }}",
        timeout=UI_TIMEOUT,
    )
    ranges = [panel_boxes(page, panel)["range"] for panel in range(5)]
    for low, high in ranges:
        assert low == pytest.approx(10, abs=1.5) and high == pytest.approx(40, abs=1.5)
    assert ranges == [ranges[0]] * 5


def test_idle_view_draws_the_four_empty_panels(chart_server, page):
    # before a run: each panel's axes and its "no data yet" inside its own plot (plotly.js draws no
    # axes that no trace is on: the panels below the first were once left without them)
    page.goto(chart_server.url)
    plots = []
    for panel in range(4):
        boxes = panel_boxes(page, panel, key="idle_metrics")
        (note,) = boxes["annotations"]
        assert note["text"] == "no data yet" and inside(note, boxes["plot"]), (note, boxes["plot"])
        assert boxes["plot"]["bottom"] - boxes["plot"]["top"] > 150
        plots.append(boxes["plot"])
    assert all(a["bottom"] < b["top"] for a, b in zip(plots, plots[1:]))


def assert_colorbar_inside(boxes: dict) -> None:
    bar = boxes["colorbar"]
    assert bar is not None, "no colour bar drawn"
    assert inside(bar, boxes["svg"]), f"colour bar {bar} outside the figure {boxes['svg']}"
    assert bar["width"] > 100 and bar["height"] > 20
    assert not overlap(bar, boxes["plot"]), "the colour bar covers the plot"
    assert any(re.match(r"D's (output|score) at each point", text) for text in bar["texts"]), bar["texts"]
    assert "0.5" in bar["texts"] or len(bar["texts"]) >= 4  # its ends and centre numbered


def test_heatmap_colour_bar_is_inside_the_figure(chart_server, page):
    page.goto(f"{chart_server.url}/?run={RUN_IDS[1]}")
    assert_colorbar_inside(chart_boxes(page, "chart_samples"))
    page.goto(f"{chart_server.url}/Probe?run={RUN_IDS[1]}")
    assert_colorbar_inside(chart_boxes(page, "probe_walk_chart"))


def test_heatmap_colour_bar_stays_inside_while_a_run_trains(chart_server, page):
    page.goto(f"{chart_server.url}/?run={LIVE}")
    page.get_by_role("button", name="Resume", exact=True).click()
    running = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^Status: running"))
    expect(running).to_be_visible(timeout=UI_TIMEOUT)
    title = page.locator(".st-key-chart_samples .gtitle")
    expect(title.first).to_contain_text("step", timeout=UI_TIMEOUT)
    seen = set()
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline and len(seen) < 4:  # four snapshots drawn, each checked
        assert_colorbar_inside(chart_boxes(page, "chart_samples"))
        seen.add(title.first.text_content())
        page.wait_for_timeout(500)
    assert len(seen) >= 3, f"the live view did not move on: {seen}"
    page.get_by_role("button", name="Stop", exact=True).click()
    stopped = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^Status: stopped"))
    expect(stopped).to_be_visible(timeout=UI_TIMEOUT)
