"""The Probe page's "G and D as tools" tab in a real browser.

The conditional-digits preset's first 300 steps (acgan, its mode-seeking term off; a few seconds on the
CPU, by when G already draws the digit asked for): the user opens the tab, sets k and G's images per
class, presses Measure and reads the cards: the real-trained classifier, GAN-train and GAN-test, the
augmentation probe with and without G's images, and D's own class accuracy, every one a percentage in the
range such a G reaches, with the caption's counts matching the digits split. An unconditional run gets
the message that these need a class-conditional run, and no Measure button. The AppTest version
(tests/test_probe.py) checks the figures equal the engine's; this one checks what Chromium shows a user.
Ask D's "Real against G's" histograms are checked as drawn on the same conditional run.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from gan_core.classifier import split_indices
from gan_core.data import load_data
from gan_core.presets import get_preset
from gan_core.runner import Runner, RunnerError
from tests.e2e.conftest import Server, serve
from tests.e2e.test_browser import UI_TIMEOUT, button, script_finished
from tests.test_probe import TIMEOUT, finished_run

pytestmark = pytest.mark.e2e

CONDITIONAL, UNCONDITIONAL, POINTS = "cond", "plain", "ring"
TAB = "G and D as tools"
# A page's first load in a fresh server imports torch and the rest: 30-40 s on a loaded 2-core machine.
FIRST_LOAD_MS = 90_000
# Measure trains the classifiers: about 5 s on digits in-process, several times that on a busy machine.
MEASURE_MS = 120_000
CONDITIONAL_STEPS = 300  # label fidelity 1.0 from step 250 (tests/test_conditional.py)
K, PER_CLASS = 2, 20  # small: the augmentation probe trains 2 x 3 classifiers
PERCENT = re.compile(r"^(\d{1,3}\.\d)%$")
GAIN = re.compile(r"^([+-]\d+\.\d) points$")


@pytest.fixture(scope="module")
def tools_server(tmp_path_factory) -> Iterator[Server]:
    """A server over two finished digits runs: the conditional-digits preset's first steps, and a tiny
    unconditional one; and a tiny ring8 run. The conditional run trains in this process while the server
    starts (the page is first loaded once it has finished)."""
    root = tmp_path_factory.mktemp("probe-tools") / "runs"
    cfg = get_preset("conditional-digits").config(  # acgan alone: its mode-seeking term needs ~750 steps
        device="cpu", steps=CONDITIONAL_STEPS, eval_every=CONDITIONAL_STEPS, ms_weight=0.0
    )
    runner = Runner(cfg, root, CONDITIONAL).start()
    try:
        finished_run(root, UNCONDITIONAL, dataset="digits")
        finished_run(root, POINTS)  # (ring8)
        with serve(root, root.parent / "streamlit.log") as server:
            assert runner.wait(TIMEOUT) and runner.status == "finished"
            yield server
    finally:
        with contextlib.suppress(RunnerError):  # it has most likely finished: nothing to stop
            runner.stop()
        runner.wait(TIMEOUT)


def open_tab(page: Page, url: str, run_id: str) -> Locator:
    """The Probe page on ``run_id``, the tools tab chosen; returns its panel."""
    page.goto(f"{url}/Probe?run={run_id}")
    page.get_by_role("tab", name=TAB).click(timeout=FIRST_LOAD_MS)
    panel = page.get_by_role("tabpanel", name=TAB)
    expect(panel).to_be_visible(timeout=UI_TIMEOUT)
    return panel


def metrics(panel: Locator) -> dict[str, tuple[str, str]]:
    """The panel's cards as shown: {label: (value, delta or "")}."""
    shown = {}
    for card in panel.get_by_test_id("stMetric").all():
        label = card.get_by_test_id("stMetricLabel").inner_text().strip()
        delta = card.get_by_test_id("stMetricDelta")
        shown[label] = (
            card.get_by_test_id("stMetricValue").inner_text().strip(),
            delta.inner_text().strip() if delta.count() else "",
        )
    return shown


def fraction(text: str) -> float:
    """A card's "98.6%" as 0.986, refusing anything that is not a percentage from 0 to 100."""
    match = PERCENT.match(text)
    assert match, f"not a percentage with one decimal: {text!r}"
    value = float(match.group(1)) / 100
    assert 0.0 <= value <= 1.0, text
    return value


def test_a_conditional_run_is_measured_as_a_source_of_data_and_a_classifier(tools_server, page):
    with page.expect_websocket(lambda ws: ws.url.endswith("/_stcore/stream")) as opened:
        panel = open_tab(page, tools_server.url, CONDITIONAL)
    socket = opened.value
    weights = rf"acgan conditioning, 10 classes · G and D at step {CONDITIONAL_STEPS}$"
    expect(page.get_by_text(re.compile(weights))).to_be_visible()

    # Small probe sizes, each committed (its rerun finished) before Measure reads them.
    for name, value in (("Real images per class (k)", K), ("G's images per class added", PER_CLASS)):
        field = panel.get_by_role("spinbutton", name=name, exact=True)
        field.fill(str(value))
        with socket.expect_event("framereceived", predicate=script_finished, timeout=UI_TIMEOUT):
            field.press("Enter")
        expect(field).to_have_value(str(value))
    # Measure's rerun runs to its end before the cards are read: a card read while the page is still
    # being redrawn is missing (a CI run on a loaded machine read none with the caption already shown).
    with socket.expect_event("framereceived", predicate=script_finished, timeout=MEASURE_MS):
        panel.get_by_role("button", name="Measure", exact=True).click()

    caption = panel.get_by_text(re.compile(r"^\d+ held-out real images; "))
    expect(caption).to_be_visible(timeout=UI_TIMEOUT)
    expect(panel.get_by_test_id("stMetric")).to_have_count(6, timeout=UI_TIMEOUT)
    expect(panel.get_by_test_id("stAlert")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    shown = metrics(panel)
    with_label = f"+ {PER_CLASS} of G's per class"
    assert set(shown) == {
        "Real-trained classifier",
        "GAN-train",
        "GAN-test",
        f"{K} real per class",
        with_label,
        "D as a classifier (d_class_acc)",
    }, shown
    real = fraction(shown["Real-trained classifier"][0])
    assert 0.9 <= real <= 1.0  # the RBF SVC on digits scores about 0.99
    # Chance is 0.1. G draws the digit asked for (GAN-test), with less variety than the real digits
    # (GAN-train below the real-trained classifier).
    assert 0.8 <= fraction(shown["GAN-test"][0]) <= 1.0
    assert 0.2 <= fraction(shown["GAN-train"][0]) <= real
    real_only = fraction(shown[f"{K} real per class"][0])
    assert 0.5 <= real_only <= 0.95  # 2 real digits a class, whatever G is
    with_generated = fraction(shown[with_label][0])
    assert 0.5 <= with_generated <= 1.0
    gain = GAIN.match(shown[with_label][1])
    assert gain, f"the gain is not in points: {shown[with_label][1]!r}"
    # each card rounded to 0.1 on its own: the difference of the shown values is within 0.15 of the gain
    assert float(gain.group(1)) == pytest.approx((with_generated - real_only) * 100, abs=0.16)
    assert 0.5 <= fraction(shown["D as a classifier (d_class_acc)"][0]) <= 1.0

    # The caption's counts are the digits split's: every classifier is scored on the same held-out images.
    labels = load_data(get_preset("conditional-digits").config(device="cpu"), "cpu").labels.numpy()
    train, held_out = split_indices(labels)
    expect(caption).to_have_text(
        f"{len(held_out)} held-out real images; GAN-train trained on {len(train)} of G's samples; "
        "augmentation: the mean over 3 draws of the real images. "
        "G never trained on the held-out images (acgan)."
    )


def test_an_unconditional_run_is_told_it_needs_a_conditional_one(tools_server, page):
    panel = open_tab(page, tools_server.url, UNCONDITIONAL)
    expect(panel.get_by_test_id("stAlert")).to_have_text(
        "These need G's samples labelled: a class-conditional run (conditioning concat, projection or "
        "acgan, on digits, mnist or fashion-mnist).",
        timeout=UI_TIMEOUT,
    )
    expect(button(page, "Measure")).to_have_count(0)
    expect(panel.get_by_role("spinbutton")).to_have_count(0)
    expect(panel.get_by_test_id("stMetric")).to_have_count(0)


WALK_AXES = """() => {
  const chart = document.querySelector(".st-key-probe_walk_chart .js-plotly-plot");
  const full = chart && chart._fullLayout;
  if (!full) return null;
  return {title: (full.title || {}).text || "", range: full.xaxis.range, domain: full.xaxis.domain};
}"""


def test_a_2d_runs_walk_picked_after_an_image_runs_is_drawn_at_equal_scale(tools_server, page):
    """A review: the walk of a ring8 run picked after a digits run's spread its x axis over the whole
    width, to 9.7 where the view ends at 2.5 (Plotly.react kept the image strip's domain); a reload drew
    it right."""
    page.goto(f"{tools_server.url}/Probe?run={UNCONDITIONAL}")
    page.wait_for_function(
        f"() => ({WALK_AXES})()?.title.startsWith('G along the slerp path:')", timeout=FIRST_LOAD_MS
    )
    page.get_by_label("Run").first.click()
    page.get_by_role("option", name=POINTS, exact=True).click()
    page.wait_for_function(f'() => ({WALK_AXES})()?.title.endsWith("over D\'s output")', timeout=UI_TIMEOUT)
    axes = page.evaluate(WALK_AXES)
    low, high = axes["range"]
    assert -3.5 < low < -1.5 and 1.5 < high < 3.5, axes  # the view's window, about [-2.5, 2.5]
    assert axes["domain"][0] == 0 and 0.2 < axes["domain"][1] < 0.9, axes  # square, beside its strip
    # and the charts' own handlers came back with the fresh draw: a zoom is still followed
    assert page.evaluate(
        "() => document.querySelector('.st-key-probe_walk_chart .js-plotly-plot').plotlyListening === true"
    )


def test_a_seed_the_browser_will_not_send_is_said_with_the_seed_used(tools_server, page):
    """A seed of 99999999999999999999 (past 2**53) never reaches the server: Streamlit outlined the field
    in red and the walk went on with the last seed without a word (a student review)."""
    page.goto(f"{tools_server.url}/Probe?run={POINTS}")
    field = page.get_by_label("Seed A")
    field.fill("99999999999999999999", timeout=FIRST_LOAD_MS)
    field.press("Tab")
    said = page.get_by_text("Seed A: the number typed is beyond what a number field can hold")
    expect(said).to_have_text(
        "Seed A: the number typed is beyond what a number field can hold, so the browser did not send it "
        "(the field is outlined in red): allowed 0 to 2,147,483,647. Used: 0.",
        timeout=UI_TIMEOUT,
    )
    field.fill("5")
    field.press("Tab")
    expect(said).to_have_count(0, timeout=UI_TIMEOUT)


SEPARATION_CHART = """() => {
  const chart = document.querySelector(".st-key-probe_separation_chart .js-plotly-plot");
  const full = chart && chart._fullData;
  if (!full) return null;
  return {
    bars: full.filter(t => t.type === "bar").map(t => [t.name, t.y.length, t.y.reduce((a, b) => a + b, 0)]),
    lines: full.filter(t => t.type === "scatter").map(t => t.name),
    drawn: chart.querySelectorAll(".barlayer .point").length,
  };
}"""
AUC = re.compile(r"ROC AUC (\d\.\d{3}) over (\d+) real samples")


def test_ask_d_shows_whether_d_tells_real_from_g_on_a_conditional_run(tools_server, page):
    """Ask D → Real against G's on the acgan run: the class picked (0) restricts the real samples to its
    178 digits; two histograms of shares that each sum to 1, the threshold line, and the AUC read out."""
    page.goto(f"{tools_server.url}/Probe?run={CONDITIONAL}")
    page.get_by_role("tab", name="Ask D").click(timeout=FIRST_LOAD_MS)
    panel = page.get_by_role("tabpanel", name="Ask D")
    panel.get_by_text("Real against G's: can D tell?").click()
    page.wait_for_function(f"() => ({SEPARATION_CHART})()?.drawn > 0", timeout=UI_TIMEOUT)
    drawn = page.evaluate(SEPARATION_CHART)
    zeros = sum(
        labels == 0 for labels in load_data(get_preset("conditional-digits").config()).labels.tolist()
    )
    assert [name for name, _, _ in drawn["bars"]] == [f"real ({zeros})", f"G's samples ({zeros})"], drawn
    for name, bins, total in drawn["bars"]:
        assert bins == 40 and abs(total - 1.0) < 1e-9, (name, total)
    assert drawn["lines"] == ["threshold 0.5"], drawn
    for key in ("probe_separation_accepted", "probe_separation_rejected"):  # G's 8 at each end, as images
        drawn = f"document.querySelector('.st-key-{key} .js-plotly-plot')?._fullData?.[0]?.type"
        page.wait_for_function(f"() => {drawn} === 'image'", timeout=UI_TIMEOUT)
    said = panel.get_by_text(AUC).inner_text()
    auc, n = AUC.search(said).groups()
    assert 0.0 <= float(auc) <= 1.0 and int(n) == zeros, said
