"""Hostile uploads through the sidebar's real file uploader, in a real browser: a ZIP with a ``../`` entry,
a ZIP bomb and a CSV with text in a cell. Each shows its error in the page, nothing lands outside the
uploads folder, and the app keeps working: Start still trains a run afterwards.

What only a browser shows: the file goes through Streamlit's upload endpoint and the rerun it triggers,
as a user's file does (tests/test_hostile.py covers every case in-process).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import zip_of
from tests.e2e.test_browser import UI_TIMEOUT, button, open_app, script_finished, status, watched_run_id

pytestmark = pytest.mark.e2e


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8), 128, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def choose_dataset(page: Page, socket, name: str) -> None:
    """Pick ``name`` in the sidebar's dataset box. Typing filters the list, so the option is rendered
    whatever its place in the (virtualised) list; a rerun that redraws the sidebar closes an open list,
    so the box is opened again until the option shows."""
    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="dataset")
    option = page.get_by_role("option", name=name, exact=True)
    for _ in range(5):
        box.click()
        box.press_sequentially(name)
        try:
            option.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    with socket.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
        option.click()


def upload(page: Page, socket, name: str, data: bytes, mime: str) -> None:
    """Put one file into the sidebar's uploader and wait for the script run it triggers to finish."""
    field = page.get_by_test_id("stSidebar").get_by_test_id("stFileUploaderDropzoneInput")
    with socket.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
        field.set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])


def alert(page: Page, text: str):
    return page.get_by_test_id("stAlertContentError").filter(has_text=text)


def test_hostile_uploads_show_errors_and_the_app_keeps_working(streamlit_server, page):
    root = streamlit_server.runs_root
    socket = open_app(page, streamlit_server.url)

    choose_dataset(page, socket, "folder")
    upload(
        page,
        socket,
        "escape.zip",
        zip_of({"ok.png": png_bytes(), "../../escape.png": png_bytes()}),
        "application/zip",
    )
    expect(
        alert(page, "escape.zip: entry '../../escape.png' points outside the archive; refused")
    ).to_be_visible(timeout=UI_TIMEOUT)
    assert not list(root.parent.rglob("escape.png"))

    # 100 MiB of zeros in about 100 KB
    bomb = zip_of({"ok.png": png_bytes(), "bomb.png": b"\0" * (100 * 2**20)})
    upload(page, socket, "bomb.zip", bomb, "application/zip")
    expect(
        alert(
            page, re.compile(r"bomb\.zip: entry 'bomb\.png' is compressed \d+x; allowed up to 200x an entry")
        )
    ).to_be_visible(timeout=UI_TIMEOUT)
    assert not list(root.rglob("bomb.png"))
    expect(button(page, "Start")).to_be_disabled()  # a folder run with no data_path cannot start

    choose_dataset(page, socket, "points")
    upload(page, socket, "text.csv", b"x,y\n1,2\n3,abc\n5,6\n", "text/csv")
    # read as it arrives, by the reader Start uses: refused at once, data_path left unset
    expect(
        alert(page, "points CSV text.csv: column 2 has text 'abc' at row 3; need two numeric columns x,y")
    ).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)
    expect(button(page, "Start")).to_be_disabled()
    assert not list(root.glob("*/config.json"))  # no run folder for data that cannot load

    # The app keeps working: a toy dataset trains.
    choose_dataset(page, socket, "ring8")
    button(page, "Start").click()
    expect(status(page)).to_have_text(re.compile(r"^Status: (running|finished) · run "), timeout=UI_TIMEOUT)
    run_id = watched_run_id(page)
    assert (root / run_id / "config.json").is_file()
    if button(page, "Stop").is_enabled():
        button(page, "Stop").click()
        expect(status(page)).to_have_text(re.compile(r"^Status: (stopped|finished)"), timeout=UI_TIMEOUT)


def test_a_number_beyond_what_its_field_holds_is_said_and_start_trains_nothing(streamlit_server, page):
    """steps = 10**16 + 1 (past 2**53) typed in the sidebar: the browser never sends it, and Start trained
    the form's last value. Clicked at once, the click is stopped in the browser: nothing starts, the
    sidebar says why and Start stays off until the field holds a number it can send."""
    root = streamlit_server.runs_root
    before = set(root.glob("*/config.json"))  # (the server is the module's: earlier tests' runs are there)
    socket = open_app(page, streamlit_server.url)
    sidebar = page.get_by_test_id("stSidebar")
    field = sidebar.get_by_role("spinbutton", name="steps", exact=True)
    if not field.is_visible():
        sidebar.get_by_text("Run", exact=True).click()
    field.fill(str(10**16 + 1))
    # No Enter first: the click is what takes the focus off the field. Clicked at once, whether or not the
    # form has heard of the field yet (Start may already be off): force, as a person's click is.
    button(page, "Start").click(force=True)
    said = "steps: the number typed is beyond what a number field can hold, so the browser did not send it"
    expect(sidebar.get_by_test_id("stAlertContentError").filter(has_text=said)).to_be_visible(
        timeout=UI_TIMEOUT
    )
    expect(button(page, "Start")).to_be_disabled()
    assert set(root.glob("*/config.json")) == before  # no run started with the form's old steps
    field.fill("200")
    with socket.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
        field.press("Enter")
    expect(button(page, "Start")).to_be_enabled(timeout=UI_TIMEOUT)
    expect(page.get_by_test_id("stAlertContentError").filter(has_text=said)).to_have_count(0)
    assert set(root.glob("*/config.json")) == before  # (nor since: no click was on its way)
