"""Dashboard benchmarks: refresh cost vs run length, store memory, Start-to-first-point, watched vs unwatched.

    python -m benchmarks.dashboard [--skip-browser]

1. Chart refresh at 1e3, 1e5 and 1e6 recorded steps: what the Train view does each second — the store's
   downsampled view, the four metric figures, and their JSON serialisation (Streamlit's side) — timed
   over repeated calls; target: 1e6 no more than 1.5x 1e3.
2. Store memory at 1e6 steps (target < 100 MB).
3. Time from pressing Start in headless Chromium to the first plotted point (target < 3 s on the CPU).
4. Steps/s of one open-ended run while a headless browser watches the Train view against the same run
   with no browser attached, in alternating windows (target ≥ 0.90).
"""

from __future__ import annotations

import argparse
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
    figures = [
        charts.loss_figure(frame, events, smoothing=0.6, loss_name="nonsaturating"),
        charts.accuracy_figure(frame, events, smoothing=0.6),
        charts.d_output_figure(frame, events, smoothing=0.6, midpoint=0.5),
        charts.grad_norm_figure(frame, events, smoothing=0.6),
    ]
    for fig in figures:
        fig.to_json()


def bench_refresh(repeats: int) -> None:
    print("1. chart refresh (view + 4 figures + JSON), median of", repeats)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def metrics_rows(runs: Path) -> int:
    files = sorted(runs.glob("*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    return max(0, sum(1 for _ in open(files[-1], "rb")) - 1) if files else 0  # the newest run


def bench_browser(window: float, rounds: int) -> None:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    runs = tmp / "runs"
    server = Server(runs)
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        open_with_open_ended_steps(page, server.url)  # the same run is measured watched and unwatched
        first_points = []
        for attempt in ("cold server", "warm server"):
            if attempt == "warm server":
                page.get_by_role("button", name="Stop", exact=True).click()
                page.get_by_text("stopped").first.wait_for(timeout=60_000)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Start", exact=True).click()
            page.locator(".st-key-chart_loss path.js-line").first.wait_for(timeout=60_000)
            first_points.append(time.perf_counter() - t0)
        print(
            f"3. Start -> first plotted point: {first_points[0]:.2f} s (first run of a fresh server), "
            f"{first_points[1]:.2f} s (next run) (target < 3 s)"
        )

        # The page that pressed Start watches too: close it, so "unwatched" has no browser session at all.
        page.close()
        print(f"4. steps/s watched vs unwatched, {rounds} rounds of {window:.0f} s windows")
        watched_rates, unwatched_rates = [], []
        for i in range(rounds):
            for watched in (True, False) if i % 2 == 0 else (False, True):
                if watched:
                    page = browser.new_page(viewport={"width": 1400, "height": 1800})
                    page.goto(server.url)
                    page.locator(".st-key-chart_loss .main-svg").first.wait_for(timeout=60_000)
                    page.wait_for_timeout(2000)  # past the page's first full render, to its steady refresh
                a, ta = metrics_rows(runs), time.monotonic()
                time.sleep(window)  # a measurement window, not a wait for an event
                b, tb = metrics_rows(runs), time.monotonic()
                (watched_rates if watched else unwatched_rates).append((b - a) / (tb - ta))
                if watched:
                    page.close()
                    time.sleep(2)  # let the session close before the unwatched window
        w, u = statistics.mean(watched_rates), statistics.mean(unwatched_rates)
        print(f"   watched {w:.1f} steps/s, unwatched {u:.1f} steps/s, ratio {w / u:.3f} (target >= 0.90)")
        rounded = [[round(x, 1) for x in rates] for rates in (watched_rates, unwatched_rates)]
        print(f"   per window: watched {rounded[0]}, unwatched {rounded[1]}")
    finally:
        browser.close()
        pw.stop()
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--window", type=float, default=15.0, help="seconds per watched/unwatched window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args(argv)
    bench_refresh(args.repeats)
    if not args.skip_browser:
        bench_browser(args.window, args.rounds)


if __name__ == "__main__":
    main()
