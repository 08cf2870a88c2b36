"""The dashboard's charts: pure functions from metric views, events and snapshots to plotly figures.

Owns how a run looks: which metrics share a chart, their colours, smoothing, reference lines (2·ln 2,
chance, D's midpoint), the hyperparameter-change and failure-flag markers drawn on every metric chart,
and the GAN Lab-style picture of a 2D run (D's output as a heatmap, real and generated points, G's
gradient arrows). Nothing here knows about Streamlit or the trainer: a page passes in
`MetricStore.view()` frames, event dicts and `Trainer.snapshot()` arrays and shows what comes back.

Legend names are the metric names themselves (``d_loss``, ``d_acc_real`` ...), the same as the CSV
columns, so a number seen on a chart can be found in metrics.csv under the same name.

A figure is plotly's plain form of one, a dict ``{"data": [trace dicts], "layout": {...}}`` (`Figure`),
with numpy arrays for the data: ``st.plotly_chart`` takes it as it is, ``plotly.io.to_json(figure,
validate=False)`` writes it as the browser gets it (the live view's path, `ui.live_chart`) and
``go.Figure(figure)`` checks it against the installed plotly's schema and wraps it (the tests do so with
every figure they read). No plotly object is built on the live view's path: building and validating a
Figure took about 30 ms for a loss chart with 30 event markers, at every refresh, while the training
thread waited for the GIL.

Cost: every builder is vectorised over the points of a view (one trace per line, numpy arrays straight
into the figure); the only Python loops are over at most `MAX_EVENT_LABELS` event markers and the
columns or runs of a chart.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import itertools
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

from gan_core.environment import FIELD_LABELS, shown_value
from gan_core.environment import differences as environment_differences
from gan_core.flags import EXPLODING_NORM, FLAGS
from gan_core.losses import LOSSES, GANLoss
from gan_core.rundir import plural
from gan_core.store import NONFINITE_NAN, NONFINITE_NEGINF, NONFINITE_POSINF, MetricStore
from gan_core.tracking.schema import (
    ENDED,
    EVAL_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_COLUMNS_BY_SPACE,
    HPARAM_COLUMNS,
    RECORD_COLUMNS,
)

MAX_SMOOTHING = 0.999
MAX_EVENT_LABELS = 30  # the latest markers; older ones would only pile up into an unreadable comb
MAX_ARROWS = 200
ARROW_FRACTION = 0.08  # the longest gradient arrow, as a fraction of the plot's width
# The shortest drawn arrow, as a fraction of the plot's width: in proportion to the longest, most arrows
# were a few pixels, a smudge over the real clusters that showed no direction.
MIN_ARROW_FRACTION = 0.02
# Where G pushes its points: orange, against the heatmap's green and purple and the points' own colours
# (dark grey arrows read as part of the clusters they sat on).
ARROW_COLOR = "#e8772e"
# A stroke and a head that read among 1,000 points and the mesh's lines at a laptop's 2D view (~450 px): at
# 1.5 and 7 px a review's arrows were "short orange strokes hidden among the points"
ARROW_LINE_PX, ARROW_HEAD_PX = 2.5, 10
ARROW_NAME = "where G pushes its points"
MESH_TOGGLE = "G's map of the noise"  # the 2D view's toggle for the mesh (`points_figure`'s ``mesh``)
MESH_COLOR = "#3d3d3d"
MARKED_EVENT_KINDS = ("hparam", "flag", "flag_cleared")

METRIC_HEIGHT = 300
POINTS_HEIGHT = 420
IMAGE_MAX_HEIGHT = 420
TEMPLATE = "plotly_white"

# GAN Lab's convention: green for real data, purple for generated; D blue and G orange elsewhere, so a
# metric keeps its colour on every chart it appears in.
REAL_COLOR = "#2a9d52"
FAKE_COLOR = "#8e44ad"
D_COLOR = "#1f6fb4"
G_COLOR = "#e8772e"
METRIC_COLORS = {
    "d_loss": D_COLOR,
    "g_loss": G_COLOR,
    "d_loss_real": REAL_COLOR,
    "d_loss_fake": FAKE_COLOR,
    "d_acc_real": REAL_COLOR,
    "d_acc_fake": FAKE_COLOR,
    "d_real": REAL_COLOR,
    "d_fake": FAKE_COLOR,
    "d_grad_norm": D_COLOR,
    "g_grad_norm": G_COLOR,
    "lr_d": D_COLOR,
    "lr_g": G_COLOR,
}
# For metrics without a colour of their own and for runs on the compare chart: Okabe & Ito's palette
# ("Color Universal Design", Okabe and Ito 2008; Wong, Nature Methods 8:441, 2011), whose colours stay
# apart under the common colour-vision deficiencies (Tableau 10's red and green, the 3rd and 5th runs,
# were one colour under deuteranopia); the five most unlike first (orange and vermillion, the 2nd and 4th
# runs, read as one in a busy Compare chart; so do blue and sky blue), yellow, faint as a line on white,
# last.
PALETTE = (
    "#0072b2",  # blue
    "#e69f00",  # orange
    "#009e73",  # bluish green
    "#cc79a7",  # reddish purple
    "#000000",  # black
    "#d55e00",  # vermillion
    "#56b4e9",  # sky blue
    "#f0e442",  # yellow
)
# A run's line on the Compare charts past the palette's eight runs: the colours again, dashed, then dotted
# and dash-dotted (the 9th run's line was the 1st's in colour and style: two runs one could not tell apart)
RUN_DASHES = ("solid", "dash", "dot", "dashdot")
RUN_STYLES = tuple((color, dash) for dash in RUN_DASHES for color in PALETTE)
# Event markers, by kind: (colour, dash, width). A raised failure flag is a solid red line, its clearing
# a lighter dashed one; the healthy flag (equilibrium) green and dash-dotted, its clearing long-dash-dotted
# (told from a failure's without their colours, which merge under deuteranopia); a setting change grey,
# dotted. A marker's label is written in a darker shade of its line's colour (`label_color`).
EVENT_STYLES = {
    "flag": ("#d62728", "solid", 1.6),
    "flag_cleared": ("#e99a9b", "dash", 1.2),
    "healthy": ("#2a9d52", "dashdot", 1.6),
    "healthy_cleared": ("#95cfa8", "longdashdot", 1.2),
    "watch": ("#1f77b4", "solid", 1.4),  # a flag worth knowing that is not a failure (d_leads)
    "watch_cleared": ("#9ec5e8", "dash", 1.1),
    "hparam": ("#6c757d", "dot", 1.0),
}
# A raised flag's line drawn in its run's colour (Compare): dotted, not solid. Solid in the colour of the
# run's own curve, d_leads at step 300 read as d_acc_fake dropping to 0 there (a newcomer's review).
RUN_MARKER_DASH = "dot"
EVENT_PRIORITY = tuple(EVENT_STYLES)  # the kind a marker shared by several events at one step takes
KEY_COLOR = "#444444"  # legend keys of marks drawn in their metric's (or run's) colour
REFERENCE_COLOR = "#555555"
REFERENCE_LINE_COLOR = "rgba(85, 85, 85, 0.5)"  # REFERENCE_COLOR, half transparent
# A label's white outline (CSS text-shadow, plotly.js's font.shadow): readable over the curves it crosses,
# which still show between its letters
TEXT_HALO = "1px 1px 1px #fff, -1px -1px 1px #fff, 1px -1px 1px #fff, -1px 1px 1px #fff"
MIN_TEXT_CONTRAST = 4.5  # WCAG 2's AA level for text of normal size, against the white plot


def contrast_ratio(color: str, background: str = "#ffffff") -> float:
    """WCAG 2's contrast ratio (1 to 21) between two "#rrggbb" colours: (L1 + 0.05) / (L2 + 0.05) of
    their relative luminances, the lighter's over the darker's."""

    def luminance(hex_color: str) -> float:
        channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(color), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@functools.cache
def label_color(color: str) -> str:
    """A label's text colour for marks drawn in ``color`` ("#rrggbb"): ``color`` itself where it reads on
    white at `MIN_TEXT_CONTRAST`, else the same hue darkened (its channels scaled down together) until it
    does. The light colours of a cleared flag's dashed line (#e99a9b: 2.2:1) stay on the line only."""
    channels = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    for percent in range(100, -1, -2):
        shade = "#" + "".join(f"{round(c * percent / 100):02x}" for c in channels)
        if contrast_ratio(shade) >= MIN_TEXT_CONTRAST:
            return shade
    return "#000000"  # (not reached: black is 21:1)


# A table's pinned column (the run column of Compare's summary) is drawn by Streamlit's grid with its text
# faded: black at (102, 102, 102) on white, measured on screenshots, so 0.6 of the text over the cell.
PINNED_TEXT_OPACITY = 0.6
THEME_BACKGROUNDS = {"light": "#ffffff", "dark": "#0e1117"}  # Streamlit's own page backgrounds


def _blend(color: str, over: str, share: float) -> str:
    """``color`` drawn at opacity ``share`` over ``over`` ("#rrggbb" each)."""
    top, bottom = ([int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in (color, over))
    return "#" + "".join(f"{round(b + (t - b) * share):02x}" for t, b in zip(top, bottom, strict=True))


@functools.cache
def run_cell_style(color: str, theme: str = "light") -> str:
    """CSS for a run's id in a table's pinned column, tying it to its lines drawn in ``color``
    ("#rrggbb"): the cell tinted with that colour, its text black (white on the dark theme), the tint
    as strong as keeps the faded text (`PINNED_TEXT_OPACITY`) at `MIN_TEXT_CONTRAST` or more, up to 30 %.
    Text in the colour itself, darkened to 4.5:1 (`label_color`), faded so read at 2.3-2.6:1 (a review's
    measurement in Compare's summary). ``theme``: "light" or "dark" (`THEME_BACKGROUNDS`)."""
    page = THEME_BACKGROUNDS.get(theme, THEME_BACKGROUNDS["light"])
    text = "#ffffff" if theme == "dark" else "#000000"
    for percent in range(30, -1, -1):
        cell = _blend(color, page, percent / 100)
        if contrast_ratio(_blend(text, cell, PINNED_TEXT_OPACITY), cell) >= MIN_TEXT_CONTRAST:
            return f"color: {text}; background-color: {cell}"
    return f"color: {text}"  # (not reached for black or white text on the page's own background)


# D's output heatmap: pale tints, so the points drawn over it stay the strongest marks on the chart.
HEATMAP_FAKE_TINT = "#dcc3e8"
HEATMAP_REAL_TINT = "#bfe5c9"
COLORBAR_PX = 200  # the heatmap's colour bar: its length above the plot (`_verdict_colorbar`)
COLORBAR_BLOCK_PX = 48  # the room it takes above the plot: its title, the bar, its tick labels, a gap
COLORBAR_GAP_PX = 4  # between its tick labels and the plot's top edge

RAW_OPACITY = 0.25
BAND_ALPHA = 0.12
# Fixed margins (autoexpand off: plotly would otherwise lay a chart out twice on a refresh whose legend
# or colour bar pushes them). What sits in a margin is therefore given its room here: the top margin is
# computed from the legend's entries (`_fit_legend`), the colour bar's from its size.
# ``l``: a y title is kept inside the margin, so the margin holds tick labels ("1e+12") and the title
# side by side (at 40 px the title was drawn over the labels).
MARGIN = {"l": 58, "r": 10, "t": 40, "b": 36, "autoexpand": False}

# The legend is a band of rows between the title and the plot. Each entry gets an equal share of the
# plot's width (entrywidthmode "fraction"), so the number of rows is the same however wide the page makes
# the chart, and each row is reserved in the top margin: no entry is cut off, whatever their number. The
# shares are sized for the narrowest plot a page gives (`MIN_PLOT_PX`, a half-width column on a 1280 px
# window); a wider chart only spaces them further apart.
MIN_PLOT_PX = 340
LEGEND_FONT_PX = 11
LEGEND_CHAR_PX = 6.3  # measured in Chromium: 5.0-6.1 px per character of these names at 11 px
LEGEND_SYMBOL_PX = 44  # the entry's symbol (a 30 px line) and the gaps around its text
LEGEND_ROW_PX = 20
# The share of the legend's width its entries take (each 1/per_row of it), the rest the legend's padding:
# plotly wraps an entry whose share, with the padding, would reach the row's end, so per_row full shares
# would make per_row - 1 a row.
LEGEND_ENTRY_SHARE = 0.94
TITLE_ROW_PX = 30
TITLE_LINE_PX = 18  # each further line of a title written on several (``<br>``), at its 14 px
MULTILINE_TITLE_RAISE_PX = 10  # how much higher plotly.js draws a title of several lines (`_base_layout`)
TITLE_CHAR_PX = 7.5  # a title's characters at 14 px, with room to spare (5.8 measured in Chromium)
# Marks pinned to the plot's edge (values a log axis cannot place, NaN and infinities), by kind: legend
# name, marker symbol, height on the pinned axis (0 = bottom edge, 1 = top edge).
EDGE_MARKS = {
    "nonpositive": ("≤ 0, off log axis", "triangle-down", 0.04),
    "neginf": ("-inf", "arrow-bar-down", 0.04),
    "huge_negative": ("< -3.4e38, off the chart", "triangle-down-open", 0.04),
    "nan": ("NaN", "x", 0.96),
    "huge": ("> 3.4e38, off the chart", "triangle-up-open", 0.96),
    "posinf": ("+inf", "arrow-bar-up", 0.96),
    # a Compare chart's values beyond the axis it fits to the others (`robust_yrange`)
    "above": ("above the axis", "arrow-up", 0.96),
    "below": ("below the axis", "arrow-down", 0.04),
}
# Single steps taken while paused, by event kind: legend name and marker symbol.
SINGLE_STEP_MARKS = {
    "step_d": ("D-only step", "diamond"),
    "step_g": ("G-only step", "square"),
    "step_full": ("single full step", "circle"),
}
# Columns left blank, not NaN, by a G-only step: it updates no D, so it has no D gradient.
BLANK_AFTER_G_STEP = ("d_grad_norm",)
NOT_ON_LOG_NOTE = "≤ 0 everywhere: not drawn on a log axis"  # a Compare chart with nothing to place
# Compare's run with nothing a log axis can place, in the legend: short, as the legend is one row of full run
# ids in the chart's width (the note in full ran past a 460 px chart's edge)
NOT_ON_LOG_LEGEND = "all ≤ 0, not drawn"
UNMEASURED_NOTE = " (not measured)"  # a line's legend name when the run never measured its column
LABEL_GAP_PX = 15  # vertical marker labels nearer than this to a newer labelled one lose their label
CAP_PX = 8  # an event marker's cap (its triangle at the plot's top edge), pixels across
CAP_STACK_PX = 9  # how far below the one before a cap is drawn where caps would cover each other
MAX_LABEL_CHARS = 36  # a marker label, cut to fit the plot's height (the hover has it whole) ...
LABEL_CHARS_AT_PX = 224  # ... of a METRIC_HEIGHT chart's plot; a shorter plot's labels are cut shorter
MAX_HOVER_CHARS = 200  # an event's label in the hover

Events = Iterable[Mapping[str, Any]] | pd.DataFrame
Figure = dict[str, Any]  # {"data": [trace dicts], "layout": {...}}: plotly's plain form of a figure
# A `MetricStore` view: its DataFrame (`MetricStore.view`), or its columns as 1-D numpy arrays of one length
# (`MetricStore.view_columns`, which the live charts read: no DataFrame to build and read at each refresh).
View = pd.DataFrame | Mapping[str, np.ndarray]


# --------------------------------------------------------------------------------------------- smoothing


def _check_smoothing(weight: float) -> float:
    # `not (a <= w <= b)` rather than `w < a or w > b`, so that NaN is refused too.
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0.0 <= weight <= MAX_SMOOTHING:
        raise ValueError(f"smoothing weight must be a number in [0, {MAX_SMOOTHING}], got {weight!r}")
    return float(weight)


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with debiasing, skipping blanks; of a 1-D
    array, or of each column of a 2-D one (n points, k series: one pandas call for all of them).

    ``s_k = weight · s_{k-1} + (1 - weight) · x_k`` over the finite values, divided by
    ``1 - weight**(k+1)`` so that the start is not dragged towards 0: the first output equals the first
    input and a constant stays constant. Non-finite inputs (NaN, ±inf) are blanks: they are returned
    as they are and the average carries on from the last finite value, so one NaN does not poison the
    rest of the curve. ``weight`` 0 returns a copy of the input; outside [0, 0.999] is a ValueError.
    """
    weight = _check_smoothing(weight)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(f"values must be 1-D or 2-D (points, series), got shape {values.shape}")
    if weight == 0.0 or values.size == 0:
        return values.copy()
    finite = np.isfinite(values)
    # pandas' adjusted EWM is exactly the debiased EMA (sum w^i x_{k-i} / sum w^i), in compiled code;
    # with ignore_na its weights count the finite values only, so blanks are skipped rather than decayed
    # over (the value it gives at a blank is not used: a blank is returned as it was).
    blanked = pd.DataFrame(np.where(finite, values, np.nan))
    smoothed = blanked.ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean().to_numpy()
    out = np.where(finite, smoothed.reshape(values.shape), values)
    return out


# --------------------------------------------------------------------------------------------- helpers


FLOAT32_MAX = float(np.finfo(np.float32).max)  # about 3.4e38: the largest value `_wire` can send


def _wire(values: np.ndarray) -> np.ndarray:
    """Values as the browser gets them: float32, half the bytes of float64 to serialise, send and parse
    every second (7 significant digits, far more than a chart can show). A finite value beyond float32's
    range (1e308 in a metrics.csv) is sent as a gap (NaN), not as the infinity a cast makes of it: the
    metric charts mark it at the plot's edge with its value (`_edge_positions`)."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and values.dtype.itemsize > 4:
        with np.errstate(invalid="ignore"):
            values = np.where(np.isfinite(values) & (np.abs(values) > FLOAT32_MAX), np.nan, values)
    return np.asarray(values, dtype=np.float32)


def _drawable(values: np.ndarray) -> np.ndarray:
    """``values`` (float64) with those beyond float32's range as NaN: what a chart can draw (`_wire`)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(values) > FLOAT32_MAX, np.nan, values) if values.size else values


def _wire_steps(step: np.ndarray) -> np.ndarray:
    """Steps as int32 when they are whole numbers that fit (always, for a run's steps), else float64
    (float32 would round steps above 2**24)."""
    step = np.asarray(step, dtype=np.float64)
    if (
        step.size
        and np.isfinite(step).all()
        and np.abs(step).max() < 2**31
        and (step == np.round(step)).all()
    ):
        return step.astype(np.int32)
    return step


def _wire_blank_steps(step: np.ndarray) -> np.ndarray:
    """Steps with blanks (NaN) between them, as float32 when every finite one is a whole number below
    2**24 (float32 holds those exactly), else float64."""
    step = np.asarray(step, dtype=np.float64)
    finite = step[np.isfinite(step)]
    if (np.abs(finite) < 2**24).all() and (finite == np.round(finite)).all():
        return step.astype(np.float32)
    return step


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _metric_color(column: str, position: int) -> str:
    return METRIC_COLORS.get(column) or PALETTE[position % len(PALETTE)]


def _figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> Figure:
    return {"data": traces, "layout": layout}


TRACE_TYPES = ("scatter", "heatmap", "image")  # every trace type drawn here


@functools.cache
def _template() -> dict[str, Any]:
    """`TEMPLATE` as a dict, plotly's own, with the per-trace defaults of the trace types drawn here only.

    A template is resolved in Python, not by plotly.js, so every figure carries it: the whole of
    plotly_white is 7 kB, mostly defaults for bars, maps and 3D scenes, sent with each chart at every
    refresh; its layout part and `TRACE_TYPES`' defaults are 3 kB and look the same. One dict shared by
    every figure: not to be changed (`go.Figure(figure)` copies it; plotly.io only reads it)."""
    template = pio.templates[TEMPLATE].to_plotly_json()
    per_trace = {name: value for name, value in template.get("data", {}).items() if name in TRACE_TYPES}
    return {"layout": template["layout"], "data": per_trace}


def inputs_digest(*parts: Any) -> str:
    """A digest of what a figure is drawn from: the same parts, the same digest. For a page that redraws
    its figures every second, so that it builds again only a figure whose inputs changed (a quality chart
    between evaluations, a snapshot already shown, the real samples).

    Parts: numpy arrays and DataFrames (by their values: hashing a 1000-point snapshot takes about 20 µs,
    far less than drawing it), mappings of them (a snapshot), event lists (their length and last event:
    a run's events are only ever appended to, and a resumed run appends a ``resume`` event), and plain
    values (by ``repr``)."""
    digest = hashlib.blake2b(digest_size=16)

    def add(part: Any) -> None:
        if isinstance(part, np.ndarray) and part.dtype.hasobject:
            digest.update(repr(part.tolist()).encode())
        elif isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.view(np.uint8).reshape(-1) if array.size else b"")
        elif isinstance(part, pd.DataFrame):
            digest.update(repr(list(part.columns)).encode())
            for column in part.columns:
                add(part[column].to_numpy())
        elif isinstance(part, Mapping):
            for key in sorted(part, key=str):
                digest.update(repr(key).encode())
                add(part[key])
        elif isinstance(part, list) and part and isinstance(part[-1], Mapping):  # events
            digest.update(f"events {len(part)}".encode())
            add(part[-1])
        else:
            digest.update(repr(part).encode())
        digest.update(b"|")

    for part in parts:
        add(part)
    return digest.hexdigest()


def _title_px(title: str) -> int:
    """The height a chart's title takes at the top of the figure: its first line's row, and
    `TITLE_LINE_PX` for each further line (``<br>``)."""
    return TITLE_ROW_PX + TITLE_LINE_PX * title.count("<br>")


def _wrap_title(title: str, width_px: float) -> str:
    """``title`` broken into lines (``<br>``) at spaces, each within ``width_px`` (at `TITLE_CHAR_PX`), so
    that a chart as narrow as that shows it whole instead of cutting it at its right edge; before its
    parenthesis when that makes two lines that fit ("Fréchet distance<br>(classifier features)")."""
    fits = max(8, int(width_px // TITLE_CHAR_PX))
    if len(title) <= fits:
        return title
    head, bracket, tail = title.partition(" (")
    if bracket and len(head) <= fits and len(tail) + 1 <= fits:
        return f"{head}<br>({tail}"
    lines: list[str] = []
    for word in title.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= fits:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _base_layout(title: str, height: int) -> dict[str, Any]:
    # A title on several lines pushes the plot down by its further lines, the plot keeping its height.
    extra = _title_px(title) - TITLE_ROW_PX
    return {
        # The template itself, not its name: plotly.py resolves names when it validates a Figure, and the
        # live view sends these dicts as they are (`Figure`).
        "template": _template(),
        "title": {
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 1.0,
            "yanchor": "top",
            # plotly.js draws a title of several lines about 10 px higher than one of one line, whatever
            # their number (measured in Chromium at 14 px): pushed down by as much, its top is where a
            # one-line title's is
            "pad": {"t": 8 + (MULTILINE_TITLE_RAISE_PX if "<br>" in title else 0)},
            "font": {"size": 14},
        },
        "height": height + extra,
        "margin": {**MARGIN, "t": MARGIN["t"] + extra},
        "showlegend": False,  # until `_fit_legend` has made room for one
        # A constant uirevision keeps the user's zoom and legend toggles when the page redraws the chart
        # every second with new data.
        "uirevision": title,
    }


def _legend_names(traces: Sequence[Mapping[str, Any]]) -> list[str]:
    """The names the legend lists: scatter and bar traces not hidden from it (plotly lists no heatmap or
    image)."""
    return [
        str(t.get("name", ""))
        for t in traces
        if t.get("type") in ("scatter", "bar") and t.get("showlegend", True) is not False
    ]


def _fit_legend(
    layout: dict[str, Any], traces: Sequence[Mapping[str, Any]], min_plot_px: float = MIN_PLOT_PX
) -> None:
    """Put the legend of ``traces`` between the title and the plot, with room for every row of it.

    The rows: each entry gets ``1 / per_row`` of the plot's width, ``per_row`` as many of the widest
    entry as fit in ``min_plot_px``, the narrowest the plot is drawn. The top margin is the title's
    lines (`_title_px`) and those rows, and the figure grows by what the legend adds, so that the plot
    keeps its height however many entries there are.
    """
    # (Not from the figure's edge, where the y axis's margin would hold a second entry on a narrow
    # chart: a legend with xref "container" makes Streamlit's plotly.js draw the y axis's title inside
    # the plot, about four fifths of the way across.)
    names = _legend_names(traces)
    if not names:
        return
    widest = max(len(html.unescape(name)) for name in names) * LEGEND_CHAR_PX + LEGEND_SYMBOL_PX
    per_row = max(1, min(len(names), int(min_plot_px // widest)))
    rows = -(-len(names) // per_row)
    top = _title_px(str(layout.get("title", {}).get("text", ""))) + rows * LEGEND_ROW_PX
    layout["showlegend"] = True
    layout["legend"] = {
        "orientation": "h",
        "x": 0.0,
        "xanchor": "left",
        "y": 1.0,
        "yanchor": "bottom",
        "entrywidth": LEGEND_ENTRY_SHARE / per_row,  # (under 1/per_row: the legend's padding)
        "entrywidthmode": "fraction",
        "font": {"size": LEGEND_FONT_PX},
        "tracegroupgap": 0,
    }
    layout["height"] += top - layout["margin"]["t"]
    layout["margin"]["t"] = top


def _message_figure(title: str, message: str, height: int, y_title: str | None = None) -> Figure:
    """A chart-sized placeholder, so the page keeps its layout before the first row arrives: its title and
    message, axes without ticks or titles (a lone "step" under a message read as a stray label), and no
    zoom (a drag over it, plotly's -1..6 of no data, zoomed every step chart zoomed with it)."""
    layout = _base_layout(title, height)
    layout["xaxis"] = {
        "title": {"text": ""},
        "showticklabels": False,
        "showgrid": False,
        "zeroline": False,
        "fixedrange": True,
    }
    layout["yaxis"] = {
        "title": {"text": y_title or ""},
        "showticklabels": False,
        "showgrid": False,
        "zeroline": False,
        "fixedrange": True,
    }
    layout["annotations"] = [
        {
            "text": message,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "showarrow": False,
            "font": {"size": 14, "color": "#888888"},
        }
    ]
    # One empty trace: st.plotly_chart refuses a figure without any (plotly's PlotlyEmptyDataError).
    blank = {"type": "scatter", "x": [], "y": [], "showlegend": False, "hoverinfo": "skip"}
    return _figure([blank], layout)


def _is_empty(view: View | None) -> bool:
    if view is None:
        return True
    if isinstance(view, pd.DataFrame):
        return len(view) == 0
    step = view.get("step")
    return step is None or len(step) == 0


def _names(view: View) -> list[str]:
    return list(view.columns) if isinstance(view, pd.DataFrame) else list(view)


def _table(view: View, columns: Iterable[str] | None = None) -> Mapping[str, np.ndarray]:
    """A view's ``columns`` (default: all; names it lacks left out) as numpy arrays:
    `MetricStore.view_columns`' as they are, a DataFrame's each read once."""
    if columns is None:
        columns = _names(view)
    if isinstance(view, pd.DataFrame):
        return {c: view[c].to_numpy() for c in dict.fromkeys(columns) if c in view.columns}
    return {c: view[c] for c in columns if c in view}


def _records(events: Events) -> list[Mapping[str, Any]]:
    """Event dicts, from a list of them or the DataFrame `RunDir.read_events()` returns."""
    if isinstance(events, pd.DataFrame):
        return events.to_dict("records")
    return list(events)


def _event_step(event: Mapping[str, Any]) -> float | None:
    try:
        step = float(event.get("step"))
    except (TypeError, ValueError):
        return None
    return step if math.isfinite(step) else None


def _flag_marker_kind(kind: str, fields: Mapping[str, Any]) -> str:
    """`EVENT_STYLES`' key for an event: a flag drawn by its severity (a healthy flag, equilibrium, in
    green; a flag to watch, d_leads, in blue; a failure, or a flag this version does not know, in red)."""
    if kind == "hparam":
        return "hparam"
    info = FLAGS.get(str(fields.get("flag", "")))
    style = {"healthy": "healthy", "watch": "watch"}.get(info.severity if info is not None else "", "flag")
    return style + ("_cleared" if kind == "flag_cleared" else "")


def _short_label(kind: str, fields: Mapping[str, Any]) -> str:
    """An event's marker label from its fields: ``hparam`` {field: lr_g, new: 0.001} -> 'lr_g 0.001';
    ``flag`` {flag: mode_collapse} -> 'mode_collapse'; ``flag_cleared`` -> 'mode_collapse cleared'. An
    ``hparam`` event written by hand without those fields says what it has: {field: lr_g} -> 'lr_g
    changed', {new: 0.001} -> 'hparam 0.001', {} -> 'hparam'; a value as JSON writes it (null, true)."""
    if kind == "hparam":
        field = fields.get("field")
        name = field if isinstance(field, str) and field else None
        if "new" in fields:
            label = f"{name or 'hparam'} {_value_words(fields['new'])}"
        else:
            label = f"{name} changed" if name else "hparam"
    else:
        label = str(fields.get("flag", kind)) + (" cleared" if kind == "flag_cleared" else "")
    # whole in the hover (the marker's own text is cut to fit the plot, `_cut_label`), within reason: a
    # hand-edited events.csv may hold any length
    label = label if len(label) <= MAX_HOVER_CHARS else label[: MAX_HOVER_CHARS - 1] + "…"
    # Plotly renders a subset of HTML in text (links, <b>, <br>); a label comes from events.csv, a file
    # anyone may have written: escaped, it shows as written (plotly turns the entities back into text).
    return html.escape(label)


def _value_words(value: Any) -> str:
    """A setting's value from events.csv as a marker shows it: a float to 3 significant digits, null,
    true and false as JSON writes them, anything else as its text."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def event_markers(events: Events) -> list[tuple[float, str, str]]:
    """The markers a metric chart draws: ``(step, label, kind)`` for the latest `MAX_EVENT_LABELS` steps
    with an ``hparam``, ``flag`` or ``flag_cleared`` event, oldest first; ``kind`` is an `EVENT_STYLES`
    key (a flag raised, a flag cleared, the healthy flag raised or cleared, a setting changed).

    Events at the same step share one marker (labels joined by ", "; the kind first in
    `EVENT_PRIORITY` wins the style), so that changing lr_g and lr_d together draws one line, not two on
    top of each other. ``events`` is a list of event dicts or the DataFrame `RunDir.read_events()`
    returns.
    """
    by_step: dict[float, tuple[list[str], list[str]]] = {}
    for event in _records(events):
        kind = event.get("kind")
        step = _event_step(event)
        if kind not in MARKED_EVENT_KINDS or step is None:
            continue
        fields = event.get("fields")
        fields = fields if isinstance(fields, Mapping) else {}
        labels, kinds = by_step.setdefault(step, ([], []))
        labels.append(_short_label(kind, fields))
        kinds.append(_flag_marker_kind(kind, fields))
    latest = sorted(by_step)[-MAX_EVENT_LABELS:]
    return [
        (step, ", ".join(dict.fromkeys(by_step[step][0])), min(by_step[step][1], key=EVENT_PRIORITY.index))
        for step in latest
    ]


def _label_chars(plot: int) -> int:
    """How many characters of a vertical marker label fit a metric chart's plot ``plot`` pixels tall."""
    return max(8, min(MAX_LABEL_CHARS, int(MAX_LABEL_CHARS * plot / LABEL_CHARS_AT_PX)))


def _cut_label(label: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """An escaped label cut to ``max_chars`` characters as shown (never inside an entity)."""
    text = html.unescape(label)
    return label if len(text) <= max_chars else html.escape(text[: max_chars - 1] + "…")


def _marker_depth(label: str, plot_px: float) -> float:
    """How far (px) a vertical event marker's ``label`` reaches down from the top of a plot ``plot_px``
    tall, cut as `_event_layers` cuts it there (`_label_chars`): a reference label lower down is clear."""
    shown = html.unescape(_cut_label(label, _label_chars(int(plot_px))))
    return len(shown) * LABEL_CHARS_AT_PX / MAX_LABEL_CHARS + CAP_PX / 2


def _event_layers(
    markers: Sequence[tuple[float, str, str, str, str]],
    x_span: float,
    max_chars: int = MAX_LABEL_CHARS,
    min_plot_px: float = MIN_PLOT_PX,
    plot_height_px: float = METRIC_HEIGHT,
    x_start: float | None = None,
    groups: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Shapes, annotations and one hover trace for vertical event markers (``groups``, one per marker:
    each its run's, Compare's; the shape and label named after it, and a hover trace per group in its
    legend group, so that a run hidden from the legend hides its flags too: `ui.live_chart`).

    ``markers`` are ``(step, label, kind, colour, hover)``, oldest first: a line across the whole plot
    height (yref paper) in the kind's dash and width and the given colour (with ``groups``, a run's
    colour, a solid dash drawn dotted: `RUN_MARKER_DASH`); the label written down from
    the plot's top edge, inside the plot (cut to ``max_chars``, what the plot's height holds), so that
    it is never cut off by the edge of the figure; a small
    cap at the top edge (filled for a raised flag, open for a cleared one) that carries the hover text.

    Labels never print over each other: going from the newest marker back, a label nearer than
    `LABEL_GAP_PX` (on the narrowest plot, ``min_plot_px``, showing ``x_span`` steps) to the last one
    written is left out; its line stays, and its cap's hover still says what it marks. A label is written
    to the left of its line, unless a line whose label was left out is that near on its left (a flag
    raised, then cleared a few steps later) and nothing is within twice that on its right: then to the
    right, so that it does not print across that line. A line nearer than that to the axis' start
    (``x_start``, where the plot's left edge is) has its label on its right too, as its left is the y
    axis' tick labels; or none, if a labelled line is within twice that on its right.

    Caps never cover each other either: a cap nearer than `CAP_PX` to an earlier one (two runs' flags at
    one step on the Compare page) is drawn `CAP_STACK_PX` below it on a plot ``plot_height_px`` tall, so
    that each shows its colour; the hover of each cap names every marker at its step.
    """
    gap = x_span * LABEL_GAP_PX / min_plot_px if x_span > 0 else 0.0
    near = x_span * CAP_PX / min_plot_px if x_span > 0 else 0.0
    levels: list[int] = []
    for i, (step, *_) in enumerate(markers):  # the first level no earlier cap this near takes
        taken = {levels[j] for j in range(i) if abs(markers[j][0] - step) <= near}
        levels.append(next(level for level in itertools.count() if level not in taken))
    drop = CAP_STACK_PX / max(plot_height_px, 1.0)
    labelled: set[int] = set()
    last = math.inf
    for i in range(len(markers) - 1, -1, -1):
        if last - markers[i][0] >= gap or not labelled:
            labelled.add(i)
            last = markers[i][0]
    steps = [marker[0] for marker in markers]
    right_side = {
        i
        for i in labelled
        if any(0 < steps[i] - other < gap for other in steps)
        and not any(0 < other - steps[i] < 2 * gap for other in steps)
    }
    if x_start is not None:  # a label left of a line at the axis' start would print over the y ticks
        for i in sorted(labelled):
            if steps[i] - x_start >= gap:
                break
            if any(0 < steps[j] - steps[i] < 2 * gap for j in labelled):
                labelled.discard(i)
                right_side.discard(i)
            else:
                right_side.add(i)
    shapes, annotations = [], []
    for i, (step, label, kind, color, hover) in enumerate(markers):
        _, dash, width = EVENT_STYLES[kind]
        if groups is not None and dash == "solid":  # (in its run's colour: `RUN_MARKER_DASH`)
            dash = RUN_MARKER_DASH
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": step,
                "x1": step,
                "y0": 0.0,
                "y1": 1.0,
                "layer": "below",
                "line": {"color": color, "width": width, "dash": dash},
                **({"name": groups[i]} if groups is not None else {}),
            }
        )
        if i in labelled:
            annotations.append(
                {
                    "text": _cut_label(label, max_chars),
                    "hovertext": hover,
                    "xref": "x",
                    "yref": "paper",
                    "x": step,
                    "y": 1.0,
                    # clear of the caps, centred on the line; on its left unless a line is there
                    "xanchor": "left" if i in right_side else "right",
                    "xshift": CAP_PX / 2 if i in right_side else -CAP_PX / 2,
                    "yanchor": "top",
                    "textangle": -90,
                    "showarrow": False,
                    # a white halo round each letter (CSS text-shadow) rather than a box behind the label:
                    # a box blanked the curves under it, gaps that read as missing rows
                    "font": {"size": 10, "color": label_color(color), "shadow": TEXT_HALO},
                    **({"name": groups[i]} if groups is not None else {}),
                }
            )
    traces = []
    if markers:
        steps, _, kinds, colors, hovers = zip(*markers)
        # a unified hover shows one point of a trace: each cap's names every marker at its step (of its
        # run, each run's caps a trace of their own: a run hidden takes its flags' hovers with it)
        owners = groups if groups is not None else [None] * len(markers)
        at_step: dict[tuple[str | None, float], list[str]] = {}
        for owner, step, hover in zip(owners, steps, hovers):
            at_step.setdefault((owner, step), []).append(hover)
        hovers = ["<br>".join(at_step[owner, step]) for owner, step in zip(owners, steps)]
        heights = np.maximum(1.0 - drop * np.asarray(levels, dtype=np.float64), 0.0)
        parts = [(None, list(range(len(markers))))]
        if groups is not None:
            parts = [(g, [i for i, each in enumerate(groups) if each == g]) for g in dict.fromkeys(groups)]
        for group, chosen in parts:
            trace = {
                "type": "scatter",
                "x": np.asarray([steps[i] for i in chosen], dtype=np.float64),
                "y": heights[chosen],
                "yaxis": "y2",
                "mode": "markers",
                "name": "events",
                "showlegend": False,
                "cliponaxis": False,
                "marker": {
                    "symbol": [
                        "triangle-down-open" if kinds[i].endswith("_cleared") else "triangle-down"
                        for i in chosen
                    ],
                    "size": 8,
                    "color": [colors[i] for i in chosen],
                },
                "text": [hovers[i] for i in chosen],
                "hovertemplate": "%{text}<extra></extra>",
            }
            if group is not None:
                trace["legendgroup"] = group
            traces.append(trace)
    return shapes, annotations, traces


def _edge_axis() -> dict[str, Any]:
    """A hidden y axis over the plot from 0 (bottom edge) to 1 (top edge), for marks pinned to an edge
    whatever the main axis' range, type or zoom."""
    return {"overlaying": "y", "range": [0.0, 1.0], "visible": False, "fixedrange": True}


def _edge_positions(
    step: np.ndarray,
    mean: np.ndarray,
    low: np.ndarray | None,
    high: np.ndarray | None,
    bits: np.ndarray | None,
    *,
    log_y: bool,
    nan_is_blank: bool,
) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Where a column has values a chart cannot place, by `EDGE_MARKS` kind: the points' indices and a
    hover text for each. On a log axis, a point whose smallest value is 0 or less ("0", or "≤ 0" with it);
    on any axis, a point among whose rows was a NaN, +inf or -inf (``bits``, from
    `MetricStore.view(nonfinite=True)`; NaN skipped when ``nan_is_blank``: a column measured only now and
    then)."""
    found: dict[str, tuple[np.ndarray, list[str]]] = {}
    # finite values beyond float32's range, which `_wire` cannot send: at the edge they went, with their
    # value (a point's mean and its band's ends are each checked)
    parts = [np.asarray(v, dtype=np.float64) for v in (mean, low, high) if v is not None]
    with np.errstate(invalid="ignore"):
        highest, lowest = np.fmax.reduce(parts), np.fmin.reduce(parts)
        for kind, value, beyond in (
            ("huge", highest, highest > FLOAT32_MAX),
            ("huge_negative", lowest, lowest < -FLOAT32_MAX),
        ):
            at = np.flatnonzero(np.isfinite(value) & beyond)
            if at.size:
                found[kind] = (at, [f"{value[i]:.3g}" for i in at])
    if log_y:
        smallest = mean if low is None else np.fmin(low, mean)
        with np.errstate(invalid="ignore"):
            at = np.flatnonzero(np.isfinite(smallest) & (smallest <= 0))
        if at.size:
            top = mean if high is None else np.fmax(high, mean)
            texts = [
                "0" if smallest[i] == 0 and top[i] == 0 else f"≤ 0 (lowest {smallest[i]:.3g})" for i in at
            ]
            found["nonpositive"] = (at, texts)
    if bits is not None:
        bits = np.nan_to_num(np.asarray(bits, dtype=np.float64), nan=0.0).astype(np.int64)
        for kind, bit, text in (
            ("nan", NONFINITE_NAN, "NaN"),
            ("posinf", NONFINITE_POSINF, "+inf"),
            ("neginf", NONFINITE_NEGINF, "-inf"),
        ):
            if kind == "nan" and nan_is_blank:
                continue
            at = np.flatnonzero(bits & bit)
            if at.size:
                found[kind] = (at, [text] * at.size)
    return found


def _edge_traces(
    marks: Mapping[str, list[tuple[np.ndarray, str, list[str]]]],
    runs: Mapping[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """One trace per `EDGE_MARKS` kind found, pinned to its edge: ``marks[kind]`` is a list of
    ``(steps, colour, hover texts)``, one per line (a metric, or a run), each point in its line's colour;
    and a grey legend key per kind, which also shows and hides them.

    ``runs`` (Compare's: kind -> the run of each of ``marks[kind]``'s parts, in order): one trace per kind
    and run instead, its run in ``meta.run``, so that a run hidden from a linked legend takes its marks
    with it (`ui.live_chart`'s ``legend_group``); the kind's key (``meta.marks_key``) still shows and
    hides every run's."""
    traces = []
    for kind, parts in marks.items():
        owners = list((runs or {}).get(kind, [None] * len(parts)))
        kept = [(p, owner) for p, owner in zip(parts, owners) if len(p[0])]
        if not kept:
            continue
        name, symbol, height = EDGE_MARKS[kind]
        common = {"type": "scatter", "yaxis": "y2", "mode": "markers", "legendgroup": f"edge_{kind}"}
        key = _legend_key(common, name, symbol)
        if runs is not None:
            key["meta"] = {"marks_key": True}
        traces.append(key)
        # (one trace of every part, or, by run, one of each run's parts in their order)
        batches: dict[str | None, list[tuple[np.ndarray, str, list[str]]]] = {}
        for part, owner in kept:
            batches.setdefault(owner if runs is not None else None, []).append(part)
        for owner, batch in batches.items():
            x = np.concatenate([p[0] for p in batch])
            colors = [color for steps, color, _ in batch for _ in range(len(steps))]
            texts = [text for _, _, part_texts in batch for text in part_texts]
            trace = {
                **common,
                "x": _wire_steps(x),
                "y": np.full(len(x), height, dtype=np.float32),
                "name": name,
                "showlegend": False,
                "cliponaxis": False,
                "marker": {"symbol": symbol, "size": 9, "color": colors, "line": {"width": 0}},
                "text": texts,
                "hovertemplate": "%{text}<extra></extra>",
            }
            if owner is not None:
                trace["meta"] = {"run": owner}
            traces.append(trace)
    return traces


@dataclass(frozen=True)
class _Divergence:
    """Where a run diverged (`_divergence`): the step of its first ``diverged`` flag (+inf: never) and the
    columns that step did not measure (None: an event from before it said so)."""

    step: float = math.inf
    unmeasured: frozenset[str] | None = None


def _divergence(records: Sequence[Mapping[str, Any]]) -> _Divergence:
    """The run's first ``diverged`` flag (`gan_core.flags`), from its events."""
    found = [
        (at, fields)
        for event in records
        if event.get("kind") == "flag"
        and isinstance(fields := event.get("fields"), Mapping)
        and fields.get("flag") == "diverged"
        and (at := _event_step(event)) is not None
    ]
    if not found:
        return _Divergence()
    at, fields = min(found, key=lambda found: found[0])
    unmeasured = fields.get("unmeasured")
    names = frozenset(map(str, unmeasured)) if isinstance(unmeasured, list) else None
    return _Divergence(at, names)


def _failure_bits(
    step: np.ndarray,
    bits: Any,
    diverged: _Divergence,
    column: str,
    *,
    rows: np.ndarray | None = None,
    g_steps: np.ndarray | None = None,
) -> np.ndarray:
    """``column``'s non-finite bits (`MetricStore.view(nonfinite=True)`) as uint8, with the NaN bit kept
    only where a NaN is a failure: on points from the run's divergence on (``diverged``, `_divergence`),
    not on the divergence's own step where that step did not measure ``column``, and not on a point that
    holds a G-only step (``g_steps``, for the columns such a step leaves blank: `BLANK_AFTER_G_STEP`).

    metrics.csv writes a NaN and a value a step did not measure alike, as a blank cell (a tracked loop
    that skipped D's update on a step, or passed no parameters for a gradient norm; a G-only step).
    The flags tell them apart: a NaN or infinity in a loss or a gradient norm raises ``diverged`` at
    its step (`gan_core.flags`), whose event names the columns that step did not measure; so a blank
    before the first ``diverged`` was not measured, nor one at it in a column it names. A run stops
    recording at its divergence, so that is its last row. An infinity is always one (nothing writes an
    unmeasured value as one)."""
    bits = np.nan_to_num(np.asarray(bits, dtype=np.float64), nan=0.0).astype(np.uint8)
    step = np.asarray(step, dtype=np.float64)
    blank = step < diverged.step
    if diverged.unmeasured is not None and column in diverged.unmeasured:
        blank |= step == diverged.step
    bits[blank] &= ~np.uint8(NONFINITE_NAN)
    if g_steps is not None and g_steps.size:
        covered = _covering_points(step, rows, g_steps)
        bits[covered[covered >= 0]] &= ~np.uint8(NONFINITE_NAN)
    return bits


def _say_unmeasured(line: dict[str, Any]) -> None:
    """``line`` (the trace that carries a legend entry) of a column no step measured: named so in the
    legend, "<name> (not measured)", as a key of one blank point (plotly.js lists no trace without points),
    in its legend group."""
    line.update(name=line["name"] + UNMEASURED_NOTE, x=[None], y=[None])
    line.pop("customdata", None)


def _kept(kept: np.ndarray | None, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``arrays`` at the positions ``kept`` marks (all of them when it is None)."""
    return arrays if kept is None else tuple(np.asarray(a)[kept] for a in arrays)


def _covering_points(step: np.ndarray, rows: np.ndarray | None, at: np.ndarray) -> np.ndarray:
    """For each step in ``at``, the index of the view point whose rows hold it, or -1 where none does.

    A point summarises ``rows`` consecutive steps up to its own (`MetricStore.view_columns`: the steps
    ``step - rows + 1`` to ``step``; one step each when the view has no ``rows``, as `MetricStore.exact_view`
    and a table of raw rows). A step that no point's rows hold (one between two evaluations, in a view of the
    evaluated rows only) has none: the next point is another step's row, not this one's."""
    at = np.asarray(at, dtype=np.float64)
    if not len(step):
        return np.full(at.shape, -1, dtype=np.int64)
    index = np.searchsorted(step, at, side="left")
    inside = index < len(step)
    index = np.where(inside, index, 0)
    held = 1.0 if rows is None else np.asarray(rows, dtype=np.float64)[index]
    return np.where(inside & (at > step[index] - held), index, -1)


def _single_step_traces(
    view: Mapping[str, np.ndarray], columns: Sequence[str], records: Sequence[Mapping[str, Any]], log_y: bool
) -> list[dict[str, Any]]:
    """Marks for the single steps taken while paused (`SINGLE_STEP_MARKS`), on each of ``columns`` they
    have a value for, in the column's colour, with a grey legend key per kind.

    A D-only step (``step_d``) has no metrics row, since it advances no generator step: its values are
    the event's fields, drawn just after the step it followed (several after one step spread between it
    and the next). A G-only or full single step is a row, marked at its step with what the view holds of
    that row (`_covering_points`):

    - the view's point is that row alone (one row a point: a short run, the quality charts' evaluated
      rows): its own value, a filled mark, the hover "G-only step 2045: d_loss 0.6931";
    - the point averages several rows (a long run's downsampled view): that mean, an open mark, the hover
      naming the steps averaged ("..., mean of steps 2041–2050"): two single steps in one point show the
      same value, and the chart says why;
    - no point holds the row (a quality chart between two evaluations: the step was not evaluated): no
      mark on that chart. The next point is another step's row, whose value this step never had."""
    step = np.asarray(view["step"], dtype=np.float64)
    rows = view.get("rows")
    by_kind: dict[str, list[tuple[float, float, str, str, bool]]] = {}
    d_steps: dict[float, list[Mapping[str, Any]]] = {}
    for event in records:
        kind, at = event.get("kind"), _event_step(event)
        if kind not in SINGLE_STEP_MARKS or at is None:
            continue
        if kind == "step_d":
            fields = event.get("fields")
            d_steps.setdefault(at, []).append(fields if isinstance(fields, Mapping) else {})
            continue
        (point,) = _covering_points(step, rows, np.array([at]))
        if point < 0:
            continue
        held = int(rows[point]) if rows is not None else 1
        own = held <= 1
        note = "" if own else f", mean of steps {int(step[point]) - held + 1}–{int(step[point])}"
        for position, c in enumerate(columns):
            value = float(view[c][point])
            if math.isfinite(value) and (value > 0 or not log_y):
                label = f"{SINGLE_STEP_MARKS[kind][0]} {int(at)}: {c} {value:.4g}{note}"
                by_kind.setdefault(kind, []).append((at, value, _metric_color(c, position), label, own))
    for at, group in d_steps.items():
        for k, fields in enumerate(group):
            x = at + (k + 1) / (len(group) + 1)
            for position, c in enumerate(columns):
                value = fields.get(c)
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if number and math.isfinite(value) and (value > 0 or not log_y):
                    label = f"D-only step after step {int(at)}: {c} {value:.4g}"
                    by_kind.setdefault("step_d", []).append(
                        (x, float(value), _metric_color(c, position), label, True)
                    )
    traces = []
    for kind in SINGLE_STEP_MARKS:
        points = by_kind.get(kind)
        if not points:
            continue
        name, symbol = SINGLE_STEP_MARKS[kind]
        x, y, colors, texts, own = zip(*points)
        common = {"type": "scatter", "mode": "markers", "legendgroup": kind}
        traces.append(_legend_key(common, name, symbol))
        traces.append(
            {
                **common,
                "x": np.asarray(x, dtype=np.float64),
                "y": _wire(np.asarray(y)),
                "name": name,
                "showlegend": False,
                "marker": {
                    # open: the mean of the chart's point the step falls in, not the step's own value
                    "symbol": symbol if all(own) else [symbol if o else f"{symbol}-open" for o in own],
                    "size": 10,
                    "color": list(colors),
                    # (an open mark is drawn in its colour, at the outline's width)
                    "line": {"color": "#222222", "width": 1 if all(own) else [1 if o else 2 for o in own]},
                },
                "text": list(texts),
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    return traces


def _legend_key(common: dict[str, Any], name: str, symbol: str) -> dict[str, Any]:
    """A legend entry alone (no points): the key of marks drawn in their metric's or run's colour."""
    return {
        **common,
        "x": [None],
        "y": [None],
        "name": name,
        "marker": {"symbol": symbol, "size": 9, "color": KEY_COLOR},
        "hoverinfo": "skip",
    }


# A reference line's label sits above it, or below it when the line is in this top share of the axis'
# span (the line at a chart's top, as D's loss at equilibrium often is: above it, the label would fall
# outside the plot, under the panel's legend).
LABEL_BELOW_TOP_SHARE = 0.2
REFERENCE_CHAR_PX = 5.5  # a reference line's label at 9 px: `LEGEND_CHAR_PX` scaled (4.4-5.0 measured)
MARKER_LABEL_PX = 16  # a vertical event label's width at 10 px, with its padding, left of its line
REFERENCE_LABEL_PX = 13  # a reference line's label at 9 px, with its gap to the line, in height
REFERENCE_PAD_PX = 3  # a reference line's label's gap to its line (plotly's default)
# ... where a curve crosses the label's place: clear of a quality chart's point markers (6 px) on the line
REFERENCE_CROSSED_PAD_PX = 7


def _segments(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """The drawn segments of ``curves`` (each ``(x, y)``, NaN for a gap: a segment with a NaN end is not
    drawn; a lone point is a segment of no length) as four arrays: x low, x high, y low, y high."""
    parts = []
    for x, y in curves:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.size < 2:
            parts.append((x, x, y, y))
        else:
            parts.append(
                (
                    np.minimum(x[:-1], x[1:]),
                    np.maximum(x[:-1], x[1:]),
                    np.minimum(y[:-1], y[1:]),
                    np.maximum(y[:-1], y[1:]),
                )
            )
    if not parts:
        return (np.zeros(0),) * 4
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def _label_crossings(
    segments: tuple[np.ndarray, ...], x_box: tuple[float, float], y_box: tuple[float, float]
) -> int:
    """How many of the ``segments`` (`_segments`) pass through the box ``x_box`` by ``y_box`` (in their
    units): what a label there would be printed over."""
    x_low, x_high, y_low, y_high = segments
    with np.errstate(invalid="ignore"):
        hit = (x_high >= x_box[0]) & (x_low <= x_box[1]) & (y_high >= y_box[0]) & (y_low <= y_box[1])
    return int(np.count_nonzero(hit))


def _hline_shapes(
    hlines: Iterable[tuple[float, str]],
    log_y: bool,
    span: tuple[float, float] | None = None,
    *,
    avoid: Iterable[float] = (),
    plot_px: float = MIN_PLOT_PX,
    curves: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    plot_height_px: float = METRIC_HEIGHT - MARGIN["t"] - MARGIN["b"],
    avoid_depths: Sequence[float] = (),
) -> list[dict[str, Any]]:
    """Dashed reference lines ``(y, label)`` across the plot, labelled at their left end by default.
    ``span``: the extent of the chart's data and reference lines in data units (plotly pads its axis a
    little beyond it), which puts a label in the top `LABEL_BELOW_TOP_SHARE` of it below its line;
    without one every label is above its line. With one, a label goes where it prints over no other
    label; where no place is clear of them (two lines closer than a label's height on a narrow plot), it
    is written under the label it would cover, with its value (``classifier, held out (0.994)``).

    ``avoid``: where event markers cross the plot, as fractions of its width (0 its left edge, 1 its
    right), each a line with its label written down its left side (`_event_layers`), from the plot's
    top to ``avoid_depths`` px below it (`_marker_depth`; without them, the whole height). A label that
    one would print over, on a plot ``plot_px`` wide (the narrowest it is drawn), goes to the line's
    right end, or its middle, whichever is clear (it stays at the left when none is; the browser then
    hides the markers' labels it is written over: `ui.live_chart`).

    ``curves``: the lines the chart draws, ``(x, y)`` with x in fractions of the plot's width and y in
    data units (NaN for a gap), on a plot ``plot_height_px`` tall. With a ``span``, a label goes where
    the fewest of them cross its box (`_label_crossings`): of the clear ends and sides of its line (the
    other side only where the line is not at the top or bottom of the span), the first in the order
    left, right, middle, its usual side before the other, among those crossed least. A reference line
    sits where the curves converge (chance, equilibrium), so the left end, where a run starts far from
    it, is often clear; where a run's curves cross it all along, no place is."""
    avoid = [float(a) for a in avoid]
    depths = [float(d) for d in avoid_depths] if len(avoid_depths) == len(avoid) else [math.inf] * len(avoid)
    # Each marker's line and its label, in pixels of the plot: the label's box ends at the line and
    # reaches down from the plot's top
    marker_spans = [(a * plot_px - MARKER_LABEL_PX, a * plot_px + 2.0, d) for a, d in zip(avoid, depths)]

    def box(end: str, label: str) -> tuple[float, float]:
        width = len(html.unescape(label)) * REFERENCE_CHAR_PX + 6.0
        start = {"start": 0.0, "middle": (plot_px - width) / 2, "end": plot_px - width}[end]
        return start, start + width

    def clear(end: str, label: str, top_px: float = 0.0) -> bool:
        """Whether a label at ``end``, its top ``top_px`` below the plot's, is clear of every marker's."""
        start, stop = box(end, label)
        return not any(low < stop and start < high and top_px < depth for low, high, depth in marker_spans)

    # (a log axis has no place for a line at 0 or below)
    hlines = [(float(y), label) for y, label in hlines if not log_y or y > 0]

    def position(y: float) -> float:
        return math.log10(y) if log_y else y

    known_span = span is not None and all(math.isfinite(v) and (v > 0 or not log_y) for v in span)
    segments = None  # the curves' segments, in the axis' units (decades on a log axis)
    if known_span and curves:
        if log_y:
            curves = [(x, np.log10(_positive(np.asarray(y, dtype=np.float64)))) for x, y in curves]
        segments = _segments(curves)

    # labels written: x0, x1 (px), y0, y1 (axis units), the index of their shape
    placed: list[tuple[float, float, float, float, int]] = []

    def over(e: str, label: str, y_box: tuple[float, float]) -> int | None:
        """The shape whose label ``label`` at end ``e`` over ``y_box`` would print over (two lines closer
        than a label's height: label_fidelity's 1.0 and a classifier's 0.994), or None."""
        start, stop = box(e, label)
        return next(
            (
                i
                for x0, x1, y0, y1, i in placed
                if x0 < stop and start < x1 and y0 < y_box[1] and y_box[0] < y1
            ),
            None,
        )

    shapes = []
    for y, label in hlines:
        joined = None  # the shape whose label says this line's too, where no place of its own is clear
        below = False
        crossed = False  # a curve passes through the label's place (along its line, at a ceiling)
        end = next((e for e in ("start", "end", "middle") if clear(e, label)), "start")
        if known_span:
            low, high = (position(v) for v in span)
            below = high > low and position(y) > high - LABEL_BELOW_TOP_SHARE * (high - low)
            if high > low:
                at = position(y)
                label_h = REFERENCE_LABEL_PX * (high - low) / plot_height_px
                sides = [below]
                if (
                    low + LABEL_BELOW_TOP_SHARE * (high - low)
                    < at
                    < high - LABEL_BELOW_TOP_SHARE * (high - low)
                ):
                    sides.append(not below)
                # (blocked by a marker, over another label, curves crossed, order, end, below)
                places = []
                for side in sides:
                    y_box = (at - label_h, at) if side else (at, at + label_h)
                    # its top in px below the plot's (plotly's padding of the axis left out: a little high)
                    top_px = (high - y_box[1]) / (high - low) * plot_height_px
                    for e in ("start", "end", "middle"):
                        start, stop = box(e, label)
                        crossings = (
                            _label_crossings(segments, (start / plot_px, stop / plot_px), y_box)
                            if segments is not None
                            else 0
                        )
                        blocked = not clear(e, label, top_px)
                        places.append(
                            (blocked, over(e, label, y_box) is not None, crossings, len(places), e, side)
                        )
                end, below = min(places)[4:]  # the first of the least crossed
                crossed = min(places)[2] > 0
                y_box = (at - label_h, at) if below else (at, at + label_h)
                joined = over(end, label, y_box) if min(places)[1] else None
                if joined is None:
                    placed.append((*box(end, label), *y_box, len(shapes)))
        if joined is not None:  # a line of its own under the other's label, which grows away from the lines
            other = shapes[joined]["label"]
            lines = [other["text"], f"{label} ({y:.3g})"]
            other["text"] = "<br>".join(lines[::-1] if other["yanchor"] == "bottom" else lines)
            label = ""
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",  # data units, on a log axis too (shapes, unlike annotations, are converted)
                "x0": 0.0,
                "x1": 1.0,
                "y0": float(y),
                "y1": float(y),
                # above the curves, its label haloed: below them, a curve along the line struck its label
                # through ("chance (D cannot tell)" unreadable under d_acc_real at equilibrium); the dashes
                # half transparent, so that a curve that has converged onto the line still shows under it
                "layer": "above",
                "line": {"color": REFERENCE_LINE_COLOR, "width": 1, "dash": "dash"},
                "label": {
                    "text": label,
                    "textposition": end,
                    "yanchor": "top" if below else "bottom",
                    # off the line by a marker's radius more where a curve runs along it (mode_kl at
                    # ln K all run long, every sample in one mode): its markers no longer cut the text
                    "padding": REFERENCE_CROSSED_PAD_PX if crossed else REFERENCE_PAD_PX,
                    "font": {"size": 9, "color": REFERENCE_COLOR, "shadow": TEXT_HALO},
                },
            }
        )
    return shapes


# The span of a log axis' data, in decades, over which it is labelled 1, 2, 5 per decade (`_y_axis`).
LOG_TICKS_125_DECADES = (0.5, 2.5)
LOG_TICK_PX = 18  # the least height per labelled tick of a log axis: 12 px labels with room between them
LOG_END_PAD_PX = 6  # a log axis' range beyond its end ticks, so that a line at a tick is not cut in half
LOG_125 = (1.0, 2.0, 5.0)


# The labelled decades (log10) a log axis writes as plain numbers (0.001 ... 10000); one whose labels go
# beyond them is labelled in powers of ten (10⁻⁶), all of them
LOG_PLAIN_DECADES = (-3, 4)


def _log_ticks(span: tuple[float, float], plot_px: float) -> tuple[int | str, float, float] | None:
    """How a log axis over the positive data ``span`` (low, high) on a plot ``plot_px`` tall is labelled:
    ``(dtick, low tick, high tick)``, the end ticks in log10 units, the labelled ticks at or just beyond
    the data's ends, so that its top and its bottom are each under (over) a labelled tick; None for a
    span under `LOG_TICKS_125_DECADES` (plotly labels such a span densely enough itself).

    Over one to two decades (`LOG_TICKS_125_DECADES`) 1, 2 and 5 of each decade (``"D2"``); wider, every
    decade (``dtick`` 1), or every 2nd, 3rd ... where more labels than fit in ``plot_px`` at
    `LOG_TICK_PX` each would crowd it: plotly's own choice labelled 1, 0.001, 0.000001 on gradient norms
    that reached 100, with nothing above 1."""
    low, high = (float(v) for v in span)
    if not (0 < low <= high and math.isfinite(high)):
        return None
    decades = math.log10(high / low)
    if decades < LOG_TICKS_125_DECADES[0]:
        return None
    if decades <= LOG_TICKS_125_DECADES[1]:
        ticks = [
            math.log10(m) + e
            for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
            for m in LOG_125
        ]
        bottom = max(t for t in ticks if t <= math.log10(low) + 1e-9)
        top = min(t for t in ticks if t >= math.log10(high) - 1e-9)
        return "D2", bottom, top
    labels = max(2, int(plot_px // LOG_TICK_PX))
    top = math.ceil(math.log10(high) - 1e-9)  # the decade at or above the data's top: always labelled
    whole = top - math.floor(math.log10(low) + 1e-9)
    dtick = max(1, math.ceil(whole / (labels - 1)))
    bottom = top - math.ceil(whole / dtick) * dtick  # counted down from the top in steps of dtick
    return dtick, float(bottom), float(top)


def _y_axis(
    y_title: str | None,
    log_y: bool,
    yrange: tuple[float, float] | None,
    decades: float = math.nan,
    *,
    span: tuple[float, float] | None = None,
    plot_px: float = METRIC_HEIGHT - MARGIN["t"] - MARGIN["b"],
) -> dict[str, Any]:
    """A metric chart's y axis; ``decades``: how many powers of ten its positive data span (log axes).
    ``span``: (low, high), the positive data's ends on a log axis (its reference lines included), which
    fixes its labelled ticks and its range around them (`_log_ticks`, on a plot ``plot_px`` tall); without
    one, ``decades`` picks only whether it is labelled 1, 2, 5 per decade, plotly ranging it. ``yrange``
    (low, high): the axis' range as given, a log axis labelled for it (`_log_ticks` of it)."""
    axis: dict[str, Any] = {"title": {"text": y_title or ""}, "type": "log" if log_y else "linear"}
    if log_y:
        # plain numbers on every labelled tick (plotly's default labels minor ticks by their digit only;
        # ".2~g" wrote 100 and 1000 as 1e+2 and 1e+3): 0.001 ... 1000000, then 1e-7, 1e+7
        axis["tickformat"] = "~g"
        # a range given (Compare's, fitted without a diverged run's outliers) is labelled for itself: the
        # decades of all the data (1e-3 to 1e12) left plotly labelling every digit of its 1.3 decades
        basis = yrange if yrange is not None else span
        ticks = _log_ticks(basis, plot_px) if basis is not None else None
        if ticks is not None:
            dtick, bottom, top = ticks
            pad = LOG_END_PAD_PX / max(plot_px, 1.0) * (top - bottom)
            axis["dtick"] = dtick
            if dtick != "D2" and (bottom < LOG_PLAIN_DECADES[0] or top > LOG_PLAIN_DECADES[1]):
                # decades beyond 0.001 ... 10,000 as powers of ten, every label alike and short: "~g"
                # wrote 1, 0.001, 0.000001, 1e-9, 1e-12 down one axis, and 0.000001 ran into its title
                del axis["tickformat"]
                axis["exponentformat"] = "power"
            if dtick != "D2":
                axis["tick0"] = top  # (log10 units): the labelled ticks counted from the top one
            if yrange is None:
                axis["range"] = [bottom - pad, top + pad]  # a log axis' range is in log10 units
        elif yrange is None and LOG_TICKS_125_DECADES[0] <= decades <= LOG_TICKS_125_DECADES[1]:
            # Over about one to two decades plotly labels every digit (0.5 0.6 0.7 0.8 0.9 1 2 3 ...),
            # which crowds a short panel: 1, 2 and 5 of each decade instead.
            axis["dtick"] = "D2"
    if yrange is not None:
        low, high = (float(v) for v in yrange)
        if not log_y:
            axis["range"] = [low, high]
        elif low > 0 and high > 0:
            axis["range"] = [math.log10(low), math.log10(high)]  # a log axis' range is in log10 units
    return axis


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)


def _band_trace(
    step: np.ndarray, low: np.ndarray, high: np.ndarray, *, group: str, color: str
) -> dict[str, Any]:
    """The min-max band of the line ``group`` as closed polygons, one per run of points where both
    edges are drawable (named ``"<group> min-max"``, in the line's legend group).

    A ``fill: tonexty`` pair of lines would join the pieces of a band with gaps (plotly fills from one
    piece straight to the next), painting steps with no value at all; ``toself`` polygons separated by
    a blank close each piece on itself. Built without a Python loop: each piece is its points forwards
    along the top edge, back along the bottom edge, then a blank."""
    drawable = np.isfinite(low) & np.isfinite(high)
    if drawable.all() and drawable.size:  # one piece, the usual case: forwards along the top, back along
        # the bottom
        x, y = np.concatenate([step, step[::-1]]), np.concatenate([high, low[::-1]])
        return _band_dict(x, y, group, color)
    ok = np.flatnonzero(drawable)
    n = ok.size
    new_piece = np.r_[True, np.diff(ok) > 1] if n else np.zeros(0, dtype=bool)
    start = np.flatnonzero(new_piece)  # each piece's first position in `ok`
    size = max(2 * n + len(start) - 1, 0)  # the pieces, forwards and back, with a blank between two
    x = np.full(size, np.nan)
    y = np.full(size, np.nan)
    if n:
        piece = np.cumsum(new_piece) - 1  # the piece each drawable point belongs to
        end = np.r_[start[1:], n] - 1  # each piece's last position in `ok`
        p = np.arange(n)
        s, e = start[piece], end[piece]
        offset = 2 * s + piece  # where the piece begins in the output: earlier pieces and their blanks
        forward = offset + (p - s)
        backward = offset + (e - s + 1) + (e - p)
        x[forward], y[forward] = step[ok], high[ok]
        x[backward], y[backward] = step[ok], low[ok]
    return _band_dict(x, y, group, color)


def _band_dict(x: np.ndarray, y: np.ndarray, group: str, color: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": _wire_blank_steps(x),
        "y": _wire(y),
        "mode": "lines",
        "name": f"{group} min-max",
        "legendgroup": group,
        "showlegend": False,
        "hoverinfo": "skip",
        "line": {"color": _rgba(color, 0.0), "width": 0},
        "fill": "toself",
        "fillcolor": _rgba(color, BAND_ALPHA),
    }


def _line_traces(
    step: np.ndarray,
    raw: np.ndarray,
    *,
    name: str,
    color: str,
    smoothing: float,
    dashed: bool = False,
    single_point: bool = False,
    smoothed: np.ndarray | None = None,
    dash: str | None = None,
    rows: np.ndarray | pd.Series | None = None,
) -> list[dict[str, Any]]:
    """The raw mean (faint, behind) when smoothing, then the smoothed line that carries legend and hover.
    ``smoothed``: ``smooth(raw, smoothing)`` when the caller has it already (a chart smooths all its lines
    in one call). ``dashed``: a thinner dashed line (a loss's halves); ``dash``: a full-width line in
    that plotly dash (a run's `RUN_STYLES` style on Compare). ``rows``: each point's rows (the view's);
    where a point holds more than one step, the hover says its raw value is their mean ("raw mean of
    ≤ 4 steps"), as a step's own value in metrics.csv differs from it (a sweep reviewer read step
    1,004's "raw 0.8893" against the file's 0.8592)."""
    traces = []
    step = _wire_steps(step)
    width = 1.2 if dashed else 2.0
    dash = dash or ("dash" if dashed else "solid")
    mode = "lines+markers" if single_point else "lines"  # a line through one point draws nothing
    line: dict[str, Any] = {"color": color, "width": width, "dash": dash}
    # A click on the line reports the step under the cursor through plotly.js's hover points
    # (``plotly_click``, `ui.live_chart`): no markers (invisible ones cost ~10 % of a draw).
    shown = {"type": "scatter", "x": step, "mode": mode, "name": name, "legendgroup": name, "line": line}
    if smoothing > 0:
        traces.append(
            {
                "type": "scatter",
                "x": step,
                "y": _wire(raw),
                "mode": mode,
                "name": f"{name} (raw)",
                "legendgroup": name,
                "showlegend": False,
                "hoverinfo": "skip",
                "opacity": RAW_OPACITY,
                "line": {"color": color, "width": 1.0, "dash": dash},
            }
        )
        shown["y"] = _wire(smooth(raw, smoothing) if smoothed is None else smoothed)
        shown["customdata"] = _wire(raw)
        held = _most_rows(rows)
        what = "raw" if held <= 1 else f"raw mean of ≤ {held:,} steps"
        shown["hovertemplate"] = f"%{{y:.4g}} ({what} %{{customdata:.4g}})"
    else:
        shown["y"] = _wire(raw)
        shown["hovertemplate"] = "%{y:.4g}"
    traces.append(shown)
    return traces


def _most_rows(rows: np.ndarray | pd.Series | None) -> int:
    """The most rows (steps) a chart's point holds, by the view's ``rows`` column: 1 without one."""
    if rows is None:
        return 1
    found = np.asarray(rows, dtype=np.float64)
    found = found[np.isfinite(found)]
    return int(found.max()) if found.size else 1


def _y_span(
    values: Iterable[np.ndarray | tuple[np.ndarray, np.ndarray]],
    hlines: Sequence[tuple[float, str]],
    log_y: bool,
) -> tuple[float, float] | None:
    """The y extent of a chart's data: its drawn values (lines, band edges) and its reference lines,
    positive ones only on a log axis (plotly's autorange pads a little beyond it); None when nothing is
    drawable."""
    arrays = [
        np.asarray(part, dtype=np.float64) for v in values for part in (v if isinstance(v, tuple) else (v,))
    ]
    arrays.append(np.array([y for y, _ in hlines], dtype=np.float64))
    found = np.concatenate([a.ravel() for a in arrays])
    found = found[np.isfinite(found) & ((found > 0) if log_y else True)]
    return (float(found.min()), float(found.max())) if found.size else None


def _x_extent(steps: Iterable[np.ndarray], markers: Sequence[tuple[float, ...]]) -> tuple[float, float]:
    """The first and last step a chart spans: its points' and its event markers' (what its x axis
    autoranges over, and no further: `_finish`); (0, 0) when it has none."""
    values = [s[np.isfinite(s)] for s in steps] + [np.array([m[0] for m in markers], dtype=np.float64)]
    values = np.concatenate(values) if values else np.zeros(0)
    return (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)


# A step axis whose first step is within this share of its last starts at 0 (`_finish`)
AXIS_FROM_ZERO = 0.05


def _finish(
    traces: list[dict[str, Any]],
    layout: dict[str, Any],
    markers: Sequence[tuple[float, str, str, str, str]],
    x_extent: tuple[float, float],
    shapes: list[dict[str, Any]],
    min_plot_px: float = MIN_PLOT_PX,
    groups: Sequence[str] | None = None,
) -> Figure:
    """Add the event markers (``groups``: `_event_layers`') and the pinned axis, make room for the
    legend (on a plot as narrow as ``min_plot_px``), and build the figure.

    The x axis autoranges from ``x_extent``'s first step (`_x_extent`; from 0 where that is within
    `AXIS_FROM_ZERO` of the last: a run from its first steps starts where its quality charts, drawn from
    0, start, and the charts of one page line up), not before: plotly.js pads a
    range that holds markers by their size (an axis from step -10,444 on a long run whose first flag is at
    step 0), which the markers need not, as they are drawn over the axis' ends (``cliponaxis`` off;
    plotly.js still hides those outside a zoomed range, and clips the lines). Its end keeps plotly's
    padding: plotly.js 4.1 ignores a drag's zoom on an axis whose autorange a ``maxallowed`` or
    ``clipmax`` cut short (a browser test's drag on a 3,000-step run whose last flag's cap was at its
    last step left it whole)."""
    margin = layout["margin"]
    plot_px = layout["height"] - margin["t"] - margin["b"]  # (before the legend's rows)
    max_chars = _label_chars(plot_px)
    first, last = x_extent
    if 0 < first <= AXIS_FROM_ZERO * last:  # a run from its first steps: from 0, as the quality charts
        first = 0.0
    marker_shapes, annotations, marker_traces = _event_layers(
        markers, last - first, max_chars, min_plot_px, plot_px, x_start=first, groups=groups
    )
    if last > first:  # (one step alone: plotly's range around it)
        layout["xaxis"]["autorangeoptions"] = {"minallowed": first}
        traces = [
            {**trace, "cliponaxis": False} if "markers" in trace.get("mode", "") else trace
            for trace in traces
        ]
    layout["shapes"] = shapes + marker_shapes
    layout["annotations"] = annotations
    traces = traces + marker_traces
    if any(t.get("yaxis") == "y2" for t in traces):
        layout["yaxis2"] = _edge_axis()
    _fit_legend(layout, traces, min_plot_px)
    return _figure(traces, layout)


# --------------------------------------------------------------------------------------------- metric charts


def metric_figure(
    view: View | None,
    columns: Sequence[str],
    *,
    title: str,
    smoothing: float = 0.0,
    log_y: bool = False,
    events: Events = (),
    hlines: Iterable[tuple[float, str]] = (),
    y_title: str | None = None,
    yrange: tuple[float, float] | None = None,
    dashed: Iterable[str] = (),
    markers: bool = False,
    nan_is_blank: bool = False,
    from_zero: bool = False,
    steps_from_zero: bool = False,
    height: int = METRIC_HEIGHT,
    min_plot_px: float = MIN_PLOT_PX,
    fit_outliers: bool = True,
) -> Figure:
    """One line per metric column of a `MetricStore` view (`View`: its DataFrame, or its columns as
    arrays), against ``step``.

    Per column: a faint min-max band (``c_min`` to ``c_max``, when the view has them) so that a spike
    averaged away by downsampling still shows; the raw mean as a faint line when ``smoothing`` > 0; and
    the (smoothed) mean, which carries the legend entry and the hover. ``dashed`` columns are drawn
    dashed and thinner (the parts of a sum, say); ``markers`` marks each point (sparse measurements).
    ``hlines`` are dashed reference lines ``(y, label)``.

    ``events``: ``hparam``, ``flag`` and ``flag_cleared`` events are vertical markers with a short label
    (`event_markers`, `_event_layers`); single steps taken while paused are marked on the columns they
    have values for (`_single_step_traces`: D-only, G-only and full steps, each its own symbol).

    Nothing is dropped silently. Values a chart cannot place are marks pinned to the plot's edge, in the
    column's colour, with the value in the hover (`EDGE_MARKS`): on a log axis a point whose values
    reach 0 or below (at the bottom), and on any axis a NaN (top), +inf (top) or -inf (bottom) among
    a point's rows, read from the view's ``c_nonfinite`` columns (`MetricStore.view(nonfinite=True)`).
    ``nan_is_blank``: NaN means "not measured here" (evaluation columns), not a failure. Otherwise a NaN
    is a failure only from the run's first ``diverged`` flag in ``events`` on: before it, a blank is a
    step that did not measure the column (a G-only step's D gradient, a tracked loop that skipped D's
    update or passed no parameters), left out of the line, which joins the steps that did
    (`_failure_bits`); a column no step measured is named "(not measured)" in the legend. ``from_zero``:
    both axes start at 0 (metrics that are never negative, measured sparsely); ``steps_from_zero``: the
    step axis only (a sparse metric of any sign).

    ``log_y``: means <= 0 become gaps in the line (before smoothing, so the smoothed line averages only
    what the chart shows); the band is left out where its top is <= 0, and where only its bottom is, it
    reaches down to the chart's smallest positive value. ``yrange`` is in data units on either axis
    type. An empty view gives a "no data yet" placeholder, not an error. ``height``: the figure's, in
    pixels, before the legend's rows (which it grows by, the plot keeping its height); ``min_plot_px``:
    the narrowest its plot is drawn, which the legend's rows and the marker labels' spacing are fitted
    to. A reference line's label is written at the end of its line that no event marker crosses
    (`_hline_shapes`).

    ``fit_outliers`` False (a linear axis with no ``yrange``): the axis fits the columns' values, their
    bands' ends included, without their outliers (`robust_yrange`, as Compare's: a value that leaps more
    than ten times past a column's own), which are marked at its edge ("above the axis", the value in
    the hover) and listed in ``layout.meta.off_axis`` (column -> [points, [[side, furthest value]]]):
    one step's d_loss of 35 beside losses near 1.4 flattened the rest of a run to lines.
    """
    smoothing = _check_smoothing(smoothing)
    columns = list(columns)
    if _is_empty(view):
        return _message_figure(title, "no data yet", height, y_title)
    parts = ("", "_min", "_max", "_nonfinite")
    view = _table(view, ["step", "rows", *(f"{c}{part}" for c in columns for part in parts)])
    missing = [c for c in ["step", *columns] if c not in view]
    if missing:
        raise ValueError(f"view lacks columns {missing}; it has {list(view)}")
    dashed = set(dashed)
    step = np.asarray(view["step"], dtype=np.float64)
    single_point = len(step) < 2
    records = _records(events)

    raw_means = {c: np.asarray(view[c], dtype=np.float64) for c in columns}
    raw_bands = {
        c: (np.asarray(view[f"{c}_min"], dtype=np.float64), np.asarray(view[f"{c}_max"], dtype=np.float64))
        for c in columns
        if f"{c}_min" in view and f"{c}_max" in view
    }
    # what the chart draws: values beyond float32's range are marks at its edge instead (`_edge_positions`)
    means = {c: _drawable(v) for c, v in raw_means.items()}
    bands = {c: (_drawable(low), _drawable(high)) for c, (low, high) in raw_bands.items()}
    if log_y:
        means = {c: _positive(v) for c, v in means.items()}
        positives = [v[v > 0] for pair in bands.values() for v in pair] + [v[v > 0] for v in means.values()]
        floor = min((p.min() for p in positives if p.size), default=np.nan)
        top = max((p.max() for p in positives if p.size), default=np.nan)
        decades = math.log10(top / floor) if floor > 0 else math.nan
        bands = {
            c: (np.where(high > 0, np.where(low > 0, low, floor), np.nan), _positive(high))
            for c, (low, high) in bands.items()
        }

    g_steps = np.array(
        [s for e in records if e.get("kind") == "step_g" and (s := _event_step(e)) is not None],
        dtype=np.float64,
    )
    traces: list[dict[str, Any]] = []
    edges: dict[str, list[tuple[np.ndarray, str, list[str]]]] = {kind: [] for kind in EDGE_MARKS}
    lines = [means[c] for c in columns]
    smoothed = smooth(np.column_stack(lines), smoothing) if smoothing > 0 and lines else None
    diverged = _divergence(records)
    for position, c in enumerate(columns):
        color = _metric_color(c, position)
        bits = view.get(f"{c}_nonfinite")
        # A point no row of which measured the column (its mean NaN, no failure among its rows) is left
        # out of the line, which joins the points that did measure it: a loop that updates D every
        # other step has a D line, not a row of gaps.
        shown = np.ones(len(step), dtype=bool)
        if bits is not None and not nan_is_blank:
            bits = _failure_bits(
                step,
                bits,
                diverged,
                c,
                rows=view.get("rows"),
                g_steps=g_steps if c in BLANK_AFTER_G_STEP else None,
            )
            shown = ~np.isnan(raw_means[c]) | (bits != 0)
        kept = None if shown.all() else shown
        if c in bands:
            low, high = bands[c]
            traces.append(_band_trace(*_kept(kept, step, low, high), group=c, color=color))
        line_step, line_mean = _kept(kept, step, means[c])
        lines = _line_traces(
            line_step,
            line_mean,
            name=c,
            color=color,
            smoothing=smoothing,
            dashed=c in dashed,
            single_point=single_point or len(line_step) == 1,
            smoothed=None if smoothed is None else _kept(kept, smoothed[:, position])[0],
            rows=view.get("rows"),
        )
        if len(step) and not shown.any():
            _say_unmeasured(lines[-1])
        traces.extend(lines)
        low, high = raw_bands.get(c, (None, None))
        found = _edge_positions(step, raw_means[c], low, high, bits, log_y=log_y, nan_is_blank=nan_is_blank)
        for kind, (at, texts) in found.items():
            edges[kind].append((step[at], color, [f"{c} {text}" for text in texts]))

    if markers:  # visible markers on the lines that carry the legend (not the bands or raw lines)
        for trace in traces:
            if trace["name"] in columns:
                trace["mode"] = "lines+markers"
                trace["marker"] = {"size": 6}
    off_axis: dict[str, list[Any]] = {}
    if not fit_outliers and not log_y and yrange is None:
        hline_ys = [float(y) for y, _ in hlines]
        ends = [v for pair in bands.values() for v in pair]
        # a column's band ends where it has them, which hold every value of its points: a one-step spike
        # averaged into its point (35.5 among ten rows: 4.8) is no leap there, and would keep it in range
        lines = [means[c] for c in columns if c not in bands]
        fitted = robust_yrange([*lines, *ends], False, keep=hline_ys)
        if fitted is not None:
            yrange = fitted
            for position, c in enumerate(columns):
                color = _metric_color(c, position)
                # a point's band's end where it has one (past it whenever its mean is), else its mean
                low, high = bands.get(c, (None, None))
                # (side, name, values): the band's max above, its min below (a point of one row, its min its
                # max, is marked once), else the mean either way
                sources = (
                    [("above", f"{c} max", high), ("below", f"{c} min", low)]
                    if c in bands
                    else [(side, c, means[c]) for side in ("above", "below")]
                )
                hits, entry = _off_axis(sources, fitted, False)
                for side, what, at, beyond in hits:
                    edges[side].append((step[at], color, [f"{what} {v:.4g}" for v in beyond]))
                if entry is not None:
                    off_axis[c] = entry
    traces.extend(_single_step_traces(view, columns, records, log_y))
    traces.extend(_edge_traces(edges))
    layout = _base_layout(title, height)
    if off_axis:
        layout["meta"] = {"off_axis": off_axis}
    layout["hovermode"] = "x unified"
    layout["dragmode"] = "zoom"  # dragging zooms (a click reports the step: `ui.live_chart`)
    layout["xaxis"] = {"title": {"text": "step", "standoff": 4}}
    hlines = list(hlines)
    log_span = None
    if log_y:  # the data's ends and the reference lines', each end under a labelled tick (`_log_ticks`)
        ends = [v for v in (floor, top, *(y for y, _ in hlines)) if math.isfinite(v) and v > 0]
        log_span = (min(ends), max(ends)) if math.isfinite(floor) and ends else None
    layout["yaxis"] = _y_axis(
        y_title,
        log_y,
        yrange,
        decades if log_y else math.nan,
        span=log_span,
        plot_px=height - MARGIN["t"] - MARGIN["b"],
    )
    event_list = [
        (at, label, kind, EVENT_STYLES[kind][0], f"step {at:g}: {label}")
        for at, label, kind in event_markers(records)
    ]
    spanned = [step]
    if from_zero or steps_from_zero:  # sparse measurements line up with the other charts' steps, and a
        # single one is not drawn on an axis of plotly's rounding around it (500, 500.5, 501; -1 to 1)
        layout["xaxis"]["rangemode"] = "tozero"
        spanned.append(np.zeros(1))
    if from_zero:
        layout["yaxis"]["rangemode"] = "tozero"
    marked = np.array([m[0] for m in event_list], dtype=np.float64)
    steps_drawn = np.concatenate([s[np.isfinite(s)] for s in spanned] + [marked])
    first, last = (steps_drawn.min(), steps_drawn.max()) if steps_drawn.size else (0.0, 0.0)
    # what a reference line's label could be printed over: the lines drawn bold (smoothed, when smoothed)
    drawn = [means[c] if smoothed is None else smoothed[:, i] for i, c in enumerate(columns)]
    width = last - first
    span = yrange or _y_span([*means.values(), *bands.values()], hlines, log_y)
    if from_zero and not log_y and span is not None:  # the axis plotly draws reaches down to 0 ("tozero")
        span = (min(span[0], 0.0), max(span[1], 0.0))
    plot_height = height - MARGIN["t"] - MARGIN["b"]
    references = _hline_shapes(
        hlines,
        log_y,
        span,
        avoid=(marked - first) / width if width > 0 else (),
        plot_px=min_plot_px,
        curves=[((step - first) / width, line) for line in drawn] if width > 0 else (),
        plot_height_px=plot_height,
        avoid_depths=[_marker_depth(m[1], plot_height) for m in event_list],
    )
    return _finish(traces, layout, event_list, _x_extent(spanned, event_list), references, min_plot_px)


# The columns each metric chart draws (all four: what a page showing them needs of a store's view).
LOSS_COLUMNS = ("d_loss", "g_loss", "d_loss_real", "d_loss_fake")
ACCURACY_COLUMNS = ("d_acc_real", "d_acc_fake")
D_OUTPUT_COLUMNS = ("d_real", "d_fake")
GRAD_NORM_COLUMNS = ("d_grad_norm", "g_grad_norm")
METRIC_COLUMNS = LOSS_COLUMNS + ACCURACY_COLUMNS + D_OUTPUT_COLUMNS + GRAD_NORM_COLUMNS


def loss_figure(
    view: View | None,
    events: Events = (),
    smoothing: float = 0.0,
    log_y: bool = False,
    *,
    loss_name: str | None = None,
    loss: GANLoss | None = None,
    height: int = METRIC_HEIGHT,
    min_plot_px: float = MIN_PLOT_PX,
    fit_outliers: bool = True,
) -> Figure:
    """D's and G's losses, with D's two halves dashed. A line marks D's loss at equilibrium where the loss
    has one (`GANLoss.equilibrium_d_loss`: 2·ln 2 for the BCE losses, less under label smoothing); none
    for the other objectives, nor for no loss or a name the registry does not know. The loss: ``loss``
    (the run's, smoothed as it trains: `RunView.loss`), else the registry's ``loss_name`` (unsmoothed).
    (``height``, ``min_plot_px`` and ``fit_outliers``, here and in the other metric charts:
    `metric_figure`'s.)"""
    if loss is None:
        loss = LOSSES.get(loss_name)  # None for no name
    hlines = []
    if loss is not None and loss.equilibrium_d_loss is not None:
        hlines.append((loss.equilibrium_d_loss, loss.equilibrium_label))
    return metric_figure(
        view,
        LOSS_COLUMNS,
        title="Losses",
        smoothing=smoothing,
        log_y=log_y,
        events=events,
        hlines=hlines,
        y_title="loss",
        dashed=("d_loss_real", "d_loss_fake"),
        height=height,
        min_plot_px=min_plot_px,
        fit_outliers=fit_outliers,
    )


def accuracy_figure(
    view: View | None,
    events: Events = (),
    smoothing: float = 0.0,
    *,
    height: int = METRIC_HEIGHT,
    min_plot_px: float = MIN_PLOT_PX,
    median: bool = False,
) -> Figure:
    """How often D is right on real and on generated samples; 0.5 each is D unable to tell them apart.
    ``median``: D's scores are a critic's (no fixed threshold), split at the median of each batch's
    pooled scores, so that on real and fake batches of one size the two accuracies are equal, one line
    over the other; the title says so."""
    return metric_figure(
        view,
        ACCURACY_COLUMNS,
        title="D accuracy at the batch's median score (real = fake for equal batches)"
        if median
        else "D accuracy",
        smoothing=smoothing,
        events=events,
        hlines=[(0.5, "chance (D cannot tell)")],
        y_title="accuracy",
        yrange=(0.0, 1.02),
        height=height,
        min_plot_px=min_plot_px,
    )


def d_output_figure(
    view: View | None,
    events: Events = (),
    smoothing: float = 0.0,
    midpoint: float | None = 0.5,
    *,
    height: int = METRIC_HEIGHT,
    min_plot_px: float = MIN_PLOT_PX,
) -> Figure:
    """D's mean output on real (``d_real``) and generated (``d_fake``) samples. ``midpoint`` is the loss'
    `GANLoss.midpoint`: 0.5 for the probability-like losses, None for raw critic scores (no line)."""
    hlines = [] if midpoint is None else [(midpoint, f"midpoint {midpoint:g}: D cannot tell")]
    return metric_figure(
        view,
        D_OUTPUT_COLUMNS,
        title="D's output",
        smoothing=smoothing,
        events=events,
        hlines=hlines,
        y_title="D(x) and D(G(z))",
        height=height,
        min_plot_px=min_plot_px,
    )


# How near the exploding_gradients threshold a gradient norm comes before the threshold is drawn: within
# a decade of it, where a log axis' labels no longer say how far it is (30 to 100 sat above the top label).
EXPLODING_NEAR_FACTOR = 10.0


def grad_norm_figure(
    view: View | None,
    events: Events = (),
    smoothing: float = 0.0,
    log_y: bool = True,
    *,
    height: int = METRIC_HEIGHT,
    min_plot_px: float = MIN_PLOT_PX,
) -> Figure:
    """Gradient norms of D's and G's parameters; log scale by default, as they span decades. Where a norm
    (a point's mean or its band's top) comes within `EXPLODING_NEAR_FACTOR` of the ``exploding_gradients``
    flag's threshold (`flags.EXPLODING_NORM`), a reference line marks the threshold."""
    hlines = []
    if not _is_empty(view):
        table = _table(view, [f"{c}{part}" for c in GRAD_NORM_COLUMNS for part in ("", "_max")])
        found = [np.asarray(v, dtype=np.float64) for v in table.values()]
        values = np.concatenate([v[np.isfinite(v)] for v in found]) if found else np.zeros(0)
        if values.size and values.max() >= EXPLODING_NORM / EXPLODING_NEAR_FACTOR:
            hlines.append((EXPLODING_NORM, f"exploding_gradients above {EXPLODING_NORM:g}"))
    return metric_figure(
        view,
        GRAD_NORM_COLUMNS,
        title="Gradient norms",
        smoothing=smoothing,
        log_y=log_y,
        events=events,
        hlines=hlines,
        y_title="gradient norm",
        height=height,
        min_plot_px=min_plot_px,
    )


# The learning rates: a panel of their own under the gradient norms while one has changed in the run (a
# scheduler in your loop, an Apply in the Train view; a review: a StepLR's staircase was drawn nowhere but
# Compare), none at fixed rates (a flat line says nothing)
LR_COLUMNS = ("lr_d", "lr_g")
LR_TITLE = "Learning rates"


def changing_lr_columns(view: View | None) -> list[str]:
    """The `LR_COLUMNS` ``view`` holds when one of them took two values or more in it (its points' extremes
    apart by more than float32's rounding); [] otherwise."""
    if _is_empty(view):
        return []
    table = _table(view, [f"{c}{part}" for c in LR_COLUMNS for part in ("", "_min", "_max")])
    present = [c for c in LR_COLUMNS if c in table]
    for c in present:
        found = [np.asarray(table[k], dtype=np.float64) for k in (c, f"{c}_min", f"{c}_max") if k in table]
        values = np.concatenate([v[np.isfinite(v)] for v in found])
        if values.size and values.max() > values.min() * (1 + 1e-6):
            return present
    return []


def lr_figure(
    view: View | None,
    events: Events = (),
    *,
    height: int = METRIC_HEIGHT,
    min_plot_px: float = MIN_PLOT_PX,
) -> Figure:
    """The learning rates in force at each step (`LR_COLUMNS` the view has), never smoothed (a setting, not
    a measurement), on a log axis: a scheduler's decay spans decades."""
    return metric_figure(
        view,
        [c for c in LR_COLUMNS if view is not None and c in view],
        title=LR_TITLE,
        log_y=True,
        events=events,
        y_title="learning rate",
        height=height,
        min_plot_px=min_plot_px,
    )


# The Train view's four metric charts as one figure (`training_figure`): a browser draws a figure in a
# mostly fixed time (about 75 ms for a metric chart on the 2-core test machine, whatever its points),
# so four panels in one figure cost it one draw per refresh instead of four. The panels are stacked,
# one x axis (steps) shared by all: a zoom on steps in one applies to every one.
PANEL_PLOT_PX = 170  # a panel's plot area: four of them stacked fit a screen
PANEL_HEIGHT = PANEL_PLOT_PX + MARGIN["t"] + MARGIN["b"]  # a panel built alone, before its legend rows
PANEL_GAP_PX = 12  # between a panel's plot and the title of the next (its x tick labels are the last's)
PANELS_TITLE = "Training metrics"
# A panel is as wide as the page's main column: two half-width charts' plots and their margins
# (`MIN_PLOT_PX`, on a 1280 px window), the legends' rows sized for that.
PANEL_MIN_PLOT_PX = 2 * MIN_PLOT_PX


def _panel_refs(index: int) -> tuple[str, str, str, str]:
    """The axis and legend names panel ``index`` (from 0) takes in a figure of panels: its x axis, its
    y axis, the y axis of its marks pinned to the plot's edges (`_edge_axis`), and its legend. The first
    panel keeps a lone chart's names (x, y, y2, legend)."""
    x = "x" if index == 0 else f"x{index + 1}"
    y = "y" if index == 0 else f"y{2 * index + 1}"
    legend = "legend" if index == 0 else f"legend{index + 1}"
    return x, y, f"y{2 * index + 2}", legend


def _panel_ref(ref: str, axes: Mapping[str, str]) -> str:
    """A shape's or annotation's ``xref``/``yref`` in a lone chart, renamed for its panel (``axes``: the
    lone chart's name -> the panel's; "paper", the chart's plot, becomes the panel's axis domain)."""
    if ref == "paper":
        return f"{axes['paper']} domain"
    return axes.get(ref, ref)


def panels_figure(panels: Sequence[Figure], *, title: str = PANELS_TITLE) -> Figure:
    """Metric charts (as `metric_figure` builds them, placeholders included) stacked as the panels of one
    figure, every x axis matching the first (a zoom on steps applies to all), the x tick labels and title
    under the last panel only.

    Each panel keeps what it shows alone: its traces, bands, reference lines and event markers, its
    y axis (log or linear, its range and title), its marks pinned to the plot's edges (on a y axis of its
    own over the panel), its title (as an annotation above it) and its legend (one per panel, between
    its title and its plot, with the rows `_fit_legend` reserves on a plot `PANEL_MIN_PLOT_PX` wide).
    Legend groups are named per panel, so
    that a legend entry (the NaN marks, say) shows and hides what it names in its own panel only.

    The figure's height is each panel's plot with its title and legend rows, `PANEL_GAP_PX` between two
    panels and the bottom margin for the last one's x axis."""
    if not panels:
        raise ValueError("panels_figure needs at least one panel")
    plots, legends = [], []  # each panel's plot height, and its legend refitted to the page's width
    for panel in panels:
        source = panel["layout"]
        plots.append(source["height"] - source["margin"]["t"] - source["margin"]["b"])
        fitted = {"height": 0, "margin": {"t": TITLE_ROW_PX}}
        _fit_legend(fitted, panel["data"] if source.get("showlegend") else [], PANEL_MIN_PLOT_PX)
        legends.append(fitted)
    bands = [fitted["margin"]["t"] for fitted in legends]  # each panel's title and legend rows
    bottom = panels[-1]["layout"]["margin"]["b"]
    height = sum(bands) + sum(plots) + PANEL_GAP_PX * (len(panels) - 1) + bottom
    area = height - bands[0] - bottom  # the plot area the panels' domains are fractions of

    def paper_y(px: float) -> float:  # pixels from the figure's top -> paper y
        return 1.0 - (px - bands[0]) / area

    layout = _base_layout(title, height)
    del layout["title"]  # each panel has its own
    layout["margin"] = {**MARGIN, "t": bands[0], "b": bottom}
    first = panels[0]["layout"]
    for name in ("hovermode", "dragmode"):
        if name in first:
            layout[name] = first[name]
    traces: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    # The plan in pixels, for a browser that draws the figure narrower than planned to lay the panels out
    # again with more legend rows (`ui.live_chart`): each panel's band (title and legend rows), plot,
    # y axis, legend and title (an index into the annotations); the gap between panels, the bottom margin
    # and a legend row's height.
    plan: list[dict[str, Any]] = []
    layout["meta"] = {"panels": plan, "gap": PANEL_GAP_PX, "bottom": bottom, "legend_row": LEGEND_ROW_PX}
    top = 0.0  # the panel's band's top, in pixels from the figure's top
    for index, (panel, band, plot, fitted) in enumerate(zip(panels, bands, plots, legends)):
        x, y, edge_y, legend = _panel_refs(index)
        axes = {"x": x, "y": y, "y2": edge_y}
        source = panel["layout"]
        domain = [paper_y(top + band + plot), paper_y(top + band)]
        last = index == len(panels) - 1
        x_axis = {**source.get("xaxis", {}), "domain": [0.0, 1.0], "anchor": y}
        if index:
            x_axis["matches"] = "x"
        if not last:
            x_axis["showticklabels"] = False
            x_axis["title"] = {"text": ""}
        layout[f"xaxis{x[1:]}"] = x_axis
        layout[f"yaxis{y[1:]}"] = {**source.get("yaxis", {}), "domain": domain, "anchor": x}
        if "yaxis2" in source:
            layout[f"yaxis{edge_y[1:]}"] = {**source["yaxis2"], "overlaying": y, "anchor": x}
        if not panel["data"]:  # a placeholder: plotly.js draws no axes that no trace is on
            traces.append({"type": "scatter", "x": [], "y": [], "xaxis": x, "yaxis": y, "showlegend": False})
        for trace in panel["data"]:
            trace = {**trace, "xaxis": x, "yaxis": axes[trace.get("yaxis", "y")], "legend": legend}
            if "legendgroup" in trace:
                trace["legendgroup"] = f"{index}:{trace['legendgroup']}"
            traces.append(trace)
        refs = {**axes, "paper": x}
        for shape in source.get("shapes", ()):
            shapes.append(
                {
                    **shape,
                    "xref": _panel_ref(shape["xref"], refs),
                    "yref": _panel_ref(shape["yref"], {**refs, "paper": y}),
                }
            )
        for note in source.get("annotations", ()):
            annotations.append(
                {
                    **note,
                    "xref": _panel_ref(note["xref"], refs),
                    "yref": _panel_ref(note["yref"], {**refs, "paper": y}),
                }
            )
        title_font = source["title"].get("font", {})
        plan.append(
            {
                "band": band,
                "plot": plot,
                "yaxis": f"yaxis{y[1:]}",
                "legend": legend,
                "title": len(annotations),
            }
        )
        annotations.append(
            {  # the panel's title, at the top of its band, as a lone chart's (`_base_layout`)
                "text": source["title"]["text"],
                "xref": "paper",
                "yref": "paper",
                "x": 0.0,
                "y": paper_y(top),
                "xanchor": "left",
                "yanchor": "top",
                "yshift": -source["title"].get("pad", {}).get("t", 0),
                "showarrow": False,
                "font": dict(title_font),
            }
        )
        if fitted.get("showlegend"):
            layout["showlegend"] = True
            layout[legend] = {**fitted["legend"], "y": domain[1]}
        top += band + plot + PANEL_GAP_PX
    # The panels' x axes match the first: each autoranges from the first step any panel draws (`_finish`)
    bounds = [panel["layout"].get("xaxis", {}).get("autorangeoptions") for panel in panels]
    if all(bounds):
        spanned = {"minallowed": min(b["minallowed"] for b in bounds)}
        for index in range(len(panels)):
            x = _panel_refs(index)[0]
            layout[f"xaxis{x[1:]}"]["autorangeoptions"] = spanned
    else:
        for index in range(len(panels)):
            layout[f"xaxis{_panel_refs(index)[0][1:]}"].pop("autorangeoptions", None)
    layout["shapes"] = shapes
    layout["annotations"] = annotations
    return _figure(traces, layout)


def training_figure(
    view: View | None,
    events: Events = (),
    smoothing: float = 0.0,
    *,
    log_y: bool = False,
    loss_name: str | None = None,
    midpoint: float | None = 0.5,
    loss: GANLoss | None = None,
    fit_outliers: bool = False,
) -> Figure:
    """The Train view's metric charts as the panels of one figure (`panels_figure`): losses (``log_y``,
    ``loss_name``, ``loss``: `loss_figure`'s; pass the run's smoothed ``loss``, `RunView.loss`, so the
    equilibrium line follows its label smoothing), D's accuracy (split at the median score where ``midpoint``
    is None: `accuracy_figure`'s ``median``), D's output (``midpoint``: `d_output_figure`'s) and the gradient
    norms (log scale), and the learning rates where one changed in the run (`lr_figure`), each
    `PANEL_PLOT_PX` tall. The losses' linear axis fits their values without
    their outliers unless ``fit_outliers`` (`metric_figure`'s); those it leaves out are in
    ``layout.meta.off_axis`` (`training_off_axis_note`)."""
    wide = PANEL_MIN_PLOT_PX
    # Split at the median only for a critic (no fixed threshold): hinge's scores are unbounded (no
    # midpoint) yet its verdict is a fixed threshold, score > 0. No loss named: as the midpoint says.
    if loss is None:
        loss = LOSSES.get(loss_name or "")
    median = loss.is_critic if loss is not None else midpoint is None
    losses = loss_figure(
        view,
        events,
        smoothing,
        log_y,
        loss=loss,
        height=PANEL_HEIGHT,
        min_plot_px=wide,
        fit_outliers=fit_outliers,
    )
    figure = panels_figure(
        [
            # (each panel's labels placed for its narrowest: the page's main column)
            losses,
            accuracy_figure(view, events, smoothing, height=PANEL_HEIGHT, min_plot_px=wide, median=median),
            d_output_figure(view, events, smoothing, midpoint, height=PANEL_HEIGHT, min_plot_px=wide),
            grad_norm_figure(view, events, smoothing, log_y=True, height=PANEL_HEIGHT, min_plot_px=wide),
        ]
        + (
            [lr_figure(view, events, height=PANEL_HEIGHT, min_plot_px=wide)]
            if changing_lr_columns(view)
            else []
        )
    )
    off_axis = (losses["layout"].get("meta") or {}).get("off_axis")
    if off_axis:
        figure["layout"].setdefault("meta", {})["off_axis"] = off_axis
    return figure


# The eval_error events `quality_notes` names, the newest distinct ones (an error each evaluation repeats
# is one)
QUALITY_ERRORS_SHOWN = 3


def quality_notes(
    events: Events, measured: Sequence[str], data_kind: str, dataset: str | None
) -> tuple[list[str], str]:
    """What a run's quality charts leave out, and why: (errors, gaps).

    ``errors``: its ``eval_error`` events (an Inception weights file that is not one, a classifier that
    cannot be trained here), each distinct error once at the newest step it was recorded, the newest
    `QUALITY_ERRORS_SHOWN`, oldest first, as "Quality evaluation at step N: ERROR" (text from the run's
    files: a page shows it as text). A review: a mistyped $GAN_DASHBOARD_INCEPTION_WEIGHTS was said in
    events.csv only, and FID never came.
    ``gaps``: for an image run evaluated at least once (``measured``: the quality columns it has measured,
    `MetricStore.exact_measured`), the feature spaces it was not measured in and what would measure them:
    Inception's (``fid``, ``kid``, ...: its weights file named by `INCEPTION_ENV` where the run trains) and
    the classifier's (``fd_cls``, ...: digits, mnist and fashion-mnist only); "" otherwise."""
    from gan_core.classifier import CLASSIFIED_DATASETS
    from gan_core.inception import INCEPTION_ENV

    newest: dict[str, int | None] = {}
    for event in _records(events):
        fields = event.get("fields")
        if event.get("kind") == "eval_error" and isinstance(fields, Mapping) and fields.get("error"):
            error = str(fields["error"])
            newest.pop(error, None)  # (re-inserted: the order is the newest step's)
            step = _event_step(event)
            newest[error] = None if step is None else int(step)
    errors = [
        f"Quality evaluation{'' if step is None else f' at step {step:,}'}: {error}"
        for error, step in list(newest.items())[-QUALITY_ERRORS_SHOWN:]
    ]
    gaps = []
    if data_kind == "images" and any(c in EVAL_COLUMNS for c in measured):
        if "fid" not in measured:
            gaps.append(
                "No FID, KID or Inception-space precision and recall: a run measures them only where "
                f"${INCEPTION_ENV} names Inception's weights file when it trains (README: Image quality in a "
                "feature space)."
            )
        if "fd_cls" not in measured and dataset not in CLASSIFIED_DATASETS:
            gaps.append(
                "No classifier-space metrics (fd_cls, kid_cls, precision_cls ...): they are measured on "
                f"{', '.join(CLASSIFIED_DATASETS)}, whose classifier the dashboard trains."
            )
    return errors, " ".join(gaps)


def training_off_axis_note(figure: Mapping[str, Any]) -> str | None:
    """The line under the Train view's metric charts (`training_figure`) whose losses' axis leaves some
    values out (fitted to the rest: `robust_yrange`), naming the columns, how many points each and how far
    they go; None when it leaves none out."""
    columns = _off_axis_items(figure)
    if columns is None:
        return None
    return (
        f"Off the losses' axis, which fits the rest: {columns}, marked at its edge with their values in the "
        "hover. To draw them, turn on Fit the losses to outliers too."
    )


def _off_axis_items(figure: Mapping[str, Any]) -> str | None:
    """A figure's ``layout.meta.off_axis`` (name -> [points, [[side, furthest value], ...]]) in words,
    ``"d_loss (1 point, up to 35.5); ..."``; None when it has none."""
    off = ((figure.get("layout") or {}).get("meta") or {}).get("off_axis") or {}
    if not off:
        return None
    return "; ".join(
        f"{name} ({count} {'point' if count == 1 else 'points'}, "
        + " and ".join(f"{'up to' if side == 'above' else 'down to'} {value:.3g}" for side, value in far)
        + ")"
        for name, (count, far) in off.items()
    )


def compare_view(store: MetricStore, column: str, downsampled: pd.DataFrame) -> pd.DataFrame:
    """What `compare_figure` draws ``column`` from for one run's ``store``: its evaluations, each at its
    own step (`MetricStore.exact_view`), for a quality column the store keeps exactly and has measured;
    else ``downsampled``, the store's view for every other metric (`MetricStore.view` with
    ``nonfinite=True``, taken once)."""
    if column in store.exact_measured:
        return store.exact_view([column])
    return downsampled


# Compare's x axis: a run's steps, or its training time (TensorBoard's STEP / RELATIVE, W&B's "Step /
# Relative time"): runs that cost different amounts per step (a critic with d_steps=5 beside a 1:1 loop, a
# batch of 256 beside 64, a CPU run beside a GPU one) compared per second of training as well as per step.
X_AXES = ("step", "time")  # what the page's address takes as ``x=`` (absent: step)
X_AXIS_NAMES = {"step": "step", "time": "training time"}  # as the page's control names them
# The training time's unit, by the longest run drawn: seconds up to 2 minutes, minutes up to 2 hours, hours
# beyond (the tick labels stay at three digits or fewer: 120 s, 120 min, then 2.5 h ...)
TIME_UNITS = (("s", 1.0, 120.0), ("min", 60.0, 7_200.0), ("h", 3_600.0, math.inf))
UNTIMED_LEGEND = "no training time recorded"  # a run drawn against time whose rows have no time_s


@dataclass(frozen=True)
class RunClock:
    """A run's training time at its steps: ``steps`` (increasing) and ``seconds`` (its ``time_s`` at
    each: seconds spent inside its steps, pauses and evaluations excluded, going on from a checkpoint's
    when the run was resumed), 1-D float64 arrays of one length, at least one entry (`compare_clock`)."""

    steps: np.ndarray
    seconds: np.ndarray

    def at(self, steps: np.ndarray | Sequence[float]) -> np.ndarray:
        """The training seconds at ``steps`` (any shape; NaN stays NaN): the clock's own where it has the
        step, else linear in the step between the two of its steps around it; before its first step
        and after its last, the time there (held)."""
        return np.interp(np.asarray(steps, dtype=np.float64), self.steps, self.seconds)


def compare_clock(store: MetricStore, downsampled: View) -> RunClock | None:
    """A run's `RunClock` for drawing it against training time, from ``downsampled`` (its store's
    `MetricStore.view`, the one its per-step metrics are drawn from) and ``store`` (its first step);
    None when its rows hold no ``time_s`` (a metrics.csv without that column, or blank in it).

    The clock's steps are the view's points' (each point's last step), its seconds each point's largest
    ``time_s`` (``time_s_max``): a run's time never goes back (a resumed run's goes on from its
    checkpoint's, `Trainer.load_state`, `TrackedRun`), so that is the time at the point's own step,
    exactly, and a per-step metric's point is drawn at its own step's time. Before them the run's first
    step at its first row's time (``time_s_min`` of the first point).

    A step between two points (an evaluation's, kept exactly: `MetricStore.exact_view`; a flag's event)
    takes the time linear in the step between theirs (`RunClock.at`). Exact where the view has every step
    (a run of up to as many steps as the view's points: 600 on the Compare page); otherwise off by less
    than the time one point spans (a 600th of the run at an even pace), and much less in practice, as a
    run's time per step changes slowly (a ``d_steps`` change is its largest jump: the error then is at
    most that point's share of the change). A step before the run's first row or after its last takes
    the time there."""
    table = _table(downsampled, ("step", "time_s", "time_s_min", "time_s_max"))
    # (a view without the min-max columns holds one row a point: its time_s is the row's)
    seconds = table.get("time_s_max", table.get("time_s"))
    if seconds is None or "step" not in table:
        return None
    seconds = np.asarray(seconds, dtype=np.float64)
    steps = np.asarray(table["step"], dtype=np.float64)
    lowest = np.asarray(table.get("time_s_min", seconds), dtype=np.float64)
    first = store.first_step
    if first is not None and len(steps) and first < steps[0]:
        steps, seconds = np.r_[first, steps], np.r_[lowest[0], seconds]
    known = np.isfinite(steps) & np.isfinite(seconds)
    steps, seconds = steps[known], seconds[known]
    # (a view's steps increase; should a file's not, the steps that go back are left out of the clock)
    rising = np.r_[True, steps[1:] > np.maximum.accumulate(steps)[:-1]] if len(steps) else known[:0]
    if not rising.any():
        return None
    return RunClock(steps[rising], seconds[rising])


@dataclass(frozen=True)
class TimeAxis:
    """Compare's x axis as training time: each run's `RunClock` (None for a run with no ``time_s``) and
    the unit every chart of the page draws it in (one unit for all, as they zoom together:
    `compare_time_axis`)."""

    clocks: Mapping[str, RunClock | None]
    unit: str  # "s", "min" or "h" (`TIME_UNITS`)
    seconds: float  # seconds per unit

    @property
    def title(self) -> str:
        """The x axis' title: ``training time (min)``."""
        return f"training time ({self.unit})"

    def x(self, run_id: str, steps: np.ndarray) -> np.ndarray:
        """Where the run's ``steps`` are on this axis, in its unit (`RunClock.at`); ``KeyError``/``TypeError``
        for a run with no clock (the caller leaves it out)."""
        return self.clocks[run_id].at(steps) / self.seconds  # type: ignore[union-attr]

    def words(self, x: float) -> str:
        """A place on the axis as the hovers say it: ``12.5 s``, ``3.07 min``."""
        return f"{x:.3g} {self.unit}"


def compare_time_axis(clocks: Mapping[str, RunClock | None]) -> TimeAxis:
    """The `TimeAxis` of Compare's charts for the runs' ``clocks`` (run id -> `compare_clock`): its unit
    by the longest training time among them (`TIME_UNITS`: seconds up to 120 s, minutes up to 120 min,
    then hours; seconds when no run has a time)."""
    longest = max((float(np.nanmax(c.seconds)) for c in clocks.values() if c is not None), default=0.0)
    unit, seconds, _ = next(u for u in TIME_UNITS if longest <= u[2])
    return TimeAxis(dict(clocks), unit, seconds)


def compare_untimed_note(figure: Mapping[str, Any]) -> str | None:
    """The line under a Compare chart drawn against training time (`compare_figure` with a `TimeAxis`)
    naming the runs it leaves out because their rows have no ``time_s``; None when it leaves none out."""
    untimed = ((figure.get("layout") or {}).get("meta") or {}).get("untimed") or []
    if not untimed:
        return None
    runs = _named_runs(untimed)  # (each also named so in the chart's legend)
    has, its, it = ("has", "its", "it") if len(untimed) == 1 else ("have", "their", "them")
    return (
        f"{runs} {has} no training time recorded (no time_s in {its} metrics.csv): not drawn against "
        f"time. Choose x axis step to see {it}."
    )


LOSS_VALUE_COLUMNS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss")
D_OUTPUT_COLUMNS = ("d_real", "d_fake")


def compare_data_note(datasets: Mapping[str, str]) -> str | None:
    """A line for Compare when the chosen runs train on different data, else None. ``datasets``: run id
    -> the data set it trains on (`RunMeta.data_name`: a run that named none by its kind of data,
    ``"points (unnamed)"``; "" for one of which nothing is known, left out). Losses,
    accuracies and the quality metrics depend on the data (a ring of 8 points is not 64-pixel digits;
    fd_cls and the PRDC use each data set's own classifier), so their values are compared within one
    data set only. Runs of one data set's name on different files (two `points` uploads, two image
    folders) are not told apart: the name is all a run records of its data."""
    named = _runs_by_kind({run_id: dataset for run_id, dataset in datasets.items() if dataset}, "dataset")
    if named is None:
        return None
    return (
        f"These runs train on different data ({named}): their losses, accuracies and quality metrics "
        "are each data set's own, so compare each run's trend, and values only within one data set."
    )


def compare_environment_note(environments: Mapping[str, Mapping[str, Any] | None]) -> str | None:
    """A line for Compare when the chosen runs trained with different torch versions, devices, CPU
    threads or deterministic settings, else None. ``environments``: run id -> `RunView.environment`
    (None for a run recorded before it was: left out). Two runs of the same settings and seed differ
    then, and from early on (GAN training amplifies the last bit of a step), so their gap is not the
    settings' (`gan_core.environment`)."""
    differing = environment_differences(environments)
    if not differing:
        return None
    said = "; ".join(
        f"{FIELD_LABELS.get(name, name)}: "
        + ", ".join(f"{run_id} {shown_value(name, value)}" for run_id, value in values.items())
        for name, values in differing.items()
    )
    return (
        f"These runs trained in different environments ({said}): even with the same settings and seed "
        "their numbers differ, so a gap between them is not due to their settings alone."
    )


# A Compare note names the runs it speaks of up to this many; past it, it counts them (a sweep's ten long
# ids took seven lines under every chart, twice a row of charts)
MANY_RUNS_NAMED = 4


def _named_runs(run_ids: Sequence[str]) -> str:
    """``run_ids`` joined with ", ", or counted ("9 runs") past `MANY_RUNS_NAMED`."""
    return ", ".join(run_ids) if len(run_ids) <= MANY_RUNS_NAMED else f"{len(run_ids)} runs"


def _runs_by_kind(kinds: Mapping[str, str], table_column: str | None = None) -> str | None:
    """``kinds`` (run id -> its data set, loss, ...) as ``"a: r1, r2; b: r3"``, or None when all are one.
    Past `MANY_RUNS_NAMED` runs in all, with ``table_column`` (the summary table's column that says each
    run's kind), counted instead: ``"a: 6 runs; b: 1 run (the table's loss column says which)"``."""
    groups: dict[str, list[str]] = {}
    for run_id, kind in kinds.items():
        groups.setdefault(kind, []).append(run_id)
    if len(groups) < 2:
        return None
    if table_column is not None and len(kinds) > MANY_RUNS_NAMED:
        if len(groups) == len(kinds):  # (a sweep of it: "1 run" each says nothing)
            return f"{len(kinds)} runs, each its own, as the table's {table_column} column says"
        counted = "; ".join(f"{kind}: {plural(len(ids), 'run')}" for kind, ids in groups.items())
        return f"{counted}, as the table's {table_column} column says"
    return "; ".join(f"{kind}: {', '.join(ids)}" for kind, ids in groups.items())


def compare_scale_note(column: str, losses: Mapping[str, str | GANLoss | None]) -> str | None:
    """A line for Compare's chart of ``column`` when the chosen runs' values there do not mean the same
    thing, else None. ``losses``: run id -> its loss (`RunView.loss`, smoothed by the run's label
    smoothing) or loss name (`gan_core.losses.LOSSES`; "", None or an unknown name for a run that named
    none, left out).

    - a loss column (`LOSS_VALUE_COLUMNS`) of runs with different objectives: each loss has its own
      scale and equilibrium (2 ln 2 for the BCE losses, none for a Wasserstein critic's); or of one
      objective with different real targets (label smoothing, t = 1 - ls: D outputs t/2 where it cannot
      tell, and each loss's value there moves with t);
    - D's output (`D_OUTPUT_COLUMNS`) where one run's is a probability-like value with a midpoint of 0.5
      (BCE, LSGAN: `GANLoss.midpoint`) and another's a raw critic score (hinge, WGAN: unbounded); or
      where all are probability-like but their midpoints differ (label smoothing moves it to t/2);
    - D's accuracy (``d_acc_real``, ``d_acc_fake``) where one run's D is a Wasserstein critic (its
      accuracy ranks its scores against the batch's median, and a healthy critic keeps it high) and
      another's judges at a fixed threshold (about 50% when it cannot tell).

    Gradient norms and quality metrics mean the same for every loss: None for them."""
    known = {
        run_id: loss if isinstance(loss, GANLoss) else LOSSES[loss]
        for run_id, loss in losses.items()
        if isinstance(loss, GANLoss) or loss in LOSSES
    }
    if column in LOSS_VALUE_COLUMNS:
        named = _runs_by_kind({run_id: loss.name for run_id, loss in known.items()}, "loss")
        if named is None:
            # one objective, but D's real target may differ (label smoothing): where D cannot tell it
            # outputs t/2, not 0.5, and every loss value there moves with t (D's, its halves, G's)
            targets = _runs_by_kind(
                {
                    run_id: f"{loss.real_target:g}"
                    for run_id, loss in known.items()
                    if loss.uses_label_smoothing
                },
                "label_smoothing",
            )
            if targets is None:
                return None
            return (
                f"These runs train D toward different real targets ({targets}: label smoothing), so "
                f"{column} differs where D cannot tell (each run's equilibrium line, in the Train view): "
                "compare each run's trend, not the values."
            )
        return (
            f"These runs train different losses ({named}): {column} is on each loss's own scale, so "
            "compare each run's trend, not the values across losses."
        )
    if column in ("d_acc_real", "d_acc_fake"):
        ranked = [run_id for run_id, loss in known.items() if loss.is_critic]
        judged = [run_id for run_id, loss in known.items() if not loss.is_critic]
        if ranked and judged:
            return (
                f"{column} of a Wasserstein critic ({_named_runs(ranked)}) ranks its scores against the "
                "batch's median, which a healthy critic keeps high; the others' "
                f"({_named_runs(judged)}) is a verdict at a fixed threshold, about 50% where D cannot tell: "
                "compare each run's trend, not the values."
            )
        return None
    if column in D_OUTPUT_COLUMNS:
        bounded = [run_id for run_id, loss in known.items() if loss.midpoint is not None]
        raw = [run_id for run_id, loss in known.items() if loss.midpoint is None]
        midpoints = {run_id: f"{known[run_id].midpoint:g}" for run_id in bounded}
        if bounded and not raw:
            named = _runs_by_kind(midpoints, "label_smoothing")
            if named is None:
                return None
            return (
                f"{column} is D's output, which is at its midpoint where D cannot tell; the midpoints "
                f"differ ({named}), as label smoothing with real target t moves it from 0.5 to t/2: "
                "compare each run's distance from its own midpoint."
            )
        if not bounded or not raw:
            return None
        several = _runs_by_kind(midpoints, "label_smoothing")
        where = f"at its midpoint ({several})" if several else next(iter(midpoints.values()))
        return (
            f"{column} is D's output, {where} where it cannot tell, for {_named_runs(bounded)}, and a raw "
            f"score (unbounded, no midpoint) for {_named_runs(raw)}: compare each run's trend, not the "
            "values."
        )
    return None


# The quality metrics whose meaning depends on whether a run is class-conditional (`gan_core.evaluation`:
# a conditional G is asked for every class in turn, and its diversity is measured within each class asked
# for, `diagnostics.class_diversity`), each with what it measures in a conditional run and in the others.
CONDITIONING_MEANINGS = {
    "diversity": (
        "within each class asked for",
        "across all samples (a G that draws one image per class is diverse across classes, collapsed "
        "within each)",
    ),
    "classes_covered": (
        "over samples asked for every class in turn (does G draw the class asked for)",
        "over samples G draws unprompted (does G, unasked, cover every class)",
    ),
    "class_kl": (
        "over samples asked for every class in turn (does G draw the class asked for)",
        "over samples G draws unprompted (does G, unasked, cover every class evenly)",
    ),
}


def measured_runs(frames: Mapping[str, View | None], column: str) -> list[str]:
    """The runs of ``frames`` (run id -> what `compare_figure` draws ``column`` from: `compare_view`) that
    measured ``column`` on some point: a value or an infinity there (`_measured`). The others are the
    runs `compare_figure` leaves out (no rows, no such column) or names "<run> (not measured)" (a
    digits run's modes_covered, a ring8 run's classes_covered, a loop that never logged it)."""
    return [
        str(run_id)
        for run_id, view in frames.items()
        if not _is_empty(view) and column in view and bool(_measured(view, column).any())
    ]


def compare_conditioning_note(
    column: str, conditional: Mapping[str, bool], frames: Mapping[str, View | None]
) -> str | None:
    """A line for Compare's chart of ``column`` when some of the runs that measured it are
    class-conditional and others not and the metric measures a different thing in each
    (`CONDITIONING_MEANINGS`: diversity, classes_covered, class_kl), else None. ``conditional``: run id ->
    whether its G is class-conditional (a built-in run's ``conditioning`` other than none; a loop's
    ``n_classes`` above 0). ``frames``: run id -> what the chart draws ``column`` from (`compare_view`);
    a run that never measured the column (`measured_runs`: "(not measured)" in the chart's legend) is no
    part of the comparison, so it is left out of the note: a ring8 run beside a conditional digits run has
    no classes_covered to read "over samples G draws unprompted"."""
    if column not in CONDITIONING_MEANINGS:
        return None
    measured = set(measured_runs(frames, column))
    with_classes = [run_id for run_id, yes in conditional.items() if yes and run_id in measured]
    without = [run_id for run_id, yes in conditional.items() if not yes and run_id in measured]
    if not with_classes or not without:
        return None
    within, across = CONDITIONING_MEANINGS[column]
    return (
        f"{column} is measured {within} in the class-conditional runs ({_named_runs(with_classes)}) and "
        f"{across} in the others ({_named_runs(without)}): compare each run's trend, not the values across "
        "the two."
    )


def run_styles(
    chosen: Sequence[str], previous: Mapping[str, Sequence[str]] | None = None
) -> dict[str, tuple[str, str]]:
    """A line style of `RUN_STYLES` (``("#rrggbb", plotly dash)``) for each run in ``chosen`` (run ids, in
    the page's order) that stays the run's while it stays chosen: a run in ``previous`` (the last call's
    result) keeps its style, a newly chosen run takes the first style no chosen run has (by position:
    the palette's eight colours solid, then dashed, dotted and dash-dotted; past 32 runs, the least
    used). Removing a run from a comparison thus restyles none of the others, and its style is the next
    one given. Returns run id -> (colour, dash), for ``chosen`` only."""
    previous = previous if isinstance(previous, Mapping) else {}  # (a session's value of another shape)
    styles: dict[str, tuple[str, str]] = {}
    for run_id in chosen:
        kept = previous.get(run_id)
        kept = tuple(kept) if isinstance(kept, list | tuple) else None
        if kept in RUN_STYLES:
            styles[run_id] = kept
    for run_id in chosen:
        if run_id not in styles:
            used = list(styles.values())
            styles[run_id] = min(RUN_STYLES, key=lambda style: (used.count(style), RUN_STYLES.index(style)))
    return {run_id: styles[run_id] for run_id in chosen}


def _held_values(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A setting's value at each downsampled point, for a chart that holds each value until the next: a
    point whose rows held one value is that value; a point over which it changed (its ``low`` and
    ``high`` differ) would be the mean of the two, a value never in force, so it takes the value in
    force after it (the next point that held one value, when that is its ``low`` or ``high``; else
    whichever of the two differs from the value before). The change is then drawn at the point's last
    step: at most one point's steps late, never at a value the run did not have. A point with several
    changes (three values or more) keeps its mean."""
    values = np.array(mean, dtype=np.float64, copy=True)
    held = (low == high) | ~(np.isfinite(low) & np.isfinite(high))
    if held.all():
        return values
    next_held = np.full(len(values), np.nan)  # the value of the next point that held one value
    after = np.nan
    for i in range(len(values) - 1, -1, -1):
        next_held[i] = after
        if held[i]:
            after = values[i]
    before = np.nan
    for i in range(len(values)):
        if held[i]:
            before = values[i]
            continue
        if next_held[i] in (low[i], high[i]):
            values[i] = next_held[i]
        elif before == low[i]:
            values[i] = high[i]
        elif before == high[i]:
            values[i] = low[i]
        before = values[i] if values[i] in (low[i], high[i]) else np.nan
    return values


# Compare's y axis fitted to the runs' values without their outliers (`robust_yrange`): one diverged run's
# d_loss at 1.5e11 drew every other run as a flat line at 0.
OUTLIER_GAP = 10.0  # a run's values past a leap of more than this factor, up from its own bulk ...
OUTLIER_LOG_GAP = 2.0  # ... (on a log axis, of more than this many powers of ten) are its outliers
OUTLIER_FROM = 0.25  # the quantile of a run's values its bulk is counted from (it holds while a run's
# outliers are at most three quarters of its points: the divergence preset's were 50 of its 81 rows)
AXIS_PAD_SHARE = 0.05  # the fitted axis' room beyond the values it fits, of their span, each side


def _leap(values: np.ndarray, log_y: bool) -> float:
    """Where one run's values (`robust_yrange`'s: finite; log10 of them on a log axis) leap up: the least
    size (``|v|``; on a log axis the value) past the first jump of more than `OUTLIER_GAP` times (on a log
    axis `OUTLIER_LOG_GAP` powers of ten) between two sizes in a row, sorted, at or above the run's
    `OUTLIER_FROM` quantile of them; +inf when there is none. Sizes of 0 say nothing of a run's scale (a
    hinge loss at exactly 0) and are left out of both."""
    sizes = np.sort(values if log_y else np.abs(values[values != 0]))
    if sizes.size < 2:
        return math.inf
    above = sizes[sizes >= np.quantile(sizes, OUTLIER_FROM, method="lower")]  # (one of them)
    jumps = np.diff(above) > OUTLIER_LOG_GAP if log_y else above[1:] > OUTLIER_GAP * above[:-1]
    found = np.flatnonzero(jumps)
    return float(above[found[0] + 1]) if found.size else math.inf


def robust_yrange(
    runs: Sequence[np.ndarray], log_y: bool = False, keep: Sequence[float] = ()
) -> tuple[float, float] | None:
    """The y range that fits ``runs``' values without their outliers, or None when they have none (the
    chart then ranges over all of them, as before). ``runs``: each run's values (1-D: its points, not a
    smoothed line, which an outlier drags along; non-finite ones, those beyond float32 (`_drawable`) and
    on a log axis those ≤ 0 are left out, as the chart marks them at its edge already). ``keep``: values
    the range always covers (a reference line). Returns (low, high) in the data's units, padded by
    `AXIS_PAD_SHARE` of their span each side.

    An outlier is a value of a run that leaps orders of magnitude beyond the run's own values (`_leap`):
    past a jump of more than `OUTLIER_GAP` times in their sizes, up from the bulk of them (on a log axis,
    of more than `OUTLIER_LOG_GAP` powers of ten). A divergence leaps (the divergence preset's d_loss:
    1.27, then 33.5, 4,686, 7.5e7 ... 1.85e11, more than half of its rows); what a run does on its own
    scale moves by steps, however far it goes, and is kept: a D that wins (d_loss from 1.38 down to
    0.001), an early transient, a spike of a few times the rest. Runs are never outliers of each other,
    whatever their scales (a WGAN critic's -8 to 5 beside BCE losses near 1.4, a minimax g_loss near
    -0.001 beside a non-saturating one near 0.7): the log scale is for those.

    A climb by steps of less than the gap (a run whose loss doubles at each step) is none either: the axis
    fits it, as it fits every value when there is no outlier. Nor is a run's start, the values before its
    first one in its bulk (a loss falling from 2 to near 0 leaps down by ratios, not by a divergence), nor
    a value within `OUTLIER_GAP` times (on a log axis `OUTLIER_LOG_GAP` powers of ten) of the largest the
    axis holds anyway."""
    kept, leapt, every = [], [], 0
    for values in runs:
        v = _drawable(np.asarray(values, dtype=np.float64).ravel())
        v = v[np.isfinite(v) & ((v > 0) if log_y else True)]
        if log_y:
            v = np.log10(v)
        every += v.size
        size = v if log_y else np.abs(v)
        beyond = size >= _leap(v, log_y)
        if beyond.any() and not beyond.all():
            # what comes before the run's first value in its bulk is its own start (a hinge d_loss from 2
            # down to 0.01, a minimax g_loss from -0.69 to -0.005), however far above it: a divergence
            # leaps after it
            beyond[: int(np.argmax(~beyond))] = False
        kept.append(v[~beyond])
        leapt.append(v[beyond])
    bulk = np.concatenate(kept) if kept else np.zeros(0)
    if bulk.size:
        # a leap within the gap of the other runs' values is no outlier of the chart's (a hinge run's 1.7
        # beside BCE runs near 1.4): the axis would grow less than that to show it
        top = float(bulk.max()) if log_y else float(np.abs(bulk).max())
        ceiling = top + OUTLIER_LOG_GAP if log_y else OUTLIER_GAP * top
        kept += [v[(v if log_y else np.abs(v)) <= ceiling] for v in leapt]
    rest = np.concatenate(kept) if kept else np.zeros(0)
    if rest.size == every or not rest.size:
        return None  # (no outlier: the chart fits them all, as before)
    extra = np.asarray([k for k in keep if math.isfinite(k) and (k > 0 or not log_y)], dtype=np.float64)
    rest = np.concatenate([rest, np.log10(extra) if log_y else extra])
    low, high = float(rest.min()), float(rest.max())
    pad = (high - low) * AXIS_PAD_SHARE or max(abs(high) * AXIS_PAD_SHARE, 1e-12)
    low, high = low - pad, high + pad
    return (10**low, 10**high) if log_y else (low, high)


def _beyond_axis(
    step: np.ndarray, raw: np.ndarray, yrange: tuple[float, float], log_y: bool
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A run's points whose value (``raw``, the value itself, not its smoothed line) lies beyond
    ``yrange`` (the axis `robust_yrange` fitted), by side: ``"above"`` and ``"below"`` -> (steps,
    values). Values the chart marks otherwise (non-finite, beyond float32, ≤ 0 on a log axis) are not
    among them."""
    value = _drawable(np.asarray(raw, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        placed = np.isfinite(value) & ((value > 0) if log_y else True)
        sides = {"above": placed & (value > yrange[1]), "below": placed & (value < yrange[0])}
    return {side: (step[at], value[at]) for side, at in sides.items() if at.any()}


def _off_axis(
    sources: Sequence[tuple[str, str, np.ndarray]], yrange: tuple[float, float], log_y: bool
) -> tuple[list[tuple[str, str, np.ndarray, np.ndarray]], list[Any] | None]:
    """One line's points beyond the fitted axis ``yrange`` (`robust_yrange`), as the Train view's losses
    and Compare mark them at its edge. ``sources``: ``(side, name, values)``, the values (one per point
    of the line) judged on that side, "above" or "below" (a band's max above and its min below, or the
    values themselves either way). Returns ``(side, name, indices, values)`` of each source with points
    beyond, and the line's ``layout.meta.off_axis`` entry, ``[points, [[side, furthest value], ...]]`` (a
    point beyond on both sides counted once), or None when none is."""
    hits: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    far: dict[str, float] = {}
    out: np.ndarray | None = None
    for side, name, values in sources:
        found = _beyond_axis(np.arange(len(values)), values, yrange, log_y).get(side)
        if found is None:
            continue
        at, beyond = found[0].astype(np.int64), found[1]
        out = np.zeros(len(values), dtype=bool) if out is None else out
        out[at] = True
        hits.append((side, name, at, beyond))
        value = float(beyond.max() if side == "above" else beyond.min())
        far[side] = (max if side == "above" else min)(far.get(side, value), value)
    if out is None:
        return hits, None
    return hits, [int(out.sum()), [[side, value] for side, value in far.items()]]


def compare_log_y(column: str, log_y: bool) -> bool:
    """Whether Compare draws ``column`` on a log axis: a gradient norm always (`GRAD_NORM_COLUMNS`), as the
    Train view draws them (a vanishing G gradient and an exploding D's are powers of ten apart), any other
    metric when the page's log scale is on (``log_y``)."""
    return log_y or column in GRAD_NORM_COLUMNS


def compare_off_axis_note(figure: Mapping[str, Any]) -> str | None:
    """The line under a Compare chart (`compare_figure`) whose axis leaves some runs' values out (fitted
    to the others: `robust_yrange`), naming those runs, how many points each and how far they go; None
    when it leaves none out."""
    runs = _off_axis_items(figure)
    if runs is None:
        return None
    return (
        f"Off this axis, which fits the other values: {runs}, marked at its edge with their values in the "
        "hover. To draw them, turn on Fit the axis to outliers too."
    )


def compare_figure(
    views: Mapping[str, pd.DataFrame | None],
    column: str,
    *,
    smoothing: float = 0.0,
    log_y: bool = False,
    events: Mapping[str, Events] | None = None,
    colors: Mapping[str, str] | None = None,
    statuses: Mapping[str, str] | None = None,
    fit_outliers: bool = False,
    time_axis: TimeAxis | None = None,
    dashes: Mapping[str, str] | None = None,
) -> Figure:
    """One metric across runs: a line per run, named by its run id. Runs with no rows, or whose view lacks
    ``column`` (an older run without that metric), are left out; with none left it is a placeholder that
    says "no data yet", or, when ``statuses`` (run id -> its status) says every run in ``views`` has
    ended (`ENDED`, or interrupted: no more rows will come), "none of the chosen runs logged <column>". A
    run whose view has the column but never measured it (a digits run's modes_covered, a run whose
    evaluations came after its last step) is named in the legend, "<run> (not measured)", as the
    per-step metrics' charts name one (`_say_unmeasured`).

    ``events`` (run id -> its events): each run's flags raised and cleared, as vertical markers in the
    run's colour (dotted raised, dashed cleared; `RUN_MARKER_DASH`), labelled with the flag and hovered
    with the run. Values
    the chart cannot place (see `metric_figure`) are pinned to the edge in the run's colour, a trace of each
    run's, hidden with it from a linked legend (`_edge_traces`' ``runs``). The legend
    lists every run in full, in as many rows as it takes (`_fit_legend`). ``colors`` (run id ->
    "#rrggbb") and ``dashes`` (run id -> plotly dash), a run's `run_styles`: each run's colour and line
    dash; by default the runs take `PALETTE` in order, solid.

    A metric measured only on some steps, an evaluation column (`EVAL_COLUMNS`, best drawn from
    `compare_view`) or a run's own metric that run logged on some steps only, is drawn through the steps
    that measured it, a marker on each, unsmoothed; its blanks (NaN) are not marked as failures, as in the
    Train view's quality and custom charts. A per-step metric's NaN from the run's divergence on is a
    failure mark; a blank before it, a step that did not measure the metric, is joined over
    (`_failure_bits`). A run's own metric logged on every step is smoothed like the built-in ones, as the
    Train view draws it.

    A hyperparameter column (`HPARAM_COLUMNS`: lr_g, d_steps, ...) is a setting in force, changed at a
    step: drawn as steps (each value held until the next), never smoothed (an EMA would draw a learning
    rate the run never had, creeping towards a change it made at once).

    On a log axis (``log_y``) a run whose values are all 0 or below (minimax's g_loss) has nothing to
    place: named in the legend, "<run> (all ≤ 0, not drawn)"; when no run has a
    value above 0 the chart is a placeholder that says so ("g_loss ≤ 0 everywhere: ...").

    The y axis fits the runs' values without their outliers (`robust_yrange`: a diverged run's 1.5e11
    beside losses near 1), unless ``fit_outliers``; the chart of a hyperparameter (a setting is no
    measurement), of an accuracy (0 to 1) or of a metric measured on some steps only fits all its
    values. A value beyond the fitted axis is not hidden: it is marked at the edge it went past
    (`EDGE_MARKS` "above" and "below"), in its run's colour, its value in the hover, and
    ``layout.meta["off_axis"]`` says which runs have such values (run id -> [points, [[side, furthest
    value], ...]]; `compare_off_axis_note` words it).

    The x axis is the runs' steps, or with ``time_axis`` (`compare_time_axis`) their training time in its
    unit: every point, evaluation, flag and edge mark of a run at its step's time (`RunClock.at`),
    smoothing still over the run's points in their order (as on steps); the hovers then say both, the
    time (the unified hover's title) and each run's step (its line's hover, a flag's, an edge mark's).
    A run without a clock (no ``time_s`` in its rows) is not drawn: named in the legend, "<run> (no
    training time recorded)", and in ``layout.meta["untimed"]`` (`compare_untimed_note` words it); with
    no run left to draw the chart is a placeholder that says so. ``layout.uirevision`` names the axis, so
    that a zoom plotly keeps on one x axis is not carried to the other (`_base_layout`)."""
    smoothing = _check_smoothing(smoothing)
    stepwise = column in HPARAM_COLUMNS
    if stepwise:
        smoothing = 0.0
    events = events or {}
    traces: list[dict[str, Any]] = []
    edges: dict[str, list[tuple[np.ndarray, str, list[str]]]] = {kind: [] for kind in EDGE_MARKS}
    owners: dict[str, list[str]] = {kind: [] for kind in EDGE_MARKS}  # each of edges[kind]'s run
    markers: list[tuple[Any, ...]] = []  # (step, label, kind, colour, hover, run id)
    steps = []
    drawn: list[tuple[np.ndarray, np.ndarray]] = []  # (step, value) of each run's line
    # (run, colour, x, value, step) of its points
    placed: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]] = []
    sparse_seen = False  # a run measured it on some steps only
    nonpositive: list[str] = []  # the runs with values, none of them above 0, on a log axis
    untimed: list[str] = []  # the runs with no training time, against time
    for position, (run_id, view) in enumerate(views.items()):
        if _is_empty(view) or column not in view.columns or "step" not in view.columns:
            continue
        color = (colors or {}).get(run_id) or PALETTE[position % len(PALETTE)]
        dash = (dashes or {}).get(run_id)
        # An evaluation column, or a run's own metric it logged on some steps only (one it logged on
        # every step is a line like the built-in metrics, smoothed as the Train view smooths it).
        measured = _measured(view, column)
        sparse = column in EVAL_COLUMNS or (column not in RECORD_COLUMNS and not measured.all())
        sparse_seen |= sparse
        if sparse:  # the steps that measured it (a blank's bits say NaN: not a failure, not drawn)
            if not measured.any():  # a chosen run that never measured it: said in the legend, not left out
                unmeasured = _line_traces(
                    np.empty(0), np.empty(0), name=str(run_id), color=color, smoothing=0, dash=dash
                )
                _say_unmeasured(unmeasured[-1])
                traces.extend(unmeasured)
                continue
            view = view[measured]
        if time_axis is not None and time_axis.clocks.get(run_id) is None:
            # its steps have no place on a time axis (drawn at its steps, it would read as
            # seconds); one that never measured a sparse metric is said so first, above
            unplaced = _line_traces(
                np.empty(0), np.empty(0), name=str(run_id), color=color, smoothing=0, dash=dash
            )
            unplaced[-1].update(name=f"{run_id} ({UNTIMED_LEGEND})", x=[None], y=[None])
            traces.extend(unplaced)
            untimed.append(str(run_id))
            continue
        step = view["step"].to_numpy(dtype=np.float64)
        x = step if time_axis is None else time_axis.x(str(run_id), step)
        steps.append(x)
        raw = view[column].to_numpy(dtype=np.float64)
        if stepwise and f"{column}_min" in view.columns and f"{column}_max" in view.columns:
            low, high = (view[f"{column}_{end}"].to_numpy(dtype=np.float64) for end in ("min", "max"))
            raw = _held_values(raw, low, high)
        bits = view[f"{column}_nonfinite"].to_numpy() if f"{column}_nonfinite" in view.columns else None
        kept = None
        if bits is not None and not sparse:  # steps that did not measure it: joined over (`metric_figure`)
            bits = _failure_bits(step, bits, _divergence(_records(events.get(run_id, ()))), column)
            shown = ~np.isnan(raw) | (bits != 0)
            kept = None if shown.all() else shown
        line_step, line_raw, line_x = _kept(kept, step, raw, x)
        if log_y and np.isfinite(line_raw).any() and not (line_raw > 0).any():
            # (minimax's g_loss, a critic's d_loss): a log axis has no place for any of it, and its edge
            # marks along the bottom read as values; named in the legend, not drawn
            unplaced = _line_traces(
                np.empty(0), np.empty(0), name=str(run_id), color=color, smoothing=0, dash=dash
            )
            unplaced[-1].update(name=f"{run_id} ({NOT_ON_LOG_LEGEND})", x=[None], y=[None])
            unplaced[-1].pop("customdata", None)
            traces.extend(unplaced)
            nonpositive.append(str(run_id))
            continue
        # (values beyond float32's range are edge marks, below, not points: one 1e308 would otherwise
        # carry the smoothed line off every chart for the rest of the run, as `metric_figure` does)
        line_drawable = _drawable(line_raw)
        lines = _line_traces(
            line_x,
            _positive(line_drawable) if log_y else line_drawable,
            name=str(run_id),
            color=color,
            smoothing=0.0 if sparse else smoothing,
            single_point=len(line_step) < 2,
            dash=dash,
            rows=None if sparse else view.get("rows"),
        )
        if time_axis is not None:  # the time is the hover's title; each run's step, its line's
            _hover_steps(lines[-1], line_step)
        if len(step) and not len(line_step):  # a run that never measured it: said in the legend
            _say_unmeasured(lines[-1])
        if sparse:
            lines[-1]["mode"] = "lines+markers"
            lines[-1]["marker"] = {"size": 6}
        if stepwise:
            lines[-1]["line"]["shape"] = "hv"
        traces.extend(lines)
        drawn.append((line_x, np.asarray(lines[-1]["y"], dtype=np.float64)))
        placed.append((str(run_id), color, line_x, line_raw, line_step))
        bands = [view.get(f"{column}_min"), view.get(f"{column}_max")]
        low, high = (None if b is None else b.to_numpy(dtype=np.float64) for b in bands)
        found = _edge_positions(step, raw, low, high, bits, log_y=log_y, nan_is_blank=sparse)
        for kind, (at, texts) in found.items():
            texts = [f"{html.escape(str(run_id))}: {text}" for text in texts]
            edges[kind].append((x[at], color, _at_steps(texts, step[at], time_axis)))
            owners[kind].append(str(run_id))
        for event in _records(events.get(run_id, ())):
            kind, at = event.get("kind"), _event_step(event)
            if kind not in ("flag", "flag_cleared") or at is None:
                continue
            fields = event.get("fields")
            fields = fields if isinstance(fields, Mapping) else {}
            label = _short_label(kind, fields)
            where = at if time_axis is None else float(time_axis.x(str(run_id), np.array([at]))[0])
            when = "" if time_axis is None else f" at {time_axis.words(where)}"
            hover = f"{html.escape(str(run_id))}, step {at:g}{when}: {label}"
            markers.append((where, label, _flag_marker_kind(kind, fields), color, hover, str(run_id)))
    if untimed and not drawn:  # no run's line to draw against time
        message = f"no training time recorded (time_s) by the runs that logged {column}: draw against step"
        return _x_revision(_message_figure(column, message, METRIC_HEIGHT, column), column, time_axis)
    if nonpositive and len(traces) == len(nonpositive):  # (one trace each): no run with a line to draw
        figure = _message_figure(column, f"{column} {NOT_ON_LOG_NOTE}", METRIC_HEIGHT, column)
        return _x_revision(figure, column, time_axis)
    if not traces:
        ended = statuses is not None and all(statuses.get(r) in (*ENDED, "interrupted") for r in views)
        message = f"none of the chosen runs logged {column}" if ended and views else "no data yet"
        return _x_revision(_message_figure(column, message, METRIC_HEIGHT, column), column, time_axis)
    markers = sorted(markers, key=lambda m: m[0])[-MAX_EVENT_LABELS:]
    groups = [m[5] for m in markers]  # each flag's run: hidden with it from the legend
    markers = [m[:5] for m in markers]
    # the reference line the Train view's quality chart draws with this metric (label_fidelity's 1.0), and
    # a feature-space metric's "real vs real" value, one line for the runs' (`compare_baseline`)
    hlines = [QUALITY_REFERENCES[column]] if column in QUALITY_REFERENCES else []
    baseline = compare_baseline(column, {run_id: events.get(run_id, ()) for run_id in views})
    if baseline is not None:
        hlines.append(baseline)
    span = _y_span([y for _, y in drawn], hlines, log_y)
    yrange = None if log_y else _bounded_yrange([column], span)  # (float noise not magnified)
    off_axis: dict[str, list[Any]] = {}
    # (a setting is no measurement; an accuracy has its ends; a quality metric's few evaluations move by
    # leaps of their own: a collapsed run's grid_kl of 15 beside a healthy one's 0.1, the collapse itself)
    fits = not (fit_outliers or stepwise or sparse_seen or column in ACCURACY_COLUMNS)
    if yrange is None and fits:
        fitted = robust_yrange([value for _, _, _, value, _ in placed], log_y, keep=[y for y, _ in hlines])
        if fitted is not None:
            yrange = span = fitted
            for run_id, color, x, value, step in placed:
                hits, entry = _off_axis([(side, run_id, value) for side in ("above", "below")], fitted, log_y)
                for side, _, at, values in hits:
                    texts = [f"{html.escape(run_id)}: {v:.4g}" for v in values]
                    edges[side].append((x[at], color, _at_steps(texts, step[at], time_axis)))
                    owners[side].append(run_id)
                if entry is not None:
                    off_axis[run_id] = entry
    traces.extend(_edge_traces(edges, owners))  # (a run's marks hidden with it: `_edge_traces`)
    layout = _base_layout(column, METRIC_HEIGHT)
    layout["hovermode"] = "x unified"
    layout["xaxis"] = {"title": {"text": "step", "standoff": 4}}
    if time_axis is not None:
        layout["xaxis"]["title"]["text"] = time_axis.title
        # (the unified hover's title: the time under the cursor; each run's step is in its line's hover)
        layout["xaxis"]["unifiedhovertitle"] = {"text": f"%{{x:.4~g}} {time_axis.unit} of training"}
    # (a quality metric's unit says which way is better: "Fréchet distance (0 = matches)")
    # (a log axis labelled for the data's span: without it, plotly labelled every digit of a loss' 0.5 to 1,
    # "1 0.9 0.8 0.7 0.6 0.5" in each other's way)
    layout["yaxis"] = _y_axis(QUALITY_UNITS.get(column, column), log_y, yrange, span=span if log_y else None)
    if sparse_seen:  # markers, which plotly's autorange pads below step 0: from 0, as in the Train view
        layout["xaxis"]["rangemode"] = "tozero"
        steps = [*steps, np.zeros(1)]  # (where the axis starts, for the markers' and lines' labels)
    meta = {"off_axis": off_axis, "untimed": untimed}
    if any(meta.values()):
        layout["meta"] = {name: value for name, value in meta.items() if value}
    marked = np.array([m[0] for m in markers], dtype=np.float64)
    spanned = np.concatenate([s[np.isfinite(s)] for s in steps] + [marked])
    first, width = (spanned.min(), np.ptp(spanned)) if spanned.size else (0.0, 0.0)
    plot_height = METRIC_HEIGHT - MARGIN["t"] - MARGIN["b"]
    references = _hline_shapes(
        hlines,
        log_y,
        yrange or span,
        avoid=(marked - first) / width if width > 0 else (),
        curves=[((x - first) / width, y) for x, y in drawn] if width > 0 else (),
        plot_height_px=plot_height,
        avoid_depths=[_marker_depth(m[1], plot_height) for m in markers],
    )
    figure = _finish(traces, layout, markers, _x_extent(steps, markers), references, groups=groups)
    # a run an entry, as many as the user picks: as many to a row as fit the chart's width in the browser
    # (`ui.live_chart`), not only the narrowest plot's, which the rows here are planned for
    figure["layout"].setdefault("meta", {})["legend_fill"] = True
    return _x_revision(figure, column, time_axis)


def _x_revision(figure: Figure, column: str, time_axis: TimeAxis | None) -> Figure:
    """``figure`` (Compare's chart of ``column``) with a ``uirevision`` of its x axis' own: plotly keeps the
    user's zoom while it stays the same (`_base_layout`), and a step range kept on a chart now drawn in
    seconds (or minutes, or hours) would show the wrong part of it. Against steps it stays the column."""
    if time_axis is not None:
        figure["layout"]["uirevision"] = f"{column} @ {time_axis.title}"
    return figure


def _hover_steps(line: dict[str, Any], step: np.ndarray) -> None:
    """A run's line drawn against time (``line``: `_line_traces`' last) hovered with each point's step
    as well as its value (and its raw value when smoothed, as against steps): "1.32 (raw 1.30), step
    600". The unified hover's title says the time, shared by the runs; a step is each run's own."""
    if "customdata" in line:  # (the raw values, as `_line_traces` sends them, and words them)
        line["customdata"] = np.column_stack([np.asarray(line["customdata"], dtype=np.float64), step])
        line["hovertemplate"] = line["hovertemplate"].replace(
            "%{customdata:.4g})", "%{customdata[0]:.4g}), step %{customdata[1]:,.0f}"
        )
    else:
        line["customdata"] = np.asarray(step, dtype=np.float64)
        line["hovertemplate"] = "%{y:.4g}, step %{customdata:,.0f}"


def _at_steps(texts: list[str], steps: np.ndarray, time_axis: TimeAxis | None) -> list[str]:
    """Edge marks' hover ``texts`` with each one's step, against time (the hover's title is the time);
    as they are against steps."""
    if time_axis is None:
        return texts
    return [f"{text} (step {s:,.0f})" for text, s in zip(texts, steps)]


# --------------------------------------------------------------------------------------------- snapshots


def _points(name: str, array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must be (n, 2) points, got shape {array.shape}")
    return array


def mesh_name(mesh_dims: int | None) -> str:
    """The legend's name of G's map of its noise (`points_figure`'s ``mesh``) for a latent of
    ``mesh_dims`` coordinates (None: not recorded)."""
    if mesh_dims is not None and mesh_dims > 2:
        return f"G's map of the plane z1, z2 (of {mesh_dims})"
    return "G's map of the noise z"


def _mesh_trace(mesh: np.ndarray, mesh_dims: int | None) -> dict[str, Any]:
    """`points_figure`'s mesh as one trace: its L lines of P points joined, separated by NaN gaps."""
    mesh = np.asarray(mesh, dtype=np.float64)
    if mesh.ndim != 3 or mesh.shape[2] != 2:
        raise ValueError(f"mesh must be (L, P, 2): L lines of P points, got shape {mesh.shape}")
    lines = np.concatenate([mesh, np.full((mesh.shape[0], 1, 2), np.nan)], axis=1).reshape(-1, 2)
    return {
        "type": "scatter",
        "x": _wire(lines[:, 0]),
        "y": _wire(lines[:, 1]),
        "mode": "lines",
        "name": mesh_name(mesh_dims),
        "line": {"color": MESH_COLOR, "width": 1},
        "opacity": 0.55,
        "connectgaps": False,
        "hoverinfo": "skip",
    }


def _arrow_trace(fake: np.ndarray, grads: np.ndarray, width: float) -> dict[str, Any]:
    """At most `MAX_ARROWS` arrows as one trace: segments base -> tip separated by NaN gaps, and an arrow
    marker at each tip turned along its segment (angleref "previous"); the other points get size 0.
    ``grads`` is where each point moves (minus the gradient of G's loss); an arrow is at least
    `MIN_ARROW_FRACTION` of ``width`` long, so that its direction shows, and a zero gradient draws none."""
    n = len(fake)
    # Evenly spaced and deterministic: with the run's fixed noise the arrows stay on the same points.
    chosen = np.unique(np.linspace(0, n - 1, min(n, MAX_ARROWS)).round().astype(np.int64)) if n else []
    base = fake[chosen]
    direction = np.nan_to_num(grads[chosen], nan=0.0, posinf=0.0, neginf=0.0)
    lengths = np.hypot(direction[:, 0], direction[:, 1])
    longest = lengths.max() if lengths.size else 0.0
    # Only relative lengths mean anything (the gradient's scale depends on the loss), so the longest
    # arrow is a fixed share of the width and the others keep their proportion to it, down to the
    # shortest length that still shows a direction.
    scale = ARROW_FRACTION * width / longest if longest > 0 else 0.0
    drawn = np.maximum(lengths * scale, MIN_ARROW_FRACTION * width)
    stretch = np.divide(drawn, lengths, out=np.zeros_like(lengths), where=lengths > 0)
    tip = base + direction * stretch[:, None]
    gap = np.full(len(base), np.nan)
    x = np.column_stack([base[:, 0], tip[:, 0], gap]).ravel()
    y = np.column_stack([base[:, 1], tip[:, 1], gap]).ravel()
    sizes = np.tile([0, ARROW_HEAD_PX, 0], len(base))
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines+markers",
        "name": ARROW_NAME,
        "line": {"color": ARROW_COLOR, "width": ARROW_LINE_PX},
        "marker": {"symbol": "arrow", "size": sizes, "angleref": "previous", "color": ARROW_COLOR},
        "hoverinfo": "skip",
    }


def _verdict_title(low: float, centre: float, high: float, probability: bool, fixed: bool) -> str:
    """The colour bar's title: what the heatmap is (D's output at every point of the plane, not the
    metric charts' D(x), its mean on real data) and which way is "real". ``probability``: outputs
    around a midpoint (0.5); ``fixed``: ``centre`` is a fixed verdict threshold (else a critic's median)."""
    if probability and (low, high) == (0.0, 1.0):
        return "D's output at each point (0 = fake, 1 = real)"
    what = "D's output" if probability else "D's score"
    if fixed:
        return f"{what} at each point (below {centre:.3g}: fake, above: real)"
    # A critic's scores mean something only relative to each other: white is no decision boundary
    # (short: the title is centred over the bar, and a longer one ran out of the figure on the left)
    return f"{what} (higher: real; white: median, not a boundary)"


def _verdict_colorbar(
    low: float, centre: float, high: float, probability: bool, fixed: bool = True
) -> dict[str, Any]:
    """The heatmap's colour scale as a horizontal bar just above the plot, under the legend, at the
    plot's left edge, in the top margin that `points_figure` reserves for it (`COLORBAR_BLOCK_PX`): its
    title says what is measured and which way is real (`_verdict_title`), its ticks number its ends and
    its centre. (Above, not under the plot: a plot of equal scale narrower than tall is drawn from the
    top of its area, `points_figure`, so that what is under it moves with the page's width; the bar,
    placed on the figure's paper, stays on the plot's top edge.)"""
    digits = ".2g" if probability else ".3g"
    return {
        "orientation": "h",
        "xref": "paper",
        "x": 0.0,
        "xanchor": "left",
        "xpad": 0,
        # On the container, the plot's top edge (`points_figure` sets ``y`` once the margins are known):
        # on the paper, its title made plotly.js 3 lift the figure's title out of view.
        "yref": "container",
        "y": 1.0,
        "yanchor": "bottom",
        "ypad": COLORBAR_GAP_PX,
        "lenmode": "pixels",
        "len": COLORBAR_PX,
        "thickness": 10,
        "outlinewidth": 0,
        "title": {
            "text": _verdict_title(low, centre, high, probability, fixed),
            "side": "top",
            "font": {"size": 11},
        },
        "tickvals": [low, centre, high],
        "ticktext": [format(v, digits) for v in (low, centre, high)],
        "ticklabeloverflow": "allow",
        "tickfont": {"size": 10},
    }


OFF_VIEW_NOTE_INSET_PX = 12  # the off-view note's distance from the plot's edges (`_off_view_annotation`)


def _placement(points: np.ndarray, bounds: tuple[float, float, float, float]) -> tuple[np.ndarray, ...]:
    """Which of (n, 2) ``points`` a view of ``bounds`` (xmin, xmax, ymin, ymax) can draw, as three boolean
    masks of n: inside the bounds (edges included); beyond them but with a direction (finite, or ±inf:
    pinned to the edge, `_beyond_trace`); and NaN in a coordinate, which has no place at all."""
    xmin, xmax, ymin, ymax = bounds
    unplaced = np.isnan(points).any(axis=1)
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"):
        inside = ~unplaced & (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
    return inside, ~inside & ~unplaced, unplaced


def _beyond_trace(
    name: str,
    points: np.ndarray,
    color: str,
    bounds: tuple[float, float, float, float],
    labels: Sequence[str] | None,
) -> dict[str, Any]:
    """Points beyond the view's fixed bounds, drawn at the edge where they left it: each an arrow in its
    set's colour pointing the way it went (from the nearest point of the view towards it), its true
    coordinates in the hover. In ``name``'s legend group, with no legend entry of its own: the note over
    the plot (`_off_view_note`) says what the arrows are."""
    xmin, xmax, ymin, ymax = bounds
    pinned = np.column_stack([np.clip(points[:, 0], xmin, xmax), np.clip(points[:, 1], ymin, ymax)])
    away = np.sign(points - pinned)  # (+1, 0): beyond the right edge; ±inf gives ±1 too
    # plotly turns a marker clockwise from pointing up: atan2(dx, dy)
    angle = np.degrees(np.arctan2(away[:, 0], away[:, 1]))
    named = [f"{name} {label}" for label in labels] if labels is not None else [name] * len(points)
    text = [f"{who} at ({x:.3g}, {y:.3g}): beyond the view's edge" for who, (x, y) in zip(named, points)]
    return {
        "type": "scatter",
        "x": _wire(pinned[:, 0]),
        "y": _wire(pinned[:, 1]),
        "mode": "markers",
        "name": f"{name} beyond the edge",
        "legendgroup": name,
        "showlegend": False,
        "cliponaxis": False,  # on the edge: drawn whole, not cut in half
        "marker": {
            "symbol": "arrow",
            "angle": _wire(angle),
            "size": 11,
            "color": color,
            "line": {"color": "#ffffff", "width": 1},
        },
        "text": text,
        "hovertemplate": "%{text}<extra></extra>",
    }


def _off_view_note(
    name: str, points: np.ndarray, beyond: np.ndarray, unplaced: np.ndarray, short: bool
) -> str:
    """A line saying how many of ``name``'s points the view does not show where they are, and how far
    they went ("", when it shows them all); ``short`` for a small multiple."""
    n_beyond, n_unplaced = int(beyond.sum()), int(unplaced.sum())
    if not n_beyond and not n_unplaced:
        return ""
    total = len(points)
    largest = f"{float(np.abs(points[beyond]).max()):.2g}" if n_beyond else ""
    if short:  # a small multiple's plot is about 150 px wide: two short lines
        details = ([f"|x| or |y| up to {largest}"] if n_beyond else []) + (
            [f"{n_unplaced} NaN"] if n_unplaced else []
        )
        lines = [f"{n_beyond + n_unplaced}/{total} {name} off view", ", ".join(details)]
        return "<br>".join(html.escape(line) for line in lines)
    lines = []
    if n_beyond:
        lines.append(f"{n_beyond} of {total} {name} points outside this view")
        lines.append(f"(|x| or |y| up to {largest}): arrows at its edge")
    if n_unplaced:
        lines.append(f"{n_unplaced} of {total} {name} points NaN: not drawn")
    return "<br>".join(html.escape(line) for line in lines)


# A note's text, for placing its box: characters' width and a line's height at its font (10 px for a
# small multiple, 11 otherwise), in pixels, padding included.
NOTE_CHAR_PX = {True: 5.5, False: 6.0}
NOTE_LINE_PX = {True: 13.0, False: 14.0}
CORNERS = ("top left", "top right", "bottom left", "bottom right")  # in the order they are tried
NOTE_POINT_PAD_PX = 4  # a point's marker (4 px across) and a pixel to spare, around a note's box
# The narrowest a small multiple's plot is drawn (a quarter of the page beside the Train view's 2D view,
# equal scale making it as narrow as its column): a note's box is sized for it, in the data's units.
SMALL_PLOT_MIN_PX = 140


def _empty_corner(
    point_sets: Sequence[np.ndarray],
    bounds: tuple[float, float, float, float],
    notes: Sequence[str],
    *,
    plot_px: float,
    short: bool,
) -> str | None:
    """The first corner of a points view (in the order of `CORNERS`) whose box for ``notes`` would cover
    none of the drawn points (``point_sets``, each (n, 2), in data units within ``bounds``), on a square
    plot ``plot_px`` wide, or None when every corner's box holds one: a small multiple's note covered
    two of ring8's modes in its top left corner, and on ring8 every corner's box holds a mode. The box
    reaches `NOTE_POINT_PAD_PX` beyond the text, so that a point at its edge is not half covered."""
    lines = "<br>".join(notes).split("<br>")
    pad = OFF_VIEW_NOTE_INSET_PX + NOTE_POINT_PAD_PX
    width = max(len(html.unescape(line)) for line in lines) * NOTE_CHAR_PX[short] + 6 + pad
    height = len(lines) * NOTE_LINE_PX[short] + 6 + pad
    xmin, xmax, ymin, ymax = bounds
    w, h = min(width / plot_px, 1.0) * (xmax - xmin), min(height / plot_px, 1.0) * (ymax - ymin)
    points = np.concatenate(
        [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in point_sets] or [np.zeros((0, 2))]
    )
    x, y = points[:, 0], points[:, 1]
    for corner in CORNERS:
        top, left = corner.startswith("top"), corner.endswith("left")
        in_x = (x <= xmin + w) if left else (x >= xmax - w)
        in_y = (y >= ymax - h) if top else (y <= ymin + h)
        if not np.any(in_x & in_y):
            return corner
    return None


def _off_view_annotation(notes: Sequence[str], short: bool, corner: str = "top left") -> dict[str, Any]:
    """The notes of `_off_view_note` in a corner of the plot (`CORNERS`; `_empty_corner` picks it),
    over a pale box so that they read over D's heatmap: the plot's axes stay fixed, so the figure itself
    says what it does not show. (Placed on the axes' domains, not the paper: equal scale shrinks the plot
    inside the paper.)"""
    top, left = corner.startswith("top"), corner.endswith("left")
    return {
        "text": "<br>".join(notes),
        "xref": "x domain",
        "yref": "y domain",
        "x": 0.0 if left else 1.0,
        "y": 1.0 if top else 0.0,
        "xanchor": "left" if left else "right",
        "yanchor": "top" if top else "bottom",
        # clear of the plot's edges, where the marks of the points beyond them are
        "xshift": OFF_VIEW_NOTE_INSET_PX if left else -OFF_VIEW_NOTE_INSET_PX,
        "yshift": -OFF_VIEW_NOTE_INSET_PX if top else OFF_VIEW_NOTE_INSET_PX,
        "align": "left",
        "showarrow": False,
        "font": {"size": 10 if short else 11, "color": "#222222"},
        # pale enough to read over D's heatmap, clear enough that a mode under it still shows: on a
        # small multiple of ring8 every corner's box holds one
        "bgcolor": "rgba(255,255,255,0.6)",
        "borderpad": 3,
    }


NOTE_BAND_LINES = 2  # the lines a full view's band under its plot holds; a longer note widens it
X_TICK_LABELS_PX = 22  # the x axis's tick labels under a plot, at plotly's 12 px


def _note_under_plot(notes: Sequence[str], short: bool = False) -> dict[str, Any]:
    """The notes of `_off_view_note` in the band `points_figure` keeps under the plot, below its x tick
    labels, left-aligned with the plot (placed on the axes' domains: equal scale shrinks the plot inside
    the paper); ``short``: a small multiple's, at its smaller font."""
    return {
        "text": "<br>".join(notes),
        "xref": "x domain",
        "yref": "y domain",
        "x": 0.0,
        "y": 0.0,
        "xanchor": "left",
        "yanchor": "top",
        "yshift": -X_TICK_LABELS_PX,
        "align": "left",
        "showarrow": False,
        "font": {"size": 10 if short else 11, "color": "#222222"},
    }


# A labelled point this close to the right or top edge of a 2D view (a share of the view's width or height)
# gets its label on its other side: written to the right and above it, the label ran out of the plot and
# was cut (the probe's Ask D, a point asked at the view's edge).
LABEL_EDGE_SHARE = 0.12
# Labelled points closer than this (a share of the view's larger side: about a label's width on the
# probe's view) keep one label among them, the first in order: fifty asked points in one cluster wrote
# their numbers over each other and over the points. The others keep their number in their hover.
LABEL_MIN_GAP_SHARE = 0.05


def _spaced_labels(points: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Which of ``points`` (n, 2) keep their label: in order, each one at least `LABEL_MIN_GAP_SHARE` of
    the view's larger side from every label kept before it (greedy; (n,) bool)."""
    xmin, xmax, ymin, ymax = bounds
    gap = LABEL_MIN_GAP_SHARE * max(xmax - xmin, ymax - ymin)
    kept = np.zeros(len(points), dtype=bool)
    placed: list[np.ndarray] = []
    for i, point in enumerate(points):
        if not placed or np.min(np.hypot(*(np.asarray(placed) - point).T)) >= gap:
            kept[i] = True
            placed.append(point)
    return kept


def points_figure(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    bounds: tuple[float, float, float, float],
    heatmap: np.ndarray | None = None,
    grads: np.ndarray | None = None,
    midpoint: float | None = 0.5,
    threshold: float | None = None,
    half_range: float | None = None,
    title: str = "",
    fake_name: str = "generated",
    fake_labels: Sequence[str] | None = None,
    path: np.ndarray | None = None,
    mesh: np.ndarray | None = None,
    mesh_dims: int | None = None,
    height: int = POINTS_HEIGHT,
    legend: bool = True,
    max_points: int | None = None,
) -> Figure:
    """A 2D run as GAN Lab draws it: D's output behind, real and generated points, G's gradient arrows,
    G's map of its noise.

    ``bounds`` = (xmin, xmax, ymin, ymax) fixes both axes (equal scale), so the picture does not jump as
    points move. ``heatmap`` (rows = y) is D's output on ``linspace`` grids over the bounds, as
    `Trainer.snapshot` makes it: green where D says real, purple where it says fake, white at
    ``midpoint``. With a midpoint (probability-like outputs) the colour range is ``midpoint ± 0.5`` or
    wider, so a D near chance looks pale rather than saturated at every step; with None it spans the
    heatmap's extremes, centred on ``threshold``, a fixed verdict threshold on raw scores
    (`GANLoss.threshold`: hinge's 0), or without one (a critic's raw scores, meaningful only relative to
    each other) on the heatmap's median. ``half_range`` (> 0), when given, is the colour range's
    half-width instead (around the same centre; scores beyond it saturate): the one that views drawn
    side by side share, so that a colour means one score in all of them (`heatmap_half_range`). A colour
    bar between the legend and the plot numbers its ends and says which way is D saying "real"
    (`_verdict_colorbar`). ``grads`` (one row per generated point, the direction in which G's loss falls:
    where G pushes the point) gives arrows for at most `MAX_ARROWS` evenly chosen points, the longest
    `ARROW_FRACTION` of the width, none shorter than `MIN_ARROW_FRACTION`.

    For the probe page: ``fake_name`` names the second set of points (say, points handed to D), and
    ``fake_labels`` writes a label beside each (the row numbers of a table beside the chart), but for a
    point within `LABEL_MIN_GAP_SHARE` of an earlier labelled one, whose label is in its hover only. ``path``
    (n, 2) is a latent walk, G's outputs along a line in z: one connected line with markers in G's
    colour, "A" at its first point and "B" at its last. A point set with no rows draws nothing (no empty
    legend entry).

    ``mesh`` (L, P, 2): G's map of a grid of lines in its noise space (`trainer.noise_mesh`: lines of
    constant z1 and of constant z2), drawn as thin lines under the points, each line one polyline (a
    NaN point breaks it; lines leaving the window are cut at its edge): how G stretches, folds and
    squeezes the noise onto the data, where GAN Lab draws its "manifold"; folds and a grid squeezed to a
    few spots are a collapse's shape. ``mesh_dims``, the latent size, names it: the whole noise plane
    for 2, a plane through the noise's centre (z1, z2; the rest at the median) for more.

    The axes stay fixed whatever the points do, so the figure says what they do not show: a point beyond
    the bounds (a diverged G's, say, at 1e16) is drawn at the edge where it left, as an arrow pointing
    its way (`_beyond_trace`, its coordinates in the hover), and a point with a NaN coordinate is not
    drawn; a note counts both, per set, with the farthest coordinate (`_off_view_note`): under the plot
    of a full view (a band kept for it); in a small multiple, in a corner of its plot where no drawn point
    is (`_empty_corner`), else under its plot (the figure keeping its height, the plot giving up what the
    note's band takes).

    ``height`` is the figure's, in pixels; ``legend=False`` leaves out the legend and D's colour bar (a
    small multiple beside a full view that carries them). ``max_points`` (>= 1) draws only the first that
    many real and generated points (with their arrows): for a small multiple, where a thousand points are
    one blot. Snapshots hold G's outputs on fixed noise drawn i.i.d., so the first rows are a random
    sample, the same points at every step.

    Coordinates and D's outputs go to the browser as float32 (`_wire`): the figure is sent on every
    refresh of a live view.
    """
    if max_points is not None and (
        isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1
    ):
        raise ValueError(f"max_points must be an int >= 1 or None, got {max_points!r}")
    if half_range is not None and not (
        isinstance(half_range, numbers.Real)
        and not isinstance(half_range, bool)
        and 0 < half_range < math.inf
    ):
        raise ValueError(f"half_range must be a finite number > 0 or None, got {half_range!r}")
    real = _points("real", real)
    fake = _points("fake", fake)
    if fake_labels is not None and len(fake_labels) != len(fake):
        raise ValueError(f"fake_labels needs one label per fake point ({len(fake)}), got {len(fake_labels)}")
    if grads is not None and np.shape(grads) != fake.shape:
        raise ValueError(f"grads must match fake's shape {fake.shape}, got {np.shape(grads)}")
    whole = {"real": real, fake_name: fake}  # the off-view notes count every point, drawn or not
    real, fake = real[:max_points], fake[:max_points]  # checked whole, then cut
    if grads is not None:
        grads = np.asarray(grads)[:max_points]
    if fake_labels is not None:
        fake_labels = list(fake_labels)[:max_points]
    xmin, xmax, ymin, ymax = (float(v) for v in bounds)
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"bounds must be (xmin, xmax, ymin, ymax) with min < max, got {bounds!r}")

    traces: list[dict[str, Any]] = []
    if heatmap is not None:
        z = np.asarray(heatmap, dtype=np.float64)
        if z.ndim != 2:
            raise ValueError(f"heatmap must be 2-D (rows = y), got shape {z.shape}")
        finite = z[np.isfinite(z)]
        if midpoint is not None or threshold is not None:
            centre = float(midpoint if midpoint is not None else threshold)
        else:
            centre = float(np.median(finite)) if finite.size else 0.0
        if half_range is not None:  # shared with the views beside it
            half = float(half_range)
        else:
            half = float(np.abs(finite - centre).max()) if finite.size else 0.0
            if not half > 0:
                half = 1.0  # a flat heatmap: all white, whatever the scale
        low, high = centre - half, centre + half
        if midpoint is not None and half_range is None:
            # An output between the targets 0 (fake) and 1 (real), a probability for the BCE losses: the
            # scale runs 0 to 1 (further where an LSGAN score goes beyond), white at the midpoint, 0.5, or
            # t/2 under label smoothing (then off the scale's middle: -0.1..0.9 read as a probability
            # below 0, and the outputs from 0.9 to 1 all full green)
            low = min(0.0, float(finite.min())) if finite.size else 0.0
            high = max(1.0, float(finite.max())) if finite.size else 1.0
        white = min(max((centre - low) / (high - low), 0.0), 1.0)
        traces.append(
            {
                "type": "heatmap",
                "z": _wire(z),
                "x": _wire(np.linspace(xmin, xmax, z.shape[1])),
                "y": _wire(np.linspace(ymin, ymax, z.shape[0])),
                "zmin": low,
                "zmax": high,
                "colorscale": [[0.0, HEATMAP_FAKE_TINT], [white, "#ffffff"], [1.0, HEATMAP_REAL_TINT]],
                # "fast": the browser scales the 48 x 48 grid itself (smoothly); "best" interpolates every
                # pixel in JavaScript, a cost paid on every refresh.
                "zsmooth": "fast",
                "name": "D's output",
                "showlegend": False,
                "showscale": legend,
                "colorbar": _verdict_colorbar(
                    low,
                    centre,
                    high,
                    midpoint is not None,
                    fixed=midpoint is not None or threshold is not None,
                ),
                "hovertemplate": "(%{x:.2f}, %{y:.2f})<br>D %{z:.3g} "
                + (
                    f"(D says real above {centre:.3g})"
                    if midpoint is not None or threshold is not None
                    else f"(the median here: {centre:.3g})"
                )
                + "<extra></extra>",
            }
        )
    if mesh is not None:
        traces.append(_mesh_trace(mesh, mesh_dims))
    notes = []
    for name, data, color, labels in (
        ("real", real, REAL_COLOR, None),
        (fake_name, fake, FAKE_COLOR, fake_labels),
    ):
        if not len(data):
            continue
        inside, beyond, unplaced = _placement(data, (xmin, xmax, ymin, ymax))
        drawn = data[inside]
        # None of them in the view: a blank point keeps the set's legend entry (plotly lists no trace
        # without points), which shows and hides its marks at the edge
        x, y = (_wire(drawn[:, 0]), _wire(drawn[:, 1])) if len(drawn) else ([None], [None])
        trace = {
            "type": "scatter",
            "x": x,
            "y": y,
            "mode": "markers",
            "name": name,
            "legendgroup": name,  # with its marks at the edge (`_beyond_trace`): shown and hidden together
            "marker": {"color": color, "size": 4, "opacity": 0.8},
            "hovertemplate": f"{name} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
        }
        if labels is not None:
            trace["mode"] = "markers+text"
            named = [str(label) for label, kept in zip(labels, inside) if kept]
            spaced = _spaced_labels(drawn, (xmin, xmax, ymin, ymax))
            trace["text"] = [label if keep else "" for label, keep in zip(named, spaced.tolist())]
            trace["customdata"] = named  # (every point's own, in its hover)
            # beside each point, on the side away from the nearest edges, so that no label is cut there
            near_right = drawn[:, 0] > xmin + (1 - LABEL_EDGE_SHARE) * (xmax - xmin)
            near_top = drawn[:, 1] > ymin + (1 - LABEL_EDGE_SHARE) * (ymax - ymin)
            trace["textposition"] = [
                f"{'bottom' if top else 'top'} {'left' if right else 'right'}"
                for right, top in zip(near_right.tolist(), near_top.tolist())
            ]
            trace["textfont"] = {"size": 11, "color": color}
            trace["marker"] = {"color": color, "size": 8, "line": {"color": "#ffffff", "width": 1}}
            trace["hovertemplate"] = f"{name} %{{customdata}} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"
        traces.append(trace)
        if beyond.any():
            shown = None if labels is None else [str(label) for label, out in zip(labels, beyond) if out]
            traces.append(_beyond_trace(name, data[beyond], color, (xmin, xmax, ymin, ymax), shown))
        counted = whole[name]
        if len(counted) != len(data):  # a set cut to max_points: its note counts all of it
            _, beyond, unplaced = _placement(counted, (xmin, xmax, ymin, ymax))
        note = _off_view_note(name, counted, beyond, unplaced, short=not legend)
        if note:
            notes.append(note)
    if path is not None:
        path = _points("path", path)
        if len(path):
            ends = [""] * len(path)
            ends[0], ends[-1] = "A", "B"
            traces.append(
                {
                    "type": "scatter",
                    # (contiguous copies: plotly.io's orjson engine writes only those without a Python walk)
                    "x": np.ascontiguousarray(path[:, 0]),
                    "y": np.ascontiguousarray(path[:, 1]),
                    "mode": "lines+markers+text",
                    "name": "latent walk",
                    "line": {"color": G_COLOR, "width": 2},
                    "marker": {"color": G_COLOR, "size": 7, "line": {"color": "#ffffff", "width": 1}},
                    "text": ends,
                    "textposition": "top center",
                    "textfont": {"size": 13, "color": G_COLOR},
                    "customdata": np.arange(len(path)),
                    "hovertemplate": "walk point %{customdata} (%{x:.2f}, %{y:.2f})<extra></extra>",
                }
            )
    if grads is not None:
        grads = np.asarray(grads, dtype=np.float64)
        if grads.shape != fake.shape:
            raise ValueError(f"grads must match fake's shape {fake.shape}, got {grads.shape}")
        traces.append(_arrow_trace(fake, grads, xmax - xmin))

    layout = _base_layout(title, height)
    if notes and not legend:  # a small multiple: in a corner no point is in, else under its plot
        corner = _empty_corner(
            [d for d in (real, fake) if len(d)],
            (xmin, xmax, ymin, ymax),
            notes,
            plot_px=min(max(height - MARGIN["t"] - MARGIN["b"], 1), SMALL_PLOT_MIN_PX),
            short=True,
        )
        if corner is not None:
            layout["annotations"] = [_off_view_annotation(notes, short=True, corner=corner)]
        else:  # the figure keeps its height: the plot, of equal scale, gives up what the band takes
            lines = sum(note.count("<br>") + 1 for note in notes)
            layout["margin"]["b"] += int(lines * NOTE_LINE_PX[True]) + 4
            layout["annotations"] = [_note_under_plot(notes, short=True)]
    if legend:
        _fit_legend(layout, traces)
        if heatmap is not None:  # room above the plot for the colour bar, the plot keeping its height
            layout["height"] += COLORBAR_BLOCK_PX
            layout["margin"]["t"] += COLORBAR_BLOCK_PX
        # The off-view note's band under the plot: kept whether or not there is a note, so that the view
        # keeps its height as points leave it and come back (in a corner of the plot the note covered
        # real modes: on ring8 every corner's box holds one).
        lines = sum(note.count("<br>") + 1 for note in notes)
        band = max(lines, NOTE_BAND_LINES) * NOTE_LINE_PX[False] + 4
        layout["height"] += band
        layout["margin"]["b"] += band
        if notes:
            layout["annotations"] = [_note_under_plot(notes)]
        if heatmap is not None:  # the bar on the plot's top edge, the legend over it
            (heat,) = [t for t in traces if t["type"] == "heatmap"]
            heat["colorbar"]["y"] = 1.0 - layout["margin"]["t"] / layout["height"]
            if layout.get("showlegend"):  # raised by the bar's block, in the paper's units
                paper_px = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
                layout["legend"]["y"] = 1.0 + COLORBAR_BLOCK_PX / max(paper_px, 1)
    layout["hovermode"] = "closest"
    axis = {"showgrid": False, "zeroline": False, "autorange": False, "constrain": "domain"}
    # constrain "domain": keep the fixed ranges and shrink the plot area to reach equal scale; towards
    # the top left, where the title, the legend and the colour bar are: the room equal scale leaves goes
    # under the plot, past its note, not between the plot and what names its colours.
    layout["xaxis"] = {**axis, "range": [xmin, xmax], "constraintoward": "left"}
    layout["yaxis"] = {
        **axis,
        "range": [ymin, ymax],
        "scaleanchor": "x",
        "scaleratio": 1,
        "constraintoward": "top",
    }
    return _figure(traces, layout)


def png_data_uri(image: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def heatmap_half_range(heatmaps: Iterable[np.ndarray | None], loss: GANLoss | None) -> float | None:
    """The colour range's half-width (`points_figure`'s ``half_range``) that 2D views drawn together
    share, so that one colour is one score in all of them and from one snapshot to the next:

    - a loss with margins (hinge, `GANLoss.margin`): the margin, around its threshold 0 (scores beyond
      the margins saturate: past them D's loss no longer cares);
    - a critic (`GANLoss.is_critic`): each view is centred on its own median (a critic's scores move as a
      whole, meaning nothing but their order), and the widest spread from a median among ``heatmaps``
      ((R, R) arrays of D's scores; None or all non-finite: left out) is everyone's half-width; None when
      none has a spread;
    - the others (outputs around a midpoint: the BCE losses, lsgan) and an unknown loss: None, each view
      as before (the midpoint ± 0.5, wider only where an output goes beyond)."""
    if loss is None:
        return None
    if loss.margin is not None:
        return float(loss.margin)
    if not loss.is_critic:
        return None
    spreads = []
    for heatmap in heatmaps:
        if heatmap is None:
            continue
        z = np.asarray(heatmap, dtype=np.float64)
        finite = z[np.isfinite(z)]
        if finite.size:
            spreads.append(float(np.abs(finite - np.median(finite)).max()))
    widest = max(spreads, default=0.0)
    return widest if widest > 0 else None


def snapshot_figure(
    snapshot: Mapping[str, np.ndarray],
    real_view: Mapping[str, np.ndarray] | None,
    *,
    midpoint: float | None,
    title: str,
    grads: bool = False,
    mesh: bool = False,
    row_labels: Sequence[str] | None = None,
    **points_kwargs: Any,
) -> Figure:
    """One saved snapshot (`Trainer.snapshot`, as `RunDir.snapshot` reads it back) drawn as the Train view
    draws it: an image grid, or the generated points over D's heatmap with the run's real points
    (``real_view``, `Trainer.real_view`; none drawn if it has none), with ``grads`` G's arrows and with
    ``mesh`` G's map of its noise (where the snapshot has one: `snapshot_has_mesh`).
    ``row_labels``: an image grid's, `image_grid_figure`'s (a class-conditional run's classes,
    `grid_row_labels`). ``points_kwargs`` go to `points_figure` (height, legend). Raises ValueError for
    a points snapshot without its ``bounds`` (the window it was drawn in), naming what is missing."""
    if "grid" in snapshot:
        return image_grid_figure(snapshot["grid"], title=title, row_labels=row_labels)
    if "bounds" not in snapshot or "points" not in snapshot:
        raise ValueError("it has no points or no bounds (the window it was drawn in)")
    points = snapshot["points"]
    real = real_view["points"] if real_view is not None and "points" in real_view else points[:0]
    return points_figure(
        real,
        points,
        bounds=tuple(float(v) for v in snapshot["bounds"]),
        heatmap=snapshot.get("heatmap"),
        grads=snapshot.get("grads") if grads else None,
        mesh=snapshot.get("mesh") if mesh else None,
        mesh_dims=_mesh_dims(snapshot),
        midpoint=midpoint,
        title=title,
        **points_kwargs,
    )


def snapshot_has_mesh(snapshot: Mapping[str, np.ndarray]) -> bool:
    """Whether a saved 2D snapshot holds G's map of its noise (`trainer.snapshot_view`'s ``mesh``)."""
    return "mesh" in snapshot and "points" in snapshot


def _mesh_dims(snapshot: Mapping[str, np.ndarray]) -> int | None:
    dims = snapshot.get("mesh_dims")
    try:
        value = float(np.asarray(dims).reshape(()))  # (saved as float32 with the rest)
    except (TypeError, ValueError):
        return None
    return int(value) if math.isfinite(value) and value >= 1 and value == int(value) else None


GRID_LABEL_CHARS = 14  # a row label's name, cut to this (a folder's class names can be long)
GRID_LABEL_CHAR_PX = 6.0  # a row label's characters at 11 px, with room to spare
GRID_LABEL_MIN_ROW_PX = 9  # rows shorter than this on screen are labelled every second (third ...) one


def grid_row_labels(rows: int, class_names: Sequence[str] = ()) -> list[str]:
    """The labels of a class-conditional grid's ``rows`` rows, row r being class r (`trainer.class_grid`):
    the class index, and its name where ``class_names`` has one that is not the index itself ("3 dress";
    cut to `GRID_LABEL_CHARS`, "…" where cut). Raises ValueError for a negative ``rows``."""
    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 0:
        raise ValueError(f"rows must be a whole number >= 0, got {rows!r}")
    return [class_label(index, class_names) for index in range(int(rows))]


def class_label(index: int, class_names: Sequence[str] = ()) -> str:
    """Class ``index`` as a grid row's label: the index, and its name where ``class_names`` has one that is
    not the index itself ("3 dress"), cut to `GRID_LABEL_CHARS` ("…" where cut)."""
    name = str(class_names[index]) if 0 <= index < len(class_names) else ""
    label = str(index) if name in ("", str(index)) else f"{index} {name}"
    return label if len(label) <= GRID_LABEL_CHARS else label[: GRID_LABEL_CHARS - 1] + "…"


def image_grid_figure(grid: np.ndarray, title: str = "", row_labels: Sequence[str] | None = None) -> Figure:
    """An (H, W, 3) uint8 image grid (e.g. `Trainer.snapshot()["grid"]`), no axes, height fitted to it.

    ``row_labels``: one per row of tiles, written at the left of each (a class-conditional grid's classes,
    `grid_row_labels`): the grid's height is split evenly among them, as `rundir.image_grid` lays the
    tiles out. Where the rows are too short on screen for every label, every second (third ...) row is
    labelled. Raises ValueError for a grid of another shape or type, or more labels than pixel rows."""
    grid = np.asarray(grid)
    if grid.ndim != 3 or grid.shape[2] != 3 or grid.dtype != np.uint8:
        raise ValueError(f"grid must be (H, W, 3) uint8, got shape {grid.shape} dtype {grid.dtype}")
    height, width = grid.shape[:2]
    labels = [str(label) for label in row_labels] if row_labels is not None else []
    if len(labels) > height:
        raise ValueError(
            f"row_labels: {len(labels)} labels for a grid {height} pixels tall (one per row of tiles)"
        )
    widest = max((len(html.unescape(label)) for label in labels), default=0)
    left = int(widest * GRID_LABEL_CHAR_PX + 8) if labels else 10
    margin = {"l": max(left, 10), "r": 10, "t": 36 if title else 10, "b": 10}
    # The page sets the width; assuming a ~420 px wide column, this height leaves little blank space.
    plot_height = IMAGE_MAX_HEIGHT - margin["t"] - margin["b"]
    fitted = int(round(margin["t"] + margin["b"] + plot_height * min(1.0, height / max(width, 1))))
    layout = _base_layout(title, max(fitted, 120))
    layout["margin"] = margin
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    layout["xaxis"] = dict(hidden)
    layout["yaxis"] = dict(hidden)
    if labels:
        # At most the figure's plot height on screen (less where the column's width limits the grid).
        row_px = (layout["height"] - margin["t"] - margin["b"]) / len(labels)
        every = max(1, math.ceil(GRID_LABEL_MIN_ROW_PX / max(row_px, 1e-9)))
        font = int(min(11, max(8, row_px - 2)))
        row = (height - 1) / len(labels)  # a tile and its 1 px of padding, in the image's pixels
        layout["annotations"] = [
            {
                # on the image's own axes (pixels, y downwards): beside its rows wherever the equal-scale
                # image sits in the figure
                "text": html.escape(label),
                "xref": "x",
                "yref": "y",
                "x": -0.5,
                "y": (index + 0.5) * row + 0.5,
                "xanchor": "right",
                "yanchor": "middle",
                "xshift": -3,
                "showarrow": False,
                "font": {"size": font, "color": "#333333"},
            }
            for index, label in enumerate(labels)
            if index % every == 0
        ]
    # Sent as a PNG (a few KB) rather than as z values: the browser then shows an image it is given
    # instead of painting a canvas from 16,000+ numbers and encoding it itself, every refresh.
    trace = {"type": "image", "source": png_data_uri(grid), "name": title or "samples", "hoverinfo": "skip"}
    return _figure([trace], layout)


PRDC_COLUMNS = {space: columns[2:] for space, columns in FEATURE_COLUMNS_BY_SPACE.items()}
# The quality metrics (every eval_every steps) in charts of one scale each: (name, title, columns).
# Which columns are measured depends on the data: modes_covered, hq_pct, mode_kl, grid_kl, grid_js on
# ring8/grid25; grid_kl, grid_js on other 2D data; classes_covered, class_kl, diversity on digit-like
# images; diversity alone on other images. A title is one line at the narrowest chart (`QUALITY_TITLE_PX`,
# 38 characters): a second line, or a legend of more rows, lowered its plot below its neighbours'.
QUALITY_GROUPS = (
    ("coverage", "Coverage", ("modes_covered", "classes_covered")),
    ("samples", "Sample quality", ("hq_pct", "diversity")),
    # The KLs apart: mode_kl and class_kl (G's histogram over the data's K modes or classes against the
    # data's even one) are at most ln K, 2.08 on ring8, while grid_kl (over a grid's cells) reaches 15+
    # on a collapsed run: on one axis the first, the one that shows mode collapse, was a flat line.
    ("kl_modes", "KL divergence over modes or classes", ("mode_kl", "class_kl")),
    ("kl_grid", "KL divergence (2D grid)", ("grid_kl",)),
    # bounded by ln 2 (no overlap at all): beside grid_kl (unbounded, often 10+) its worst looked like 0
    ("js", "Jensen-Shannon divergence (2D grid)", ("grid_js",)),
    # class-conditional runs: does G draw the class asked for; (acgan) does D's class head name it
    ("labels", "Label fidelity", ("label_fidelity", "d_class_acc")),
    # (what G's samples show needs a classifier: a folder's acgan run measures D's class head alone)
    # Image quality in a feature space (gan_core.feature_metrics), one chart per scale and space; each
    # column's "real vs real" baseline (the run's ``baseline`` event) drawn as its dashed line.
    ("fd_cls", "Fréchet distance (classifier features)", ("fd_cls",)),
    ("kid_cls", "KID (classifier features)", ("kid_cls",)),
    # PRDC: precision, recall, density, coverage, the four named in the legend below the title (and the
    # name of their reference implementation, clovaai's `prdc`); in words they took two lines
    ("prdc_cls", "PRDC (classifier features)", PRDC_COLUMNS["cls"]),
    ("fid", "FID (Inception features)", ("fid",)),
    ("kid", "KID (Inception features)", ("kid",)),
    ("prdc_inception", "PRDC (Inception features)", PRDC_COLUMNS["inception"]),
)
QUALITY_COLUMNS = tuple(dict.fromkeys(c for _, _, columns in QUALITY_GROUPS for c in columns))
# (and the view's columns a quality chart draws from besides: each one's min-max band)
QUALITY_COLUMNS_AND_BANDS = frozenset(f"{c}{end}" for c in QUALITY_COLUMNS for end in ("", "_min", "_max"))
QUALITY_REFERENCES = {  # drawn with their column
    "diversity": (1.0, "diversity of real data"),
    "label_fidelity": (1.0, "every sample its class"),
    "grid_js": (math.log(2), "ln 2 = 0.69: no overlap (the most)"),
}
QUALITY_UNITS = {
    "modes_covered": "modes with ≥ 1 HQ sample",
    "classes_covered": "classes with ≥ 1 sample",
    "hq_pct": "% high quality",
    "diversity": "diversity (real = 1)",
    "mode_kl": "nats (0 = as even as the data)",
    "class_kl": "nats (0 = as even as the data)",
    "grid_kl": "nats (0 = matches)",
    "grid_js": "nats (0 = matches, ln 2 = most)",
    "label_fidelity": "fraction correct (0-1)",
    "d_class_acc": "fraction correct (0-1)",
    "fd_cls": "Fréchet distance (0 = matches)",
    "kid_cls": "KID (0 = matches)",
    "fid": "FID (0 = matches)",
    "kid": "KID (0 = matches)",
    # (density has no upper bound: G's samples packed where the reals are dense, as a collapsed G's can
    # be, pass 1; a review read "fraction" over a density of 1.48 as better than real. The four share a
    # chart and its axis title; each one's dashed "real vs real" line is its baseline)
    **{c: "fraction (density can pass 1)" for columns in PRDC_COLUMNS.values() for c in columns},
}
# The quality metrics with fixed ends, (low, high): a chart of them alone spans at least a tenth of that
# (`_bounded_yrange`). grid_js flat at ln 2 (no overlap at all) was drawn on an axis of 0.693146 to
# 0.693147, its float noise a wave and its tick labels as wide as the axis title's room.
QUALITY_BOUNDS = {
    "grid_js": (0.0, math.log(2)),
    "hq_pct": (0.0, 100.0),
    "label_fidelity": (0.0, 1.0),
    "d_class_acc": (0.0, 1.0),
    **{c: (0.0, 1.0) for columns in PRDC_COLUMNS.values() for c in columns if not c.startswith("density")},
}
MIN_SPAN_SHARE = 0.1  # of a bounded metric's range: the least its chart's y axis spans
QUALITY_TITLE = "Quality (every eval_every steps)"
# The Train view's small charts (the quality charts, a run's custom metrics) flow into as many equal
# columns as fit its main area, each at least SMALL_CHART_MIN_PX wide (`ui.live_chart.chart_grid_style`).
# With the sidebar open (300 px) and Streamlit's padding, the main area is 980 px wide in a 1440 px
# window: 3 to a row, 316 px each; 564 in a 1024 px window: 2 to a row, 274 each (they were 3 of 177,
# their titles on two lines); 436 at 768: 1 to a row (2 of 360 with the sidebar closed, its default
# there; 1 on a phone). Why 260 (measured in Chromium, screenshots at 220-300 px): the longest titles
# ("KL divergence over modes or classes", "Fréchet distance (classifier features)") end ~215 px into
# their chart; at 220 px they reach its edge and run into the next column's title, at 260 ~45 px are
# left; and two columns of 1024's 564 px, less a 15 px scrollbar (a desktop browser's, not an
# overlay), are 266 px each: still two to a row there. 300 (the width three to a row gave at 1400 px)
# would have put one chart to a row at 1024.
SMALL_CHART_MIN_PX = 260
SMALL_CHART_MIN_PLOT_PX = SMALL_CHART_MIN_PX - MARGIN["l"] - MARGIN["r"]
# The least width of a snapshot's panel where several are laid out side by side (Compare's samples, one per
# run, `ui.live_chart.chart_grid_style`): its widest texts are drawn at fixed pixels, not fitted to the
# width, and end ~282 px from its left (measured in Chromium): a critic's colour bar title ("D's score
# (higher: real; white: median, not a boundary)", centred on its `COLORBAR_PX` bar) and the off-view note
# under the plot ("1000 of 1000 generated points outside this view"). At `SMALL_CHART_MIN_PX`, two to a row
# of 1024's 564 px, both were cut at 274 px; three to a row at 1440 (316 px each) still fit.
SAMPLE_PANEL_MIN_PX = 300
# The quality charts' and the custom metrics' legends are planned for that narrowest chart's plot. The
# quality charts' titles are wrapped for 290 px at `TITLE_CHAR_PX` (7.5 px a character, with room to
# spare: 5.8 measured), so that every title of `QUALITY_GROUPS` is one line: 38 characters at most,
# which fit the narrowest chart as drawn (above; the browser measures each title, and breaks one that
# does not fit its chart: `ui.live_chart`).
QUALITY_MIN_PLOT_PX = SMALL_CHART_MIN_PLOT_PX
QUALITY_TITLE_PX = 290


def _bounded_yrange(
    columns: Sequence[str], span: tuple[float, float] | None, *, from_zero: bool = False
) -> tuple[float, float] | None:
    """A linear y range for a chart of ``columns`` whose data (and reference lines) span ``span`` (low,
    high; `_y_span`), when every column has fixed ends (`QUALITY_BOUNDS`) and ``span`` (from 0 with
    ``from_zero``) is narrower than `MIN_SPAN_SHARE` of them: that much around the data, kept inside the
    ends, with a little room beyond them for the markers. None otherwise (plotly ranges the axis)."""
    bounds = [QUALITY_BOUNDS.get(c) for c in columns]
    if span is None or not bounds or any(b is None for b in bounds):
        return None
    lowest, highest = min(b[0] for b in bounds), max(b[1] for b in bounds)
    least = (highest - lowest) * MIN_SPAN_SHARE
    low, high = (min(0.0, span[0]) if from_zero else span[0]), span[1]
    if high - low >= least:
        return None
    low = min(max(lowest, (low + high - least) / 2), highest - least)
    pad = least * 0.05
    return (low - pad, low + least + pad)


def quality_baselines(events: Events) -> dict[str, float]:
    """The feature-space metrics' "real vs real" values (column -> value) from the run's latest
    ``baseline`` event (a resumed run measures them again); finite numbers only (events.csv is a file
    anyone may have edited)."""
    fields = _latest_baseline(events)
    return {column: float(fields[column]) for column in FEATURE_COLUMNS if _finite_number(fields.get(column))}


def _latest_baseline(events: Events) -> Mapping[str, Any]:
    """The fields of a run's latest ``baseline`` event (a resumed run measures them again), {} for none."""
    found: Mapping[str, Any] = {}
    for event in _records(events):
        if event.get("kind") == "baseline" and isinstance(event.get("fields"), Mapping):
            found = event["fields"]
    return found


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def quality_baseline_rows(events: Events) -> int | None:
    """n, the images of each real half the run's latest ``baseline`` event measured (and of G's measured
    against it), or None: no baseline, or one recorded before it said (a run of an earlier version)."""
    rows = _latest_baseline(events).get("rows")
    return int(rows) if _finite_number(rows) and rows > 0 else None


def compare_baseline(column: str, events: Mapping[str, Events]) -> tuple[float, str] | None:
    """Compare's reference line for a feature-space metric ``column`` (`FEATURE_COLUMNS`): the chosen
    runs' "real vs real" values (`quality_baselines` of each run's ``events``, run id -> events), as
    ``(y, label)``: ``"real vs real: 0.969"`` at the one value they share (to 3 significant digits), or their
    mean labelled with their range (``"real vs real: 1.03–1.53"``: runs of other seeds, or measured at
    another n, `compare_sample_size_note`); None for another column or no run with a baseline."""
    if column not in FEATURE_COLUMNS:
        return None
    values = [
        found[column] for run_events in events.values() if column in (found := quality_baselines(run_events))
    ]
    if not values:
        return None
    low, high = min(values), max(values)
    if f"{low:.3g}" == f"{high:.3g}":  # (its value: a line at a plot's top edge has no tick to read it by)
        return (sum(values) / len(values), f"real vs real: {low:.3g}")
    return (sum(values) / len(values), f"real vs real: {low:.3g}–{high:.3g}")


def compare_sample_size_note(column: str, events: Mapping[str, Events]) -> str | None:
    """A line for Compare's chart of a feature-space metric ``column`` whose runs measured it at different
    n (`quality_baseline_rows` of each run's ``events``: an acgan run's 718 digits beside another's 898),
    else None. The Fréchet distance is biased upward at smaller n, and precision, recall, density and
    coverage move with it (their k-nearest-neighbour radii); KID, unbiased, does not: no note. Runs that
    did not record n are left out."""
    if column not in FEATURE_COLUMNS or column.startswith("kid"):
        return None
    by_rows: dict[int, list[str]] = {}
    for run_id, run_events in events.items():
        rows = quality_baseline_rows(run_events)
        if rows is not None:
            by_rows.setdefault(rows, []).append(run_id)
    if len(by_rows) < 2:
        return None

    def named(runs: list[str]) -> str:  # (run ids are folder names: the page shows the note as text)
        shown = ", ".join(runs[:MANY_RUNS_NAMED])
        return shown + (f" and {len(runs) - MANY_RUNS_NAMED} more" if len(runs) > MANY_RUNS_NAMED else "")

    sizes = "; ".join(f"n = {rows} ({named(runs)})" for rows, runs in sorted(by_rows.items()))
    why = (
        "the Fréchet distance is biased upward at smaller n"
        if column.startswith(("fd_", "fid"))
        else "its k-nearest-neighbour radii shrink as n grows"
    )
    return (
        f"{column} was measured at different sample sizes: {sizes}. It depends on n ({why}): read each "
        "run against its own real-vs-real value (its Train view's dashed line), not against another run's."
    )


def _quality_columns(names: Sequence[str]) -> list[str]:
    """Of a view's column ``names``, in order: ``step`` and what the quality charts draw (each quality
    column, its band and its non-finite bits)."""
    return [c for c in names if c == "step" or c.removesuffix("_nonfinite") in QUALITY_COLUMNS_AND_BANDS]


def metric_view(
    store: MetricStore,
    points: int,
    custom: Sequence[str] = (),
    steps: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """What the Train view's metric charts (and the ``custom`` metrics' charts) draw from a run's
    ``store``: its downsampled view of at most ``points`` points, non-finite bits included, as arrays
    (`MetricStore.view_columns`), of the columns drawn only (a view's cost grows with its columns, and it
    is taken at every refresh); with ``steps`` (low, high), the range the charts are zoomed on, that
    range in up to ``points`` points of its own. The quality charts draw from `evaluations`."""
    drawn = [c for c in dict.fromkeys((*METRIC_COLUMNS, *LR_COLUMNS, *custom)) if c in store.columns]
    return store.view_columns(points, drawn, nonfinite=True, steps=steps)


def evaluations(store: MetricStore) -> pd.DataFrame:
    """What the quality charts (`quality_figures`) draw from a run's ``store``: the rows of its
    evaluations, each at its own step (`MetricStore.exact_view` of the `QUALITY_COLUMNS` measured so far).
    It changes when `MetricStore.exact_version` does."""
    return store.exact_view([c for c in QUALITY_COLUMNS if c in store.exact_measured])


# The Fréchet distances fall from the hundreds to a few over a run: on a linear axis everything after the
# first evaluations lay flat at 0, the run's 2.3 against its real-vs-real 1 unreadable without a zoom. Their
# charts take a log axis once the values drawn spread over `LOG_SPREAD` or more (all above 0; KID, an
# unbiased estimate that can be below 0, keeps its linear axis).
LOG_WHEN_SPREAD = ("fd_cls", "fid")
LOG_SPREAD = 20.0


def _spread_over_decades(arrays: Sequence[np.ndarray]) -> bool:
    """Whether the finite values of ``arrays`` are all above 0 and their largest is at least `LOG_SPREAD`
    times their smallest (a log axis shows them; a linear one flattens the small ones)."""
    values = (
        np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays]) if arrays else np.array([])
    )
    values = values[np.isfinite(values)]
    return bool(values.size) and values.min() > 0 and values.max() >= LOG_SPREAD * values.min()


def quality_figures(
    view: View | None,
    events: Events = (),
    *,
    coverage_total: int | None = None,
    references: Mapping[str, tuple[float, str]] | None = None,
    ended: bool = False,
    unwatched: bool = False,
) -> dict[str, Figure]:
    """The quality metrics measured so far, one chart per scale that the data has measurements on
    (`QUALITY_GROUPS`), by group name; before the first evaluation one placeholder, ``"pending"``, which
    says that the run ended before its first when ``ended`` (a run shorter than its eval_every), or
    that no G was watched when ``unwatched`` (`RunView.unwatched`: a user's loop that never passed one).
    ``coverage_total`` (K, the data's modes or classes) is drawn as the Coverage chart's target line and
    as ln K, the most ``mode_kl`` or ``class_kl`` can be (every sample in one mode or class), and the
    feature-space metrics' baselines (`quality_baselines` of ``events``) as theirs. ``references``:
    more lines, column -> (value, label), drawn where their column is (e.g. the standalone classifier's
    held-out accuracy beside ``d_class_acc``).

    Only evaluated steps are kept, so the sparse measurements draw as connected lines with a marker per
    evaluation rather than isolated points between blanks. Each chart's top margin is its own title's
    and legend's: the page lines up the plots of the charts it draws side by side (`ui.live_chart`'s
    ``row_group``), which only the browser knows, as it flows them into as many columns as fit."""
    message = (
        "no evaluation: no G was watched (run.watch)"
        if unwatched
        else "no evaluation: the run ended before its first"
        if ended
        else "no evaluation yet"
    )
    pending = {"pending": _message_figure(QUALITY_TITLE, message, METRIC_HEIGHT, None)}
    if _is_empty(view):
        return pending
    figures: dict[str, Figure] = {}
    baselines = quality_baselines(events)
    # The quality columns, their bands and non-finite bits only, selected once: pandas' per-column access
    # and row selection on the whole view (~170 columns, an Arrow-backed column index) cost ~20 ms a
    # build, most of it in pandas' checks, not in the data.
    view = _table(view, _quality_columns(_names(view)))
    present = [c for c in QUALITY_COLUMNS if c in view]
    measured_at = {c: np.flatnonzero(~np.isnan(np.asarray(view[c], dtype=np.float64))) for c in present}
    for name, title, wanted in QUALITY_GROUPS:
        columns = [c for c in wanted if c in measured_at and measured_at[c].size]
        if not columns:
            continue
        if name == "labels" and columns == ["d_class_acc"]:  # D's class head alone: data with no classifier
            title = LABELS_D_ONLY_TITLE  # (a review: "Label fidelity" over D's accuracy alone)
        measured = {c: np.asarray(values)[measured_at[columns[0]]] for c, values in view.items()}
        lines = [QUALITY_REFERENCES[c] for c in columns if c in QUALITY_REFERENCES]
        known = [baselines[c] for c in columns if c in baselines]
        if len(known) == 1:
            lines.append((known[0], f"{columns[0]}: real vs real"))
        elif known:  # precision, recall, density, coverage: one line for four close values (~0.95)
            lines.append((sum(known) / len(known), f"real vs real: {min(known):.2f}–{max(known):.2f}"))
        lines += [(references or {})[c] for c in columns if c in (references or {})]
        if name == "coverage" and coverage_total:
            lines.append((float(coverage_total), f"all {coverage_total}"))
        if name == "kl_modes" and coverage_total and coverage_total > 1:
            one = "mode" if "mode_kl" in columns else "class"
            ceiling = math.log(coverage_total)  # "= 2.08": in the charts' font "ln" reads as "In"
            lines.append((ceiling, f"ln {coverage_total} = {ceiling:.2f}: all in one {one}"))
        y_title = " / ".join(dict.fromkeys(QUALITY_UNITS[c] for c in columns))
        drawn = [measured[c] for c in columns] + [
            measured[f"{c}{end}"] for c in columns for end in ("_min", "_max") if f"{c}{end}" in measured
        ]
        log_y = name in LOG_WHEN_SPREAD and _spread_over_decades(drawn)
        yrange = None if log_y else _bounded_yrange(columns, _y_span(drawn, lines, False), from_zero=True)
        figures[name] = metric_figure(
            measured,
            columns,
            title=_wrap_title(title, QUALITY_TITLE_PX),
            events=events,
            y_title=y_title,
            hlines=lines,
            markers=True,
            nan_is_blank=True,  # a quality column is blank between evaluations, not failed
            from_zero=True,  # every quality metric is ≥ 0, and training starts at step 0
            log_y=log_y,
            yrange=yrange,  # (a bounded metric's noise not magnified: `_bounded_yrange`)
            min_plot_px=QUALITY_MIN_PLOT_PX,
        )
    return figures or pending


# The "labels" chart's title when it draws D's class head alone (acgan on data with no classifier)
LABELS_D_ONLY_TITLE = "D's class accuracy (held-out reals)"
CUSTOM_TITLE = "Custom metrics"
# A custom metric's chart where the run has rows but none holds a value of it (a NaN is recorded blank)
NO_CUSTOM_VALUE = "no value to draw: NaN or blank at every step so far"


def custom_metric_groups(columns: Sequence[str]) -> list[tuple[str, list[str]]]:
    """A run's custom metrics in sections by the part of their names before the first ``/``, as
    TensorBoard's scalar dashboard and W&B's panels group them (``val/fid`` and ``val/kid/mean`` in
    ``val``): ``[(group, names), ...]``, the metrics with no such part first, under ``""`` (``fake_std``,
    ``/x``), then each group in the order the run first logged one of its metrics, and in a group the
    metrics in the order logged (``columns``' order: a metric a run logs later joins the end of its group,
    a new group the end of the list). A group is never empty; no group for an empty ``columns``."""
    groups: dict[str, list[str]] = {}
    for name in columns:
        head, slash, _ = name.partition("/")
        groups.setdefault(head if slash and head else "", []).append(name)
    ungrouped = groups.pop("", None)
    return ([("", ungrouped)] if ungrouped else []) + list(groups.items())


def _measured(view: View, column: str) -> np.ndarray:
    """Which points of ``view`` measured ``column``: a value, or an inf among its rows (the mean of a
    point that holds one is NaN, its kind in ``column``_nonfinite's bits: drawn as an edge mark). A NaN
    point is a step that did not log it (a blank, as metrics.csv holds it)."""
    measured = ~np.isnan(np.asarray(view[column], dtype=np.float64))
    if f"{column}_nonfinite" in view:  # (a DataFrame's columns, a mapping's keys)
        measured |= np.asarray(view[f"{column}_nonfinite"]) & (NONFINITE_POSINF | NONFINITE_NEGINF) > 0
    return measured


def custom_metric_figures(
    view: View | None, columns: Sequence[str], events: Events = (), smoothing: float = 0.0
) -> dict[str, Figure]:
    """One chart per custom metric (a run's own metrics.csv columns beyond the schema's, logged through
    `gan_core.track`), by column name, drawn like the built-in metrics (bands, smoothing, event markers).
    A metric logged only on some steps (blank on the others: a Lightning validation's) is drawn through
    its measured steps, with a marker on each, on a step axis from 0 as the quality charts' (its points
    line up with the other charts' steps; a single one is not on plotly's rounding around it, 39.5-40.5)."""
    figures: dict[str, Figure] = {}
    for column in columns:
        if _is_empty(view) or column not in view:
            figures[column] = _message_figure(column, "no value yet", METRIC_HEIGHT, None)
            continue
        table = _table(view)
        kept = _measured(table, column)
        if not kept.any():  # (rows, none with a value: "no data yet" read as if log had not been called)
            figures[column] = _message_figure(column, NO_CUSTOM_VALUE, METRIC_HEIGHT, None)
            continue
        sparse = not kept.all()
        figures[column] = metric_figure(
            {c: np.asarray(values)[kept] for c, values in table.items()} if sparse else table,
            [column],
            title=column,
            smoothing=0.0 if sparse else smoothing,
            events=events,
            y_title=column,
            markers=sparse,
            nan_is_blank=sparse,
            steps_from_zero=sparse,
            min_plot_px=SMALL_CHART_MIN_PLOT_PX,  # (as narrow as the page's grid draws it)
        )
    return figures


# ------------------------------------------------------------------------------------ per class / per mode

MISSED_COLOR = "#d62728"  # a class or mode G misses: the failure flags' red
FIDELITY_COLOR = PALETTE[0]
SHARE_PLOT_PX = 190  # the shares' plot; the fidelity plot under it, when there is one, `FIDELITY_PLOT_PX`
FIDELITY_PLOT_PX = 120
SHARE_GAP_PX = 46  # between the two plots: the shares' tick labels and the fidelity plot's title
TICK_CHAR_PX = 6.5  # a tick label's characters at 12 px, with room to spare (a slanted label's height)
REAL_SHARE_HALF_WIDTH = 0.42  # the real share's tick over each bar, in bars (a bar is 0.8 wide)


def class_share_figure(record: Mapping[str, Any]) -> Figure:
    """Which classes (digit-like images) or modes (ring8, grid25) G's samples fall in at one evaluation:
    ``record`` is `RunView.class_shares`' (a ``class_shares`` event's fields with its ``step``): ``per``
    "class" or "mode", ``names`` (K,), ``share`` (K,) G's share (0-1) of its evaluation samples,
    ``real_share`` (K,) the real data's, and for a class-conditional G ``fidelity`` (per class asked for,
    0-1; NaN for a class not asked), else None.

    G's shares are bars (`FAKE_COLOR`; for modes, with ``nearest``, each mode's share of G's samples
    whose nearest mode it is, however far, as an outline over its bar: a collapsed G's blob beside a
    cluster, outside its 3 std, shows there), those it misses (under `diagnostics.MISSED_FRACTION` of the real
    share, `diagnostics.missed`) in `MISSED_COLOR`, their labels too (a bar of 0 % shows nothing); the
    real share is a green level line over each bar. With
    ``fidelity``, a second plot under the first gives it per class on 0-1, with its mean (the run's
    ``label_fidelity``) as a dashed line. Titled "Per class at step N" ("Per mode ..."). ValueError for
    lists of other lengths than ``names``."""
    from gan_core.diagnostics import MISSED_FRACTION, missed

    per, step = str(record.get("per", "class")), record.get("step")
    names = [str(name) for name in record.get("names") or []]
    share = np.asarray(record.get("share", []), dtype=np.float64)
    real = np.asarray(record.get("real_share", []), dtype=np.float64)
    if len(share) != len(names) or len(real) != len(names):
        raise ValueError(
            f"share ({len(share)}) and real_share ({len(real)}) must have one value per name ({len(names)})"
        )
    fidelity = record.get("fidelity")
    fidelity = None if fidelity is None else np.asarray(fidelity, dtype=np.float64)[: len(names)]
    nearest = record.get("nearest") if per == "mode" else None
    nearest = None if nearest is None else np.asarray(nearest, dtype=np.float64)[: len(names)]
    nearest = nearest if nearest is not None and len(nearest) == len(names) else None
    gone = missed(share, real, nearest)
    at = np.arange(len(names), dtype=np.float64)
    # a class by its index and name where it has one ("0 T-shirt/top"), as the grid's rows are labelled
    labels = [html.escape(class_label(i, names)) for i in range(len(names))]
    # a missed class's label in red too: a bar of 0 % shows nothing
    ticks = [
        f'<span style="color:{MISSED_COLOR}"><b>{t}</b></span>' if m else t for t, m in zip(labels, gone)
    ]
    words = f"{per} " if per == "mode" or all(name.isdigit() for name in names) else ""

    def hover(i: int) -> str:
        text = f"{words}{labels[i]}: {share[i]:.1%} of G's samples, real {real[i]:.1%}"
        if nearest is not None:  # (red judges where G's points go, high quality or not: the outline)
            text += f"; {nearest[i]:.1%} nearest it"
        return text + (" (under-represented)" if gone[i] else "")

    texts = [hover(i) for i in range(len(names))]
    common = {
        "type": "bar",
        "width": 0.8,
        "hovertemplate": "%{text}<extra></extra>",
        "xaxis": "x",
        "yaxis": "y",
    }
    traces: list[dict[str, Any]] = [
        {
            **common,
            "x": at[~gone],
            "y": share[~gone],
            "text": [texts[i] for i in np.flatnonzero(~gone)],
            "name": "G's share",
            "marker": {"color": FAKE_COLOR},
            "textposition": "none",
        },
    ]
    if gone.any():
        traces.append(
            {
                **common,
                "x": at[gone],
                "y": share[gone],
                "text": [texts[i] for i in np.flatnonzero(gone)],
                "textposition": "none",
                # for modes judged on the outline, G's points nearest each (a 0 % bar beside an outline
                # is no miss: G's points are there, off the cluster; a student read it as one)
                # ("under-represented", not "missed": `classes_covered` counts a class G draws once, and
                # a student read 6 red bars beside "8 of 10 covered" as a contradiction)
                "name": (
                    f"under-represented (nearest < {MISSED_FRACTION:.0%} of real)"
                    if nearest is not None
                    else f"under-represented (< {MISSED_FRACTION:.0%} of real)"
                ),
                "marker": {"color": MISSED_COLOR},
            }
        )
    if nearest is not None:  # where G's mass goes, high quality or not
        traces.append(
            {
                **common,
                "x": at,
                "y": nearest,
                "text": [
                    f"{words}{labels[i]}: {nearest[i]:.1%} of G's samples nearest it" for i in range(len(at))
                ],
                "textposition": "none",
                "name": "nearest this mode (any distance)",
                "marker": {"color": "rgba(0,0,0,0)", "line": {"color": FAKE_COLOR, "width": 1.5}},
            }
        )
    # the real share: a short level line over each bar (one trace, its segments split by gaps)
    ends = np.stack(
        [at - REAL_SHARE_HALF_WIDTH, at + REAL_SHARE_HALF_WIDTH, np.full_like(at, np.nan)], axis=1
    )
    levels = np.stack([real, real, np.full_like(real, np.nan)], axis=1)
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": ends.ravel(),
            "y": levels.ravel(),
            "name": "real share",
            "line": {"color": REAL_COLOR, "width": 2.5},
            "hoverinfo": "skip",
            "xaxis": "x",
            "yaxis": "y",
        }
    )
    # Slanted tick labels where names are words (fashion-mnist's, a folder's): the room under the plot grows
    # with the longest.
    widest = max((len(html.unescape(label)) for label in labels), default=1)
    slanted = widest > 3
    ticks_px = int(widest * TICK_CHAR_PX * 0.6) + 8 if slanted else 0
    x_axis = {
        "tickmode": "array",
        "tickvals": at,
        "ticktext": ticks,
        "tickangle": -35 if slanted else 0,
        "range": [-0.6, len(names) - 0.4],
        "showgrid": False,
        "zeroline": False,
    }
    top = max(float(np.nanmax(share, initial=0.0)), float(np.nanmax(real, initial=0.0)), 0.01)
    if nearest is not None:
        top = max(top, float(np.nanmax(nearest, initial=0.0)))
    title = f"Per {per} at step {step}" if step is not None else f"Per {per}"
    height = MARGIN["t"] + SHARE_PLOT_PX + MARGIN["b"] + ticks_px
    layout = _base_layout(title, height)
    layout["margin"] = {**layout["margin"], "b": MARGIN["b"] + ticks_px}
    layout["barmode"] = "overlay"
    layout["xaxis"] = {**x_axis, "title": {"text": per}}
    layout["yaxis"] = {
        "title": {"text": "share of G's samples"},
        "tickformat": ".0%",
        "range": [0.0, min(1.0, top * 1.15) if top < 0.87 else 1.0],
        "fixedrange": True,
    }
    if fidelity is not None:
        asked = np.arange(len(fidelity), dtype=np.float64)
        shown = np.where(np.isfinite(fidelity), fidelity, 0.0)
        notes = [
            f"{words}{labels[i]}: {fidelity[i]:.1%} of the samples asked for it are named it"
            if np.isfinite(fidelity[i])
            else f"{words}{labels[i]}: never asked for"
            for i in range(len(fidelity))
        ]
        traces.append(
            {
                "type": "bar",
                "x": asked,
                "y": shown,
                "width": 0.8,
                "name": "fidelity per class",
                "marker": {"color": FIDELITY_COLOR},
                "text": notes,
                "textposition": "none",
                "hovertemplate": "%{text}<extra></extra>",
                "xaxis": "x2",
                "yaxis": "y2",
            }
        )
        # the plots stacked: the shares' above, their tick labels in the gap, the fidelity's below
        lower = FIDELITY_PLOT_PX + SHARE_GAP_PX + ticks_px
        layout["height"] += lower
        plots = SHARE_PLOT_PX + lower  # the figure's height between its margins
        split = (FIDELITY_PLOT_PX + SHARE_GAP_PX + ticks_px) / plots
        layout["yaxis"]["domain"] = [split, 1.0]
        layout["xaxis"]["anchor"] = "y"
        layout["xaxis2"] = {
            **x_axis,
            "ticktext": labels,  # (red marks a class missed in the shares above, not here)
            "anchor": "y2",
            "matches": "x",
            "title": {"text": "class asked for"},
        }
        layout["yaxis2"] = {
            "domain": [0.0, FIDELITY_PLOT_PX / plots],
            "range": [0.0, 1.05],
            "title": {"text": "fidelity"},
            "fixedrange": True,
        }
        layout["xaxis"]["title"] = {"text": ""}
        mean = float(np.nanmean(fidelity)) if np.isfinite(fidelity).any() else math.nan
        if math.isfinite(mean):  # the run's label_fidelity, in the legend (a label on the plot hid a bar)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [-0.5, len(names) - 0.5],
                    "y": [mean, mean],
                    "name": f"mean {mean:.2f} (label_fidelity)",
                    "line": {"color": REFERENCE_COLOR, "dash": "dash", "width": 1.2},
                    "hoverinfo": "skip",
                    "xaxis": "x2",
                    "yaxis": "y2",
                }
            )
    _fit_legend(layout, traces, PANEL_MIN_PLOT_PX)  # (drawn as wide as the training panels)
    return _figure(traces, layout)


VERDICT_BINS = 40  # the bins of `verdicts_figure`'s two histograms, over the outputs' range
VERDICT_PLOT_PX = 260


def verdicts_figure(
    real: np.ndarray,
    fake: np.ndarray,
    threshold: float,
    *,
    probability: bool = False,
    x_title: str = "D's output",
    title: str = "D's verdicts: real against G's samples",
    names: tuple[str, str] = ("real", "G's samples"),
    threshold_name: str = "threshold",
) -> Figure:
    """The distribution of D's output on a batch of real samples and on one of G's: two histograms on
    shared bins, each bar the share (0-1) of its own batch (so batches of any size compare), real in
    `REAL_COLOR`, G's in `FAKE_COLOR`, overlaid, with D's decision threshold as a dashed vertical line
    (an output above it is called real; for every built-in loss also the output at which D cannot tell,
    `GANLoss.midpoint`, label smoothing included). Apart: D tells them apart; on top of each other: it
    cannot.

    ``real`` (N,) and ``fake`` (M,): D's outputs (`GANLoss.output`), ``threshold`` in the same units.
    ``probability``: outputs are sigmoid probabilities, binned over [0, 1]; else over the range of both
    batches and the threshold. Non-finite outputs are left out. ValueError where neither batch has a
    finite output. ``names``: the two batches' legend names; ``threshold_name``: the line's. (The Probe's
    copying check draws its two distributions of distances the same way.)"""
    real = np.asarray(real, dtype=np.float64).ravel()
    fake = np.asarray(fake, dtype=np.float64).ravel()
    real, fake = real[np.isfinite(real)], fake[np.isfinite(fake)]
    if not len(real) and not len(fake):
        raise ValueError("no finite D output to draw")
    if probability:
        low, high = 0.0, 1.0
    else:
        pooled = np.concatenate([real, fake, [threshold] if math.isfinite(threshold) else []])
        low, high = float(pooled.min()), float(pooled.max())
        if high - low < 1e-9:  # every output the same: a bin around it
            low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, VERDICT_BINS + 1)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    traces: list[dict[str, Any]] = []
    for name, values, color in ((names[0], real, REAL_COLOR), (names[1], fake, FAKE_COLOR)):
        counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
        share = counts / max(len(values), 1)
        traces.append(
            {
                "type": "bar",
                "x": centres,
                "y": share,
                "width": width,
                "name": f"{name} ({len(values):,})",
                "marker": {"color": color, "opacity": 0.55, "line": {"width": 0}},
                "customdata": np.stack([edges[:-1], edges[1:], counts], axis=1),
                "hovertemplate": (
                    f"{name}: %{{y:.1%}} (%{{customdata[2]:,}}) between %{{customdata[0]:.3g}} and "
                    "%{customdata[1]:.3g}<extra></extra>"
                ),
                "xaxis": "x",
                "yaxis": "y",
            }
        )
    if math.isfinite(threshold):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [threshold, threshold],
                "y": [0.0, 1.0],
                "yaxis": "y2",
                "xaxis": "x",
                "name": f"{threshold_name} {threshold:.3g}",
                "line": {"color": REFERENCE_COLOR, "dash": "dash", "width": 1.5},
                "hoverinfo": "skip",
            }
        )
    layout = _base_layout(title, VERDICT_PLOT_PX)
    layout["barmode"] = "overlay"
    layout["bargap"] = 0
    layout["xaxis"] = {"title": {"text": x_title}, "range": [low, high], "zeroline": False}
    layout["yaxis"] = {"title": {"text": "share of its batch"}, "tickformat": ".0%", "rangemode": "tozero"}
    # the threshold's line spans the plot's height whatever the bars' (an axis of its own, 0-1, not shown)
    layout["yaxis2"] = {"overlaying": "y", "range": [0.0, 1.0], "visible": False, "fixedrange": True}
    _fit_legend(layout, traces)
    return _figure(traces, layout)
