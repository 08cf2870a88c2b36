"""The dashboard in a real browser: a run started, watched live, paused, stepped, resumed, stopped,
exported and found on the other pages; a server shutdown that stops a live run cleanly; and a kill -9
of the server that loses no row the page had shown.

What only a browser shows is checked here: the live fragment refreshing by itself, the chart's SVG
changing, the buttons' enabled state following the run, and the file a download hands over.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, WebSocket, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from gan_core.registry import RunRegistry
from gan_core.trainer import CSV_COLUMNS

pytestmark = pytest.mark.e2e

UI_TIMEOUT = 30_000  # ms: the machine is slow and shared
TARGET_STEPS = 100_000  # far more than a test trains: every run here ends by Stop or shutdown

STEP_ABOVE = """(before) => {
  const bar = document.querySelector('[data-testid="stProgress"]');
  const match = bar && bar.innerText.match(/^step ([\\d,]+)/);  // (1,234: thousands separated)
  return match !== null && Number(match[1].replace(/,/g, '')) > before;
}"""
# the lines of the metric charts' losses panel (plotly's subplot "xy", the figure's first)
LOSS_PATHS = """() => [...document.querySelectorAll('.st-key-chart_metrics .subplot.xy path.js-line')]
  .map(p => p.getAttribute("d")).join("|")"""
LOSS_CHANGED = f"(before) => {{ const now = ({LOSS_PATHS})(); return now !== '' && now !== before; }}"
SAMPLE_EVERY = 10
SNAPSHOT_TITLE = ".st-key-chart_samples .gtitle"
SNAPSHOT_BELOW = """(before) => {
  const title = document.querySelector('.st-key-chart_samples .gtitle');
  const match = title && title.textContent.match(/step (\\d+)/);
  return match !== null && Number(match[1]) < before;
}"""


# Whether the app's style for the menu's focus ring (dashboard.py) is in the page
FOCUS_RING_STYLED = """() => [...document.querySelectorAll('style')]
  .some((style) => style.textContent.includes("stSidebarNavLink")
    && style.textContent.includes("focus-visible"))"""


def script_finished(payload: str | bytes) -> bool:
    """Whether a websocket frame from the server says a full script run finished."""
    if isinstance(payload, str):
        return False
    msg = ForwardMsg.FromString(payload)
    return msg.HasField("script_finished") and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY


def open_app(page: Page, url: str) -> WebSocket:
    """Load the app; returns the session's websocket (its frames tell when a script run finished)."""
    with page.expect_websocket(lambda ws: ws.url.endswith("/_stcore/stream")) as socket:
        page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    expect(button(page, "Start")).to_be_enabled(timeout=UI_TIMEOUT)
    return socket.value


def button(page: Page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def set_number(page: Page, socket: WebSocket, group: str, name: str, value: int) -> None:
    """Type a sidebar number and wait until the script run it triggers has finished on the server
    (Start's callback is bound to the config of the last finished run)."""
    sidebar = page.get_by_test_id("stSidebar")
    field = sidebar.get_by_role("spinbutton", name=name, exact=True)
    if not field.is_visible():
        sidebar.get_by_text(group, exact=True).click()
    field.fill(str(value))
    with socket.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
        field.press("Enter")


def status(page: Page):
    return page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^Status:"))


def shown_step(page: Page) -> int:
    text = page.get_by_test_id("stProgress").inner_text()
    match = re.match(r"step ([\d,]+) ", text)  # (1,234: thousands separated)
    assert match, f"unexpected progress text {text!r}"
    return int(match.group(1).replace(",", ""))


def wait_step_above(page: Page, step: int) -> int:
    page.wait_for_function(STEP_ABOVE, arg=step, timeout=UI_TIMEOUT)
    return shown_step(page)


def snapshot_step(page: Page) -> int:
    """The step of the fixed-noise snapshot on show (from the sample grid's title)."""
    text = page.locator(SNAPSHOT_TITLE).first.text_content()
    match = re.search(r"step (\d+)", text or "")
    assert match, f"unexpected snapshot title {text!r}"
    return int(match.group(1))


def watched_run_id(page: Page) -> str:
    match = re.search(r"· run (\S+) ·", status(page).inner_text())
    assert match, status(page).inner_text()
    return match.group(1)


def test_train_pause_step_resume_stop_export_and_other_pages(streamlit_server, page, tmp_path):
    socket = open_app(page, streamlit_server.url)
    set_number(page, socket, "Run", "steps", TARGET_STEPS)
    set_number(page, socket, "Model", "width", 32)
    set_number(page, socket, "Optimizer", "batch_size", 32)
    set_number(page, socket, "Run", "sample_every", SAMPLE_EVERY)

    button(page, "Start").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
    run_id = watched_run_id(page)
    assert (streamlit_server.runs_root / run_id / "config.json").is_file()
    config = json.loads((streamlit_server.runs_root / run_id / "config.json").read_text())
    assert (config["steps"], config["width"], config["batch_size"]) == (TARGET_STEPS, 32, 32)

    # The live fragment refreshes by itself: the step count and the loss chart move on.
    first = wait_step_above(page, 0)
    expect(page.get_by_test_id("stProgress")).to_contain_text(f" / {TARGET_STEPS:,}")
    wait_step_above(page, first)
    loss_before = page.evaluate(LOSS_PATHS)
    page.wait_for_function(LOSS_CHANGED, arg=loss_before, timeout=UI_TIMEOUT)
    for key in ("chart_metrics", "chart_samples", "chart_real"):
        expect(page.locator(f".st-key-{key} .main-svg").first).to_be_visible(timeout=UI_TIMEOUT)

    button(page, "Pause").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: paused"), timeout=UI_TIMEOUT)
    expect(button(page, "Resume")).to_be_enabled(timeout=UI_TIMEOUT)
    expect(button(page, "Step")).to_be_enabled(timeout=UI_TIMEOUT)
    expect(button(page, "Pause")).to_be_disabled()
    paused = shown_step(page)

    button(page, "Step").click()
    expect(page.get_by_test_id("stProgress")).to_have_text(
        re.compile(rf"^step {paused + 1:,} / {TARGET_STEPS:,}"), timeout=UI_TIMEOUT
    )
    expect(status(page)).to_have_text(re.compile(r"^Status: paused"))
    # the step's snapshot, which can reach the page a refresh after its progress line (CI read the one
    # before it as the newest, and the step's arrived during the wait below)
    expect(page.locator(SNAPSHOT_TITLE).first).to_have_text(
        re.compile(rf"step {paused + 1}\b"), timeout=UI_TIMEOUT
    )

    # Replay: a click early on the loss chart (plotly.js's click on the line) shows an early snapshot, and
    # the view stays there while the run trains on.
    newest = snapshot_step(page)
    assert newest >= 2 * SAMPLE_EVERY, "too few snapshots to pick an earlier one"
    plot = page.locator(".st-key-chart_metrics .draglayer .xy .nsewdrag").first.bounding_box()  # losses
    # A double-click there (plotly's "show it whole") picks nothing: each of its clicks had moved the view
    # off the newest snapshot. A pick shows within a second (the single click below: polled); the run is
    # paused, so the newest stays what it is while this waits two seconds for a pick that must not come.
    page.mouse.dblclick(plot["x"] + plot["width"] * 0.1, plot["y"] + plot["height"] * 0.5)
    page.wait_for_timeout(2000)
    assert snapshot_step(page) == newest
    page.mouse.click(plot["x"] + plot["width"] * 0.1, plot["y"] + plot["height"] * 0.5)
    page.wait_for_function(SNAPSHOT_BELOW, arg=newest, timeout=UI_TIMEOUT)
    picked = snapshot_step(page)
    assert 0 <= picked <= newest // 2 and picked % SAMPLE_EVERY == 0

    button(page, "Resume").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: running"), timeout=UI_TIMEOUT)
    expect(button(page, "Pause")).to_be_enabled(timeout=UI_TIMEOUT)
    wait_step_above(page, wait_step_above(page, paused + 1))  # two refreshes later
    assert snapshot_step(page) == picked

    # the download below must not race the script run this click triggers
    with socket.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
        button(page, "Stop").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: stopped"), timeout=UI_TIMEOUT)
    expect(button(page, "Stop")).to_be_disabled(timeout=UI_TIMEOUT)
    expect(button(page, "Start")).to_be_enabled()
    final = shown_step(page)
    assert final > paused + 1
    on_disk = json.loads((streamlit_server.runs_root / run_id / "status.json").read_text())
    assert (on_disk["status"], on_disk["step"]) == ("stopped", final)

    with page.expect_download(timeout=UI_TIMEOUT) as download_info:
        button(page, "Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"{run_id}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    metrics = pd.read_csv(saved)
    assert list(metrics.columns) == list(CSV_COLUMNS)
    assert metrics["step"].tolist() == list(range(1, final + 1))
    assert metrics[["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]].notna().all().all()

    page.get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible(timeout=UI_TIMEOUT)
    table = page.locator('[class*="st-key-runs_table"]')
    expect(table).to_be_visible(timeout=UI_TIMEOUT)
    expect(table.get_by_text(run_id, exact=True)).to_have_count(1)  # the grid's accessible copy
    expect(page.get_by_role("combobox", name="Run")).to_have_value(run_id)  # the newest is picked

    page.get_by_role("link", name="Compare").click()
    expect(page.get_by_role("heading", name="Compare runs")).to_be_visible(timeout=UI_TIMEOUT)
    chart = page.locator(".st-key-cmp_chart_d_loss")
    expect(chart.locator("path.js-line").first).to_be_visible(timeout=UI_TIMEOUT)
    expect(chart).to_contain_text(run_id)  # the legend names the run

    page.get_by_role("link", name="Guide").click()
    expect(page.get_by_role("heading", name="How to read the dashboard")).to_be_visible(timeout=UI_TIMEOUT)


# The page as a background tab or a minimised window is (Chromium shows every headless page)
SET_HIDDEN = """(hidden) => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  const state = hidden ? "hidden" : "visible";
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def rows_on_disk(run: Path) -> int:
    with open(run / "metrics.csv", "rb") as file:
        return max(0, file.read().count(b"\n") - 1)  # whole lines, less the header


def wait_rows(run: Path, rows: int, until: float = 0.0) -> int:
    """Poll the run's metrics.csv until it holds at least ``rows`` rows (and ``time.monotonic()`` has
    passed ``until``); returns the rows it holds."""
    deadline = max(time.monotonic(), until) + UI_TIMEOUT / 1000
    while (now := rows_on_disk(run)) < rows or time.monotonic() < until:
        assert time.monotonic() < deadline, f"{now} rows on disk, waited for {rows}"
        time.sleep(0.05)
    return now


# The live view's pacer (ui/live_chart.py) holds a refresh that fell due while the page was hidden
PACER_WAITING = "() => (window.__livePacerWaiting || new Set()).size > 0"


def test_a_hidden_page_is_not_refreshed_and_catches_up_once_shown(streamlit_server, page):
    socket = open_app(page, streamlit_server.url)
    set_number(page, socket, "Run", "steps", TARGET_STEPS)
    set_number(page, socket, "Model", "width", 32)
    button(page, "Start").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
    run = streamlit_server.runs_root / watched_run_id(page)
    wait_step_above(page, wait_step_above(page, 0))  # refreshing by itself

    page.evaluate(SET_HIDDEN, True)
    # The refresh in flight when the page was hidden (if any) lands; the next, when due, is held.
    page.wait_for_function(PACER_WAITING, timeout=UI_TIMEOUT)
    held = shown_step(page)
    # 150 steps on and 2.5 s later (a shown page refreshes twice meanwhile), the page shows the same step.
    later = wait_rows(run, rows_on_disk(run) + 150, until=time.monotonic() + 2.5)
    assert shown_step(page) == held <= later - 100  # (the store may be some rows ahead of the file)

    page.evaluate(SET_HIDDEN, False)
    assert wait_step_above(page, later) > later  # asked for at once, and on with the run
    wait_step_above(page, shown_step(page))  # and refreshing by itself again
    button(page, "Stop").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: stopped"), timeout=UI_TIMEOUT)


def test_the_menus_links_show_keyboard_focus_as_a_ring(streamlit_server, page):
    """Tab from the page's top reaches the menu's links, each drawn with a focus ring while it has the
    focus (a keyboard user's review: only a hover's faint grey, Streamlit setting no outline there)."""
    page.goto(f"{streamlit_server.url}/Guide")
    expect(page.get_by_role("heading", name="How to read the dashboard")).to_be_visible(timeout=UI_TIMEOUT)
    # the menu, and the app's style for its focus ring, are drawn apart from the page's body: in CI the
    # Tabs once ran before the menu was there, and once before the style was (the first link read "none")
    expect(page.get_by_test_id("stSidebarNavLink").last).to_be_visible(timeout=UI_TIMEOUT)
    page.wait_for_function(FOCUS_RING_STYLED, timeout=UI_TIMEOUT)
    focused = "() => {const e = document.activeElement; const s = getComputedStyle(e); "
    focused += "return [e.getAttribute('data-testid'), e.textContent, s.outlineStyle, s.outlineWidth]}"
    seen = []
    ringed = "() => getComputedStyle(document.activeElement).outlineStyle === 'solid'"
    for _ in range(4):  # past "Skip to main content" to the first links
        page.keyboard.press("Tab")
        if page.evaluate(focused)[0] == "stSidebarNavLink":  # (its ring drawn at the next frame, at most)
            with contextlib.suppress(PlaywrightTimeoutError):
                page.wait_for_function(ringed, timeout=2_000)
        seen.append(page.evaluate(focused))
    links = [item for item in seen if item[0] == "stSidebarNavLink"]
    assert [item[1] for item in links][:2] == ["Train", "Runs"], seen
    assert all(item[2:] == ["solid", "2px"] for item in links), links


def test_server_shutdown_stops_a_live_run_cleanly(start_server, page):
    server = start_server()
    socket = open_app(page, server.url)
    set_number(page, socket, "Run", "steps", 0)  # until stopped: only the shutdown can end it
    set_number(page, socket, "Model", "width", 32)
    button(page, "Start").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
    run_id = watched_run_id(page)
    shown = wait_step_above(page, 0)

    exit_code = server.stop()  # SIGTERM, as a service manager stops it
    assert exit_code == 0, f"streamlit exited with {exit_code} on SIGTERM:\n{server.log_tail()}"
    run = server.runs_root / run_id
    on_disk = json.loads((run / "status.json").read_text())
    assert on_disk["status"] == "stopped" and on_disk["error"] is None
    assert on_disk["step"] >= shown
    events = pd.read_csv(run / "events.csv")
    assert events[events.kind == "status"]["detail"].tolist() == ["running", "stopped"]
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["step"].tolist() == list(range(1, on_disk["step"] + 1))  # flushed to the last step
    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert checkpoints[-1] == f"step_{on_disk['step']:08d}.pt"  # the final checkpoint


def test_kill_9_of_the_server_keeps_every_row_shown_and_the_run_is_interrupted(start_server, page):
    server = start_server()
    socket = open_app(page, server.url)
    set_number(page, socket, "Run", "steps", 0)
    set_number(page, socket, "Model", "width", 32)
    button(page, "Start").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
    run_id = watched_run_id(page)
    shown = wait_step_above(page, 20)  # a step the page has drawn, so one the server had trained

    server.process.send_signal(signal.SIGKILL)  # no handler, no flush: what the disk holds is all
    assert server.process.wait(30) == -signal.SIGKILL
    run = server.runs_root / run_id
    raw = (run / "metrics.csv").read_bytes()
    metrics = pd.read_csv(run / "metrics.csv")
    assert raw.endswith(b"\n") and (run / "events.csv").read_bytes().endswith(b"\n")  # whole lines
    assert len(metrics) >= shown  # every step the page had shown is on disk
    assert metrics["step"].tolist() == list(range(1, len(metrics) + 1))  # no gap, no duplicate
    assert metrics[["d_loss", "g_loss"]].notna().all().all()
    assert json.loads((run / "status.json").read_text())["status"] == "running"  # as it was at the kill
    summaries = RunRegistry(server.runs_root).summaries()  # what the next server lists: its last row's
    # step (status.json, written every few seconds, is behind it)
    assert [(r["run_id"], r["status"], r["step"]) for r in summaries] == [
        (
            run_id,
            "interrupted",
            max(int(metrics["step"].iloc[-1]), json.loads((run / "status.json").read_text())["step"]),
        )
    ]
