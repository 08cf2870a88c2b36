"""The Runs page's delete confirmation in a real browser: whether a popover is open is the browser's to
show, and a confirmation left open after a delete, naming the run now shown in the deleted one's place,
was one click from deleting a second run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gan_core.config import GANConfig
from gan_core.runner import Runner
from tests.e2e.conftest import Server
from tests.e2e.test_browser import script_finished

pytestmark = pytest.mark.e2e

TIMEOUT = 60  # seconds, for a tiny run on a slow shared machine
FIRST_LOAD_MS = 90_000  # a fresh server's first page imports torch and the rest
UI_TIMEOUT = 30_000
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=20)


def finished_run(server: Server, run_id: str, **overrides) -> None:
    runner = Runner(GANConfig(**{**TINY, **overrides}), server.runs_root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"


def test_a_delete_closes_its_confirmation_instead_of_offering_the_next_run(streamlit_server, page):
    finished_run(streamlit_server, "r1")
    finished_run(streamlit_server, "r2", seed=1)
    with page.expect_websocket(lambda ws: ws.url.endswith("/_stcore/stream")) as socket:
        page.goto(f"{streamlit_server.url}/Runs")
    expect(page.locator('[class*="st-key-runs_table"]')).to_be_visible(timeout=FIRST_LOAD_MS)
    shown = page.get_by_role("combobox", name="Run", exact=True)
    expect(shown).to_have_value("r2", timeout=UI_TIMEOUT)  # the newest run is shown first
    confirm = page.get_by_role("button", name="Delete for good", exact=True)
    question = page.get_by_text(re.compile(r"^Delete run r\d and all its files\?"))

    page.get_by_role("button", name="Delete", exact=True).click()
    expect(question).to_have_text(re.compile(r"^Delete run r2 "), timeout=UI_TIMEOUT)
    with socket.value.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
        confirm.click()  # (the page drawn after the delete is its final state: no passing frame is judged)

    expect(page.get_by_text("Deleted run r2.", exact=True)).to_be_visible(timeout=UI_TIMEOUT)
    expect(shown).to_have_value("r1")
    expect(confirm).to_be_hidden(timeout=UI_TIMEOUT)  # closed: no "Delete run r1 ...?" one click away
    expect(question).to_be_hidden()
    assert not (streamlit_server.runs_root / "r2").exists()
    assert (streamlit_server.runs_root / "r1" / "config.json").is_file()

    # opened again, it asks about the run shown now
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(question).to_have_text(re.compile(r"^Delete run r1 "), timeout=UI_TIMEOUT)


def tick_row(page, run_id: str, shown) -> None:
    """Tick the table's row of ``run_id`` by its row marker, as a person does, until the menu ``shown``
    picks it: the grid is drawn on a canvas (35 px rows under a 35 px header), its row found in the
    grid's accessible copy (hidden, and filled in after the canvas is drawn: waited for). A click that
    lands while the page reruns is lost, so it is made again (at most three times); a second click on a
    ticked row unticks it, which leaves the menu where it is."""
    table = page.locator('[class*="st-key-runs_table"]')
    cell = page.locator('[role="gridcell"]').filter(has_text=re.compile(rf"^{re.escape(run_id)}$"))
    row = table.locator('[role="row"]').filter(has=cell)  # (``has`` is looked for inside each row)
    expect(row).to_have_count(1, timeout=UI_TIMEOUT)
    index = int(row.get_attribute("aria-rowindex")) - 1  # 1 is the header's
    for attempt in range(3):
        box = table.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + 35 * index + 18)
        try:
            expect(shown).to_have_value(run_id, timeout=UI_TIMEOUT // 3)
            return
        except AssertionError:
            if attempt == 2:
                raise


def test_a_row_ticked_in_the_table_picks_its_run_for_the_buttons_below(streamlit_server, page):
    """Ticking a row was shown as picked while the menu under the table, which Open, Download and Delete
    act on, stayed on the run it showed before; and a run opened from here was lost on a refresh of the
    Train view (its URL did not name it)."""
    finished_run(streamlit_server, "t1", seed=2)
    finished_run(streamlit_server, "t2", seed=3)
    page.goto(f"{streamlit_server.url}/Runs")
    expect(page.locator('[class*="st-key-runs_table"]')).to_be_visible(timeout=FIRST_LOAD_MS)
    shown = page.get_by_role("combobox", name="Run", exact=True)
    expect(shown).to_have_value("t2", timeout=UI_TIMEOUT)  # the newest

    tick_row(page, "t1", shown)  # the menu that Open, Download and Delete act on picks it

    tick_row(page, "t2", shown)
    shown.click()  # the menu still picks by itself, the row left ticked
    page.get_by_role("option", name="t1", exact=True).click()
    expect(shown).to_have_value("t1", timeout=UI_TIMEOUT)

    # opened in the Train view, the run is named in the URL, so that a refresh keeps it
    page.get_by_role("button", name="Open in Train view", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?run=t1$"), timeout=UI_TIMEOUT)
    status = page.get_by_text(re.compile(r"^Status: finished · run t1 ·"))
    expect(status).to_be_visible(timeout=UI_TIMEOUT)
    page.reload()
    expect(status).to_be_visible(timeout=FIRST_LOAD_MS)


def test_runs_ticked_in_the_table_are_compared_with_one_click(streamlit_server, page):
    """Going from Runs to Compare with several runs meant typing each name into Compare's menu: the table
    ticked one row. Two ticked now offer a link to Compare, which opens with both."""
    for run_id, seed in (("c1", 4), ("c2", 5), ("c3", 6)):
        finished_run(streamlit_server, run_id, seed=seed)
    page.goto(f"{streamlit_server.url}/Runs")
    shown = page.get_by_role("combobox", name="Run", exact=True)
    expect(shown).to_have_value("c3", timeout=FIRST_LOAD_MS)
    expect(page.get_by_text("tick two or more to compare them")).to_be_visible()
    tick_row(page, "c1", shown)
    link = page.get_by_role("link", name=re.compile(r"^Compare the \d ticked runs"))
    expect(link).to_have_count(0)  # one run is no comparison
    tick_row(page, "c2", shown)  # the last ticked is the one shown below
    expect(link).to_have_text(re.compile("Compare the 2 ticked runs"), timeout=UI_TIMEOUT)
    expect(link).to_have_attribute("href", re.compile(r"runs=c2(%2C|,)c1$"))
    # a run made meanwhile (a terminal's, a script's), the list drawn again: the ticks stay on their runs
    # (they stayed on their rows, c3 and c2 then, and the link and the menu went with them)
    finished_run(streamlit_server, "c4", seed=7)
    page.get_by_role("button", name="Refresh the list").click(timeout=UI_TIMEOUT)
    expect(page.locator('[role="gridcell"]').filter(has_text=re.compile("^c4$"))).to_have_count(1)
    expect(link).to_have_attribute("href", re.compile(r"runs=c2(%2C|,)c1$"), timeout=UI_TIMEOUT)
    expect(shown).to_have_value("c2")
    link.click()
    expect(page).to_have_url(re.compile(r"/Compare\?runs=c2(%2C|,)c1"), timeout=UI_TIMEOUT)
    picker = page.get_by_test_id("stMultiSelect").first
    expect(picker).to_contain_text("c1", timeout=UI_TIMEOUT)
    expect(picker).to_contain_text("c2")
    expect(picker).not_to_contain_text("c3")


def test_runs_are_ticked_by_keyboard_as_the_page_says(streamlit_server, page):
    """A keyboard user found no way to tick a row (the arrow keys never reach the tick column): the page
    now says Shift+Space, glide-data-grid's key for the row the focus is on, and it ticks."""
    for run_id, seed in (("k1", 8), ("k2", 9)):
        finished_run(streamlit_server, run_id, seed=seed)
    page.goto(f"{streamlit_server.url}/Runs")
    shown = page.get_by_role("combobox", name="Run", exact=True)
    expect(shown).to_have_value("k2", timeout=FIRST_LOAD_MS)  # the newest first
    expect(page.get_by_text("the arrow keys to a run's row, Shift+Space ticks it")).to_be_visible()
    page.get_by_label("Filter runs").fill("seed>7")  # these two alone (the module's other runs have less)
    page.keyboard.press("Enter")
    expect(page.locator('[role="gridcell"]').filter(has_text=re.compile("^k[12]$"))).to_have_count(2)
    expect(page.locator('[role="row"]')).to_have_count(3, timeout=UI_TIMEOUT)  # and the header
    page.get_by_test_id("stDataFrame").locator("canvas").first.focus()
    page.keyboard.press("ArrowDown")  # the first row's cell: k2's
    page.keyboard.press("ArrowDown")  # k1's
    page.keyboard.press("Shift+Space")
    expect(shown).to_have_value("k1", timeout=UI_TIMEOUT)  # the run ticked last is the one shown below
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Shift+Space")
    expect(shown).to_have_value("k2", timeout=UI_TIMEOUT)
    link = page.get_by_role("link", name=re.compile(r"^Compare the \d ticked runs"))
    expect(link).to_have_text(re.compile("Compare the 2 ticked runs"), timeout=UI_TIMEOUT)
    expect(link).to_have_attribute("href", re.compile(r"runs=(k1(%2C|,)k2|k2(%2C|,)k1)$"))


def test_a_number_beyond_what_a_branch_field_holds_is_said_and_branch_makes_nothing(streamlit_server, page):
    """steps = 10**16 + 1 typed in the branch form (past 2**53): the browser never sends it, and Branch
    made the run with the field's last value. Clicked at once, the click is stopped in the
    browser: no run is made, the form says why and Branch stays off until the field holds a number."""
    finished_run(streamlit_server, "parent", checkpoint_every=10)
    root = streamlit_server.runs_root
    before = {p.name for p in root.iterdir()}
    page.goto(f"{streamlit_server.url}/Runs?run=parent")
    expect(page.locator('[class*="st-key-runs_table"]')).to_be_visible(timeout=FIRST_LOAD_MS)
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value("parent", timeout=UI_TIMEOUT)
    page.get_by_role("button", name="Rewind / branch").click()
    body = page.get_by_test_id("stPopoverBody")
    field = body.get_by_role("spinbutton", name="steps", exact=True)
    expect(field).to_be_visible(timeout=UI_TIMEOUT)
    field.fill(str(10**16 + 1))
    # No Enter: the click is what takes the focus off the field (force: Branch may already be off).
    body.get_by_role("button", name="Branch", exact=True).click(force=True)
    said = "steps: the number typed is beyond what a number field can hold, so the browser did not send it"
    expect(body.get_by_test_id("stAlertContentError").filter(has_text=said)).to_be_visible(timeout=UI_TIMEOUT)
    expect(body.get_by_role("button", name="Branch", exact=True)).to_be_disabled()
    assert {p.name for p in root.iterdir()} == before  # no branch made with the field's old steps
    field.fill("40")
    field.press("Enter")
    expect(body.get_by_role("button", name="Branch", exact=True)).to_be_enabled(timeout=UI_TIMEOUT)
    expect(body.get_by_test_id("stAlertContentError").filter(has_text=said)).to_have_count(0)
    assert {p.name for p in root.iterdir()} == before  # (nor since: no click was on its way)


def test_a_fresh_servers_first_visit_by_a_pages_address_gets_the_dashboards_menu(start_server, page):
    """Streamlit runs a server whose main script has a pages/ folder as an old-style multipage app until a
    script run calls st.navigation: a first visit to /Runs (a bookmark) never ran dashboard.py, and every
    page showed the folder's menu ("dashboard" first, no icons). `through_the_router` reruns it through
    the router, on the same page, with its address."""
    server = start_server(warm=False)  # (a warmed-up server's first session ran dashboard.py)
    finished_run(server, "r1")
    # and no page asks anything of another host (a Material page icon made the tab's icon an image from
    # fonts.gstatic.com at every page view)
    elsewhere = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "data:", "blob:")) else elsewhere.append(r.url),
    )
    page.goto(f"{server.url}/Runs?run=r1")  # the server's first session
    expect(page.locator('[class*="st-key-runs_table"]')).to_be_visible(timeout=FIRST_LOAD_MS)
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value("r1", timeout=UI_TIMEOUT)
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(links).to_have_count(5, timeout=UI_TIMEOUT)
    names = [text.strip() for text in links.all_inner_texts()]
    assert names == ["Train", "Runs", "Compare", "Guide", "Probe"]
    assert page.url.endswith("/Runs?run=r1")
    links.first.click()  # Train: the app's root
    expect(page.get_by_role("heading", name="Watch a GAN learn")).to_be_visible(timeout=UI_TIMEOUT)
    assert re.fullmatch(rf"{re.escape(server.url)}/(\?run=r1)?", page.url)
    assert elsewhere == []
