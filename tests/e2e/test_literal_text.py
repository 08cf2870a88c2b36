"""Text from run files is shown as text, in a real browser: a run folder whose status.json holds a crafted
``error`` and ``parent`` (Markdown images and links, bare URLs, HTML, Streamlit's directives and
shortcodes, LaTeX) is opened in the Train view and on the Runs page. The page builds no ``<img>`` and no
link from them, and shows their characters as written.

What only a browser shows: Streamlit's own Markdown renderer, with its plugins (GFM autolinks, emoji and
icon shortcodes, colour directives, math), turning a message into DOM (tests/test_literal.py checks the
Markdown `literal` writes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gan_core.config import GANConfig
from tests.e2e.test_browser import UI_TIMEOUT, open_app

pytestmark = pytest.mark.e2e

EVIL_ERROR = (
    "boom ![x](http://evil.example/a.png) [link](http://evil.example/l) see http://evil.example/x.png "
    "or www.evil.example or me@evil.example <img src=http://evil.example/b.png> "
    "<a href='http://evil.example/c'>c</a> :red[x] :material/home: :streamlit: :smile: $x^2$ `tick` \\ -> end"
)
EVIL_PARENT = "![p](http://evil.example/p.png)"
# What a message built from Markdown could grow: pictures, links, maths, coloured text, icons.
GROWN = ", ".join(
    f'[data-testid="stAlert"] {tag}'
    for tag in ("img", "a", ".katex", '[class*="stMarkdownColored"]', '[data-testid="stIconMaterial"]')
)
# Every <img> and link on the page (HTML and SVG), and whatever grew inside a message.
DOM = """(grown) => {
  const url = (e) => e.getAttribute("src") || e.getAttribute("href") || e.getAttribute("xlink:href") || "";
  return {
    images: [...document.querySelectorAll("img, image")].map(url),
    links: [...document.querySelectorAll("a")].map(url),
    grown: [...document.querySelectorAll(grown)].map(e => e.outerHTML),
  };
}"""


def crafted_run(
    root: Path, name: str = "crafted", error: str = EVIL_ERROR, parent: str | None = EVIL_PARENT
) -> str:
    """A failed run whose status.json's error and parent are crafted Markdown; returns its id."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    cfg = GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=20)
    (run / "config.json").write_text(cfg.to_json() + "\n")
    (run / "events.csv").write_text("step,time,kind,detail\n")
    status = {"status": "failed", "step": 0, "error": error}
    if parent is not None:
        status.update(parent=parent, parent_step=3)
    (run / "status.json").write_text(json.dumps(status))
    return run.name


def nothing_built_from_the_text(page: Page) -> None:
    failed = page.get_by_test_id("stAlert").filter(has_text="The run failed:")
    expect(failed).to_have_count(1, timeout=UI_TIMEOUT)
    assert EVIL_ERROR in failed.inner_text()  # every character as written, nothing rendered from it
    parent = page.get_by_test_id("stAlert").filter(has_text="field 'parent'")
    expect(parent).to_have_count(1)
    assert (
        f"status.json: field 'parent' is the text '{EVIL_PARENT}'; expected a run id" in parent.inner_text()
    )
    found = page.evaluate(DOM, GROWN)
    assert not [src for src in found["images"] if "evil.example" in src], found["images"]
    assert not [href for href in found["links"] if "evil.example" in href], found["links"]
    assert found["grown"] == []


def test_crafted_error_and_parent_are_shown_literally(streamlit_server, page):
    run_id = crafted_run(streamlit_server.runs_root)
    open_app(page, f"{streamlit_server.url}/?run={run_id}")
    nothing_built_from_the_text(page)

    page.goto(f"{streamlit_server.url}/Runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible(timeout=UI_TIMEOUT)
    nothing_built_from_the_text(page)


# Messages as the config writes them: plain words stay plain text (not a narrow block of code font), and
# only what is not (spaces a browser would merge, a bracket) is in code, shown exactly.
TYPICAL = {
    "spaces": ("data_path='   ' is invalid: allowed the path of a CSV file of 2D points", ["'   '"]),
    "bracket": ("lr_d=7.0 is invalid: allowed a number in (0.0, 1.0]", ["1.0]"]),
    "address": ("see http://evil.example/x.png for the plot", ["http://evil.example/x.png"]),
}


def test_a_typical_error_shows_its_words_as_text_and_only_the_rest_in_code(streamlit_server, page):
    for name, (error, _) in TYPICAL.items():
        crafted_run(streamlit_server.runs_root, name, error, parent=None)
    for name, (error, codes) in TYPICAL.items():
        open_app(page, f"{streamlit_server.url}/?run={name}")
        failed = page.get_by_test_id("stAlert").filter(has_text="The run failed:")
        expect(failed).to_have_count(1, timeout=UI_TIMEOUT)
        assert failed.inner_text().strip().endswith(f"The run failed: {error}")  # every space as written
        assert failed.locator("code").all_inner_texts() == codes
        assert page.evaluate(DOM, GROWN)["grown"] == []
        assert not [href for href in page.evaluate(DOM, GROWN)["links"] if "evil.example" in href]
