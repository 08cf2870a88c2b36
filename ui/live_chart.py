"""Plotly charts that a page redraws every second without the chart ever leaving the screen.

Streamlit (1.67) names a `st.plotly_chart` element after its figure: the element id hashes the figure's
JSON, and the browser keys the chart's React component by that id. A chart whose data changed is therefore
a new element: the drawn one is unmounted and a new one mounted, empty until plotly.js has drawn it again.
On a live view every chart does that every second (measured on the 2-core test machine: each metric chart
was a new DOM node at every refresh, and in about a third of the browser's frames at least one chart was
blank), and the user's zoom is lost with the old node although the figures carry a ``uirevision``.

`live_chart` draws a figure through a small custom component instead: one element per ``key`` whatever its
data, which hands each new figure to ``Plotly.react``, plotly.js's in-place update. The chart on screen is
updated, never replaced, and Plotly keeps the zoom and legend choices across updates (``uirevision``).
A click on a chart can report the x (the step) under the mouse, as the Train view's snapshot picker needs.

plotly.js comes from the installed plotly package, the release the figures are built for: Streamlit serves
a declared component's folder, here plotly's ``package_data``, and the browser loads the library once per
page (4.8 MB, from this server; nothing is fetched from the internet).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components_v1

# Streamlit serves the files of a declared component's folder at component/<name>/<file>.
PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"
_LIBRARY = components_v1.declare_component("plotly_js", path=str(PLOTLY_JS_DIR))
# Relative to the page (/, /Runs ... or under server.baseUrlPath): every page's folder is the app's root.
LIBRARY_URL = f"component/{_LIBRARY.name}/plotly.min.js"
DEFAULT_HEIGHT = 450  # plotly.js's own default, for a figure that sets none

_JS = r"""
const CONFIG = {displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]};

// plotly.js, loaded once per page by a script tag (it sets window.Plotly)
function plotlyLibrary(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__liveChartPlotly) {
    window.__liveChartPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__liveChartPlotly = null;  // the next figure tries again
        reject(new Error(`cannot load plotly.js from ${url}`));
      };
      document.head.appendChild(script);
    });
  }
  return window.__liveChartPlotly;
}

export default function ({ data, parentElement, setTriggerValue }) {
  let chart = parentElement.querySelector(":scope > .live-chart");
  if (chart === null) {  // first mount: the div that Plotly draws into, for the life of the element
    chart = document.createElement("div");
    chart.className = "live-chart";
    parentElement.appendChild(chart);
    new ResizeObserver(() => {
      // (a chart not displayed, as while Streamlit swaps a page's elements, has no size to fit:
      // plotly.js refuses it with "Resize must be passed a displayed plot div element")
      const shown = chart.offsetParent !== null && chart.offsetWidth > 0;
      if (shown && chart.layout !== undefined && window.Plotly) window.Plotly.Plots.resize(chart);
    }).observe(chart);
  }
  chart.style.height = `${data.height}px`;  // the slot keeps its size until plotly.js is there
  chart.pick = data.pickable ? setTriggerValue : null;
  if (data.figure === chart.drawn) return;  // the same figure again (a chart between evaluations)
  chart.drawn = data.figure;
  chart.pending = JSON.parse(data.figure);  // only the newest is drawn when several arrive during a draw
  plotlyLibrary(data.library).then(
    // each chart's draw a task of its own: a refresh of many charts leaves the page responsive between them
    (Plotly) => new Promise((resolve) => setTimeout(() => resolve(Plotly), 0))
  ).then((Plotly) => {
    const next = chart.pending;
    if (next === null) return undefined;
    chart.pending = null;
    // the page's font, as Streamlit's own charts use it
    next.layout.font = {family: getComputedStyle(chart).fontFamily, ...(next.layout.font || {})};
    return Plotly.react(chart, next.data, next.layout, CONFIG).then(() => {
      if (chart.listening) return;
      chart.listening = true;
      chart.on("plotly_click", (event) => {
        const x = event && event.points && event.points.length ? event.points[0].x : undefined;
        if (chart.pick && typeof x === "number") chart.pick("pick", x);
      });
    });
  }).catch((error) => {
    chart.drawn = null;  // not drawn: the next figure is, even if it is the same
    console.error(error);
  });
}
"""

_COMPONENT = st.components.v2.component("gan_dashboard_live_chart", js=_JS, isolate_styles=False)


def live_chart(
    figure: Any,
    key: str,
    *,
    height: int | None = None,
    on_pick: Callable[[float], None] | None = None,
) -> None:
    """Draw ``figure`` (a plotly Figure) in the current container as the element ``key``: the same element,
    updated in place, whenever a rerun draws another figure under that key. The chart takes the container's
    width and ``height`` pixels (default: the figure's height).

    ``on_pick(x)``, if given, is called (as a widget callback, before the rerun) with the x of the point
    under the mouse when the user clicks the chart."""
    spec = figure.to_dict()
    layout = spec.setdefault("layout", {})
    if height is None:
        height = int(layout.get("height") or DEFAULT_HEIGHT)
    layout["height"] = height
    data = {
        # as st.plotly_chart sends it: plotly's encoder (NaN as null, arrays as typed-array specs)
        "figure": pio.json.to_json_plotly(spec),
        "height": height,
        "library": LIBRARY_URL,
        "pickable": on_pick is not None,
    }
    callbacks = {}
    if on_pick is not None:
        callbacks["on_pick_change"] = lambda: _picked(key, on_pick)
    _COMPONENT(key=key, data=data, height=height, **callbacks)


def _picked(key: str, on_pick: Callable[[float], None]) -> None:
    result = st.session_state.get(key)
    x = result.get("pick") if result is not None else None
    if isinstance(x, int | float):
        on_pick(x)
