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

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components_v1

from gan_core.app import charts

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

// Every chart draw in flight on this page: the refresh pacer (`live_refresh`) asks for the next refresh
// only once they are done.
const DRAWS = (window.__liveChartDraws = window.__liveChartDraws || new Set());

// A chart's data: one line of JSON (its height, the library's URL, whether a click reports the step),
// then the figure's JSON (`live_chart`'s payload, sent as bytes: no JSON string escaped inside JSON).
const DECODER = new TextDecoder();

// The x (a step) at a click's page position on the subplot under it, and whether it is at or past the
// end of that subplot's lines (the newest point, within a hundredth of the axis): {x, end}, or null off
// every subplot (a legend, a title, the margins).
function pickAt(chart, clientX, clientY) {
  const full = chart._fullLayout;
  if (!full || !full._plots) return null;
  const box = chart.getBoundingClientRect();
  const px = clientX - box.left, py = clientY - box.top;
  for (const plot of Object.values(full._plots)) {
    const xa = plot.xaxis, ya = plot.yaxis;
    const inside = px >= xa._offset && px <= xa._offset + xa._length
      && py >= ya._offset && py <= ya._offset + ya._length;
    if (!inside) continue;
    const x = xa.p2d(px - xa._offset);
    if (typeof x !== "number" || !Number.isFinite(x)) return null;
    let last = -Infinity;
    for (const trace of chart._fullData || []) {
      const xs = trace.xaxis === xa._id && trace.visible === true ? trace.x : null;
      if (xs && xs.length) last = Math.max(last, Number(xs[xs.length - 1]));
    }
    const span = Math.abs(xa.range[1] - xa.range[0]);
    return {x: x, end: Number.isFinite(last) && x >= last - span / 100};
  }
  return null;
}

// ---- The figure fitted to the width it is drawn at ----
// The server plans a figure's legend rows and top margin for the narrowest plot a page gives
// (`gan_core.charts`, MIN_PLOT_PX; the training panels for twice that); a chart drawn narrower (a
// window of 768 px with the sidebar open, a phone) adjusts, always from that plan (nothing drifts from
// one redraw to the next): a legend whose entries do not fit its plot's width takes fewer to a row, the
// rows it adds are added above the plot (the figure grows: the plot keeps its height), a name wider than
// the plot even alone on its row is cut in its middle with an ellipsis (the legend only: its hover and the
// chart's text for a screen reader keep it whole), and a title too
// long for the width is broken into lines, the top margin growing until its last line clears the legend,
// or the plot, under it (measured on the drawn chart). A figure of equal scale (a y axis anchored to x's:
// the 2D view) is drawn no taller than its plot needs at this width.
const GAP_PX = 3;  // between the title's last line and what is under it
const DOUBLE_CLICK_MS = 300;  // plotly.js's doubleClickDelay: a second press within it makes a double-click
const SCROLLBAR_PX = 24;  // at most a page scrollbar's width at 100% (Chromium's: 15 px; macOS overlays none)
// TITLE_RAISE_PX, LEGEND_SHARE, LEGEND_ROW_PX and LEGEND_SYMBOL_PX: the server's plan's own numbers
// (`gan_core.charts`), written in above this script by `_SHARED_CONSTANTS`
const NO_FIT = {titleChars: null, top: 0};
const MEASURE = document.createElement("canvas").getContext("2d");

function plainText(markup) {  // a title or a name as read: tags gone, entities decoded
  const html = `<p>${markup.replace(/<br\s*\/?>/gi, " ")}</p>`;
  const parsed = new DOMParser().parseFromString(html, "text/html");
  return parsed.body.textContent.replace(/\s+/g, " ").trim();
}

function titleText(layout) {
  const title = layout.title;
  return String((typeof title === "string" ? title : title && title.text) || "");
}

// ``markup``'s lines (<br>) broken at spaces into lines of at most ``chars`` characters (as read)
function wrapTitle(markup, chars) {
  const lines = [];
  for (const given of markup.split(/<br\s*\/?>/i)) {
    let line = "";
    for (const word of given.split(" ")) {
      const longer = line ? `${line} ${word}` : word;
      if (line && plainText(longer).length > chars) {
        lines.push(line);
        line = word;
      } else line = longer;
    }
    lines.push(line);
  }
  return lines.join("<br>");
}

const ELLIPSIS = "\u2026";

// ``text`` as it is when it is at most ``px`` wide at MEASURE's font, else cut in its middle with an
// ellipsis to the longest that is: both ends kept (a run id's start says what kind of run it is, its end
// which one: "ring8-nonsat…124301-ab11"; a name's " (not measured)" stays)
function cutToWidth(text, px) {
  if (MEASURE.measureText(text).width <= px) return text;
  for (let keep = text.length - 1; keep > 0; keep--) {
    const head = Math.ceil(keep / 2), tail = keep - head;
    const cut = text.slice(0, head) + ELLIPSIS + (tail > 0 ? text.slice(-tail) : "");
    if (MEASURE.measureText(cut).width <= px) return cut;
  }
  return ELLIPSIS;
}

function escapeMarkup(text) {  // plain text as plotly.js's pseudo-HTML shows it as it is
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// The legend ``name`` of ``layout`` (one the server shared out in rows: entrywidthmode "fraction") with
// as many entries to a row as fit a plot ``plotPx`` wide, the server's number at most: the rows it adds
// to the plan's (in place; 0 for another legend). A figure whose ``layout.meta.legend_fill`` says so
// (Compare's, a run an entry, as many as the user picks) takes more than the server's number where they
// fit, its plan being for the narrowest plot: ten runs of 34-character ids were one a row at 1920 px,
// 200 px of legend over every chart. An entry wider than the plot alone on its row has its
// name cut to fit (`cutToWidth`): its trace's index -> the name it shows, set in ``shown``.
function fitLegendRows(layout, data, name, plotPx, shown) {
  const legend = layout[name];
  if (!legend || legend.entrywidthmode !== "fraction" || !(legend.entrywidth > 0) || !(plotPx > 0)) return 0;
  const listed = (trace) => (trace.legend || "legend") === name && trace.showlegend !== false
    && ["scatter", "bar"].includes(trace.type || "scatter");  // (what charts._legend_names counts)
  const entries = data.map((trace, index) => ({trace, index})).filter(({trace}) => listed(trace))
    .map(({trace, index}) => ({index, text: plainText(String(trace.name ?? ""))}));
  if (!entries.length) return 0;
  const font = {...(layout.font || {}), ...(legend.font || {})};
  MEASURE.font = `${font.size || 12}px ${font.family || "sans-serif"}`;
  const widest = Math.max(...entries.map(({text}) => MEASURE.measureText(text).width)) + LEGEND_SYMBOL_PX;
  const planned = Math.max(1, Math.round(LEGEND_SHARE / legend.entrywidth));
  const most = layout.meta && layout.meta.legend_fill ? entries.length : planned;
  const perRow = Math.max(1, Math.min(most, Math.floor(plotPx / widest)));
  legend.entrywidth = LEGEND_SHARE / perRow;
  if (widest > plotPx) {  // (one to a row, then): the names too wide for the plot, cut
    for (const {index, text} of entries) {
      const cut = cutToWidth(text, plotPx - LEGEND_SYMBOL_PX);
      if (cut !== text) shown.set(index, escapeMarkup(cut));
    }
  }
  return Math.ceil(entries.length / perRow) - Math.ceil(entries.length / planned);
}

// ``data`` with the legend names ``shown`` gives (trace index -> name): each such trace copied, its hover
// keeping the whole name (plotly.js's unified hover names each line by its trace's name)
function withShownNames(data, shown) {
  if (!shown.size) return data;
  return data.map((trace, index) => {
    if (!shown.has(index)) return trace;
    const whole = String(trace.name ?? "");
    const template = trace.hovertemplate;
    return {...trace, name: shown.get(index),
      ...(typeof template === "string" && !template.includes("<extra>")
        ? {hovertemplate: `${template}<extra>${whole}</extra>`} : {})};
  });
}

// The training panels (a figure whose layout.meta plans them: `charts.panels_figure`) laid out again with
// each panel's legend rows at this width: the bands, the domains, the legends and titles moved to match
function fitPanels(layout, data, plotPx, shown) {
  const plan = layout.meta;
  const bands = plan.panels.map((panel) => panel.band
    + plan.legend_row * fitLegendRows(layout, data, panel.legend, plotPx, shown));
  const plots = plan.panels.map((panel) => panel.plot);
  const sum = (values) => values.reduce((total, value) => total + value, 0);
  const height = sum(bands) + sum(plots) + plan.gap * (plots.length - 1) + plan.bottom;
  const area = height - bands[0] - plan.bottom;
  const paperY = (px) => 1 - (px - bands[0]) / area;
  let top = 0;
  plan.panels.forEach((panel, i) => {
    const domain = [paperY(top + bands[i] + plots[i]), paperY(top + bands[i])];
    if (layout[panel.yaxis]) layout[panel.yaxis].domain = domain;
    if (layout[panel.legend]) layout[panel.legend].y = domain[1];
    const title = (layout.annotations || [])[panel.title];
    if (title) title.y = paperY(top);
    top += bands[i] + plots[i] + plan.gap;
  });
  layout.margin.t = bands[0];
  layout.height = height;
}

// A copy of ``figure`` with ``fit`` applied, for a chart ``width`` px wide, its plot ``align`` px lower
// than its own title and legend need (its row's: `lineUp`; the figure itself unchanged)
function fitted(figure, fit, width, align = 0) {
  const layout = JSON.parse(JSON.stringify(figure.layout));  // a small object: the traces are not copied
  const margin = (layout.margin = {t: 100, b: 80, l: 80, r: 80, ...(layout.margin || {})});
  const plotPx = width - margin.l - margin.r;
  const shown = new Map();  // legend names cut to fit: trace index -> the name shown
  if (layout.meta && Array.isArray(layout.meta.panels)) {
    fitPanels(layout, figure.data, plotPx, shown);
    return {data: withShownNames(figure.data, shown), layout: layout};
  }
  const height = layout.height;  // (`live_chart` always sets it)
  const paper = height - margin.t - margin.b;
  const title = titleText(layout);
  if (fit.titleChars !== null && title) {
    const text = wrapTitle(title, fit.titleChars);
    layout.title = typeof layout.title === "object" ? {...layout.title, text: text} : {text: text};
    if (!/<br/i.test(title) && /<br/.test(text)) {
      const pad = layout.title.pad || {};
      layout.title.pad = {...pad, t: (pad.t || 0) + TITLE_RAISE_PX};
    }
  }
  const added = fit.top + LEGEND_ROW_PX * fitLegendRows(layout, figure.data, "legend", plotPx, shown);
  let plot = 0;  // px the plot's height changes by: less for an equal-scale plot that needs less
  const xa = layout.xaxis || {}, ya = layout.yaxis || {};
  if (ya.scaleanchor === "x" && Array.isArray(xa.range) && Array.isArray(ya.range) && plotPx > 0) {
    const span = Math.abs((ya.range[1] - ya.range[0]) / (xa.range[1] - xa.range[0])) / (ya.scaleratio || 1);
    const needs = Math.ceil(plotPx * span);
    if (Number.isFinite(needs) && needs > 0) plot = Math.min(0, needs - paper);
  }
  margin.t += added + align;
  layout.height = height + added + align + plot;
  // what is placed in pixels above the plot keeps its place there: a legend on the paper (y past 1), a
  // colour bar on the container
  const legend = layout.legend;
  if (legend && legend.yref !== "container" && typeof legend.y === "number" && legend.y > 1) {
    legend.y = 1 + ((legend.y - 1) * paper) / (paper + plot);
  }
  const data = withShownNames(figure.data, shown).map((trace) => {
    const bar = trace.colorbar;
    if (!bar || bar.yref !== "container" || typeof bar.y !== "number") return trace;
    const fromTop = (1 - bar.y) * height + added + align;
    return {...trace, colorbar: {...bar, y: 1 - fromTop / layout.height}};
  });
  return {data: data, layout: layout};
}

// The fit the chart as drawn (``align`` px lower than its own fit: its row's) needs (its title, legend
// and top margin measured), or null: the one it has
function measure(chart, figure, fit, align = 0) {
  const full = chart._fullLayout;
  if (!full || !full._size) return null;
  const box = chart.getBoundingClientRect();
  if (!(box.width > 0)) return null;  // drawn while hidden (a tab not shown): nothing to measure, fit kept
  const next = {...fit};
  const title = chart.querySelector(".gtitle");
  let titleBottom = 0;
  if (title && title.textContent) {
    const drawn = title.getBoundingClientRect();
    titleBottom = drawn.bottom - box.top;
    const shown = titleText(chart.layout).split(/<br\s*\/?>/i).map((line) => plainText(line).length);
    const room = box.right - drawn.left - 4;
    const charPx = drawn.width / Math.max(1, ...shown);
    const planned = titleText(figure.layout).split(/<br\s*\/?>/i).map((line) => plainText(line).length);
    const chars = Math.max(8, Math.floor(room / charPx));
    next.titleChars = Math.max(...planned) * charPx <= room ? null : chars;
  }
  // the highest thing under the title: the plot, or a legend above it
  let under = full._size.t;
  const legend = chart.querySelector(".legend");
  if (legend) {
    const drawn = legend.getBoundingClientRect();
    const above = drawn.height > 0 && drawn.bottom - box.top <= full._size.t + 1;
    if (above) under = Math.min(under, drawn.top - box.top);
  }
  if (titleBottom > 0) {
    const top = Math.max(0, Math.ceil(fit.top + align + titleBottom + GAP_PX - under));
    if (Math.abs(top - fit.top) >= 1) next.top = top;
  }
  return next.titleChars === fit.titleChars && next.top === fit.top ? null : next;
}

// ---- What a screen reader says of a chart ----
function formatNumber(value) {
  return String(Number(value.toPrecision(Math.abs(value) >= 1000 ? 6 : 3)));
}

function formatPercent(value) {  // a share (0-1) as a percentage axis shows it, and its hover (to 0.1 %)
  return `${Number((value * 100).toFixed(1))}%`;
}

// The full layout's axis that a trace's ``ref`` ("x", "y2" ...) names
function axisOf(full, ref, letter) {
  const id = String(ref || letter).slice(1);
  return full[`${letter}axis${id}`] || {};
}

// An axis' title as the figure gives it ("" for none: plotly.js's full layout has a placeholder there,
// "Click to enter X axis title")
function axisTitle(layout, ref, letter) {
  const title = axisOf(layout, ref, letter).title;
  return plainText(String((typeof title === "string" ? title : title && title.text) || ""));
}

// Items said one after the other: by commas, or by semicolons where an item has commas of its own ("G's
// map of the plane z1, z2 (of 4)")
function listed(items) {
  return items.join(items.some((item) => item.includes(",")) ? "; " : ", ");
}

// A bar chart's (or a chart of categories': an x axis with a tick label at each) values, read by category:
// [{label, y}] in the order of the ticks, each point at the tick within half a category of it (the real
// share's level line over each class's bar: two points a class), else its x as it is
function byCategory(trace, ticks) {
  const found = new Map();
  for (let i = 0; i < Math.min(trace.x.length, trace.y.length); i++) {
    const x = trace.x[i], y = Number(trace.y[i]);
    if (trace.y[i] === null || !Number.isFinite(y)) continue;
    let key = null, label = null;
    if (ticks) {
      const at = Number(x);
      let best = -1;
      ticks.forEach((tick, t) => {
        const off = Math.abs(at - tick.at);
        if (off < 0.5 && (best < 0 || off < Math.abs(at - ticks[best].at))) best = t;
      });
      if (best < 0) continue;
      key = best;
      label = ticks[best].label;
    } else {
      key = typeof x === "number" ? x : String(x);
      label = typeof x === "number" ? formatNumber(x) : plainText(String(x));
    }
    if (!found.has(key)) found.set(key, {key, label, y});
  }
  const values = [...found.values()];
  return ticks ? values.sort((a, b) => a.key - b.key) : values;
}

// "G's share per class 0: 12%, 1: 11%", "real share 10% per class": a trace of a chart of categories
function categoryWords(layout, full, trace, name) {
  const xa = axisOf(full, trace.xaxis, "x"), ya = axisOf(full, trace.yaxis, "y");
  const format = /%$/.test(String(ya.tickformat || "")) ? formatPercent : formatNumber;  // (".0%": shares)
  const ticks = xa.tickvals && xa.ticktext && xa.tickvals.length
    ? Array.from(xa.tickvals, (at, i) => ({at: Number(at), label: plainText(String(xa.ticktext[i] ?? at))}))
    : null;
  // (not twice: "fidelity per class" on the axis "class asked for")
  const per = / per /.test(` ${name} `) ? "" : axisTitle(layout, trace.xaxis, "x");
  const values = byCategory(trace, ticks);
  const words = values.map(({y}) => format(y));
  if (!values.length) {  // a level across the categories, on none of them (a mean's dashed line)
    // (null is no value: Number(null) would read it as 0)
    const ys = Array.from(trace.y || []).filter((y) => y !== null && y !== undefined).map(Number)
      .filter((y) => Number.isFinite(y));
    return ys.length && ys.every((y) => y === ys[0]) ? `${name} ${format(ys[0])}` : name;
  }
  if (ticks && values.length === ticks.length && values.length > 1 && words.every((w) => w === words[0])) {
    return `${name} ${words[0]} ${per ? `per ${per}` : "each"}`;
  }
  const pairs = values.map(({label}, i) => `${label}: ${words[i]}`);
  return `${name}${per ? ` per ${per}` : ""} ${listed(pairs)}`;
}

// "an image 73 by 73 pixels, its rows labelled 0, 1, 2": an image trace (a sample grid), its size in its own
// pixels and the labels written at its left (a class-conditional grid's classes: `charts.image_grid_figure`)
function imageWords(chart, figure, trace) {
  const drawn = ((chart.calcdata || [])[trace.index] || [])[0] || {};
  let words = drawn.w > 0 && drawn.h > 0 ? `an image ${drawn.w} by ${drawn.h} pixels` : "an image";
  const left = Number(trace.x0 || 0) - Number(trace.dx || 1) / 2;
  const rows = (figure.layout.annotations || [])
    .filter((note) => note.xref === (trace.xaxis || "x") && note.yref === (trace.yaxis || "y")
      && Number(note.x) <= left && note.text)
    .map((note) => plainText(String(note.text)));
  if (rows.length) words += `, its rows labelled ${listed(rows)}`;
  return words;
}

// A note written on a plot or on the figure (placed on the paper or an axis' domain, not at a data
// point): a placeholder's message ("no data yet"), a 2D view's "50 of 50 generated points outside this
// view". Not a panel's title, a marker's label (written down its line) or a label at data coordinates (a
// grid's row labels, said with its image).
function isNote(note) {
  const placed = (ref) => ref === "paper" || / domain$/.test(String(ref || ""));
  return Boolean(note && note.text) && note.visible !== false && note.textangle !== -90
    && placed(note.xref) && placed(note.yref);
}

// "Losses, step 3000: d_loss 1.32, g_loss 0.85": a chart's title, and each line's newest finite value with
// its x (a step, on the metric charts); the training panels (`charts.panels_figure`) each so, one after
// the other. A chart of categories (bars: the per-class shares) says each trace's value per category; an
// image (a sample grid) its title once and what the figure knows of it; a chart of points, or a plane of
// equal scale (the 2D view, whose lines are no series over x), names what it shows; and each says the
// notes written on it (a placeholder's "no data yet").
function describe(chart, figure) {
  const layout = figure.layout, full = chart._fullLayout || {};
  const axes = Object.keys(layout).filter((name) => /^xaxis\d*$/.test(name));
  const named = axes.map((name) => axisTitle(layout, `x${name.slice(5)}`, "x")).find((title) => title);
  const axis = named || "x";
  const panels = layout.meta && Array.isArray(layout.meta.panels) ? layout.meta.panels : null;
  const annotations = layout.annotations || [];
  // what each panel says (the whole chart's one, legend and yaxis null): its title, its lines' newest values,
  // its categories' and images' words, the names of its other traces, its notes
  const said = (title, legend, yaxis) => ({title, legend, yaxis, lines: [], parts: [], names: [], notes: []});
  const sections = panels
    ? panels.map((panel) => said(
      plainText(String((annotations[panel.title] || {}).text || "")), panel.legend, panel.yaxis))
    : [said(plainText(titleText(layout)), null, null)];
  const titles = new Set(panels ? panels.map((panel) => panel.title) : []);
  annotations.forEach((note, i) => {
    if (titles.has(i) || !isNote(note)) return;
    // (a panel's notes on its own plot: "y3 domain" on its yaxis3)
    const yaxis = `yaxis${String(note.yref).replace(/ domain$/, "").slice(1)}`;
    const section = sections.find((each) => each.yaxis === null || each.yaxis === yaxis);
    if (section) section.notes.push(plainText(String(note.text)));
  });
  for (const trace of chart._fullData || []) {
    if (trace.visible !== true || !trace.name || trace.showlegend === false) continue;
    const legend = trace.legend || "legend";
    const section = sections.find((each) => each.legend === null || each.legend === legend);
    if (!section) continue;
    // (the figure's own name: a legend may show it cut, `cutToWidth`)
    const name = plainText(String(((figure.data || [])[trace.index] || trace).name));
    if (trace.type === "image") {  // (named after the chart's title: said once)
      const words = imageWords(chart, figure, trace);
      section.parts.push(name && name !== section.title ? `${name}: ${words}` : words);
      continue;
    }
    const xa = axisOf(full, trace.xaxis, "x"), ya = axisOf(full, trace.yaxis, "y");
    if (trace.x && trace.y && (trace.type === "bar" || (xa.tickvals && xa.ticktext))) {
      section.parts.push(categoryWords(layout, full, trace, name));
      continue;
    }
    const plane = ya.scaleanchor === xa._id;  // (equal scale: a 2D view's path, arrows or mesh)
    if (plane || !String(trace.mode || "").includes("lines") || !trace.x || !trace.y) {
      if (!section.names.includes(name)) section.names.push(name);
      continue;
    }
    for (let i = Math.min(trace.x.length, trace.y.length) - 1; i >= 0; i--) {
      const x = Number(trace.x[i]), y = Number(trace.y[i]);
      if (trace.y[i] === null || !Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (!section.lines.some((line) => line.name === name)) section.lines.push({name: name, x: x, y: y});
      break;
    }
  }
  const where = (x) => `${axis} ${formatNumber(x)}`;
  return sections.map(({title, lines, parts, names, notes}) => {
    let words;
    if (lines.length) {
      const at = Math.max(...lines.map((line) => line.x));
      const values = lines.map(
        (line) => `${line.name} ${formatNumber(line.y)}${line.x === at ? "" : ` (${where(line.x)})`}`
      );
      title = `${title || (panels ? "" : "chart")}, ${where(at)}`;
      words = [values.join(", "), ...parts];
    } else words = parts.length ? parts : names.length ? [listed(names)] : [];
    words = [...words, ...notes].join("; ");
    if (!words) return title || (panels ? "" : "chart");
    return title ? `${title}: ${words}` : words;
  }).join("; ");
}

// After each draw: the chart one image with a text (plotly.js's svgs out of the accessibility tree), and
// its toolbar's buttons out of the tab order (8 a chart: Tab would pass every chart's toolbar between two
// controls of the page; the mouse uses them as before)
function label(chart, figure) {
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-label", describe(chart, figure));
  chart.querySelectorAll("svg").forEach((svg) => svg.setAttribute("aria-hidden", "true"));
  chart.querySelectorAll(".modebar-btn").forEach((button) => button.setAttribute("tabindex", "-1"));
}

// ---- A reference line's label before a marker's ----
// A reference line's label ("ln 8 = 2.08: all in one mode", the ceiling mode_kl sits on in a collapse) goes
// where no event marker's vertical label is (`charts._hline_shapes`), which, on a narrow chart with flags
// all along, may be nowhere: there, read as drawn, the marker labels it crosses are hidden (their lines and
// caps stay, each cap's hover names its flag, and the page's other charts label it). Two labels printed over
// each other read as neither, and the reference says what is unique to its chart.
function hideCrossedMarkerLabels(chart) {
  const references = [...chart.querySelectorAll(".shape-label-text")]
    .map((text) => text.getBoundingClientRect())
    .filter((box) => box.width > 0 && box.height > 0);
  const specs = (chart._fullLayout && chart._fullLayout.annotations) || [];
  chart.querySelectorAll("g.annotation").forEach((group) => {
    const spec = specs[Number(group.getAttribute("data-index"))];
    if (!spec || spec.textangle !== -90) return;  // (a marker's label: written down its line)
    const text = group.querySelector(".annotation-text") || group;
    const box = text.getBoundingClientRect();
    const crossed = references.some((ref) => ref.left < box.right && box.left < ref.right
      && ref.top < box.bottom && box.top < ref.bottom);
    group.style.visibility = crossed ? "hidden" : "";
  });
}

// Draw the chart's figure fitted to its width: drawn with the fit its last figure took, measured, and
// drawn again while the measure asks for another fit (twice at most: the title, then the margin)
async function drawFitted(Plotly, chart, resized) {
  const figure = chart.figure;
  if (resized && chart.offsetWidth === chart.fitWidth) return;  // (fitted at this width meanwhile)
  chart.fitWidth = chart.offsetWidth;
  // plotly.js sizes the chart to its div at a resize only: a draw of another kind (a new figure, a row's
  // lining up) at a width the chart is not drawn at resizes it too, or it stays at its old width while
  // `fitWidth` says it was fitted (a grid settling 316 -> 980 -> 316 px left charts drawn 980 px wide)
  const stale = chart._fullLayout !== undefined && Math.abs(chart._fullLayout.width - chart.offsetWidth) > 1;
  if ((resized || stale) && chart.layout !== undefined) await Plotly.Plots.resize(chart);
  // A figure whose axes are tied otherwise than the last one's is drawn afresh: Plotly.react keeps the
  // domain an axis had, so an equal-scale 2D view (`scaleanchor`, `constrain: "domain"`) drawn in place
  // of an image strip (the Probe's walk, another run picked) spread its x axis over the whole width, to
  // 9.7 where the data ends at 2.5. (Purged, the chart's plotly.js handlers are made again: `listen`.)
  const shape = axesShape(figure.layout);
  if (chart.axesShape !== undefined && chart.axesShape !== shape && chart._fullLayout !== undefined) {
    Plotly.purge(chart);
    chart.plotlyListening = false;
  }
  chart.axesShape = shape;
  let fit = chart.fit || NO_FIT;
  const align = chart.rowGroup ? chart.lowered || 0 : 0;
  for (let pass = 0; pass < 4; pass++) {
    const shown = fitted(figure, fit, chart.clientWidth, align);
    withLinkedRange(chart, shown.layout);
    shown.data = withLinkedLegend(chart, shown.data);
    withLinkedLegendLayout(chart, shown.layout);
    chart.style.height = `${shown.layout.height}px`;
    await Plotly.react(chart, shown.data, shown.layout, CONFIG);
    chart.ownTop = shown.layout.margin.t - align;
    const next = measure(chart, figure, fit, align);
    if (next === null) break;
    fit = next;
  }
  chart.fit = fit;
  chart.drawnLowered = align;  // (`lowered`: not `align`, a div's own HTML attribute, a string)
  label(chart, figure);
  hideCrossedMarkerLabels(chart);
  if (chart.rowGroup) lineUp(chart.rowGroup);
}

// The chart's plotly.js handlers (a purge, `drawFitted`, takes them away: made again at the next draw)
function listen(chart) {
  if (chart.plotlyListening) return;
  chart.plotlyListening = true;
  chart.on("plotly_relayout", (event) => followZoom(chart, event));
  // (returning false keeps plotly from toggling this chart alone: `followLegend` does all of them). A
  // click is taken once plotly's double-click delay has passed without a second: plotly tells of the
  // first click of a double-click too, which would hide the run the double-click then shows alone.
  chart.on("plotly_legendclick", (event) => {
    if (!chart.legendGroup) return true;
    clearTimeout(chart.pendingLegend);
    chart.pendingLegend = setTimeout(() => followLegend(chart, event, false), DOUBLE_CLICK_MS);
    return false;
  });
  chart.on("plotly_legenddoubleclick", (event) => {
    if (!chart.legendGroup) return true;
    clearTimeout(chart.pendingLegend);
    followLegend(chart, event, true);
    return false;
  });
  // a zoom or pan draws the labels again where they now fall (a row's lining up does too)
  chart.on("plotly_afterplot", () => hideCrossedMarkerLabels(chart));
  chart.on("plotly_relayout", () => hideCrossedMarkerLabels(chart));
}

// How a figure's axes are tied: each axis' name with its scaleanchor and constrain ("xaxis:y:domain|...")
function axesShape(layout) {
  return Object.keys(layout || {}).filter((key) => /^[xy]axis\d*$/.test(key)).sort()
    .map((key) => `${key}:${layout[key].scaleanchor || ""}:${layout[key].constrain || ""}`).join("|");
}

// ---- Step axes zoomed together ----
// Charts of one x group (`live_chart`'s ``x_group``: a page's step charts) show one step range: a zoom or
// pan of any one (its x axes, in plotly's relayout event) is applied to the others, and to every figure
// they draw after it (each refresh's figure autoranges, so the range is written into the figure drawn);
// a double-click's autorange on any one ends it for all. The range lives as long as a chart it was set on
// is on the page: charts mounted anew with none of those left (another page, then back) start whole.
// group -> {range: [a, b], charts: the charts on the page when it was set}
const X_LINKS = (window.__liveChartXLinks = window.__liveChartXLinks || new Map());
// groups told "whole again" for a range the server still drew finer, until it draws them whole
const UNZOOMED = (window.__liveChartUnzoomed = window.__liveChartUnzoomed || new Set());

function xAxisNames(layout) {
  const names = Object.keys(layout).filter((name) => /^xaxis\d*$/.test(name));
  return names.length ? names : ["xaxis"];
}

// The x range a relayout event set: [a, b], null for an autorange, undefined when it set no x range
function eventRange(event) {
  for (const [key, value] of Object.entries(event || {})) {
    const axis = /^(xaxis\d*)\.(range|autorange)$/.exec(key);
    if (axis && axis[2] === "autorange" && value) return null;
    if (axis && axis[2] === "range" && Array.isArray(value)) return [Number(value[0]), Number(value[1])];
    const start = /^(xaxis\d*)\.range\[0\]$/.exec(key);
    const end = start ? `${start[1]}.range[1]` : null;
    if (end && end in event) return [Number(value), Number(event[end])];
  }
  return undefined;
}

function sameRange(a, b) {
  if (a === null || b === null) return a === b;
  const span = Math.abs(a[1] - a[0]) || 1;
  return Math.abs(a[0] - b[0]) <= span * 1e-9 && Math.abs(a[1] - b[1]) <= span * 1e-9;
}

// The group's range now (null: whole), dropping one that no chart on the page was zoomed with (its
// charts held weakly: a page left behind is not kept in memory for it)
function linkedRange(group) {
  const link = X_LINKS.get(group);
  if (!link) return null;
  link.charts = link.charts.filter((ref) => {
    const chart = ref.deref();
    return chart !== undefined && chart.isConnected;
  });
  if (!link.charts.length) {
    X_LINKS.delete(group);
    return null;
  }
  return link.range;
}

// ``layout`` (a figure about to be drawn) showing the chart's group's range, if one is set
function withLinkedRange(chart, layout) {
  const range = chart.xGroup ? linkedRange(chart.xGroup) : null;
  if (range === null) return layout;
  for (const name of xAxisNames(layout)) {
    layout[name] = {...(layout[name] || {}), range: range, autorange: false};
  }
  return layout;
}

function followZoom(chart, event) {
  const group = chart.xGroup;
  const range = group ? eventRange(event) : undefined;
  if (range === undefined) return;
  // The echo of a relayout this code made on the chart (each is tagged with its range, and the tag is
  // used once): not a zoom of the user's, even when it lands after a newer one (queued behind a draw)
  const echoes = chart.linkEchoes || [];
  const echo = echoes.findIndex((expected) => sameRange(expected, range));
  if (echo >= 0) {
    echoes.splice(echo, 1);
    return;
  }
  if (sameRange(range, linkedRange(group))) return;
  const charts = [...document.querySelectorAll(".live-chart")].filter(
    (each) => each.xGroup === group && each.isConnected
  );
  if (range === null) X_LINKS.delete(group);
  else X_LINKS.set(group, {range: range, charts: charts.map((each) => new WeakRef(each))});
  // The server told of the range (one chart of the group reports it: this one, or the first that can), so
  // that a chart drawn from a downsampled view is drawn again from one finer there
  const reporter = chart.zoomReport ? chart : charts.find((each) => each.zoomReport);
  if (reporter) reporter.zoomReport("zoom", range === null ? [] : range);  // ([]: whole again)
  for (const other of charts) {
    if (other === chart || other._fullLayout === undefined) continue;
    const update = {};
    for (const name of xAxisNames(other._fullLayout)) {
      if (range === null) update[`${name}.autorange`] = true;
      else Object.assign(update, {[`${name}.range`]: range, [`${name}.autorange`]: false});
    }
    const last = (other.queue || Promise.resolve()).catch(() => undefined);  // after its draw in flight
    other.queue = last.then(() => {
      (other.linkEchoes = other.linkEchoes || []).push(range);
      return window.Plotly.relayout(other, update);
    }).catch((e) => console.error(e));
  }
}

// ---- Traces shown and hidden together ----
// Charts of one legend group (`live_chart`'s ``legend_group``: Compare's, a line per run in each) show and
// hide a run together: a click on its legend entry in any chart hides its traces (those of its legend
// group, as plotly's own click does) in every chart of the group, and in every figure they draw after it;
// a double-click shows it alone, or, alone already, every run again. What is hidden lives as long as a
// chart of the group is on the page, as a zoom does (`X_LINKS`).
// group -> {hidden: Set of legend groups, charts: the charts on the page when it was set}
const LEGEND_LINKS = (window.__liveChartLegendLinks = window.__liveChartLegendLinks || new Map());

function legendKey(trace) {
  return trace.legendgroup || trace.name || "";
}

// Whether ``hidden`` (a group's hidden legend groups) hides ``trace``: by its legend group, or, for a run's
// marks at an edge (`charts._edge_traces`: grouped by kind, each trace of one run), by its run too
function hiddenBy(hidden, trace) {
  return hidden.has(legendKey(trace)) || (trace.meta && trace.meta.run !== undefined
    && hidden.has(String(trace.meta.run)));
}

// The group's hidden legend groups now (empty: none), dropping them when no chart they were set on is left
function linkedHidden(group) {
  const link = LEGEND_LINKS.get(group);
  if (!link) return new Set();
  link.charts = link.charts.filter((ref) => {
    const chart = ref.deref();
    return chart !== undefined && chart.isConnected;
  });
  if (!link.charts.length) {
    LEGEND_LINKS.delete(group);
    return new Set();
  }
  return link.hidden;
}

// ``data`` (a figure's traces about to be drawn) with the group's hidden runs as legend entries only. Each
// trace a copy: plotly.js's restyle writes ``visible`` into the traces it draws, and the figure's own must
// keep what the server said (a run shown again takes its ``visible`` from them).
function withLinkedLegend(chart, data) {
  if (!chart.legendGroup) return data;
  const hidden = linkedHidden(chart.legendGroup);
  return data.map((trace) => {
    const copy = {...trace};
    if (hiddenBy(hidden, trace) && trace.visible !== false) copy.visible = "legendonly";
    return copy;
  });
}

// ``layout`` (a figure's about to be drawn) with the shapes and labels of the group's hidden runs hidden:
// Compare's flags, named after their run (`charts._event_layers`' groups); in place, as `withLinkedRange`
function withLinkedLegendLayout(chart, layout) {
  if (!chart.legendGroup) return layout;
  const hidden = linkedHidden(chart.legendGroup);
  for (const name of ["shapes", "annotations"]) {
    if (!Array.isArray(layout[name]) || !hidden.size) continue;
    layout[name] = layout[name].map((item) => (item.name !== undefined && hidden.has(item.name)
      ? {...item, visible: false} : item));
  }
  return layout;
}

function groupCharts(group) {
  return [...document.querySelectorAll(".live-chart")].filter(
    (each) => each.legendGroup === group && each.isConnected
  );
}

function followLegend(chart, event, isolate) {
  const group = chart.legendGroup;
  const trace = group && event && event.data ? event.data[event.curveNumber] : undefined;
  if (!trace) return true;  // (plotly's own toggle)
  const key = legendKey(trace);
  const charts = groupCharts(group);
  const hidden = new Set(linkedHidden(group));
  if (isolate) {
    // A run shown alone among the runs (a key of marks at an edge stays: the run keeps its own marks); a
    // kind of marks shown alone among the kinds (the runs stay: hidden, they would take every mark with
    // them, and the chart was left empty)
    const marksKey = (t) => Boolean(t.meta && t.meta.marks_key);
    const ofMarks = marksKey(trace);
    const keys = new Set();
    for (const each of charts) {
      for (const t of (each.figure && each.figure.data) || []) {
        if (t.showlegend !== false && (t.name || t.legendgroup) && marksKey(t) === ofMarks) {
          keys.add(legendKey(t));
        }
      }
    }
    const others = [...keys].filter((k) => k !== key);
    const alone = !hidden.has(key) && others.every((k) => hidden.has(k));
    hidden.clear();
    if (!alone) others.forEach((k) => hidden.add(k));
  } else if (hidden.has(key)) {
    hidden.delete(key);
  } else {
    hidden.add(key);
  }
  if (hidden.size) LEGEND_LINKS.set(group, {hidden: hidden, charts: charts.map((each) => new WeakRef(each))});
  else LEGEND_LINKS.delete(group);
  for (const each of charts) {
    if (each._fullData === undefined || !each.figure) continue;
    // the traces, from the figure drawn when it is applied (after a draw in flight, whose traces may differ)
    const showRuns = () => {
      const indices = [], visible = [];
      each.figure.data.forEach((t, i) => {
        if (i >= each._fullData.length) return;
        indices.push(i);
        visible.push(hiddenBy(hidden, t) && t.visible !== false ? "legendonly" : (t.visible ?? true));
      });
      return window.Plotly.restyle(each, {visible: visible}, indices);
    };
    // and its flags' lines and labels, named after their run (read when applied: a draw in flight may
    // bring other flags, at other places in the layout)
    const hideFlags = () => {
      const layoutUpdate = {};
      for (const name of ["shapes", "annotations"]) {
        ((each.layout && each.layout[name]) || []).forEach((item, i) => {
          if (item.name !== undefined) layoutUpdate[`${name}[${i}].visible`] = !hidden.has(item.name);
        });
      }
      return Object.keys(layoutUpdate).length ? window.Plotly.relayout(each, layoutUpdate) : undefined;
    };
    const last = (each.queue || Promise.resolve()).catch(() => undefined);  // after its draw in flight
    each.queue = last.then(showRuns).then(hideFlags)
      .catch((e) => console.error(e));
  }
  return false;
}

// ---- The plots of a row at one height ----
// Charts of one row group (`live_chart`'s ``row_group``) that the page lays out side by side, in as many
// columns as fit (`chart_grid_style`): which share a row is known here only, and changes with the window's
// width. The charts of each row take the row's tallest top margin (title and legend rows, as fitted to
// each chart's width), each lowering its plot by what it lacks: their plots, of one height, start and
// end at one height. A chart drawn, or fitted to a new width, lines its group up again (once for all
// the draws of a refresh: a task later); a chart whose lowering changes is drawn again, which lines the
// group up once more and finds nothing left to change.
const LINING_UP = (window.__liveChartLiningUp = window.__liveChartLiningUp || new Map());

function lineUp(group) {
  if (LINING_UP.has(group)) return;
  LINING_UP.set(group, setTimeout(() => {
    LINING_UP.delete(group);
    const rows = [];  // [{top, charts}]: the charts of one row start at one height on the page
    for (const chart of document.querySelectorAll(".live-chart")) {
      if (chart.rowGroup !== group || chart.ownTop === undefined || chart.offsetParent === null) continue;
      const top = chart.getBoundingClientRect().top;
      const row = rows.find((each) => Math.abs(each.top - top) < 2);
      if (row) row.charts.push(chart);
      else rows.push({top: top, charts: [chart]});
    }
    for (const row of rows) {
      const tallest = Math.max(...row.charts.map((chart) => chart.ownTop));
      for (const chart of row.charts) {
        chart.lowered = tallest - chart.ownTop;
        if (chart.lowered !== chart.drawnLowered) redraw(window.Plotly, chart);
      }
    }
  }, 0));
}

// One draw at a time for each chart: a new figure, or the same one at a new width (``resized``)
function redraw(Plotly, chart, resized = false) {
  const last = (chart.queue || Promise.resolve()).catch(() => undefined);  // (a failed draw stops no other)
  chart.queue = last.then(() => drawFitted(Plotly, chart, resized));
  return chart.queue;
}

// The chart fitted again to a new width (its ResizeObserver's call). A chart not displayed, as while
// Streamlit swaps a page's elements, has no size to fit (plotly.js refuses it: "Resize must be passed a
// displayed plot div element"); only a new width is fitted again (the height is the fit's own). One refit
// runs at a time, whatever the number of resize events (a window's edge dragged sends dozens), and fits
// the width there is when it ends, if that moved on meanwhile.
function refit(chart) {
  const shown = chart.offsetParent !== null && chart.offsetWidth > 0;
  const drawn = chart.figure !== undefined && window.Plotly;
  if (!shown || !drawn || chart.offsetWidth === chart.fitWidth || chart.refitting) return;
  // A width the chart was fitted at just before its last one, within a second, and no further from
  // its fit than a page scrollbar is wide: its own new height brought a scrollbar and took it away
  // again (an equal-scale view is shorter when narrower), which would flip it between the two for ever.
  // It keeps the fit it has. A larger move back (a grid's columns settling: a quality chart that was the
  // row's only one, 980 px, then one of three, 316, 980 and 316 again within the second) is fitted: it
  // had stayed drawn 980 px wide in its 316 px column, no later resize to fit it again.
  // (a scrollbar's device pixels are more CSS pixels at a browser zoom below 100%)
  const scrollbar = Math.max(SCROLLBAR_PX, SCROLLBAR_PX / (window.devicePixelRatio || 1));
  const flip = Math.abs(chart.offsetWidth - chart.fitWidth) <= scrollbar;
  if (flip && chart.offsetWidth === chart.priorWidth && performance.now() - chart.fittedAt < 1000) return;
  chart.refitting = true;
  chart.priorWidth = chart.fitWidth;
  redraw(window.Plotly, chart, true)
    .catch((error) => console.error(error))
    .finally(() => {
      chart.refitting = false;
      chart.fittedAt = performance.now();
      refit(chart);  // (a width that moved on while it drew)
    });
}

export default function ({ data: payload, parentElement, setTriggerValue }) {
  const text = DECODER.decode(payload);
  const cut = text.indexOf("\n");
  const data = JSON.parse(text.slice(0, cut));
  data.figure = text.slice(cut + 1);
  let chart = parentElement.querySelector(":scope > .live-chart");
  if (chart === null) {  // first mount: the div that Plotly draws into, for the life of the element
    chart = document.createElement("div");
    chart.className = "live-chart";
    chart.style.height = `${data.height}px`;  // the slot keeps its size until plotly.js is there
    parentElement.appendChild(chart);
    new ResizeObserver(() => {
      refit(chart);
      // (its row may have changed: the page's columns at this width, or a neighbour's new width)
      if (chart.rowGroup) lineUp(chart.rowGroup);
    }).observe(chart);
  }
  chart.pick = data.pickable ? setTriggerValue : null;
  chart.zoomReport = data.zoomable ? setTriggerValue : null;
  chart.rowGroup = data.row || null;
  chart.xGroup = data.xgroup || null;
  chart.legendGroup = data.legendgroup || null;
  // The server draws a range finer (``zoomed``) that this page does not show zoomed (its charts mounted
  // anew, after another page: the range is forgotten here): told that the charts are whole, once
  if (chart.zoomReport && chart.xGroup) {
    if (!data.zoomed) UNZOOMED.delete(chart.xGroup);
    else if (linkedRange(chart.xGroup) === null && !UNZOOMED.has(chart.xGroup)) {
      UNZOOMED.add(chart.xGroup);
      const report = chart.zoomReport;
      setTimeout(() => report("zoom", []), 0);  // (after this element's render)
    }
  }
  if (data.figure === chart.drawn) return;  // the same figure again (a chart between evaluations)
  chart.drawn = data.figure;
  chart.pending = JSON.parse(data.figure);  // only the newest is drawn when several arrive during a draw
  const drawing = plotlyLibrary(data.library).then(
    // each chart's draw a task of its own: a refresh of many charts leaves the page responsive between them
    (Plotly) => new Promise((resolve) => setTimeout(() => resolve(Plotly), 0))
  ).then((Plotly) => {
    const next = chart.pending;
    if (next === null) return undefined;
    chart.pending = null;
    // the page's font, as Streamlit's own charts use it
    next.layout.font = {family: getComputedStyle(chart).fontFamily, ...(next.layout.font || {})};
    chart.figure = next;
    return redraw(Plotly, chart).then(() => {
      listen(chart);
      if (chart.listening) return;
      chart.listening = true;
      // A click reports the x under it (and whether that is at the lines' end), read from where the
      // button went up on the subplot under it: plotly_click needs a hovered point and a press and release
      // on one element, and each refresh's Plotly.react clears the hover and may replace the element
      // between the two (2 of 6 clicks on a live view reported nothing). Moved more than 4 px: a zoom.
      // A double-click (plotly's "show it whole") is no pick: a click is reported once plotly's
      // double-click delay has passed without a second press, and a second press within it cancels it
      // (a double-click had moved the snapshot slider off "newest", the view no longer following).
      chart.addEventListener("pointerdown", (e) => {
        chart.downAt = e.button === 0 ? [e.clientX, e.clientY] : null;
        chart.secondPress = chart.pendingPick !== undefined && chart.pendingPick !== null;
        if (chart.secondPress) {
          clearTimeout(chart.pendingPick);
          chart.pendingPick = null;
        }
      }, true);
      window.addEventListener("pointerup", (e) => {  // (plotly.js may cover the page while pressed)
        const down = chart.downAt, second = chart.secondPress;
        chart.downAt = null;
        chart.secondPress = false;
        if (!down || second || !chart.pick || !chart.isConnected) return;
        if (Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return;
        const picked = pickAt(chart, e.clientX, e.clientY);
        if (picked === null) return;
        chart.pendingPick = setTimeout(() => {
          chart.pendingPick = null;
          if (chart.pick && chart.isConnected) chart.pick("pick", picked);
        }, DOUBLE_CLICK_MS);
      }, true);
    });
  }).catch((error) => {
    chart.drawn = null;  // not drawn: the next figure is, even if it is the same
    console.error(error);
  });
  DRAWS.add(drawing);
  drawing.finally(() => DRAWS.delete(drawing));
}
"""

# The numbers the browser's fitting shares with the server's plan (`charts._fit_legend`, `_base_layout`),
# taken from there so that the two cannot drift apart.
_SHARED_CONSTANTS = {
    "TITLE_RAISE_PX": charts.MULTILINE_TITLE_RAISE_PX,  # how much higher plotly.js draws a multi-line title
    "LEGEND_SHARE": charts.LEGEND_ENTRY_SHARE,  # the legend's width its entries share, the rest its padding
    "LEGEND_ROW_PX": charts.LEGEND_ROW_PX,
    "LEGEND_SYMBOL_PX": charts.LEGEND_SYMBOL_PX,  # an entry's symbol and the gaps around its text
}
_JS = "".join(f"const {name} = {json.dumps(value)};\n" for name, value in _SHARED_CONSTANTS.items()) + _JS
_COMPONENT = st.components.v2.component("gan_dashboard_live_chart", js=_JS, isolate_styles=False)


_SENT = "_live_chart_sent"  # session state: key -> (version, height, the figure's JSON) last drawn


# A name kept as it is in its chart's key: letters, digits and ``. / -`` runs joined by single underscores.
# Streamlit's components (v2) join a key and an event name with "__" and refuse a key that holds it.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9./-]+(?:_[A-Za-z0-9./-]+)*")


def chart_key(prefix: str, name: str) -> str:
    """The widget key of a chart of metric ``name`` (any name `gan_core.track`'s ``log`` takes) among the
    charts keyed ``prefix``, unique per name: ``<prefix>_<name>`` for a name without ``__`` and with no
    ``_`` at either end (``chart_custom_fake_std``, ``cmp_chart_d_loss``), else ``<prefix>-<16 hex
    digits>`` from the name's SHA-1 (``_x``, ``a__b``, ``x_``: as the name would be, the key would hold
    ``__``, which a component's key must not). The two forms differ at the character after ``prefix``,
    so no plain name's key is a hashed one's."""
    if _PLAIN_NAME.fullmatch(name):
        return f"{prefix}_{name}"
    return f"{prefix}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:16]}"


def custom_chart_key(name: str) -> str:
    """The Train view's chart of a run's own metric ``name``: `chart_key` with prefix ``chart_custom``
    (``chart_custom_fake_std``, ``chart_custom-<16 hex digits>``)."""
    return chart_key("chart_custom", name)


def payload(
    figure_json: str | bytes,
    *,
    height: int,
    pickable: bool = False,
    row_group: str | None = None,
    x_group: str | None = None,
    zoomable: bool = False,
    zoomed: bool = False,
    legend_group: str | None = None,
) -> bytes:
    """What a chart's element is sent: one line of JSON with the chart's ``height`` (pixels), the URL of
    plotly.js, whether a click reports the step (``pickable``), the chart's ``row_group`` (as ``row``) and
    ``x_group`` (as ``xgroup``; each null for none: `live_chart`), whether it reports a zoom of its group
    (``zoomable``), whether the server drew it zoomed (``zoomed``) and its ``legend_group`` (as
    ``legendgroup``, null for none), then ``figure_json`` (a figure
    written by ``plotly.io.to_json``), as UTF-8 bytes. Streamlit forwards bytes as they are (its `bytes`
    data), where a dict holding the figure's text is written as JSON twice per rerun (once to send, once
    to name the element), escaping every quote of the figure each time, and parsed twice by the browser."""
    head = json.dumps(
        {
            "height": height,
            "library": LIBRARY_URL,
            "pickable": pickable,
            "row": row_group,
            "xgroup": x_group,
            "zoomable": zoomable,
            "zoomed": zoomed,
            "legendgroup": legend_group,
        }
    )
    body = figure_json.encode() if isinstance(figure_json, str) else figure_json
    return head.encode() + b"\n" + body


def read_payload(data: bytes) -> dict[str, Any]:
    """`payload`'s fields back, the figure as a dict (``"figure"``): what the browser reads (for tests).
    ``ValueError`` for bytes that are not a payload."""
    head, sep, body = bytes(data).partition(b"\n")
    if not sep:
        raise ValueError("not a live chart's payload: no header line")
    fields = json.loads(head)
    fields["figure"] = json.loads(body)
    return fields


def live_chart(
    figure: Mapping[str, Any] | Any | Callable[[], Mapping[str, Any] | Any],
    key: str,
    *,
    height: int | None = None,
    on_pick: Callable[[float, bool], None] | None = None,
    version: str | None = None,
    row_group: str | None = None,
    x_group: str | None = None,
    on_zoom: Callable[[tuple[float, float] | None], None] | None = None,
    zoomed: bool = False,
    legend_group: str | None = None,
) -> None:
    """Draw ``figure`` (a plotly figure: a ``{"data", "layout"}`` dict as `gan_core.charts` builds them, or
    a ``go.Figure``) in the current container as the element ``key``: the same element, updated in place,
    whenever a rerun draws another figure under that key. The chart takes the container's width and
    ``height`` pixels (default: the figure's height).

    ``version`` (e.g. `charts.inputs_digest` of what the figure is drawn from) lets a refresh skip the
    work for a figure that has not changed: when this session last drew ``key`` at the same version (and
    height), the figure it sent then is sent again, and ``figure``, which may then be a function that
    builds it, is never called. The browser draws a figure it already shows no second time either.

    ``on_pick(x, end)``, if given, is called (as a widget callback, before the rerun) when the user clicks
    a subplot of the chart: ``x``, the x under the click, and ``end``, whether that is at or past the end
    of the subplot's lines (its newest point, within a hundredth of the axis; a live chart's "now").

    ``row_group``: a name for charts laid out side by side in a row that wraps (`chart_grid_style`). The
    browser lines up the plots of the group's charts that it draws on one row: each takes the row's
    tallest top margin (title and legend rows), so that their plots, of one height, start and end at one
    height, whatever the number of charts a row holds at the window's width.

    ``x_group``: a name for charts whose x axes show one range (a page's step charts): a zoom or pan of
    one in the browser zooms the others to the same x range, kept through every refresh, and a
    double-click on any one shows them all whole again (their y axes are each their own).

    ``on_zoom(steps)``, if given (with ``x_group``), is called (as a widget callback, before the rerun)
    when the user zooms or pans the group's x axes, ``steps`` the ``(low, high)`` range now shown, or
    when a double-click shows them whole again (None): a chart drawn from a downsampled view can then be
    drawn again from one finer in that range. One chart of the group reports each zoom: the one zoomed
    if it has ``on_zoom``, else the first on the page that has. ``zoomed``: the figure was drawn for a
    range so reported; a page that shows the charts whole (mounted anew after another page, which
    forgets the range) reports that they are (``on_zoom(None)``).

    ``legend_group``: a name for charts whose legends show and hide one set of things together
    (Compare's runs, each a legend group of its traces: `charts.compare_figure`): a click on an entry
    hides its traces in every chart of the group, kept through every refresh, and a double-click shows
    it alone (again: every one), as plotly's own legend does in one chart. TensorBoard and W&B hide a
    run everywhere at once; one chart at a time, ten charts took ten clicks."""
    sent = st.session_state.setdefault(_SENT, {})
    last = sent.get(key)
    if version is not None and last is not None and last[0] == version and height in (None, last[1]):
        height, body = last[1], last[2]
    else:
        if callable(figure):
            figure = figure()
        if not isinstance(figure, Mapping):
            figure = figure.to_plotly_json()
        layout = figure.get("layout") or {}
        if height is None:
            height = int(layout.get("height") or DEFAULT_HEIGHT)
        figure = {**figure, "layout": {**layout, "height": height}}  # the caller's dict left as it was
        # plotly.io's own encoder, as st.plotly_chart uses it (numpy arrays as JSON numbers, NaN as null;
        # orjson's, when installed)
        body = pio.to_json(figure, validate=False).encode()
        if version is not None:
            sent[key] = (version, height, body)
        else:
            sent.pop(key, None)
    data = payload(
        body,
        height=height,
        pickable=on_pick is not None,
        row_group=row_group,
        x_group=x_group,
        zoomable=on_zoom is not None and x_group is not None,
        zoomed=zoomed,
        legend_group=legend_group,
    )
    # The element takes its chart's height, which the browser fits to the width (`_JS`): the figure's,
    # less for an equal-scale view, more for a title or legend that needs more lines there.
    height = "content"
    callbacks = {}
    if on_pick is not None:
        callbacks["on_pick_change"] = lambda: _picked(key, on_pick)
    if on_zoom is not None and x_group is not None:
        callbacks["on_zoom_change"] = lambda: _zoomed(key, on_zoom)
    _COMPONENT(key=key, data=data, height=height, **callbacks)


def chart_grid_style(key: str, min_width: int, prefix: bool = False, keep_columns: bool = False) -> str:
    """The CSS rule that lays out the charts of the container ``key`` (``st.container(horizontal=True,
    key=key)``, Streamlit's wrapping row) in as many equal columns as fit, each at least ``min_width``
    pixels wide (> 0; the container's whole width where it is narrower), together filling the row: for
    a page's ``<style>`` (`st.html`), where it applies whenever the container is drawn; with ``prefix``,
    to every such container whose key starts with ``key`` (one a section: `chart_key`'s keys). With
    ``keep_columns``, fewer charts than fit keep their one column's width (CSS grid's ``auto-fill``, as
    TensorBoard's cards: a section of one chart lines up with the next section's columns), where otherwise
    they share the row (``auto-fit``). Give each chart a ``row_group`` (`live_chart`) to line up the plots
    of a row. ``ValueError`` for a ``min_width`` not > 0 or a ``key`` that is not a plain name (letters,
    digits, ``_`` and ``-``)."""
    if isinstance(min_width, bool) or not (isinstance(min_width, int) and min_width > 0):
        raise ValueError(f"min_width must be a whole number of pixels > 0, got {min_width!r}")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", key):
        raise ValueError(f"key must be letters, digits, _ and - only (a CSS class's name), got {key!r}")
    # Streamlit's own row lays each element out at its content's width (flex: 1 1 fit-content): plotly's
    # drawing, so that charts took 91 to 188 px of a 980 px row, and could not be given a least width
    # through its API (``width`` fixes one). Equal columns rather than a least width that grows: a chart
    # alone on the last row stays one column wide, and each column's step axes line up down the page.
    # (.stHorizontalBlock: more specific than Streamlit's own class, whichever style sheet comes last.)
    selector = f'[class*="st-key-{key}"]' if prefix else f".st-key-{key}"
    return (
        f".stHorizontalBlock{selector} {{display: grid; "
        f"grid-template-columns: repeat({'auto-fill' if keep_columns else 'auto-fit'}, "
        f"minmax(min({min_width}px, 100%), 1fr));}}"
    )


def _picked(key: str, on_pick: Callable[[float, bool], None]) -> None:
    result = st.session_state.get(key)
    picked = result.get("pick") if result is not None else None
    if not isinstance(picked, Mapping):
        return
    x, end = picked.get("x"), picked.get("end")
    if isinstance(x, int | float) and not isinstance(x, bool):
        on_pick(x, end is True)


def _zoomed(key: str, on_zoom: Callable[[tuple[float, float] | None], None]) -> None:
    result = st.session_state.get(key)
    if result is None or "zoom" not in result:
        return
    zoom = result.get("zoom")
    if isinstance(zoom, list | tuple) and len(zoom) == 0:  # a double-click: whole again
        on_zoom(None)
        return
    if isinstance(zoom, list | tuple) and len(zoom) == 2:
        low, high = zoom
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
            low, high = sorted((float(low), float(high)))
            if math.isfinite(low) and math.isfinite(high) and low < high:
                on_zoom((low, high))


# The live view's refresh, paced by the browser. Streamlit's ``st.fragment(run_every=...)`` is a timer in
# the browser that asks for a rerun every interval whether or not the last one has arrived: when a
# refresh takes the browser longer than the interval to receive and draw, the refreshes queue up in the
# WebSocket and the page falls further behind the run at every one. Measured on the 2-core test machine
# (a ring8 run with a snapshot every 5 steps, about 700 kB of figures per refresh, the browser taking
# about 450 kB/s): 8 s behind the run after 15 s, 25 s behind after 60 s, and a Stop shown 20 to 45 s
# after it had stopped the run. The pacer asks for the next refresh only when the last has arrived and
# every chart it brought is drawn, and no sooner than ``every_ms`` after the last ask: the page is never
# more than one refresh behind, at whatever rate the browser can draw.
_PACER_JS = r"""
const DRAWS = (window.__liveChartDraws = window.__liveChartDraws || new Set());
// Refreshes due while the page is hidden (a background tab, a minimised window): asked for when it is
// shown again, so a page that no one sees costs the run nothing (no rerun on the server, no draw here).
const WAITING = (window.__livePacerWaiting = window.__livePacerWaiting || new Set());
if (!window.__livePacerVisibility) {
  window.__livePacerVisibility = true;
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    const due = [...WAITING];
    WAITING.clear();
    due.forEach((ask) => ask());
  });
}

// every chart draw of this refresh done (draws still starting when the refresh's last element arrives
// are waited for too: a task later)
async function drawsDone() {
  await new Promise((resolve) => setTimeout(resolve, 0));
  while (DRAWS.size) await Promise.allSettled([...DRAWS]);
}

export default function ({ data, parentElement, setTriggerValue }) {
  const pacer = parentElement.livePacer || (parentElement.livePacer = {seq: null, timer: null, asked: 0});
  const seq = data.seq;
  // removed from the page (the run ended, another run is watched), or replaced by a newer refresh's
  // call: this refresh's chain ends (and only this one's)
  const cleanup = () => {
    if (pacer.seq !== seq) return;
    pacer.seq = null;
    clearTimeout(pacer.timer);
  };
  if (pacer.seq === seq) return cleanup;  // this refresh is already paced
  pacer.seq = seq;
  clearTimeout(pacer.timer);
  // a refresh asked for and never come (its request lost in a full rerun of the page), or a draw that
  // never ends, is asked for again: after retry_ms, then twice as long each time (a slow server)
  const ask = (retry) => {
    if (pacer.seq !== seq) return;
    if (document.hidden) {  // asked for once the page is shown again (the retry timer with it)
      WAITING.add(() => ask(retry));
      return;
    }
    pacer.asked = performance.now();
    setTriggerValue("tick", seq);
    pacer.timer = setTimeout(() => ask(Math.min(2 * retry, data.max_retry_ms)), retry);
  };
  pacer.timer = setTimeout(() => ask(data.retry_ms), data.retry_ms);
  drawsDone().then(() => {
    if (pacer.seq !== seq) return;  // a newer refresh has arrived (or the pacer is gone)
    clearTimeout(pacer.timer);
    const now = performance.now();
    // a slow refresh (a busy machine: the server's run, the transfer, the charts' drawing) waits longer
    // before the next: refreshing takes at most 1 / (1 + spacing) of the time, and leaves the rest to
    // training on a machine it shares with the run
    const took = pacer.asked > 0 ? now - pacer.asked : 0;
    const wait = Math.max(0, data.every_ms - took, Math.min(data.spacing * took, data.max_spacing_ms));
    pacer.timer = setTimeout(() => ask(data.retry_ms), wait);
  });
  return cleanup;
}
"""
_PACER = st.components.v2.component("gan_dashboard_live_refresh", js=_PACER_JS, isolate_styles=False)
# After a refresh that took t seconds from its request until its charts were drawn, the next is asked for
# no sooner than SPACING * t later, MAX_SPACING_SECONDS at most (and no sooner than the interval after the
# last ask): refreshing takes at most a third of the time, and the page is never more than t + 2 s from
# a refresh (it stays within seconds of the run). Where a refresh takes 0.3 s or less (a quiet machine,
# or the browser on another one) the interval decides: once a second. Where the browser shares 2 cores
# with the training, a digits run's refresh takes about 0.7-0.8 s (the server's rerun slowed by the training,
# then the browser's drawing): the page refreshes every 2-2.5 s there (every 1.25 s with
# SPACING = 1, which let refreshing take half the time), and the browser took 0.35 cores from
# the training's machine instead of 0.55 (`python -m benchmarks.dashboard --watched`, BENCHMARKS.md).
SPACING = 2.0
MAX_SPACING_SECONDS = 2.0
RETRY_SECONDS = 10.0  # a refresh asked for and not come by then is asked for again
MAX_RETRY_SECONDS = 80.0  # (each retry waits twice as long as the last, up to this)
_REFRESH_COUNT = "_live_refresh_seq"


def live_refresh(key: str, seconds: float) -> None:
    """Rerun the enclosing fragment again about every ``seconds`` (> 0) while this is drawn in it, paced by
    the browser: the next rerun is asked for once this one has arrived and every `live_chart` on the page
    has drawn its figure, no sooner than ``seconds`` after the last was asked for, and no sooner than
    `SPACING` times as long as the last took, from its request to its charts drawn. While the page is
    hidden (``document.hidden``: a background tab, a minimised window) nothing is asked for; the refresh
    that fell due is asked for as soon as the page is shown again. Place it last in the
    fragment, in place of ``st.fragment(run_every=...)`` (which is not paced: see the note above).

    Draws nothing visible (a 0-pixel element). ``ValueError`` for ``seconds`` not > 0."""
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    count = st.session_state.get(_REFRESH_COUNT, 0) + 1  # new data each run: the browser paces each one
    st.session_state[_REFRESH_COUNT] = count
    data = {
        "seq": count,
        "every_ms": round(seconds * 1000),
        "spacing": SPACING,
        "max_spacing_ms": round(MAX_SPACING_SECONDS * 1000),
        "retry_ms": round(RETRY_SECONDS * 1000),
        "max_retry_ms": round(MAX_RETRY_SECONDS * 1000),
    }
    _PACER(key=key, data=data, height=0, on_tick_change=_ticked)


def _ticked() -> None:
    """The browser asked for the next refresh: the fragment's rerun is the refresh, nothing to do first."""
