"""One tab watching a run, measured from inside the browser: does the page itself grow over minutes?

    python -m benchmarks.page_probe [--minutes 5] [--interval 30]

A real ``streamlit run dashboard.py`` server and headless Chromium. One tab starts an open-ended default
run and watches it; every ``interval`` seconds, after a forced garbage collection in the page, Chrome's
own Performance metrics (DevTools protocol) are printed: the JS heap in use, DOM nodes, event listeners,
layouts so far and script time so far. A page that leaked (charts or messages kept after a redraw) would
show a heap and node count that climb; a steady page shows them flat and its script time rising linearly.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.dashboard import CHROMIUM_ARGS, Server, open_with_open_ended_steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.page_probe", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to watch (default: %(default)s)")
    parser.add_argument(
        "--interval", type=float, default=30.0, help="seconds between samples (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server = Server(Path(tempfile.mkdtemp()) / "runs")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=[*CHROMIUM_ARGS, "--js-flags=--expose-gc"]
    )
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        open_with_open_ended_steps(page, server.url)
        page.get_by_role("button", name="Start", exact=True).click()
        names = (("t (s)", 6), ("JS heap MiB", 12), ("DOM nodes", 10), ("listeners", 10), ("layouts", 9))
        print(" ".join(f"{name:>{width}}" for name, width in names), f"{'script s':>9}")
        start = time.monotonic()
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(args.interval)  # a sampling period, not a wait for an event
            page.evaluate("() => { if (window.gc) window.gc(); }")
            m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
            print(
                f"{time.monotonic() - start:6.0f} {m['JSHeapUsedSize'] / 2**20:12.1f} {m['Nodes']:10.0f} "
                f"{m['JSEventListeners']:10.0f} {m['LayoutCount']:9.0f} {m['ScriptDuration']:9.1f}",
                flush=True,
            )
    finally:
        browser.close()
        pw.stop()
        server.close()


if __name__ == "__main__":
    main()
