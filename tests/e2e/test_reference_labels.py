"""A reference line's label before an event marker's, as Chromium draws them (no server: a page of its own).

A collapsed ring8 run's mode_kl sits on its ceiling, ln 8 ("all in one mode"), all run long, with flags
raised and cleared along it: on a chart as narrow as a quality chart is drawn, no place along the line is
clear of the flags' vertical labels, and the two labels printed over each other read as neither. The browser
hides the marker labels a reference label is written over (`ui.live_chart`'s `hideCrossedMarkerLabels`,
run here on the figure `charts.quality_figures` builds), and no other.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import plotly
import pytest
from playwright.sync_api import Page

from gan_core import charts
from ui import live_chart

pytestmark = pytest.mark.e2e

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
STEPS = np.arange(500, 4001, 500, dtype=np.float64)  # the evaluations, every 500 steps
# (step, flag, raised): d_leads raised and cleared early, mode_collapse raised at 2,500
FLAGS = [(500, "d_leads", True), (1000, "d_leads", False), (2500, "mode_collapse", True)]

# Each drawn marker label (an annotation written down its line) and each reference label, in page pixels
DRAWN = """(gd) => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const specs = gd._fullLayout.annotations;
  return {
    markers: [...gd.querySelectorAll('g.annotation')]
      .filter((g) => specs[Number(g.dataset.index)].textangle === -90)
      .map((g) => ({...box(g.querySelector('.annotation-text')), text: g.textContent,
                    hidden: getComputedStyle(g).visibility === 'hidden'})),
    references: [...gd.querySelectorAll('.shape-label-text')].map((t) => ({...box(t), text: t.textContent})),
  };
}"""


def collapsed_figure() -> dict:
    view = {
        "step": STEPS,
        "mode_kl": np.full(STEPS.size, math.log(8)),  # every sample nearest one mode
        "modes_covered": np.ones(STEPS.size),
    }
    events = [
        {
            "step": step,
            "kind": "flag" if raised else "flag_cleared",
            "detail": flag,
            "fields": {"flag": flag},
        }
        for step, flag, raised in FLAGS
    ]
    figures = charts.quality_figures(view, events, coverage_total=8)
    return json.loads(json.dumps(figures["kl_modes"], default=lambda a: np.asarray(a).tolist()))


def hide_function() -> str:
    """`hideCrossedMarkerLabels` as the charts' component runs it, taken from its source."""
    found = re.search(r"^function hideCrossedMarkerLabels\(chart\) \{.*?^\}$", live_chart._JS, re.S | re.M)
    assert found, "ui.live_chart's script has no hideCrossedMarkerLabels"
    return found.group(0)


def overlap(a: dict, b: dict) -> bool:
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1 and (
        min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1
    )


def test_a_reference_label_hides_the_marker_labels_it_is_written_over_and_no_other(page: Page):
    figure = collapsed_figure()
    (ceiling,) = [
        s for s in figure["layout"]["shapes"] if s.get("label", {}).get("text", "").startswith("ln 8")
    ]
    assert ceiling["label"]["yanchor"] == "top", "the ceiling's label below it, inside the plot"
    assert ceiling["label"]["padding"] == charts.REFERENCE_CROSSED_PAD_PX, "clear of the points along it"
    page.set_content("<html><body><div id='chart' style='width:260px'></div></body></html>")
    page.add_script_tag(path=str(PLOTLY_JS))
    page.add_script_tag(
        content=hide_function() + "\nwindow.hideCrossedMarkerLabels = hideCrossedMarkerLabels;"
    )
    # drawn as narrow as a quality chart is (`charts.SMALL_CHART_MIN_PX`): no place on the line is clear
    page.evaluate(
        "async (figure) => { const gd = document.getElementById('chart');"
        " await Plotly.newPlot(gd, figure.data, {...figure.layout, width: 260}); }",
        figure,
    )
    gd = page.locator("#chart")
    before = page.evaluate(DRAWN, gd.element_handle())
    (reference,) = [r for r in before["references"] if r["text"].startswith("ln 8")]
    crossed = [m["text"] for m in before["markers"] if overlap(m, reference)]
    clear = [m["text"] for m in before["markers"] if not overlap(m, reference)]
    assert crossed, f"the premise: a marker label under {reference} on the narrow chart, {before['markers']}"
    assert not any(m["hidden"] for m in before["markers"])

    page.evaluate("(gd) => window.hideCrossedMarkerLabels(gd)", gd.element_handle())
    after = page.evaluate(DRAWN, gd.element_handle())
    assert sorted(m["text"] for m in after["markers"] if m["hidden"]) == sorted(crossed)
    assert sorted(m["text"] for m in after["markers"] if not m["hidden"]) == sorted(clear)

    # drawn wider (a relayout, as a resize or a zoom draws it), the labels fall elsewhere and are judged anew
    page.evaluate(
        "async (gd) => { await Plotly.relayout(gd, {width: 900}); window.hideCrossedMarkerLabels(gd); }",
        gd.element_handle(),
    )
    wide = page.evaluate(DRAWN, gd.element_handle())
    (reference,) = [r for r in wide["references"] if r["text"].startswith("ln 8")]
    for marker in wide["markers"]:
        assert marker["hidden"] == overlap(marker, reference), marker
    assert not all(m["hidden"] for m in wide["markers"]), "at 900 px the reference leaves a flag its label"
