"""The dashboard's charts: pure functions from metric views, events and snapshots to plotly Figures.

Owns how a run looks: which metrics share a chart, their colours, smoothing, reference lines (2·ln 2,
chance, D's midpoint), the hyperparameter-change and failure-flag markers drawn on every metric chart,
and the GAN Lab-style picture of a 2D run (D's output as a heatmap, real and generated points, G's
gradient arrows). Nothing here knows about Streamlit or the trainer: a page passes in
`MetricStore.view()` frames, event dicts and `Trainer.snapshot()` arrays and shows what comes back.

Legend names are the metric names themselves (``d_loss``, ``d_acc_real`` ...), the same as the CSV
columns, so a number seen on a chart can be found in metrics.csv under the same name.

Cost: every builder is vectorised over the points of a view (one trace per line, numpy arrays straight
into the figure); the only Python loops are over at most `MAX_EVENT_LABELS` event markers and the
columns or runs of a chart. The figures are built from plain dicts in one `go.Figure` call with
plotly's validation off (see `_figure`); the tests validate them instead.
"""

from __future__ import annotations

import base64
import copy
import html
import io
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

MAX_SMOOTHING = 0.999
MAX_EVENT_LABELS = 30  # the latest markers; older ones would only pile up into an unreadable comb
MAX_ARROWS = 200
ARROW_FRACTION = 0.08  # the longest gradient arrow, as a fraction of the plot's width
MARKED_EVENT_KINDS = ("hparam", "flag")
MINIMAX_EQUILIBRIUM = 2.0 * math.log(2.0)  # D's BCE loss when D(x) = 0.5 everywhere: 2 · (-ln 0.5)

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
}
PALETTE = (  # Tableau 10: for metrics without a colour of their own and for runs on the compare chart
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
EVENT_COLORS = {"hparam": "#6c757d", "flag": "#d62728"}
REFERENCE_COLOR = "#555555"
# D's output heatmap: pale tints, so the points drawn over it stay the strongest marks on the chart.
HEATMAP_FAKE_TINT = "#dcc3e8"
HEATMAP_REAL_TINT = "#bfe5c9"

RAW_OPACITY = 0.25
BAND_ALPHA = 0.12
MARGIN = {"l": 40, "r": 10, "t": 40, "b": 36, "autoexpand": False}

Events = Iterable[Mapping[str, Any]] | pd.DataFrame


# --------------------------------------------------------------------------------------------- smoothing


def _check_smoothing(weight: float) -> float:
    # `not (a <= w <= b)` rather than `w < a or w > b`, so that NaN is refused too.
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0.0 <= weight <= MAX_SMOOTHING:
        raise ValueError(f"smoothing weight must be a number in [0, {MAX_SMOOTHING}], got {weight!r}")
    return float(weight)


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with debiasing, skipping blanks.

    ``s_k = weight · s_{k-1} + (1 - weight) · x_k`` over the finite values, divided by
    ``1 - weight**(k+1)`` so that the start is not dragged towards 0: the first output equals the first
    input and a constant stays constant. Non-finite inputs (NaN, ±inf) are blanks: they are returned
    as they are and the average carries on from the last finite value, so one NaN does not poison the
    rest of the curve. ``weight`` 0 returns a copy of the input; outside [0, 0.999] is a ValueError.
    """
    weight = _check_smoothing(weight)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {values.shape}")
    out = values.copy()
    if weight == 0.0 or values.size == 0:
        return out
    finite = np.isfinite(values)
    if finite.any():
        # pandas' adjusted EWM is exactly the debiased EMA (sum w^i x_{k-i} / sum w^i), in compiled code;
        # running it on the finite values alone is what makes blanks skipped rather than decayed over.
        out[finite] = pd.Series(values[finite]).ewm(alpha=1.0 - weight, adjust=True).mean().to_numpy()
    return out


# --------------------------------------------------------------------------------------------- helpers


def _wire(values: np.ndarray) -> np.ndarray:
    """Values as the browser gets them: float32, half the bytes of float64 to serialise, send and parse
    every second (7 significant digits, far more than a chart can show)."""
    return np.asarray(values, dtype=np.float32)


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


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _metric_color(column: str, position: int) -> str:
    return METRIC_COLORS.get(column) or PALETTE[position % len(PALETTE)]


def _figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """The figure of ``traces`` and ``layout`` (plain dicts), without plotly's per-property validation.

    Validation (and the deep copy of the template it makes) cost about 30 ms for a loss chart with 30
    event markers; without it, about 5 ms, and a page redraws several charts every second. What it
    would catch is a wrong property name in this module's fixed dicts, so tests/test_charts.py rebuilds
    every builder's figure with validation on instead. ``_validate`` is plotly's own switch (its
    template registry builds templates with it) and has been in BaseFigure since plotly 4.
    """
    return _SpecFigure(traces, layout)


_SHORT_DTYPES = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4",
                 "uint32": "u4", "float32": "f4", "float64": "f8"}  # fmt: skip
_UNENCODED_KEYS = frozenset({"geojson", "layer", "layers", "range"})  # plotly.py leaves these as lists


def _wire_value(value: Any, key: str = "") -> Any:
    """``value`` as plotly.py's ``Figure.to_dict`` gives it (numeric numpy arrays as base64 typed-array
    specs, plotly objects as plain dicts), without the Figure: a fresh dict and list walk."""
    if isinstance(value, dict):
        return {k: _wire_value(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire_value(v) for v in value]
    if isinstance(value, np.ndarray):
        dtype = str(value.dtype)
        if dtype == "int64" and value.size:  # as plotly.py: the smallest int type that holds them
            lo, hi = value.min(), value.max()
            small = next(
                (t for t in (np.int8, np.int16, np.int32) if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max),
                None,
            )
            if small is not None:
                value, dtype = value.astype(small), np.dtype(small).name
        if dtype not in _SHORT_DTYPES or key in _UNENCODED_KEYS or value.size == 0:
            return value.tolist()
        spec = {
            "dtype": _SHORT_DTYPES[dtype],
            "bdata": base64.b64encode(np.ascontiguousarray(value)).decode(),
        }
        if value.ndim > 1:
            spec["shape"] = str(value.shape)[1:-1]
        return spec
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "to_plotly_json"):  # a plotly object, e.g. the layout's template
        return _template_json(value) if isinstance(value, go.layout.Template) else value.to_plotly_json()
    return value


_TEMPLATE_JSON: dict[int, tuple[Any, dict[str, Any]]] = {}


def _template_json(template: go.layout.Template) -> dict[str, Any]:
    """A template's dict, made once per template object (a fresh copy each call: callers may edit it)."""
    cached = _TEMPLATE_JSON.get(id(template))
    if cached is None or cached[0] is not template:
        cached = _TEMPLATE_JSON[id(template)] = (template, _wire_value(template.to_plotly_json()))
    return copy.deepcopy(cached[1])


class _SpecFigure(go.Figure):
    """A go.Figure that is built only when something uses it as one.

    The Train view redraws up to seven charts every second and Streamlit asks each only for
    ``to_dict()``. Building the Figure (about 5 ms a chart, unvalidated) and plotly's ``to_dict`` (a
    deep copy, then a walk turning arrays into base64: 5 ms more) hold the GIL the training thread
    needs, so ``to_dict`` here encodes the builders' plain dicts directly (`_wire_value`), the same
    output. Anything else (``fig.data``, ``fig.layout``, ``fig.update_layout``...) first builds the real
    Figure, which from then on is what every method, ``to_dict`` included, works on.
    """

    def __init__(self, data: list[dict[str, Any]], layout: dict[str, Any]):  # noqa: D107
        object.__setattr__(self, "_spec", (data, layout))  # not go.Figure.__init__: built on first use

    def _ensure_built(self) -> None:
        if "_spec" in self.__dict__:
            data, layout = self.__dict__.pop("_spec")
            go.Figure.__init__(self, data=data, layout=layout, _validate=False)

    def __getattr__(self, name: str) -> Any:
        # Only for names not found the usual way: before the build, the Figure's own attributes
        if "_spec" not in self.__dict__ or name.startswith("__"):
            raise AttributeError(name)
        self._ensure_built()
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        if "_spec" not in self.__dict__:
            return super().to_dict()
        data, layout = self.__dict__["_spec"]
        return {"data": _wire_value(data), "layout": _wire_value(layout)}


def _base_layout(title: str, height: int) -> dict[str, Any]:
    return {
        # The template object, not its name: names are resolved only by validation, skipped here.
        "template": pio.templates[TEMPLATE],
        "title": {
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
            "font": {"size": 14},
        },
        "height": height,
        "margin": dict(MARGIN),
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        # A constant uirevision keeps the user's zoom and legend toggles when the page redraws the chart
        # every second with new data.
        "uirevision": title,
    }


def _message_figure(title: str, message: str, height: int, y_title: str | None = None) -> go.Figure:
    """A chart-sized placeholder, so the page keeps its layout before the first row arrives."""
    layout = _base_layout(title, height)
    layout["xaxis"] = {
        "title": {"text": "step"},
        "showticklabels": False,
        "showgrid": False,
        "zeroline": False,
    }
    layout["yaxis"] = {
        "title": {"text": y_title or ""},
        "showticklabels": False,
        "showgrid": False,
        "zeroline": False,
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
    return _figure([], layout)


def _is_empty(view: pd.DataFrame | None) -> bool:
    return view is None or len(view) == 0


def _short_label(kind: str, fields: Mapping[str, Any]) -> str:
    """An event's marker label from its fields: ``hparam`` {field: lr_g, new: 0.001} -> 'lr_g 0.001';
    ``flag`` {flag: mode_collapse} -> 'mode_collapse'."""
    if kind == "hparam":
        new = fields.get("new")
        shown = f"{new:.3g}" if isinstance(new, float) else str(new)
        label = f"{fields.get('field', '?')} {shown}"
    else:
        label = str(fields.get("flag", kind))
    label = label if len(label) <= 32 else label[:31] + "…"
    # Plotly renders a subset of HTML in text (links, <b>, <br>); a label comes from events.csv, a file
    # anyone may have written: escaped, it shows as written (plotly turns the entities back into text).
    return html.escape(label)


def event_markers(events: Events) -> list[tuple[float, str, str]]:
    """The markers a metric chart draws: ``(step, label, kind)`` for the latest `MAX_EVENT_LABELS` steps
    with an ``hparam`` or ``flag`` event, oldest first.

    Events at the same step share one marker (labels joined by ", "; a flag wins the colour), so that
    changing lr_g and lr_d together draws one line, not two on top of each other. ``events`` is a list of
    event dicts or the DataFrame `RunDir.read_events()` returns.
    """
    if isinstance(events, pd.DataFrame):
        events = events.to_dict("records")
    by_step: dict[float, tuple[list[str], str]] = {}
    for event in events:
        kind = event.get("kind")
        if kind not in MARKED_EVENT_KINDS:
            continue
        try:
            step = float(event.get("step"))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(step):
            continue
        labels, marker_kind = by_step.get(step, ([], kind))
        labels.append(_short_label(kind, event.get("fields") or {}))
        by_step[step] = (labels, "flag" if "flag" in (kind, marker_kind) else marker_kind)
    latest = sorted(by_step)[-MAX_EVENT_LABELS:]
    return [(step, ", ".join(dict.fromkeys(by_step[step][0])), by_step[step][1]) for step in latest]


def _event_shapes(events: Events) -> list[dict[str, Any]]:
    """Dotted vertical lines across the whole plot height (yref paper), each with its label at the top.

    Layout shapes rather than traces: they span the plot whatever the y range, add nothing to the
    hover, and need no second axis.
    """
    shapes = []
    for step, label, kind in event_markers(events):
        color = EVENT_COLORS[kind]
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
                "line": {"color": color, "width": 1, "dash": "dot"},
                "label": {
                    "text": label,
                    "textposition": "end",
                    "textangle": -90,
                    "xanchor": "right",
                    "font": {"size": 9, "color": color},
                },
            }
        )
    return shapes


def _hline_shapes(hlines: Iterable[tuple[float, str]], log_y: bool) -> list[dict[str, Any]]:
    shapes = []
    for y, label in hlines:
        if log_y and not y > 0:
            continue  # no place for it on a log axis
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",  # data units, on a log axis too (shapes, unlike annotations, are converted)
                "x0": 0.0,
                "x1": 1.0,
                "y0": float(y),
                "y1": float(y),
                "layer": "below",
                "line": {"color": REFERENCE_COLOR, "width": 1, "dash": "dash"},
                "label": {
                    "text": label,
                    "textposition": "start",
                    "yanchor": "bottom",
                    "font": {"size": 9, "color": REFERENCE_COLOR},
                },
            }
        )
    return shapes


def _y_axis(y_title: str | None, log_y: bool, yrange: tuple[float, float] | None) -> dict[str, Any]:
    axis: dict[str, Any] = {"title": {"text": y_title or ""}, "type": "log" if log_y else "linear"}
    if log_y:
        # plain numbers on every labelled tick (plotly's default labels minor ticks by their digit only)
        axis["tickformat"] = ".2~g"
    if yrange is not None:
        low, high = (float(v) for v in yrange)
        if not log_y:
            axis["range"] = [low, high]
        elif low > 0 and high > 0:
            axis["range"] = [math.log10(low), math.log10(high)]  # a log axis' range is in log10 units
    return axis


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)


def _line_traces(
    step: np.ndarray,
    raw: np.ndarray,
    *,
    name: str,
    color: str,
    smoothing: float,
    dashed: bool = False,
    single_point: bool = False,
) -> list[dict[str, Any]]:
    """The raw mean (faint, behind) when smoothing, then the smoothed line that carries legend and hover."""
    traces = []
    step = _wire_steps(step)
    width = 1.2 if dashed else 2.0
    dash = "dash" if dashed else "solid"
    mode = "lines+markers" if single_point else "lines"  # a line through one point draws nothing
    line: dict[str, Any] = {"color": color, "width": width, "dash": dash}
    shown = {"type": "scatter", "x": step, "mode": mode, "name": name, "legendgroup": name, "line": line}
    if not single_point:
        # Plotly selects marker points only: invisible markers, of which at most one is drawn, let a
        # click on the chart select the step under the cursor (the dashboard shows that step's
        # snapshot) at no drawing cost.
        shown["mode"] = "lines+markers"
        shown["marker"] = {"maxdisplayed": 1, "opacity": 0}
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
        shown["y"] = _wire(smooth(raw, smoothing))
        shown["customdata"] = _wire(raw)
        shown["hovertemplate"] = "%{y:.4g} (raw %{customdata:.4g})"
    else:
        shown["y"] = _wire(raw)
        shown["hovertemplate"] = "%{y:.4g}"
    traces.append(shown)
    return traces


# --------------------------------------------------------------------------------------------- metric charts


def metric_figure(
    view: pd.DataFrame | None,
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
) -> go.Figure:
    """One line per metric column of a `MetricStore.view()` frame, against ``step``.

    Per column: a faint min-max band (``c_min`` to ``c_max``, when the view has them) so that a spike
    averaged away by downsampling still shows; the raw mean as a faint line when ``smoothing`` > 0; and
    the (smoothed) mean, which carries the legend entry and the hover. ``dashed`` columns are drawn
    dashed and thinner (the parts of a sum, say); ``markers`` marks each point (sparse measurements).
    ``hlines`` are dashed reference lines ``(y, label)``;
    ``hparam`` and ``flag`` events are dotted vertical markers with a short label (see `event_markers`).

    ``log_y``: non-positive values have no place on a log axis. Means and band tops that are <= 0 become
    gaps (before smoothing, so the smoothed line averages only what the chart shows); a band bottom <= 0
    is drawn at the chart's smallest positive value, so the band reaches the bottom rather than
    vanishing. ``yrange`` is in data units on either axis type. An empty view gives a "no data yet"
    placeholder, not an error.
    """
    smoothing = _check_smoothing(smoothing)
    columns = list(columns)
    if _is_empty(view):
        return _message_figure(title, "no data yet", METRIC_HEIGHT, y_title)
    missing = [c for c in ["step", *columns] if c not in view.columns]
    if missing:
        raise ValueError(f"view lacks columns {missing}; it has {list(view.columns)}")
    dashed = set(dashed)
    step = view["step"].to_numpy(dtype=np.float64)
    single_point = len(view) < 2

    means = {c: view[c].to_numpy(dtype=np.float64) for c in columns}
    bands = {
        c: (view[f"{c}_min"].to_numpy(dtype=np.float64), view[f"{c}_max"].to_numpy(dtype=np.float64))
        for c in columns
        if f"{c}_min" in view.columns and f"{c}_max" in view.columns
    }
    if log_y:
        means = {c: _positive(v) for c, v in means.items()}
        positives = [v[v > 0] for pair in bands.values() for v in pair] + [v[v > 0] for v in means.values()]
        floor = min((p.min() for p in positives if p.size), default=np.nan)
        bands = {c: (np.where(low > 0, low, floor), _positive(high)) for c, (low, high) in bands.items()}

    traces: list[dict[str, Any]] = []
    for position, c in enumerate(columns):
        color = _metric_color(c, position)
        if c in bands:
            low, high = bands[c]
            edge = {"color": _rgba(color, 0.0), "width": 0}
            common = {
                "type": "scatter",
                "x": _wire_steps(step),
                "mode": "lines",
                "legendgroup": c,
                "showlegend": False,
            }
            traces.append({**common, "y": _wire(high), "name": f"{c}_max", "line": edge, "hoverinfo": "skip"})
            traces.append(
                {
                    **common,
                    "y": _wire(low),
                    "name": f"{c}_min",
                    "line": edge,
                    "hoverinfo": "skip",
                    "fill": "tonexty",  # down to the previous trace: this column's c_max
                    "fillcolor": _rgba(color, BAND_ALPHA),
                }
            )
        traces.extend(
            _line_traces(
                step,
                means[c],
                name=c,
                color=color,
                smoothing=smoothing,
                dashed=c in dashed,
                single_point=single_point,
            )
        )

    if markers:  # visible markers on the lines that carry the legend (not the bands or raw lines)
        for trace in traces:
            if trace["name"] in columns:
                trace["mode"] = "lines+markers"
                trace["marker"] = {"size": 6}
    layout = _base_layout(title, METRIC_HEIGHT)
    layout["hovermode"] = "x unified"
    layout["dragmode"] = "zoom"  # a chart that reports selections would default to pan
    layout["xaxis"] = {"title": {"text": "step", "standoff": 4}}
    layout["yaxis"] = _y_axis(y_title, log_y, yrange)
    layout["shapes"] = _hline_shapes(hlines, log_y) + _event_shapes(events)
    return _figure(traces, layout)


def loss_figure(
    view: pd.DataFrame | None,
    events: Events = (),
    smoothing: float = 0.0,
    log_y: bool = False,
    *,
    loss_name: str | None = None,
) -> go.Figure:
    """D's and G's losses, with D's two halves dashed. The 2·ln 2 line is drawn for the BCE losses only
    (``loss_name`` minimax or nonsaturating: D's loss is the same for both); the other objectives have no
    such equilibrium value."""
    hlines = []
    if loss_name in ("minimax", "nonsaturating"):
        hlines.append((MINIMAX_EQUILIBRIUM, "minimax equilibrium 2 ln 2"))
    return metric_figure(
        view,
        ["d_loss", "g_loss", "d_loss_real", "d_loss_fake"],
        title="Losses",
        smoothing=smoothing,
        log_y=log_y,
        events=events,
        hlines=hlines,
        y_title="loss",
        dashed=("d_loss_real", "d_loss_fake"),
    )


def accuracy_figure(view: pd.DataFrame | None, events: Events = (), smoothing: float = 0.0) -> go.Figure:
    """How often D is right on real and on generated samples; 0.5 each is D unable to tell them apart."""
    return metric_figure(
        view,
        ["d_acc_real", "d_acc_fake"],
        title="D accuracy",
        smoothing=smoothing,
        events=events,
        hlines=[(0.5, "chance (D cannot tell)")],
        y_title="accuracy",
        yrange=(0.0, 1.02),
    )


def d_output_figure(
    view: pd.DataFrame | None, events: Events = (), smoothing: float = 0.0, midpoint: float | None = 0.5
) -> go.Figure:
    """D's mean output on real (``d_real``) and generated (``d_fake``) samples. ``midpoint`` is the loss'
    `GANLoss.midpoint`: 0.5 for the probability-like losses, None for raw critic scores (no line)."""
    hlines = [] if midpoint is None else [(midpoint, f"midpoint {midpoint:g}: D cannot tell")]
    return metric_figure(
        view,
        ["d_real", "d_fake"],
        title="D's output",
        smoothing=smoothing,
        events=events,
        hlines=hlines,
        y_title="D(x) and D(G(z))",
    )


def grad_norm_figure(
    view: pd.DataFrame | None, events: Events = (), smoothing: float = 0.0, log_y: bool = True
) -> go.Figure:
    """Gradient norms of D's and G's parameters; log scale by default, as they span decades."""
    return metric_figure(
        view,
        ["d_grad_norm", "g_grad_norm"],
        title="Gradient norms",
        smoothing=smoothing,
        log_y=log_y,
        events=events,
        y_title="gradient norm",
    )


def compare_figure(
    views: Mapping[str, pd.DataFrame | None], column: str, *, smoothing: float = 0.0, log_y: bool = False
) -> go.Figure:
    """One metric across runs: a line per run, named by its run id. Runs with no rows, or whose view lacks
    ``column`` (an older run without that metric), are left out; with none left it is a placeholder."""
    smoothing = _check_smoothing(smoothing)
    traces: list[dict[str, Any]] = []
    for position, (run_id, view) in enumerate(views.items()):
        if _is_empty(view) or column not in view.columns or "step" not in view.columns:
            continue
        values = view[column].to_numpy(dtype=np.float64)
        if log_y:
            values = _positive(values)
        traces.extend(
            _line_traces(
                view["step"].to_numpy(dtype=np.float64),
                values,
                name=str(run_id),
                color=PALETTE[position % len(PALETTE)],
                smoothing=smoothing,
                single_point=len(view) < 2,
            )
        )
    if not traces:
        return _message_figure(column, "no data yet", METRIC_HEIGHT, column)
    layout = _base_layout(column, METRIC_HEIGHT)
    layout["hovermode"] = "x unified"
    layout["xaxis"] = {"title": {"text": "step", "standoff": 4}}
    layout["yaxis"] = _y_axis(column, log_y, None)
    return _figure(traces, layout)


# --------------------------------------------------------------------------------------------- snapshots


def _points(name: str, array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must be (n, 2) points, got shape {array.shape}")
    return array


def _arrow_trace(fake: np.ndarray, grads: np.ndarray, width: float) -> dict[str, Any]:
    """At most `MAX_ARROWS` arrows as one trace: segments base -> tip separated by NaN gaps, and an arrow
    marker at each tip turned along its segment (angleref "previous"); the other points get size 0."""
    n = len(fake)
    # Evenly spaced and deterministic: with the run's fixed noise the arrows stay on the same points.
    chosen = np.unique(np.linspace(0, n - 1, min(n, MAX_ARROWS)).round().astype(np.int64)) if n else []
    base = fake[chosen]
    direction = np.nan_to_num(grads[chosen], nan=0.0, posinf=0.0, neginf=0.0)
    lengths = np.hypot(direction[:, 0], direction[:, 1])
    longest = lengths.max() if lengths.size else 0.0
    # Only relative lengths mean anything (the gradient's scale depends on the loss), so the longest
    # arrow is a fixed share of the width and the others keep their proportion to it.
    scale = ARROW_FRACTION * width / longest if longest > 0 else 0.0
    tip = base + direction * scale
    gap = np.full(len(base), np.nan)
    x = np.column_stack([base[:, 0], tip[:, 0], gap]).ravel()
    y = np.column_stack([base[:, 1], tip[:, 1], gap]).ravel()
    sizes = np.tile([0, 7, 0], len(base))
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines+markers",
        "name": "G's gradient",
        "line": {"color": "#333333", "width": 1},
        "marker": {"symbol": "arrow", "size": sizes, "angleref": "previous", "color": "#333333"},
        "hoverinfo": "skip",
    }


def points_figure(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    bounds: tuple[float, float, float, float],
    heatmap: np.ndarray | None = None,
    grads: np.ndarray | None = None,
    midpoint: float | None = 0.5,
    title: str = "",
    fake_name: str = "generated",
    fake_labels: Sequence[str] | None = None,
    path: np.ndarray | None = None,
) -> go.Figure:
    """A 2D run as GAN Lab draws it: D's output behind, real and generated points, G's gradient arrows.

    ``bounds`` = (xmin, xmax, ymin, ymax) fixes both axes (equal scale), so the picture does not jump as
    points move. ``heatmap`` (rows = y) is D's output on ``linspace`` grids over the bounds, as
    `Trainer.snapshot` makes it: green where D says real, purple where it says fake, white at
    ``midpoint``. With a midpoint (probability-like outputs) the colour range is ``midpoint ± 0.5`` or
    wider, so a D near chance looks pale rather than saturated at every step; with None (a critic's
    raw scores, meaningful only relative to each other) it is centred on the heatmap's median and spans
    its extremes. ``grads`` (one row per generated point, the direction in which G's loss falls) gives
    arrows for at most `MAX_ARROWS` evenly chosen points, the longest `ARROW_FRACTION` of the width.

    For the probe page: ``fake_name`` names the second set of points (say, points handed to D), and
    ``fake_labels`` writes a label beside each (the row numbers of a table beside the chart). ``path``
    (n, 2) is a latent walk, G's outputs along a line in z: one connected line with markers in G's
    colour, "A" at its first point and "B" at its last. A point set with no rows draws nothing (no empty
    legend entry).
    """
    real = _points("real", real)
    fake = _points("fake", fake)
    if fake_labels is not None and len(fake_labels) != len(fake):
        raise ValueError(f"fake_labels needs one label per fake point ({len(fake)}), got {len(fake_labels)}")
    xmin, xmax, ymin, ymax = (float(v) for v in bounds)
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"bounds must be (xmin, xmax, ymin, ymax) with min < max, got {bounds!r}")

    traces: list[dict[str, Any]] = []
    if heatmap is not None:
        z = np.asarray(heatmap, dtype=np.float64)
        if z.ndim != 2:
            raise ValueError(f"heatmap must be 2-D (rows = y), got shape {z.shape}")
        finite = z[np.isfinite(z)]
        centre = float(midpoint) if midpoint is not None else float(np.median(finite)) if finite.size else 0.0
        half = float(np.abs(finite - centre).max()) if finite.size else 0.0
        if midpoint is not None:
            half = max(half, 0.5)
        if not half > 0:
            half = 1.0  # a flat heatmap: all white, whatever the scale
        traces.append(
            {
                "type": "heatmap",
                "z": z,
                "x": np.linspace(xmin, xmax, z.shape[1]),
                "y": np.linspace(ymin, ymax, z.shape[0]),
                "zmin": centre - half,
                "zmax": centre + half,
                "colorscale": [[0.0, HEATMAP_FAKE_TINT], [0.5, "#ffffff"], [1.0, HEATMAP_REAL_TINT]],
                # "fast": the browser scales the 48 x 48 grid itself (smoothly); "best" interpolates every
                # pixel in JavaScript, a cost paid on every refresh.
                "zsmooth": "fast",
                "name": "D's output",
                "showlegend": False,
                "colorbar": {"title": {"text": "D", "side": "top"}, "thickness": 10, "len": 0.8},
                "hovertemplate": "(%{x:.2f}, %{y:.2f})<br>D %{z:.3g}<extra></extra>",
            }
        )
    for name, data, color, labels in (
        ("real", real, REAL_COLOR, None),
        (fake_name, fake, FAKE_COLOR, fake_labels),
    ):
        if not len(data):
            continue
        trace = {
            "type": "scatter",
            "x": data[:, 0],
            "y": data[:, 1],
            "mode": "markers",
            "name": name,
            "marker": {"color": color, "size": 4, "opacity": 0.8},
            "hovertemplate": f"{name} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
        }
        if labels is not None:
            trace["mode"] = "markers+text"
            trace["text"] = [str(label) for label in labels]
            trace["textposition"] = "top right"
            trace["textfont"] = {"size": 11, "color": color}
            trace["marker"] = {"color": color, "size": 8, "line": {"color": "#ffffff", "width": 1}}
            trace["hovertemplate"] = f"{name} %{{text}} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"
        traces.append(trace)
    if path is not None:
        path = _points("path", path)
        if len(path):
            ends = [""] * len(path)
            ends[0], ends[-1] = "A", "B"
            traces.append(
                {
                    "type": "scatter",
                    "x": path[:, 0],
                    "y": path[:, 1],
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

    layout = _base_layout(title, POINTS_HEIGHT)
    layout["hovermode"] = "closest"
    axis = {"showgrid": False, "zeroline": False, "autorange": False, "constrain": "domain"}
    layout["xaxis"] = {**axis, "range": [xmin, xmax]}
    # constrain "domain": keep the fixed ranges and shrink the plot area to reach equal scale.
    layout["yaxis"] = {**axis, "range": [ymin, ymax], "scaleanchor": "x", "scaleratio": 1}
    return _figure(traces, layout)


def png_data_uri(image: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_grid_figure(grid: np.ndarray, title: str = "") -> go.Figure:
    """An (H, W, 3) uint8 image grid (e.g. `Trainer.snapshot()["grid"]`), no axes, height fitted to it."""
    grid = np.asarray(grid)
    if grid.ndim != 3 or grid.shape[2] != 3 or grid.dtype != np.uint8:
        raise ValueError(f"grid must be (H, W, 3) uint8, got shape {grid.shape} dtype {grid.dtype}")
    height, width = grid.shape[:2]
    margin = {"l": 10, "r": 10, "t": 36 if title else 10, "b": 10}
    # The page sets the width; assuming a ~420 px wide column, this height leaves little blank space.
    plot_height = IMAGE_MAX_HEIGHT - margin["t"] - margin["b"]
    fitted = int(round(margin["t"] + margin["b"] + plot_height * min(1.0, height / max(width, 1))))
    layout = _base_layout(title, max(fitted, 120))
    layout["margin"] = margin
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    layout["xaxis"] = dict(hidden)
    layout["yaxis"] = dict(hidden)
    # Sent as a PNG (a few KB) rather than as z values: the browser then shows an image it is given
    # instead of painting a canvas from 16,000+ numbers and encoding it itself, every refresh.
    trace = {"type": "image", "source": png_data_uri(grid), "name": title or "samples", "hoverinfo": "skip"}
    return _figure([trace], layout)


# The quality metrics (every eval_every steps) in three charts of one scale each: (name, title, columns).
# Which columns are measured depends on the data: modes_covered, hq_pct, mode_kl, grid_kl, grid_js on
# ring8/grid25; grid_kl, grid_js on other 2D data; classes_covered, class_kl, diversity on digit-like
# images; diversity alone on other images.
QUALITY_GROUPS = (
    ("coverage", "Coverage", ("modes_covered", "classes_covered")),
    ("samples", "Sample quality", ("hq_pct", "diversity")),
    ("divergence", "Divergence from the data", ("mode_kl", "class_kl", "grid_kl", "grid_js")),
)
QUALITY_REFERENCES = {"diversity": (1.0, "diversity of real data")}  # drawn with their column
QUALITY_UNITS = {
    "modes_covered": "modes covered",
    "classes_covered": "classes covered",
    "hq_pct": "% high quality",
    "diversity": "diversity (real = 1)",
    "mode_kl": "nats (0 = matches)",
    "class_kl": "nats (0 = matches)",
    "grid_kl": "nats (0 = matches)",
    "grid_js": "nats (0 = matches)",
}
QUALITY_TITLE = "Quality (every eval_every steps)"


def quality_figures(
    view: pd.DataFrame | None, events: Events = (), *, coverage_total: int | None = None
) -> dict[str, go.Figure]:
    """The quality metrics measured so far, one chart per scale that the data has measurements on
    (`QUALITY_GROUPS`), by group name; before the first evaluation one placeholder, ``"pending"``.
    ``coverage_total`` (the data's modes or classes) is drawn as the Coverage chart's target line.

    Only evaluated steps are kept, so the sparse measurements draw as connected lines with a marker per
    evaluation rather than isolated points between blanks."""
    figures: dict[str, go.Figure] = {}
    for name, title, wanted in QUALITY_GROUPS:
        if _is_empty(view):
            break
        columns = [c for c in wanted if c in view and view[c].notna().any()]
        if not columns:
            continue
        measured = view.dropna(subset=columns[:1])
        lines = [QUALITY_REFERENCES[c] for c in columns if c in QUALITY_REFERENCES]
        if name == "coverage" and coverage_total:
            lines.append((float(coverage_total), f"all {coverage_total}"))
        y_title = " / ".join(dict.fromkeys(QUALITY_UNITS[c] for c in columns))
        figures[name] = metric_figure(
            measured, columns, title=title, events=events, y_title=y_title, hlines=lines, markers=True
        )
    return figures or {"pending": _message_figure(QUALITY_TITLE, "no evaluation yet", METRIC_HEIGHT, None)}
