"""A run's notes in a real browser: written on the Runs page (Notes, Save notes), kept in the run folder's
notes.txt, shown under the Runs page's buttons, in its table and under the Train view's status line,
followed when another process changes them, refused with a reason (a control character, a folder another
process holds), off while another process trains the run, and found by the runs filter."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from playwright.sync_api import Page, expect

from gan_core.registry import RunRegistry
from tests.conftest import claimed_elsewhere
from tests.e2e.conftest import REPO_ROOT, Server
from tests.e2e.test_runs_page_browser import FIRST_LOAD_MS, TIMEOUT, UI_TIMEOUT, finished_run

pytestmark = pytest.mark.e2e

# The popover's button: "Notes", or "Notes (N line(s))" once the run has notes (its icon's name may lead).
NOTES_BUTTON = re.compile(r"Notes( \(\d+ lines?\))?$")
TINY_FLAGS = ["--dataset", "ring8", "--width", "16", "--latent-dim", "4", "--batch-size", "16"]
WRITER_START_S = 90.0  # a terminal's train imports torch: 20 s on a loaded 2-core machine


def open_runs_page(page: Page, server: Server, run_id: str) -> None:
    page.goto(f"{server.url}/Runs?run={run_id}")
    expect(page.locator('[class*="st-key-runs_table"]')).to_be_visible(timeout=FIRST_LOAD_MS)
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(run_id, timeout=UI_TIMEOUT)


def notes_button(page: Page):
    return page.get_by_role("button", name=NOTES_BUTTON)


def labelled(page: Page, label: str):
    """The Notes button, labelled exactly ``label`` (its accessible name: the icons are not read)."""
    return page.get_by_role("button", name=label, exact=True)


def open_notes(page: Page, run_id: str):
    """Click the Notes button; returns the popover's text area (its label names the run)."""
    notes_button(page).click()
    area = page.get_by_test_id("stPopoverBody").get_by_label(f"Notes of run {run_id}", exact=True)
    expect(area).to_be_visible(timeout=UI_TIMEOUT)
    return area


def save_button(page: Page):
    return page.get_by_test_id("stPopoverBody").get_by_role("button", name="Save notes")


def error_said(page: Page, text: str):
    return page.get_by_test_id("stPopoverBody").get_by_test_id("stAlertContentError").filter(has_text=text)


def rerun(page: Page, wanted: str) -> None:
    """A rerun of the Runs page in the same session, as a user makes one: the filter changed to ``wanted``
    (the list redrawn; the run shown below stays)."""
    page.get_by_label("Filter runs").fill(wanted)
    page.keyboard.press("Enter")


def notes_file(server: Server, run_id: str) -> str | None:
    try:
        return (server.runs_root / run_id / "notes.txt").read_text()
    except FileNotFoundError:
        return None


def test_notes_saved_on_the_runs_page_are_kept_shown_and_follow_the_folder(streamlit_server, page):
    server = streamlit_server
    finished_run(server, "n1")
    open_runs_page(page, server, "n1")
    expect(labelled(page, "Notes")).to_be_visible()  # none yet: no count
    shown = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^Notes\n"))
    expect(shown).to_have_count(0)

    area = open_notes(page, "n1")
    expect(area).to_have_value("")
    area.fill("  lr_d halved: does D still lead?\nG collapsed onto 3 modes at step 1,200  \n\n")
    save_button(page).click()
    expect(page.get_by_test_id("stToast").filter(has_text="Notes of n1 saved.")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    # kept trimmed, with a final line break
    kept = "lr_d halved: does D still lead?\nG collapsed onto 3 modes at step 1,200"
    assert notes_file(server, "n1") == kept + "\n"
    expect(area).to_have_value(kept)
    expect(labelled(page, "Notes (2 lines)")).to_be_visible(timeout=UI_TIMEOUT)
    # whole, line by line, under the buttons after a bold "Notes"
    expect(shown).to_have_count(1, timeout=UI_TIMEOUT)
    assert shown.inner_text().strip() == "Notes\n" + kept
    expect(shown.locator("strong")).to_have_text("Notes")

    # changed from outside (a terminal, another tab): a rerun shows them, and the untouched area follows
    RunRegistry(server.runs_root).set_notes("n1", "tried again with lr_d = 2e-4")
    page.keyboard.press("Escape")  # the popover closed
    rerun(page, "n1")
    expect(labelled(page, "Notes (1 line)")).to_be_visible(timeout=UI_TIMEOUT)
    expect(shown).to_have_text(re.compile(r"tried again with lr_d = 2e-4"), timeout=UI_TIMEOUT)
    expect(shown).not_to_contain_text("collapsed")
    area = open_notes(page, "n1")
    expect(area).to_have_value("tried again with lr_d = 2e-4")

    # ... but a draft the user typed (not saved) is not overwritten by the folder's next change
    area.fill("my draft")
    area.press("Tab")  # (leaving the area sends its text)
    RunRegistry(server.runs_root).set_notes("n1", "third version\nwith two lines")
    page.keyboard.press("Escape")
    rerun(page, "")
    expect(labelled(page, "Notes (2 lines)")).to_be_visible(timeout=UI_TIMEOUT)
    expect(shown).to_contain_text("third version", timeout=UI_TIMEOUT)
    area = open_notes(page, "n1")
    expect(area).to_have_value("my draft")
    assert notes_file(server, "n1") == "third version\nwith two lines\n"  # (the draft was not saved)

    # the Train view of the run: their first line under the status line, and the same Notes button
    page.goto(f"{server.url}/?run=n1")
    expect(page.get_by_text(re.compile(r"^Status: finished · run n1 ·"))).to_be_visible(timeout=FIRST_LOAD_MS)
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"^Notes:"))
    expect(caption).to_have_text("Notes: third version …", timeout=UI_TIMEOUT)
    expect(labelled(page, "Notes (2 lines)")).to_be_visible()
    expect(open_notes(page, "n1")).to_have_value("third version\nwith two lines")


def test_notes_refused_are_said_under_the_area_and_leave_the_file_as_it_was(streamlit_server, page):
    server = streamlit_server
    finished_run(server, "n2", seed=1)
    RunRegistry(server.runs_root).set_notes("n2", "keep me")
    open_runs_page(page, server, "n2")
    expect(labelled(page, "Notes (1 line)")).to_be_visible()
    area = open_notes(page, "n2")
    expect(area).to_have_value("keep me")
    toast = page.get_by_test_id("stToast")

    # text pasted from a terminal: an escape sequence
    area.fill("red \x1b[31malert")
    save_button(page).click()
    said = "notes hold the control character U+001B at character 5"
    expect(error_said(page, said)).to_be_visible(timeout=UI_TIMEOUT)
    expect(area).to_have_value("red \x1b[31malert")  # kept, to be corrected
    expect(toast).to_have_count(0)
    assert notes_file(server, "n2") == "keep me\n"

    # corrected, it is saved and the error goes
    area.fill("red alert")
    save_button(page).click()
    expect(toast.filter(has_text="Notes of n2 saved.")).to_be_visible(timeout=UI_TIMEOUT)
    expect(error_said(page, said)).to_have_count(0)
    assert notes_file(server, "n2") == "red alert\n"

    # while another process holds the folder (a terminal's `train --resume` starting on it), nothing is
    # written: the page says so under the area
    with claimed_elsewhere(server.runs_root / "n2") as other:
        area.fill("written while held")
        save_button(page).click()
        held = f"cannot change the notes of run 'n2' now: process {other.pid}"
        expect(error_said(page, held)).to_be_visible(timeout=UI_TIMEOUT)
        assert notes_file(server, "n2") == "red alert\n"
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value("n2")  # the app is up
    save_button(page).click()  # the claim gone: saved
    expect(error_said(page, held)).to_have_count(0, timeout=UI_TIMEOUT)
    expect(toast.filter(has_text="Notes of n2 saved.")).to_have_count(1, timeout=UI_TIMEOUT)
    assert notes_file(server, "n2") == "written while held\n"


def disk_status(run) -> str | None:
    try:
        return json.loads((run / "status.json").read_text()).get("status")
    except (FileNotFoundError, ValueError):
        return None


def wait_for_status(run, wanted: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while disk_status(run) != wanted:
        if proc.poll() is not None and wanted == "running":
            pytest.fail(f"train exited with {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{run.name} was not {wanted} within {timeout:.0f} s (status: {disk_status(run)})")
        time.sleep(0.2)


def test_notes_saved_for_a_run_a_terminal_trains_are_written_by_that_process(streamlit_server, page):
    """A run a terminal trains is written by that process alone: its notes (train --notes) are shown, and
    notes saved here are sent to it (notes_request.json), which writes them between two steps; the page
    says saved once it has, and the file holds them while it goes on training."""
    server = streamlit_server
    run = server.runs_root / "cli"
    command = [sys.executable, "-m", "gan_core", "train", *TINY_FLAGS, "--device", "cpu", "--steps", "0"]
    command += ["--out", str(server.runs_root), "--run-id", "cli", "--notes", "from the terminal", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_status(run, "running", proc, WRITER_START_S)
        open_runs_page(page, server, "cli")
        expect(labelled(page, "Notes (1 line)")).to_be_visible()
        area = open_notes(page, "cli")
        expect(area).to_have_value("from the terminal")
        expect(area).to_be_enabled()
        area.fill("from the terminal\nand from the dashboard, while it trains")
        save_button(page).click()
        expect(page.get_by_test_id("stToast").filter(has_text="Notes of cli saved.")).to_be_visible(
            timeout=UI_TIMEOUT
        )
        assert notes_file(server, "cli") == "from the terminal\nand from the dashboard, while it trains\n"
        assert proc.poll() is None and disk_status(run) == "running"  # (it trains on)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # stopped cleanly, as Ctrl-C in the terminal
        proc.wait(TIMEOUT)
    assert disk_status(run) == "stopped"
    assert notes_file(server, "cli") == "from the terminal\nand from the dashboard, while it trains\n"


def test_the_runs_filter_finds_a_word_of_the_notes(streamlit_server, page):
    server = streamlit_server
    finished_run(server, "f1", seed=2)
    finished_run(server, "f2", seed=3)
    RunRegistry(server.runs_root).set_notes("f1", "first line\nzebra stripes on the samples")
    open_runs_page(page, server, "f2")
    cells = page.locator('[role="gridcell"]')
    f_cells = cells.filter(has_text=re.compile("^f[12]$"))
    expect(f_cells).to_have_count(2, timeout=UI_TIMEOUT)  # both listed
    # the table's notes column: the first line, marked as having more
    row = page.locator('[class*="st-key-runs_table"] [role="row"]').filter(has=cells.filter(has_text="f1"))
    expect(row.locator(cells).filter(has_text=re.compile(r"^first line …$"))).to_have_count(1)

    page.get_by_label("Filter runs").fill("ZEBRA")  # a word of the notes' second line, case apart
    page.keyboard.press("Enter")
    expect(cells.filter(has_text=re.compile("^f2$"))).to_have_count(0, timeout=UI_TIMEOUT)
    expect(cells.filter(has_text=re.compile("^f1$"))).to_have_count(1)
    expect(page.locator('[role="row"]')).to_have_count(2, timeout=UI_TIMEOUT)  # f1 and the header

    page.get_by_label("Filter runs").fill("giraffe")  # in no run's notes
    page.keyboard.press("Enter")
    nothing = page.get_by_text(re.compile(r"^No run of the \d+ matches giraffe"))
    expect(nothing).to_be_visible(timeout=UI_TIMEOUT)
    expect(f_cells).to_have_count(0)
