"""Dashboard benchmarks: refresh cost vs run length, store memory, Start-to-first-point, watched vs unwatched.

    python -m benchmarks.dashboard [--skip-browser | --train-view | --first-point | --watched [--hidden]
                                    | --draw-cost | --watched-own [--own-steps N]]

1. Chart refresh at 1e3, 1e5 and 1e6 recorded steps: what the Train view does each second — the store's
   downsampled view, the metric charts (four panels of one figure), and its JSON as the page sends it —
   timed over repeated calls; target: 1e6 no more than 1.5x 1e3.
   ``--train-view`` (1b): the figures of one refresh of a digits run, every chart built against what a
   refresh between two evaluations builds (the charts whose inputs did not change are skipped).
2. Store memory at 1e6 steps (target < 100 MB).
3. ``--first-point``: the time from a click on Start in headless Chromium to the first plotted point of
   the default config, timed in the page: the first run of ``--fresh`` fresh servers (each in a new
   browser), then ``--warm`` more runs on the last one from the same page and from newly opened pages
   (target < 1 s warm, < 3 s always).
4. ``--watched``: steps/s of one open-ended run while a headless Chromium watches the Train view against
   the same run with no browser session, in ``--rounds`` pairs of ``--window``-second windows whose order
   alternates, with the CPU the server, its busiest thread (the training) and the browser took (target
   ≥ 0.95), and the share of time the training thread was runnable but waiting for a core (Linux
   schedstat). ``--watched --hidden``: the watching page hidden once drawn, as a background tab is.
5. ``--draw-cost``: the browser's side of a refresh of the metric charts, alone in a page: Plotly.react
   of the four charts as four figures (as the Train view drew them before) against the one figure of
   four panels (`charts.training_figure`, as it draws them now), on ``--repeats`` successive refreshes
   of a growing run, alternating, each timed from the first call to the frame after the last.
6. ``--watched-own``: a user's own loop, examples/own_dcgan.py (`gan_core.track`), in a process of its own
   for ``--own-steps`` steps, watched live by a headless Chromium on its Train view (``?run=ID``) against
   the same with no browser session, with torch at its default threads and at ``OMP_NUM_THREADS=1``, in
   ``--rounds`` rounds whose order alternates; steps/s from the run's own training time (``time_s`` of
   its last row: the script's imports and data loading left out).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import plotly.io as pio

from gan_core import charts
from gan_core.store import MetricStore
from gan_core.trainer import RECORD_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
CHART_POINTS = 300  # as dashboard.py
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def filled_store(rows: int) -> MetricStore:
    store = MetricStore(RECORD_COLUMNS)
    rng = np.random.default_rng(0)
    chunk = 100_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        block = rng.normal(size=(n, len(RECORD_COLUMNS)))
        block[:, 0] = np.arange(start + 1, start + n + 1)
        store.extend(block)
    return store


def refresh_once(store: MetricStore, events: list[dict]) -> None:
    frame = store.view(CHART_POINTS)
    figure = charts.training_figure(frame, events, 0.6, loss_name="nonsaturating", midpoint=0.5)
    pio.to_json(figure, validate=False)  # as ui.live_chart sends it


def bench_refresh(repeats: int) -> None:
    print("1. chart refresh (view + the metric charts' figure + its JSON), median of", repeats)
    events = [
        {
            "step": 10 * i,
            "time": "",
            "kind": "hparam",
            "detail": f"lr_g: 0.0002 -> 0.00{i}",
            "fields": {"field": "lr_g", "old": 0.0002, "new": i / 1000},
        }
        for i in range(5)
    ]
    results = {}
    for rows in (1_000, 100_000, 1_000_000):
        store = filled_store(rows)
        refresh_once(store, events)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            refresh_once(store, events)
            times.append(time.perf_counter() - t0)
        results[rows] = statistics.median(times)
        print(f"   {rows:>9,} steps: {results[rows] * 1e3:7.1f} ms")
    print(f"   ratio 1e6 / 1e3: {results[1_000_000] / results[1_000]:.2f} (target <= 1.5)")
    print(
        "2. store memory at 1e6 steps:",
        f"{filled_store(1_000_000).memory_bytes() / 2**20:.2f} MiB (target < 100 MB)",
    )


def bench_train_view(repeats: int) -> None:
    """The figures of one Train view refresh of a default (digits) run after 1,500 steps, built and written
    as JSON: every chart, as each refresh did before figures carried a version, against what a refresh
    between two evaluations builds now (the metric charts; the quality charts and the sample grids only
    digested, `charts.inputs_digest`). CPU time of this thread, median of ``repeats``."""
    import torch

    from gan_core.config import GANConfig
    from gan_core.runner import Runner

    torch.set_num_threads(1)
    runner = Runner(GANConfig(steps=1500), tempfile.mkdtemp()).start()
    runner.wait(600)
    events, snapshot, real = runner.events, runner.snapshots[-1][1], runner.real_view

    def metric_charts():  # as dashboard.charts_panel
        frame = charts.metric_view(runner.store, CHART_POINTS)
        figure = charts.training_figure(frame, events, 0.6, loss_name=runner.cfg.loss, midpoint=0.5)
        pio.to_json(figure, validate=False)
        charts.inputs_digest(runner.store.exact_version, events, 10, None)

    def every_chart():
        metric_charts()
        quality = charts.quality_figures(charts.evaluations(runner.store), events, coverage_total=10)
        for figure in quality.values():
            pio.to_json(figure, validate=False)
        for grid in (snapshot["grid"], real["grid"]):
            pio.to_json(charts.image_grid_figure(grid, title="g"), validate=False)

    def between_evaluations():
        metric_charts()
        charts.inputs_digest(snapshot["grid"], "g")
        charts.inputs_digest(real["grid"])

    print(f"1b. Train view refresh of a digits run at 1,500 steps, CPU ms, median of {repeats}")
    for name, refresh in (("every chart built", every_chart), ("between evaluations", between_evaluations)):
        refresh()
        times = []
        for _ in range(repeats):
            t0 = time.thread_time()
            refresh()
            times.append(time.thread_time() - t0)
        print(f"   {name}: {statistics.median(times) * 1e3:.1f} ms")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ``streamlit run`` options every server of this process gets besides the fixed ones (`--server-option`):
# to measure a config.toml setting against another value, side by side.
SERVER_OPTIONS: list[str] = []


class Server:
    def __init__(self, runs: Path):
        self.port = free_port()
        env = dict(os.environ, GAN_DASHBOARD_RUNS=str(runs))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard.py",
                f"--server.port={self.port}",
                "--server.address=127.0.0.1",
                "--server.headless=true",
                "--browser.gatherUsageStats=false",
                "--server.fileWatcherType=none",
                *(f"--{option}" for option in SERVER_OPTIONS),
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("streamlit did not become healthy in 60 s")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def open_with_open_ended_steps(page, url: str) -> None:
    """Open the Train view and set the sidebar's steps to 0 (train until stopped)."""
    page.goto(url)
    page.get_by_role("button", name="Start", exact=True).wait_for()
    steps_box = page.get_by_label("steps", exact=True)
    if not steps_box.is_visible():
        page.get_by_text("Run", exact=True).click()
    steps_box.fill("0")
    steps_box.press("Enter")
    page.wait_for_timeout(1000)  # the rerun that binds Start's callback to the new value


# The lines of the metric charts' first panel (the losses: plotly's subplot "xy"), once drawn.
LOSS_LINES = ".st-key-chart_metrics .subplot.xy path.js-line"


def metrics_rows(runs: Path) -> int:
    files = sorted(runs.glob("*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    return max(0, sum(1 for _ in open(files[-1], "rb")) - 1) if files else 0  # the newest run


# In the page: the time (performance.now(), ms) of the next click on Start, and of the first moment after it
# that the metric charts (their losses panel), drawn anew since the click (not the chart of a run stopped
# before it), show a plotted point of d_loss (a drawn line, or the marker of a single point). A
# MutationObserver checks at every change to the page, so the time is when the browser showed it, not when
# a polling round trip from here found it.
TIME_FIRST_POINT = """() => {
  window.__firstPoint = null;
  window.__clicked = null;
  const shown = document.querySelector('.st-key-chart_metrics .live-chart');
  const before = shown ? shown._fullData : undefined;
  const start = [...document.querySelectorAll('button')].find((b) => b.innerText.trim() === 'Start');
  const clicked = () => { window.__clicked = performance.now(); };
  start.addEventListener('click', clicked, {capture: true, once: true});
  const drawn = () => {
    const chart = document.querySelector('.st-key-chart_metrics .live-chart');
    if (!chart || !chart._fullData || chart._fullData === before) return false;
    const shown = chart._fullData.find((t) => t.name === 'd_loss');
    const trace = shown && chart.querySelector(`.scatterlayer .trace${shown.uid}`);
    if (!trace) return false;
    const line = trace.querySelector('path.js-line');
    return (line && (line.getAttribute('d') || '').length > 1) || trace.querySelector('path.point') !== null;
  };
  const observer = new MutationObserver(() => {
    if (window.__clicked !== null && drawn()) {
      window.__firstPoint = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def time_first_point(page) -> float:
    """Click Start and return the seconds from the click to the first plotted point, as the page timed it."""
    page.evaluate(TIME_FIRST_POINT)
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function("() => window.__firstPoint !== null", timeout=60_000, polling=50)
    return page.evaluate("() => (window.__firstPoint - window.__clicked) / 1000")


# Every chart on the page drawn, and none still drawing (ui.live_chart keeps the draws in flight in a set).
DRAWN = """() => {
  const charts = [...document.querySelectorAll('.live-chart')];
  return charts.length > 0 && charts.every((c) => c._fullLayout !== undefined)
    && (window.__liveChartDraws === undefined || window.__liveChartDraws.size === 0);
}"""


def wait_drawn(page) -> None:
    page.wait_for_function(DRAWN, timeout=60_000, polling=100)
    page.wait_for_timeout(500)


def stop_run(page) -> None:
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Status: stopped").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Start", exact=True).wait_for()
    wait_drawn(page)  # the rerun that redrew the page has ended


def launch(pw):
    return pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)


def bench_first_point(fresh: int, warm: int) -> tuple[list[float], list[float], list[float]]:
    """Start -> first plotted point with the default config: on ``fresh`` fresh servers, each the first run
    after the server started, in a new browser (nothing cached); then, on the last server, ``warm`` more
    runs from the same page (Stop, Start) and ``warm`` from a newly opened page."""
    from playwright.sync_api import sync_playwright

    first, again, new_page = [], [], []
    pw = sync_playwright().start()
    try:
        for i in range(fresh):
            server = Server(Path(tempfile.mkdtemp()) / "runs")
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.goto(server.url)
                # the empty chart panels drawn: the page is ready, as a user sees it before pressing Start
                page.locator(".st-key-idle_metrics .main-svg").first.wait_for(timeout=60_000)
                wait_drawn(page)
                first.append(time_first_point(page))
                if i == fresh - 1:
                    for _ in range(warm):
                        stop_run(page)
                        again.append(time_first_point(page))
                    for _ in range(warm):
                        stop_run(page)
                        page.close()
                        page = browser.new_page(viewport={"width": 1400, "height": 1800})
                        page.goto(server.url)
                        page.get_by_role("button", name="Start", exact=True).wait_for()
                        wait_drawn(page)  # the stopped run's charts, as a user sees them before Start
                        new_page.append(time_first_point(page))
            finally:
                browser.close()
                server.close()
    finally:
        pw.stop()
    return first, again, new_page


def _cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of process ``pid``, or of its thread ``tid`` (0 once it has gone)."""
    stat = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runqueue_seconds(pid: int, tid: int) -> float:
    """Seconds thread ``tid`` of ``pid`` has waited on a CPU's run queue so far: runnable, but another
    thread had the core (Linux /proc schedstat; 0 once it has gone)."""
    try:
        return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid`` so far, by thread id (Linux /proc)."""
    return {int(tid): _cpu_seconds(pid, int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (from /proc: their parent ids)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


# The page as a background tab or a minimised window is (headless Chromium shows every page)
HIDE_PAGE = """() => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


# Before the page's scripts: count the metric figure's draws (ui.live_chart's Plotly.react calls into the
# chart_metrics element), so that a window says how often the page refreshed its charts.
COUNT_METRIC_DRAWS = """(() => {
  window.__metricDraws = 0;
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get: () => undefined,
    set: (plotly) => {
      const react = plotly.react;
      plotly.react = function (chart) {
        if (chart.closest && chart.closest(".st-key-chart_metrics")) window.__metricDraws += 1;
        return react.apply(this, arguments);
      };
      Object.defineProperty(window, "Plotly", {configurable: true, writable: true, value: plotly});
    },
  });
})();"""


def bench_watched(window: float, rounds: int, hidden: bool = False) -> None:
    """Steps/s of one open-ended run (the default config) watched by a headless Chromium on the Train view
    against the same run with no browser session at all, in ``rounds`` pairs of ``window``-second windows
    whose order alternates (watched first in even rounds); with the CPU the server and the browser used,
    and how often the watching page redrew its metric charts (its refresh interval). ``hidden``: the
    watching page is hidden once drawn (a background tab), its session still open. Besides its CPU, the
    training thread's time on a run queue: runnable while other threads (the browser's, the server's
    others) had both cores."""
    from playwright.sync_api import sync_playwright

    runs = Path(tempfile.mkdtemp()) / "runs"
    server = Server(runs)
    pw = sync_playwright().start()
    browser = launch(pw)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        open_with_open_ended_steps(page, server.url)
        page.get_by_role("button", name="Start", exact=True).click()
        page.locator(LOSS_LINES).first.wait_for(timeout=60_000)
        # The page that pressed Start watches too: closed, so "unwatched" has no browser session at all.
        page.close()
        time.sleep(5)  # past the run's first evaluation (step 500 on this machine's kind)
        shown = "watched by a hidden page" if hidden else "watched"
        print(f"{shown} vs unwatched steps/s, {rounds} rounds of {window:.0f} s windows, alternating")
        rates: dict[bool, list[float]] = {True: [], False: []}
        draws: list[float] = []  # the metric figure's draws a second, in each watched window
        cpu: dict[bool, list[tuple[float, float, float, float]]] = {True: [], False: []}
        for i in range(rounds):
            for watched in (True, False) if i % 2 == 0 else (False, True):
                if watched:
                    page = browser.new_page(viewport={"width": 1400, "height": 1800})
                    page.add_init_script(COUNT_METRIC_DRAWS)
                    page.goto(server.url)
                    page.locator(LOSS_LINES).first.wait_for(timeout=60_000)
                    page.wait_for_timeout(3000)  # past the page's first full render, to its steady refresh
                    if hidden:
                        page.evaluate(HIDE_PAGE)
                        page.wait_for_timeout(2000)  # past a refresh in flight
                chromium = [p for p in _descendants(os.getpid()) if p != server.proc.pid]
                drawn = page.evaluate("() => window.__metricDraws") if watched else 0
                a, ta = metrics_rows(runs), time.monotonic()
                server_cpu, browser_cpu = _cpu_seconds(server.proc.pid), sum(map(_cpu_seconds, chromium))
                threads = _thread_seconds(server.proc.pid)
                queued = {i: _runqueue_seconds(server.proc.pid, i) for i in threads}
                time.sleep(window)  # a measurement window, not a wait for an event
                b, tb = metrics_rows(runs), time.monotonic()
                server_cpu = _cpu_seconds(server.proc.pid) - server_cpu
                now = _thread_seconds(server.proc.pid)
                training = max(now, key=lambda i: now[i] - threads.get(i, 0.0))
                training_cpu = now[training] - threads.get(training, 0.0)
                training_queued = _runqueue_seconds(server.proc.pid, training) - queued.get(training, 0.0)
                browser_cpu = sum(map(_cpu_seconds, chromium)) - browser_cpu
                if watched:
                    draws.append((page.evaluate("() => window.__metricDraws") - drawn) / (tb - ta))
                rates[watched].append((b - a) / (tb - ta))
                cpu[watched].append(
                    (
                        server_cpu / (tb - ta),
                        browser_cpu / (tb - ta),
                        training_cpu / (tb - ta),
                        training_queued / (tb - ta),
                    )
                )
                if watched:
                    page.close()
                    time.sleep(2)  # let the session close before the unwatched window
        w, u = statistics.mean(rates[True]), statistics.mean(rates[False])
        ratios = [a / b for a, b in zip(rates[True], rates[False])]
        spread = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
        print(f"   watched {w:.1f} steps/s, unwatched {u:.1f} steps/s, ratio {w / u:.3f} (target >= 0.95)")
        mean = statistics.mean(ratios)
        print(f"   ratio per round: {[round(r, 3) for r in ratios]} (mean {mean:.3f} ± {spread:.3f})")
        shown = {k: [round(x, 1) for x in v] for k, v in rates.items()}
        print(f"   per window: watched {shown[True]}, unwatched {shown[False]}")
        every = [round(1 / d, 2) if d else None for d in draws]
        print(f"   the metric charts redrawn every {every} s in the watched windows")
        for watched in (True, False):
            server_cores = statistics.mean(c[0] for c in cpu[watched])
            browser_cores = statistics.mean(c[1] for c in cpu[watched])
            training_cores = statistics.mean(c[2] for c in cpu[watched])
            training_queued = statistics.mean(c[3] for c in cpu[watched])
            name = "watched" if watched else "unwatched"
            print(
                f"   CPU while {name}: server {server_cores:.2f} cores (its busiest thread, the training, "
                f"{training_cores:.2f}, and {training_queued:.3f} of the time runnable on a run queue), "
                f"browser {browser_cores:.2f} cores"
            )
    finally:
        browser.close()
        pw.stop()
        server.close()


# In the page: each refresh's figures drawn in turn into their own divs (created on the first), timed from
# the first Plotly.react to the next animation frame after the last (the drawing the page then paints).
DRAW_REFRESH = """async (figures) => {
  const divs = window.__divs || (window.__divs = {});
  const start = performance.now();
  for (const [name, figure] of Object.entries(figures)) {
    if (!divs[name]) {
      divs[name] = document.createElement('div');
      divs[name].style.width = name === 'panels' ? '1100px' : '540px';
      document.body.appendChild(divs[name]);
    }
    await Plotly.react(divs[name], figure.data, figure.layout);
  }
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return performance.now() - start;
}"""


def bench_draw_cost(repeats: int) -> None:
    """Plotly.react of the metric charts as four figures against one figure of four panels, in Chromium,
    on ``repeats`` successive refreshes of a run that grows by 10 steps a refresh (a view of 300 points
    from 1,500 steps on, with five setting changes marked), alternating which is drawn first."""
    import plotly
    from playwright.sync_api import sync_playwright

    library = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"  # as ui.live_chart loads it
    events = [
        {
            "step": 100 * (i + 1),
            "time": "",
            "kind": "hparam",
            "detail": "",
            "fields": {"field": "lr_g", "new": i},
        }
        for i in range(5)
    ]
    store = filled_store(1_500)
    rng = np.random.default_rng(1)

    def refresh() -> tuple[dict, dict]:
        rows = rng.normal(size=(10, len(RECORD_COLUMNS)))
        rows[:, 0] = np.arange(len(store) + 1, len(store) + 11)
        store.extend(rows)
        frame = store.view(CHART_POINTS, nonfinite=True)
        four = {
            "loss": charts.loss_figure(frame, events, 0.6, loss_name="nonsaturating"),
            "accuracy": charts.accuracy_figure(frame, events, 0.6),
            "d_output": charts.d_output_figure(frame, events, 0.6, midpoint=0.5),
            "grad_norm": charts.grad_norm_figure(frame, events, 0.6, log_y=True),
        }
        panels = {"panels": charts.training_figure(frame, events, 0.6, loss_name="nonsaturating")}
        return as_sent(four), as_sent(panels)

    def as_sent(figures: dict) -> dict:  # as ui.live_chart writes them, as the page reads them
        return {name: json.loads(pio.to_json(figure, validate=False)) for name, figure in figures.items()}

    pw = sync_playwright().start()
    browser = launch(pw)
    try:
        times: dict[str, list[float]] = {"four figures": [], "one figure, four panels": []}
        pages = {name: browser.new_page(viewport={"width": 1200, "height": 1400}) for name in times}
        for page in pages.values():
            page.set_content("<html><body></body></html>")
            page.add_script_tag(path=str(library))
        for i in range(repeats + 1):
            four, panels = refresh()
            order = [("four figures", four), ("one figure, four panels", panels)]
            for name, figures in order if i % 2 == 0 else order[::-1]:
                took = pages[name].evaluate(DRAW_REFRESH, figures)
                if i:  # the first draw builds the charts: not a refresh
                    times[name].append(took)
        print(f"5. the metric charts' draw in Chromium, ms a refresh, median (min-max) of {repeats}")
        for name, values in times.items():
            print(f"   {name}: {statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})")
    finally:
        browser.close()
        pw.stop()


def bench_watched_own(steps: int, rounds: int) -> None:
    """examples/own_dcgan.py for ``steps`` steps, watched and unwatched, at torch's default threads and at
    one (``OMP_NUM_THREADS=1``), ``rounds`` times each, the order alternating by round: each run's steps/s
    from its last row's ``time_s`` (training only), and the ratios watched ÷ unwatched."""
    import csv

    from playwright.sync_api import sync_playwright

    runs = Path(tempfile.mkdtemp()) / "runs"
    server = Server(runs)
    pw = sync_playwright().start()
    browser = launch(pw)
    rates: dict[tuple[str, bool], list[float]] = {}
    try:
        for round_ in range(rounds):
            for threads in ("default", "1"):
                for watched in (False, True) if round_ % 2 == 0 else (True, False):
                    run_id = f"own-{round_}-{threads}-{'watched' if watched else 'alone'}"
                    env = dict(os.environ, GAN_DASHBOARD_RUNS=str(runs))
                    if threads != "default":
                        env["OMP_NUM_THREADS"] = threads
                    page = None
                    if watched:  # the page waits for the run and follows it live
                        page = browser.new_page(viewport={"width": 1400, "height": 1800})
                        page.goto(f"{server.url}/?run={run_id}")
                        page.get_by_text(run_id).first.wait_for(timeout=60_000)
                    command = [sys.executable, "examples/own_dcgan.py", "--steps", str(steps)]
                    command += ["--out", str(runs), "--run-id", run_id]
                    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
                    if page is not None:
                        page.close()
                    with open(runs / run_id / "metrics.csv", newline="") as f:
                        last = list(csv.DictReader(f))[-1]
                    rate = float(last["step"]) / float(last["time_s"])
                    rates.setdefault((threads, watched), []).append(rate)
                    print(f"   {run_id}: {rate:.1f} steps/s", flush=True)
    finally:
        browser.close()
        pw.stop()
        server.close()
    print(f"6. examples/own_dcgan.py, {steps} steps, steps/s watched ÷ unwatched ({rounds} rounds)")
    for threads in ("default", "1"):
        alone, seen = (statistics.mean(rates[(threads, w)]) for w in (False, True))
        which = "OMP_NUM_THREADS=1" if threads == "1" else f"torch's default, {os.cpu_count()} cores"
        print(f"   {which}: unwatched {alone:.1f}, watched {seen:.1f}, ratio {seen / alone:.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--repeats", type=int, default=30, help="timed refreshes or draws of each size (default: %(default)s)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=10.0,
        help="seconds per watched/unwatched window (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=6, help="watched/unwatched window pairs (default: %(default)s)"
    )
    parser.add_argument(
        "--fresh", type=int, default=3, help="fresh servers for Start -> first point (default: %(default)s)"
    )
    parser.add_argument(
        "--warm",
        type=int,
        default=3,
        help="runs on a warm server for Start -> first point (default: %(default)s)",
    )
    parser.add_argument("--skip-browser", action="store_true", help="only 1 and 2")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--first-point", action="store_true", help="only 3")
    only.add_argument("--watched", action="store_true", help="only 4")
    parser.add_argument(
        "--hidden", action="store_true", help="4 with the watching page hidden (a background tab)"
    )
    only.add_argument("--train-view", action="store_true", help="only 1b")
    only.add_argument("--draw-cost", action="store_true", help="only 5")
    only.add_argument("--watched-own", action="store_true", help="only 6")
    parser.add_argument(
        "--own-steps", type=int, default=300, help="steps of each run of 6 (default: %(default)s)"
    )
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        help="a streamlit run option for the servers started, over .streamlit/config.toml's (repeatable), "
        "e.g. global.minCachedMessageSize=10000",
    )
    args = parser.parse_args(argv)
    for option in args.server_option:
        if "=" not in option or "." not in option.split("=", 1)[0]:
            parser.error(f"--server-option {option!r}: expected SECTION.NAME=VALUE, as in config.toml")
    SERVER_OPTIONS[:] = args.server_option
    if args.draw_cost:
        bench_draw_cost(args.repeats)
        return
    if args.watched_own:
        bench_watched_own(args.own_steps, args.rounds)
        return
    everything = not (args.first_point or args.watched or args.train_view)
    if everything:
        bench_refresh(args.repeats)
    if everything or args.train_view:
        bench_train_view(args.repeats)
    if args.skip_browser:
        return
    if everything or args.first_point:
        first, again, new_page = bench_first_point(args.fresh, args.warm)
        print("3. Start -> first plotted point, s (target < 1 s warm, < 3 s always)")
        print(f"   first run of a fresh server, new browser: {[round(t, 2) for t in first]}")
        print(f"   next runs, same page: {[round(t, 2) for t in again]}")
        print(f"   next runs, a newly opened page: {[round(t, 2) for t in new_page]}")
    if everything or args.watched:
        print("4. ", end="")
        bench_watched(args.window, args.rounds, hidden=args.hidden)


if __name__ == "__main__":
    main()
