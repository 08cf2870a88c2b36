"""The Train view's controls in a real browser (issue 11): one Start click in a second tab starts exactly
one run or is refused once, and the tab shows the run it started; the sidebar keeps a preset across a
visit to another page, and a branch made on the Runs page offers nothing to apply.

Why a browser: Streamlit's frontend marks a clicked button and sends the click a moment later; when the
live view's one-second auto-refresh fires in between, that refresh carries the click too, and the server
gets it twice. On a loaded machine this happened by chance (1 click in 3); `CLICK_AS_THE_REFRESH_FIRES`
makes it happen on every click by keeping the page busy until the refresh is due.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocket, expect

from gan_core.presets import get_preset

from .test_browser import UI_TIMEOUT, button, open_app, set_number, status, watched_run_id

pytestmark = pytest.mark.e2e

# Hold the page's thread past the live view's 1 s auto-refresh, then click Start: the refresh timer, due
# meanwhile, runs before the click's own message goes out, and sends the click's trigger as well.
CLICK_AS_THE_REFRESH_FIRES = """() => {
  const until = performance.now() + 1300;
  while (performance.now() < until) {}
  document.querySelector('.st-key-btn_start button').click();
}"""
SETTLE_MS = 1500  # after a click is handled: time for a second delivery of it to land, if there were one
LIMIT = 3  # GAN_DASHBOARD_MAX_RUNS for the Start test: the first run and two more fit, then a refusal


FIRST_LOAD_TIMEOUT = 90_000  # ms: a fresh server's first page imports torch & co. on a shared machine


def open_fresh(page: Page, url: str) -> WebSocket:
    """`open_app` on a server's first page load, which takes longer than a UI step may."""
    page.goto(url)
    expect(button(page, "Start")).to_be_enabled(timeout=FIRST_LOAD_TIMEOUT)
    return open_app(page, url)


def run_folders(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if not p.name.startswith(".")} if root.is_dir() else set()


def limit_errors(page: Page):
    return page.get_by_test_id("stAlert").filter(has_text="runs are already training")


def sidebar_value(page: Page, group: str, name: str) -> str:
    sidebar = page.get_by_test_id("stSidebar")
    field = sidebar.get_by_role("spinbutton", name=name, exact=True)
    if not field.is_visible():
        sidebar.get_by_text(group, exact=True).click()
    expect(field).to_be_visible(timeout=UI_TIMEOUT)
    return field.input_value()


def test_one_start_click_in_a_second_tab_starts_one_run_or_one_refusal(start_server, browser, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_MAX_RUNS", str(LIMIT))
    server = start_server()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        first = context.new_page()
        socket = open_fresh(first, server.url)
        set_number(first, socket, "Run", "steps", 0)  # open-ended tiny runs: each trains until shutdown
        set_number(first, socket, "Model", "width", 16)
        button(first, "Start").click()
        expect(status(first)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
        (oldest,) = run_folders(server.runs_root)

        second = context.new_page()  # joins the training run; its live view refreshes once a second
        open_app(second, server.url)
        expect(status(second)).to_have_text(re.compile(rf"· run {oldest} ·"), timeout=UI_TIMEOUT)
        for _ in range(LIMIT - 1):  # each click: exactly one new run, shown in the tab that started it
            before, watching = run_folders(server.runs_root), watched_run_id(second)
            second.evaluate(CLICK_AS_THE_REFRESH_FIRES)
            expect(status(second)).not_to_have_text(re.compile(rf"· run {watching} ·"), timeout=UI_TIMEOUT)
            second.wait_for_timeout(SETTLE_MS)
            new = run_folders(server.runs_root) - before
            assert len(new) == 1, f"one click started {sorted(new)}"
            (started,) = new
            assert watched_run_id(second) == started and second.url.endswith(f"?run={started}")
            expect(limit_errors(second)).to_have_count(0)
            expect(status(second)).to_have_text(re.compile(r"^Status: running"))
            # the runs started before it train on, and the tab says so (Stop stops only the run shown)
            also = second.get_by_text(re.compile(r"^Also training on this server: "))
            expect(also).to_contain_text(f"{oldest} at step", timeout=UI_TIMEOUT)

        # At the limit: one refusal, no run, and the tab stays on the run it shows.
        before, watching = run_folders(server.runs_root), watched_run_id(second)
        second.evaluate(CLICK_AS_THE_REFRESH_FIRES)
        try:
            expect(limit_errors(second)).to_have_count(1, timeout=UI_TIMEOUT)
        # What the tab says instead (1 run in 4 on loaded CI; reproduced here, each such run was a tab killed
        # by a cached-message miss: conftest's no_dead_tab)
        except AssertionError as exc:
            alerts = second.get_by_test_id("stAlert").all_inner_texts()
            runs = sorted(run_folders(server.runs_root))
            said = f"alerts {alerts}, {status(second).inner_text()!r}, runs {runs}"
            raise AssertionError(f"no refusal within {UI_TIMEOUT} ms: {said}") from exc
        second.wait_for_timeout(SETTLE_MS)
        expect(limit_errors(second)).to_have_count(1)
        assert run_folders(server.runs_root) == before and watched_run_id(second) == watching
    finally:
        context.close()


def test_the_sidebar_keeps_a_preset_across_pages_and_a_branch_offers_nothing_to_apply(start_server, page):
    preset = get_preset("d-overpowers")  # d_steps 5, lr_d 2e-3, no spectral norm: far from the defaults
    server = start_server()
    open_fresh(page, server.url)
    page.get_by_test_id("stSidebar").get_by_role("button", name=preset.title, exact=True).click()
    expect(status(page)).to_have_text(
        re.compile(r"^Status: running · run d-overpowers-20"), timeout=UI_TIMEOUT
    )
    # a step trained before Stop, so that it leaves a checkpoint to branch from (a run stopped at step 0
    # has none, and Rewind / branch stays disabled)
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_have_text(re.compile(r"^step [1-9]"), timeout=UI_TIMEOUT)
    button(page, "Stop").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: stopped"), timeout=UI_TIMEOUT)

    page.get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible(timeout=UI_TIMEOUT)
    page.get_by_role("link", name="Train").click()
    expect(page.get_by_role("heading", name="Watch a GAN learn")).to_be_visible(timeout=UI_TIMEOUT)
    assert sidebar_value(page, "Optimizer", "d_steps") == "5"  # was 1: the form had reset to the defaults
    assert float(sidebar_value(page, "Optimizer", "lr_d")) == pytest.approx(2e-3)
    caption = page.get_by_test_id("stSidebar").get_by_text(re.compile(r"^Preset: "))
    expect(caption).to_have_text(re.compile(rf"^Preset: {re.escape(preset.title)}\. Watch for"))

    page.get_by_role("link", name="Runs").click()
    button(page, "Rewind / branch").click()
    button(page, "Branch").click()  # then the Train view, watching the branch
    expect(status(page)).to_have_text(
        re.compile(r"^Status: running · run d-overpowers-\S+-at\d+ "), timeout=UI_TIMEOUT
    )
    expect(button(page, "Stop")).to_be_enabled(timeout=UI_TIMEOUT)  # the controls are drawn for it
    expect(page.get_by_role("button", name=re.compile(r"^Apply changes"))).to_have_count(0)
    assert sidebar_value(page, "Optimizer", "d_steps") == "5"


def test_a_second_tab_follows_a_pause_and_a_resume_made_in_the_first(start_server, browser):
    """A paused tab stopped refreshing: resumed from another tab, it went on saying "paused" (and offering
    D step / G step) while the run trained on, until it was reloaded."""
    server = start_server()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        first = context.new_page()
        socket = open_fresh(first, server.url)
        set_number(first, socket, "Run", "steps", 0)
        set_number(first, socket, "Model", "width", 16)
        button(first, "Start").click()
        expect(status(first)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
        second = context.new_page()
        open_app(second, server.url)
        expect(status(second)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
        button(first, "Pause").click()
        expect(status(second)).to_have_text(re.compile(r"^Status: paused · run "), timeout=UI_TIMEOUT)
        expect(button(second, "D step")).to_be_enabled(timeout=UI_TIMEOUT)
        button(first, "Resume").click()
        expect(status(second)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
        expect(button(second, "D step")).to_have_count(0, timeout=UI_TIMEOUT)  # offered only while paused
        # an ended run's tab does not refresh, but it looks whether another resumed it (it went on saying
        # "stopped", Resume enabled, while the run trained on)
        button(first, "Stop").click()
        expect(status(second)).to_have_text(re.compile(r"^Status: stopped · run "), timeout=UI_TIMEOUT)
        expect(button(first, "Resume")).to_be_enabled(timeout=UI_TIMEOUT)
        button(first, "Resume").click()
        expect(status(second)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
    finally:
        context.close()


def start_small_run(page: Page, server) -> WebSocket:
    """An open-ended run of a small MLP started from a fresh server's Train view, training; the page's
    socket."""
    socket = open_fresh(page, server.url)
    set_number(page, socket, "Run", "steps", 0)
    set_number(page, socket, "Model", "width", 16)
    button(page, "Start").click()
    expect(button(page, "Pause")).to_be_enabled(timeout=UI_TIMEOUT)
    return socket


def test_applying_a_change_moves_no_button_under_the_pointer(start_server, page):
    """The "Applied" message was drawn above the buttons: a click on Apply changes moved the row of
    buttons down onto the pointer, and a second click there (a double click) paused the run."""
    socket = start_small_run(page, start_server())
    set_number(page, socket, "Optimizer", "d_steps", 2)
    apply = page.get_by_role("button", name=re.compile(r"^Apply changes: d_steps → 2"))
    expect(apply).to_be_visible(timeout=UI_TIMEOUT)
    before = button(page, "Pause").bounding_box()
    apply.click()
    expect(page.get_by_test_id("stToast").filter(has_text="Applied: d_steps = 2")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    expect(apply).to_have_count(0)
    after = button(page, "Pause").bounding_box()
    assert before is not None and after is not None
    assert abs(after["y"] - before["y"]) <= 1 and abs(after["x"] - before["x"]) <= 1, (before, after)
    expect(status(page)).to_have_text(re.compile(r"^Status: running · run "))


def focus_in(page: Page, key: str) -> None:
    """Wait until the keyboard's focus is on the button of ``key``."""
    page.wait_for_function(
        "(key) => document.activeElement?.closest(`.st-key-${key}`) != null", arg=key, timeout=UI_TIMEOUT
    )


def test_the_keyboards_focus_stays_on_the_controls_as_pause_resume_and_apply_come_and_go(start_server, page):
    """A review, keyboard only: after Enter on Pause, Resume or Apply changes the focus fell to the page's
    start (the button pressed went disabled or away), 18 Tabs from the next control."""
    socket = start_small_run(page, start_server())
    button(page, "Pause").focus()
    page.keyboard.press("Enter")
    expect(status(page)).to_have_text(re.compile(r"^Status: paused · run "), timeout=UI_TIMEOUT)
    focus_in(page, "btn_resume")
    page.keyboard.press("Enter")  # Resume, where the focus went
    expect(status(page)).to_have_text(re.compile(r"^Status: running · run "), timeout=UI_TIMEOUT)
    focus_in(page, "btn_pause")
    set_number(page, socket, "Optimizer", "d_steps", 2)
    apply = page.get_by_role("button", name=re.compile(r"^Apply changes: d_steps → 2"))
    apply.focus()
    page.keyboard.press("Enter")
    expect(apply).to_have_count(0, timeout=UI_TIMEOUT)
    focus_in(page, "btn_pause")
    # focus the user moved elsewhere meanwhile is theirs: a press of Pause, then a Tab into the sidebar
    button(page, "Pause").focus()
    page.keyboard.press("Enter")
    sidebar_field = page.get_by_test_id("stSidebar").get_by_role("spinbutton", name="d_steps", exact=True)
    sidebar_field.focus()
    expect(status(page)).to_have_text(re.compile(r"^Status: paused · run "), timeout=UI_TIMEOUT)
    page.wait_for_timeout(1000)  # (the keeper looks every 150 ms)
    assert page.evaluate("() => document.activeElement?.closest('[data-testid=stSidebar]') != null")
