"""Chart builders against views of a real MetricStore: smoothing against its closed forms, the traces and
shapes each builder draws (lines, min-max bands, reference lines, event markers), log axes, empty views,
the GAN Lab points picture and image grids, and every figure valid for the installed plotly: each figure a
test reads goes through plotly's own validation first (`charts` below), and what the browser is sent
decodes to the figure that was built."""

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import orjson
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from PIL import Image

from gan_core import charts as chart_builders
from gan_core.evaluation import EVAL_COLUMNS
from gan_core.losses import LOSSES
from gan_core.store import MetricStore
from gan_core.trainer import RECORD_COLUMNS

N_ROWS = 300


def validated(figure: dict) -> go.Figure:
    """A builder's figure (a plain dict) as plotly's validating constructor makes it: a ValueError for a
    property or value the installed plotly does not accept."""
    assert set(figure) == {"data", "layout"}, sorted(figure)
    return go.Figure(figure)


class ValidatedCharts:
    """`gan_core.charts` as these tests read it: what its figure builders return (plain dicts) goes through
    `validated` first, so every figure of every test is checked against the installed plotly's schema,
    and read through plotly's object API (``fig.data[0].line.dash``)."""

    def __getattr__(self, name):
        value = getattr(chart_builders, name)
        if name.endswith("_figure"):
            return lambda *args, **kwargs: validated(value(*args, **kwargs))
        if name.endswith("_figures"):
            return lambda *args, **kwargs: {k: validated(v) for k, v in value(*args, **kwargs).items()}
        return value


charts = ValidatedCharts()


def record_rows(n, start=1):
    """n rows in RECORD_COLUMNS order: metric j is 1.5 + sin(step / (5 + j)), except g_loss = sin(step / 9),
    which crosses zero (for the log-axis tests), and the learning rates, fixed at 2e-4."""
    steps = np.arange(start, start + n, dtype=np.float64)
    rows = np.empty((n, len(RECORD_COLUMNS)))
    rows[:, 0] = steps
    for j in range(1, len(RECORD_COLUMNS)):
        rows[:, j] = 1.5 + np.sin(steps / (5 + j))
    rows[:, RECORD_COLUMNS.index("g_loss")] = np.sin(steps / 9)
    for column in chart_builders.LR_COLUMNS:  # fixed, as most runs' are (a changing one adds a panel)
        rows[:, RECORD_COLUMNS.index(column)] = 2e-4
    return rows


@pytest.fixture
def view():
    # capacity 64 for 300 rows: buckets have been merged, so each point's min, mean and max differ
    store = MetricStore(RECORD_COLUMNS, capacity=64)
    for row in record_rows(N_ROWS):
        store.append(tuple(row))
    result = store.view(max_points=1000)
    assert (result["rows"] > 1).any()
    return result


@pytest.fixture
def empty_view():
    return MetricStore(RECORD_COLUMNS, capacity=64).view()


def traces_named(fig, name):
    return [t for t in fig.data if t.name == name]


def only_trace(fig, name):
    (trace,) = traces_named(fig, name)
    return trace


def flag_caps(fig):
    """A Compare chart's flag caps, one hover trace per run (`charts._event_layers`' ``groups``), as one:
    their points in the traces' order, each trace's legend group its run's."""
    traces = traces_named(fig, "events")
    assert len({t.legendgroup for t in traces}) == len(traces)  # one a run
    joined = lambda attr: [v for t in traces for v in attr(t)]  # noqa: E731
    return SimpleNamespace(
        x=joined(lambda t: t.x),
        y=joined(lambda t: t.y),
        text=joined(lambda t: t.text),
        marker=SimpleNamespace(
            color=joined(lambda t: t.marker.color), symbol=joined(lambda t: t.marker.symbol)
        ),
        groups=[t.legendgroup for t in traces],
    )


def event_shapes(fig):
    return [s for s in fig.layout.shapes if s.yref == "paper"]


def event_labels(fig):
    return [a for a in fig.layout.annotations if a.xref == "x"]


def edge_marks(fig, kind):
    """The marks pinned to the plot's edge of one `charts.EDGE_MARKS` kind: (x, colour, hover) per point,
    after checking that they come with one grey legend key."""
    group = [t for t in fig.data if t.legendgroup == f"edge_{kind}"]
    if not group:
        return []
    key, *traces = group  # (Compare's: a trace of each run's, `edge_runs`)
    assert key.showlegend is not False and list(key.x) == [None] and key.name == charts.EDGE_MARKS[kind][0]
    found = []
    for marks in traces:
        assert marks.showlegend is False and marks.yaxis == "y2" and marks.cliponaxis is False
        np.testing.assert_allclose(marks.y, charts.EDGE_MARKS[kind][2], rtol=1e-6)
        found += list(zip(np.asarray(marks.x).tolist(), marks.marker.color, marks.text))
    assert fig.layout.yaxis2.overlaying == "y" and tuple(fig.layout.yaxis2.range) == (0.0, 1.0)
    return found


def edge_runs(fig, kind):
    """Compare's marks of one `charts.EDGE_MARKS` kind by run: run id -> its trace's hover texts; the
    kind's key says it is one (``meta.marks_key``), for the linked legend's double-click to pass over."""
    group = [t for t in fig.data if t.legendgroup == f"edge_{kind}"]
    key, *traces = group
    assert key.meta == {"marks_key": True}
    runs = [t.meta["run"] for t in traces]
    assert len(set(runs)) == len(runs), runs  # one trace a run
    return {t.meta["run"]: list(t.text) for t in traces}


def band_polygons(trace):
    """A band trace's closed pieces: (x, y) of each, split at the blanks between them."""
    x = np.asarray(trace.x, dtype=np.float64)
    y = np.asarray(trace.y, dtype=np.float64)
    cuts = np.flatnonzero(np.isnan(x))
    return [(px, py) for px, py in zip(np.split(x, cuts), np.split(y, cuts))]


def band_pieces(trace):
    """Each closed piece of a band as (steps, top edge, bottom edge): forwards along the top, back."""
    pieces = []
    for px, py in band_polygons(trace):
        px, py = px[~np.isnan(px)], py[~np.isnan(px)]
        half = len(px) // 2
        np.testing.assert_array_equal(px[:half], px[half:][::-1])  # back over the same steps
        pieces.append((px[:half], py[:half], py[half:][::-1]))
    return pieces


def reference_shapes(fig):
    return [s for s in fig.layout.shapes if s.yref == "y"]


def event(step: int, kind: str, detail: str, **fields) -> dict:
    """An event as a run folder gives it back: its fields as the runner writes them."""
    return {"step": step, "time": "t", "kind": kind, "detail": detail, "fields": fields}


EVENTS = [
    event(20, "status", "running", status="running"),
    event(50, "hparam", "lr_g: 0.0002 -> 0.001", field="lr_g", old=0.0002, new=0.001),
    event(80, "step_d", "d_loss=1.2, d_acc_real=0.5", d_loss=1.2, d_acc_real=0.5),
    event(90, "step_g", "single step while paused"),
    event(100, "step_full", "single step while paused"),
    event(150, "flag", "mode_collapse: 2 of 8 modes covered", flag="mode_collapse"),
]


# ------------------------------------------------------------------------------------ smooth


def tensorboard_smooth(values, weight):
    """TensorBoard's loop, written out: debiased EMA over the finite values, blanks passed through."""
    out = np.array(values, dtype=np.float64)
    last, count = 0.0, 0
    for i, v in enumerate(values):
        if not math.isfinite(v):
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out[i] = last / (1 - weight**count)
    return out


def test_smooth_weight_zero_returns_the_input():
    values = np.array([3.0, np.nan, -1.0, 7.5, np.inf])
    smoothed = charts.smooth(values, 0.0)
    np.testing.assert_array_equal(smoothed, values)
    assert smoothed is not values


def test_smooth_constant_stays_constant_and_starts_at_the_first_value():
    np.testing.assert_allclose(charts.smooth(np.full(500, 3.7), 0.99), 3.7, rtol=1e-12, atol=0)
    values = np.random.default_rng(0).normal(size=100)
    for weight in (0.5, 0.9, 0.999):
        assert charts.smooth(values, weight)[0] == pytest.approx(values[0], rel=1e-12, abs=1e-12)


def test_smooth_step_response_matches_closed_form():
    # zeros then ones from index k: s_n = (1 - w^(n-k+1)) / (1 - w^(n+1)) for n >= k, 0 before
    weight, k, n_total = 0.8, 10, 60
    values = np.r_[np.zeros(k), np.ones(n_total - k)]
    n = np.arange(n_total)
    expected = np.where(n >= k, (1 - weight ** (n - k + 1)) / (1 - weight ** (n + 1)), 0.0)
    np.testing.assert_allclose(charts.smooth(values, weight), expected, rtol=1e-12, atol=1e-12)


def test_smooth_skips_blanks_without_poisoning_later_values():
    rng = np.random.default_rng(1)
    values = rng.normal(size=200)
    blanks = np.zeros(200, dtype=bool)
    blanks[[0, 5, 6, 7, 100, 199]] = True
    values[blanks] = np.nan
    values[50] = np.inf
    blanks[50] = True
    smoothed = charts.smooth(values, 0.9)
    assert np.isnan(smoothed[blanks & np.isnan(values)]).all()
    assert smoothed[50] == np.inf
    assert np.isfinite(smoothed[~blanks]).all()
    # the same as smoothing the finite values alone, and as TensorBoard's loop
    np.testing.assert_allclose(smoothed[~blanks], charts.smooth(values[~blanks], 0.9), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(smoothed, tensorboard_smooth(values, 0.9), rtol=1e-10, atol=1e-12)


def test_smooth_edge_inputs():
    assert charts.smooth(np.array([]), 0.5).shape == (0,)
    assert np.isnan(charts.smooth(np.full(4, np.nan), 0.5)).all()
    np.testing.assert_allclose(charts.smooth([1.0, 3.0], 0.999), [1.0, (0.999 + 3.0) / (1 + 0.999)])


@pytest.mark.parametrize("weight", [-0.01, 0.9991, 1.0, 2.0, float("nan"), True, "0.5", None])
def test_smooth_rejects_bad_weight(weight):
    with pytest.raises(ValueError, match="smoothing weight"):
        charts.smooth(np.ones(3), weight)


def test_smooth_rejects_more_than_two_dimensions():
    with pytest.raises(ValueError, match="1-D or 2-D"):
        charts.smooth(np.ones((2, 2, 2)), 0.5)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        charts.smooth(np.float64(1.0), 0.5)


def test_smooth_of_columns_is_each_column_smoothed_alone():
    # a chart smooths its lines in one call: each column as if alone, blanks (different in each) skipped
    rng = np.random.default_rng(2)
    values = rng.normal(size=(120, 4))
    values[[0, 3, 4], 1] = np.nan
    values[60, 2] = -np.inf
    values[:, 3] = np.nan  # a column with no value at all stays blank
    values[7, 3] = 5.0
    smoothed = charts.smooth(values, 0.85)
    assert smoothed.shape == values.shape
    for j in range(values.shape[1]):
        np.testing.assert_allclose(smoothed[:, j], charts.smooth(values[:, j], 0.85), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            smoothed[:, j], tensorboard_smooth(values[:, j], 0.85), rtol=1e-10, atol=1e-12, equal_nan=True
        )
    assert smoothed[7, 3] == 5.0 and np.isnan(np.delete(smoothed[:, 3], 7)).all()
    assert smoothed[60, 2] == -np.inf


# ----------------------------------------------------------------------------- metric_figure


def test_metric_figure_lines_raw_and_envelope(view):
    columns = ["d_loss", "d_real"]
    fig = charts.metric_figure(view, columns, title="t", smoothing=0.6)
    assert {"d_loss", "d_loss (raw)", "d_loss min-max", "d_real", "d_real (raw)", "d_real min-max"} <= {
        t.name for t in fig.data
    }
    step = view["step"].to_numpy()
    for c in columns:
        line = only_trace(fig, c)
        np.testing.assert_array_equal(line.x, step)
        # what goes to the browser is float32 (7 digits): equal to the float64 values at that precision
        assert line.y.dtype == np.float32 and line.x.dtype == np.int32
        np.testing.assert_allclose(line.y, charts.smooth(view[c].to_numpy(), 0.6), rtol=1e-6, atol=0)
        assert line.showlegend is not False
        raw = only_trace(fig, f"{c} (raw)")
        np.testing.assert_array_equal(raw.y, view[c].to_numpy().astype(np.float32))
        assert raw.showlegend is False
        assert raw.legendgroup == line.legendgroup == c
        assert raw.line.color == line.line.color
        assert 0 < raw.opacity < 0.5
        # the band: one closed polygon, forwards along c_max and back along c_min
        names = [t.name for t in fig.data]
        band = only_trace(fig, f"{c} min-max")
        ((steps, top, bottom),) = band_pieces(band)
        np.testing.assert_array_equal(steps, step)
        np.testing.assert_array_equal(top, view[f"{c}_max"].to_numpy().astype(np.float32))
        np.testing.assert_array_equal(bottom, view[f"{c}_min"].to_numpy().astype(np.float32))
        assert band.fill == "toself" and band.showlegend is False and band.legendgroup == c
        # the band is drawn behind the lines
        assert names.index(f"{c} min-max") < names.index(f"{c} (raw)") < names.index(c)
    assert fig.layout.hovermode == "x unified"
    assert fig.layout.xaxis.title.text == "step"
    assert fig.layout.template.layout.plot_bgcolor == "white"  # plotly_white
    assert 250 <= fig.layout.height <= 350
    assert fig.layout.legend.orientation == "h"


def test_a_view_as_arrays_draws_what_its_dataframe_draws():
    # the live view reads MetricStore.view_columns (arrays); a DataFrame view, as other callers pass, must
    # give the same figures byte for byte: blanks, infinities, single steps and a sparse custom metric too
    columns = (*RECORD_COLUMNS, "fid_like")
    store = MetricStore(columns, capacity=64)
    rows = np.column_stack([record_rows(N_ROWS), np.full(N_ROWS, np.nan)])
    rows[40, RECORD_COLUMNS.index("d_loss")] = np.nan
    rows[90, RECORD_COLUMNS.index("g_grad_norm")] = np.inf
    rows[::50, -1] = np.arange(len(rows[::50]))  # measured every 50th step only
    for row in rows:
        store.append(tuple(row))
    events = [
        {"step": 120, "kind": "hparam", "fields": {"field": "lr_g", "old": 0.1, "new": 0.2}},
        {"step": 200, "kind": "step_g", "fields": {}},
    ]
    arrays = store.view_columns(100, nonfinite=True)
    frame = store.view(100, nonfinite=True)
    assert list(arrays) == list(frame.columns)
    for name, values in arrays.items():
        np.testing.assert_array_equal(values, frame[name].to_numpy())
    assert charts.metric_view(store, 100).keys() <= arrays.keys()
    for smoothing, log_y in ((0.0, False), (0.6, True)):
        built = [
            chart_builders.training_figure(v, events, smoothing, log_y=log_y, loss_name="nonsaturating")
            for v in (arrays, frame)
        ]
        assert pio.to_json(built[0], validate=False) == pio.to_json(built[1], validate=False)
    custom = [chart_builders.custom_metric_figures(v, ["fid_like"], events, 0.6) for v in (arrays, frame)]
    assert pio.to_json(custom[0], validate=False) == pio.to_json(custom[1], validate=False)
    line = only_trace(validated(custom[0]["fid_like"]), "fid_like")
    assert 1 <= len(line.x) <= N_ROWS // 50 + 1  # the measured points only, with markers
    assert line.mode == "lines+markers"


@pytest.mark.parametrize("every", [1, 7])  # logged at every step, or on some only
def test_a_custom_metrics_infinity_is_marked_at_the_edge_not_dropped(every):
    store = MetricStore(("step", "mine"), capacity=64)
    values = np.full(200, np.nan)
    values[::every] = np.linspace(1.0, 2.0, len(values[::every]))
    values[every * 10] = np.inf
    values[every * 20] = -np.inf
    for step, value in enumerate(values, start=1):
        store.append((float(step), value))
    fig = validated(
        chart_builders.custom_metric_figures(store.view_columns(64, nonfinite=True), ["mine"])["mine"]
    )
    [(up_x, _, up_text)] = edge_marks(fig, "posinf")
    [(down_x, _, down_text)] = edge_marks(fig, "neginf")
    assert "mine +inf" in up_text and "mine -inf" in down_text
    # in the points that hold the steps they were logged at (a point covers about 200 / 64 steps)
    assert abs(up_x - (every * 10 + 1)) <= 4 and abs(down_x - (every * 20 + 1)) <= 4
    line = only_trace(fig, "mine")
    assert line.mode == ("lines" if every == 1 else "lines+markers")  # all steps measured: a plain line
    assert edge_marks(fig, "nan") == []  # the blanks of a sometimes-logged metric are no NaN


def test_wire_steps_are_int32_when_whole_and_small_else_float64():
    assert charts._wire_steps(np.array([1.0, 2.0, 2**31 - 1.0])).dtype == np.int32
    big = charts._wire_steps(np.array([1.0, 2.0**31]))
    assert big.dtype == np.float64 and big[-1] == 2.0**31
    assert charts._wire_steps(np.array([1.0, np.nan])).dtype == np.float64
    assert charts._wire_steps(np.array([1.5])).dtype == np.float64


def test_metric_lines_are_lines_and_a_single_point_a_marker(view):
    # a click reports the step through plotly.js's hover points (the live chart's plotly_click): no
    # markers on a line, which cost ~10 % of a draw (the Train view's browser test clicks one)
    for smoothing in (0.0, 0.6):
        fig = charts.metric_figure(view, ["d_loss", "g_loss"], title="t", smoothing=smoothing)
        for name in ("d_loss", "g_loss"):
            line = only_trace(fig, name)
            assert line.mode == "lines" and line.marker.maxdisplayed is None
        assert fig.layout.dragmode == "zoom"  # dragging zooms, as on any chart
    one = charts.metric_figure(view.iloc[:1], ["d_loss"], title="t")
    assert only_trace(one, "d_loss").mode == "lines+markers"  # a line through one point draws nothing


def test_metric_figure_without_smoothing_draws_the_mean_only(view):
    fig = charts.metric_figure(view, ["d_fake"], title="t")
    assert [t.name for t in fig.data] == ["d_fake min-max", "d_fake"]
    np.testing.assert_array_equal(only_trace(fig, "d_fake").y, view["d_fake"].to_numpy().astype(np.float32))


def test_metric_figure_marks_hparam_and_flag_events_only(view):
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=EVENTS)
    markers = event_shapes(fig)
    assert [(s.x0, s.x1) for s in markers] == [(50.0, 50.0), (150.0, 150.0)]
    assert all((s.y0, s.y1) == (0.0, 1.0) for s in markers)
    assert [s.line.dash for s in markers] == ["dot", "solid"]
    assert markers[0].line.color != markers[1].line.color  # a flag stands out from a setting change
    # labels inside the plot, written down from its top edge: never cut off at the figure's edge
    labels = event_labels(fig)
    assert [(a.x, a.text) for a in labels] == [(50.0, "lr_g 0.001"), (150.0, "mode_collapse")]
    assert all((a.yref, a.y, a.yanchor, a.textangle) == ("paper", 1.0, "top", -90) for a in labels)
    # a cap on each marker carries its hover text
    caps = only_trace(fig, "events")
    assert list(caps.x) == [50.0, 150.0] and caps.yaxis == "y2" and list(caps.y) == [1.0, 1.0]
    assert [t.split(": ", 1)[1] for t in caps.text] == ["lr_g 0.001", "mode_collapse"]
    quiet = [e for e in EVENTS if e["kind"] not in ("hparam", "flag")]
    quiet_fig = charts.metric_figure(view, ["d_loss"], title="t", events=quiet)
    assert event_shapes(quiet_fig) == [] and event_labels(quiet_fig) == []
    assert traces_named(quiet_fig, "events") == []


def test_an_hparam_event_written_by_hand_without_its_usual_fields_is_labelled_plainly(view):
    events = [
        event(10, "hparam", "x"),  # no field, no old, no new
        event(20, "hparam", "x", field="lr_g"),
        event(30, "hparam", "x", new=0.001),
        event(40, "hparam", "x", field="lr_d", old=0.001, new=None),
        event(50, "hparam", "x", field=7, new=True),  # (a field that is no text is not a name)
        event(60, "hparam", "x", field="lr_g", old=0.0002, new=0.001),
    ]
    assert charts.event_markers(events) == [
        (10.0, "hparam", "hparam"),
        (20.0, "lr_g changed", "hparam"),
        (30.0, "hparam 0.001", "hparam"),
        (40.0, "lr_d null", "hparam"),
        (50.0, "hparam true", "hparam"),
        (60.0, "lr_g 0.001", "hparam"),
    ]
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=events)
    hovers = list(only_trace(fig, "events").text)  # each marker's whole label (not all are labelled)
    assert len(hovers) == 6 and [a.text for a in event_labels(fig)]
    assert not any("None" in text or "?" in text for text in hovers + [a.text for a in event_labels(fig)])


def test_flag_raised_and_cleared_markers_are_told_apart(view):
    events = [
        event(40, "flag", "exploding_gradients: ...", flag="exploding_gradients"),
        event(160, "flag_cleared", "exploding_gradients", flag="exploding_gradients"),
        event(200, "flag", "equilibrium: ...", flag="equilibrium"),
        event(280, "flag_cleared", "equilibrium", flag="equilibrium"),
    ]
    assert charts.event_markers(events) == [
        (40.0, "exploding_gradients", "flag"),
        (160.0, "exploding_gradients cleared", "flag_cleared"),
        (200.0, "equilibrium", "healthy"),
        (280.0, "equilibrium cleared", "healthy_cleared"),
    ]
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=events)
    raised, cleared, healthy, healthy_cleared = event_shapes(fig)
    assert raised.line.dash == "solid" and cleared.line.dash == "dash"
    assert raised.line.width > cleared.line.width
    assert raised.line.color != cleared.line.color and healthy.line.color != raised.line.color
    # told apart without their colours too (red and green merge under deuteranopia): a dash each
    dashes = [raised.line.dash, cleared.line.dash, healthy.line.dash, healthy_cleared.line.dash]
    assert dashes == ["solid", "dash", "dashdot", "longdashdot"]
    symbols = list(only_trace(fig, "events").marker.symbol)
    assert symbols == ["triangle-down", "triangle-down-open", "triangle-down", "triangle-down-open"]


def test_marker_labels_never_print_over_each_other(view):
    # five raise/clear pairs 7-9 steps apart, as the issue saw between steps 161 and 463, on a chart of
    # 300 steps: on the narrowest plot (MIN_PLOT_PX) a label needs LABEL_GAP_PX of it
    steps = [161, 169, 230, 238, 300, 309, 360, 367, 455, 463]
    events = [
        event(s, "flag" if i % 2 == 0 else "flag_cleared", "x", flag="exploding_gradients")
        for i, s in enumerate(steps)
    ]
    span = 463 - 1  # from the view's first step to the last marker
    gap = span * charts.LABEL_GAP_PX / charts.MIN_PLOT_PX
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=events)
    labelled = [a.x for a in event_labels(fig)]
    assert labelled == [169.0, 238.0, 309.0, 367.0, 463.0]  # the newest of each close pair
    assert all(b - a >= gap for a, b in zip(labelled, labelled[1:]))
    assert len(event_shapes(fig)) == 10  # every marker keeps its line
    caps = only_trace(fig, "events")
    assert list(caps.x) == [float(s) for s in steps]  # and its hover, labelled or not
    assert "exploding_gradients cleared" in caps.text[1] and "cleared" not in caps.text[0]
    # each pair's label is written right of its line, clear of the raise's line just left of it (it was
    # written across it), the lines after being far enough off
    assert [(a.xanchor, a.xshift > 0) for a in event_labels(fig)] == [("left", True)] * 5
    # markers far enough apart all keep their labels, left of their lines
    apart = [event(s, "hparam", "x", field="lr_g", new=float(s)) for s in (40, 140, 240)]
    labels = event_labels(charts.metric_figure(view, ["d_loss"], title="t", events=apart))
    assert [a.x for a in labels] == [40.0, 140.0, 240.0]
    assert [(a.xanchor, a.xshift < 0) for a in labels] == [("right", True)] * 3
    # a pair with another marker soon after on its right: the label stays left (not onto that line)
    crowded = [event(s, "flag" if s != 110 else "flag_cleared", "x", flag="d_leads") for s in (100, 110, 135)]
    labels = event_labels(charts.metric_figure(view, ["d_loss"], title="t", events=crowded))
    assert [(a.x, a.xanchor) for a in labels] == [(110.0, "right"), (135.0, "right")]


def test_a_points_raw_value_says_it_is_the_mean_of_its_steps_where_it_holds_several(view):
    """A sweep reviewer read "raw 0.8893" at step 1,004 against metrics.csv's 0.8592 there: the point
    held steps 1,001-1,004 and its raw value was their mean."""
    held = int(view["rows"].max())
    assert held > 1  # (the fixture's 300 rows in 64 buckets)
    line = only_trace(charts.metric_figure(view, ["d_loss"], title="t", smoothing=0.6), "d_loss")
    assert line.hovertemplate == f"%{{y:.4g}} (raw mean of ≤ {held} steps %{{customdata:.4g}})"
    single = pd.DataFrame({"step": [1.0, 2.0, 3.0], "rows": [1.0, 1.0, 1.0], "d_loss": [1.0, 0.9, 0.8]})
    line = only_trace(charts.metric_figure(single, ["d_loss"], title="t", smoothing=0.6), "d_loss")
    assert line.hovertemplate == "%{y:.4g} (raw %{customdata:.4g})"
    # on Compare too
    frames = {"a": pd.DataFrame(view)}
    line = only_trace(charts.compare_figure(frames, "d_loss", smoothing=0.6), "a")
    assert f"raw mean of ≤ {held} steps" in line.hovertemplate


def test_a_label_at_the_axis_start_is_written_right_of_its_line_not_over_the_y_ticks(view):
    """A flag at a run's first steps had its label left of its line, outside the plot, over the y axis'
    top tick (the "10" of a coverage chart hidden under "d_leads")."""
    first = 0.0  # where the x axis starts: 0, as the view's first step (8) is within 5% of its last
    gap = (300 - first) * charts.LABEL_GAP_PX / charts.MIN_PLOT_PX
    near = first + 0.5 * gap
    flags = [event(near, "flag", "x", flag="d_leads"), event(150, "flag", "x", flag="d_leads")]
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=flags)
    assert [(a.x, a.xanchor, a.xshift > 0) for a in event_labels(fig)] == [
        (near, "left", True),
        (150, "right", False),
    ]
    assert fig.layout.xaxis.autorangeoptions.minallowed == first
    # far enough from the start: left of its line, as any other
    later = [event(first + 1.5 * gap, "flag", "x", flag="d_leads")]
    (label,) = event_labels(charts.metric_figure(view, ["d_loss"], title="t", events=later))
    assert (label.xanchor, label.xshift < 0) == ("right", True)
    # a labelled line just right of it (under twice the gap): no room on either side, its label is left
    # out (its line stays, and its cap's hover says what it marks)
    crowded = [
        event(near, "flag", "x", flag="d_leads"),
        event(near + 1.5 * gap, "flag_cleared", "x", flag="d_leads"),
    ]
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=crowded)
    assert [a.x for a in event_labels(fig)] == [near + 1.5 * gap]
    assert len(event_shapes(fig)) == 2


def test_labels_over_the_curves_are_outlined_not_boxed_and_reference_lines_let_a_curve_show(view):
    """A marker's label had a 75 % white box that blanked the curves under it (10 px gaps that read as
    missing rows), and a reference line drawn under the curves had its label struck through by a curve
    that ran along it ("chance (D cannot tell)" at equilibrium)."""
    events = [event(100, "flag", "d_leads: D ahead", flag="d_leads")]
    fig = charts.metric_figure(view, ["d_acc_real"], title="t", events=events, hlines=[(0.5, "chance")])
    (label,) = event_labels(fig)
    assert label.bgcolor is None and label.font.shadow == charts.TEXT_HALO
    assert "#fff" in charts.TEXT_HALO  # a white outline (CSS text-shadow)
    (line,) = reference_shapes(fig)
    assert line.layer == "above" and line.label.font.shadow == charts.TEXT_HALO
    assert line.label.font.color == charts.REFERENCE_COLOR
    *_, alpha = line.line.color.removeprefix("rgba(").removesuffix(")").split(",")
    assert 0.3 <= float(alpha) <= 0.7  # dashes a converged curve shows through


def test_long_marker_labels_are_cut_to_the_plot_and_whole_in_the_hover(view):
    fields = [("learning_rate_of_the_generator", 0.00012345), ("learning_rate_of_the_discriminator", 0.5)]
    events = [event(100, "hparam", "x", field=f, new=v) for f, v in fields]
    fig = charts.metric_figure(view, ["d_loss"], title="t", events=events)
    (label,) = event_labels(fig)
    assert len(html.unescape(label.text)) == charts.MAX_LABEL_CHARS and label.text.endswith("…")
    assert "learning_rate_of_the_discriminator 0.5" in only_trace(fig, "events").text[0]


def test_event_markers_merge_same_step_keep_latest_and_accept_a_frame(view):
    events = [event(s, "hparam", f"lr_d: 0.1 -> {s}", field="lr_d", new=s) for s in range(100, 0, -2)]
    events.append(event(98, "flag", "d_wins: accuracy 1.0", flag="d_wins"))
    markers = charts.event_markers(events)
    assert len(markers) == charts.MAX_EVENT_LABELS == 30
    assert [m[0] for m in markers] == [float(s) for s in range(42, 101, 2)]
    assert markers[-2] == (98.0, "lr_d 98, d_wins", "flag")
    assert markers[-1] == (100.0, "lr_d 100", "hparam")
    assert charts.event_markers(pd.DataFrame(EVENTS)) == [
        (50.0, "lr_g 0.001", "hparam"),
        (150.0, "mode_collapse", "flag"),
    ]
    fig = charts.loss_figure(view, events=events)
    assert len(event_shapes(fig)) == 30


def test_metric_figure_hlines_and_axis_options(view):
    fig = charts.metric_figure(
        view,
        ["d_acc_real"],
        title="acc",
        hlines=[(0.5, "half"), (0.9, "high")],
        y_title="accuracy",
        yrange=(0, 1),
    )
    refs = reference_shapes(fig)
    assert [(s.y0, s.y1, s.label.text) for s in refs] == [(0.5, 0.5, "half"), (0.9, 0.9, "high")]
    assert all(s.xref == "paper" and (s.x0, s.x1) == (0.0, 1.0) and s.line.dash == "dash" for s in refs)
    assert fig.layout.yaxis.title.text == "accuracy"
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.0)
    assert fig.layout.title.text == "acc"


def test_a_chart_of_no_columns_is_an_empty_chart_smoothed_or_not(view):
    for smoothing in (0.0, 0.6):
        fig = charts.metric_figure(view, [], title="none", smoothing=smoothing)
        assert len(fig.data) == 0 and fig.layout.title.text == "none"


def test_a_reference_line_at_the_top_of_its_chart_is_labelled_below_it(view):
    # d_acc_real spans 0.5..2.5 here: a line at its top (2.45, and one above every value, 3.0) is labelled
    # under the line, inside the plot; lines lower down above theirs, as is a line on a fixed range's middle
    fig = charts.metric_figure(view, ["d_acc_real"], title="t", hlines=[(1.0, "low"), (2.45, "top")])
    assert {s.label.text: s.label.yanchor for s in reference_shapes(fig)} == {"low": "bottom", "top": "top"}
    fig = charts.metric_figure(view, ["d_acc_real"], title="t", hlines=[(1.0, "low"), (3.0, "above all")])
    anchors = {s.label.text: s.label.yanchor for s in reference_shapes(fig)}
    assert anchors == {"low": "bottom", "above all": "top"}
    fixed = charts.metric_figure(view, ["d_acc_real"], title="t", hlines=[(0.5, "mid")], yrange=(0, 1))
    assert [s.label.yanchor for s in reference_shapes(fixed)] == ["bottom"]
    # on a log axis the share is of decades: 10 is the top fifth of 0.01..20, 1 is not
    logged = charts.metric_figure(
        view, ["d_acc_real"], title="t", log_y=True, hlines=[(1.0, "one"), (10.0, "ten")], yrange=(0.01, 20)
    )
    assert {s.label.text: s.label.yanchor for s in reference_shapes(logged)} == {
        "one": "bottom",
        "ten": "top",
    }


def test_metric_figure_log_y_drops_non_positive_values(view):
    fig = charts.metric_figure(
        view, ["g_loss"], title="t", log_y=True, hlines=[(-1.0, "gone"), (2.0, "kept")]
    )
    assert fig.layout.yaxis.type == "log"
    g_loss = view["g_loss"].to_numpy()
    assert (g_loss <= 0).any() and (g_loss > 0).any()
    line = only_trace(fig, "g_loss").y
    assert np.isnan(line[g_loss <= 0]).all()
    np.testing.assert_array_equal(line[g_loss > 0], g_loss[g_loss > 0].astype(np.float32))
    pieces = band_pieces(only_trace(fig, "g_loss min-max"))
    band_steps = np.concatenate([p[0] for p in pieces])
    upper = np.concatenate([p[1] for p in pieces])
    lower = np.concatenate([p[2] for p in pieces])
    assert upper.min() > 0 and lower.min() > 0
    # where the band's top is <= 0 it is left out; where only its bottom is, the bottom sits on the
    # chart's smallest positive value, reaching the bottom
    lows, highs, steps = (view[c].to_numpy() for c in ("g_loss_min", "g_loss_max", "step"))
    np.testing.assert_array_equal(band_steps, steps[highs > 0])
    floor = min(v[v > 0].min() for v in (lows, highs, g_loss))
    np.testing.assert_array_equal(lower[lows[highs > 0] <= 0], np.float32(floor))
    # each point whose values reach 0 or below is marked at the bottom edge, in the column's colour
    zeros = edge_marks(fig, "nonpositive")
    assert [x for x, _, _ in zeros] == steps[lows <= 0].tolist()
    assert {color for _, color, _ in zeros} == {charts.G_COLOR}
    assert all(text.startswith("g_loss ≤ 0 (lowest -") for _, _, text in zeros)
    # on a linear axis the same values are drawn: no marks
    assert edge_marks(charts.metric_figure(view, ["g_loss"], title="t"), "nonpositive") == []
    assert [s.y0 for s in reference_shapes(fig)] == [2.0]
    log_range = charts.metric_figure(view, ["d_loss"], title="t", log_y=True, yrange=(0.01, 100))
    assert tuple(log_range.layout.yaxis.range) == pytest.approx((-2.0, 2.0), abs=1e-12)
    linear = charts.metric_figure(view, ["d_loss"], title="t")
    assert linear.layout.yaxis.type == "linear"


def test_metric_figure_log_y_smooths_only_the_positive_values(view):
    fig = charts.metric_figure(view, ["g_loss"], title="t", log_y=True, smoothing=0.5)
    g_loss = view["g_loss"].to_numpy()
    expected = charts.smooth(np.where(g_loss > 0, g_loss, np.nan), 0.5)
    np.testing.assert_allclose(only_trace(fig, "g_loss").y, expected, rtol=1e-6, atol=0)


def test_metric_figure_empty_view_is_a_placeholder(empty_view):
    assert len(empty_view) == 0
    fig = charts.metric_figure(empty_view, ["d_loss"], title="Losses", events=EVENTS)
    assert [len(t.x) for t in fig.data] == [0]  # one empty trace: st.plotly_chart refuses none
    assert [a.text for a in fig.layout.annotations] == ["no data yet"]
    assert fig.layout.title.text == "Losses"
    assert charts.metric_figure(None, ["d_loss"], title="t").layout.annotations[0].text == "no data yet"
    for builder in (
        charts.loss_figure,
        charts.accuracy_figure,
        charts.d_output_figure,
        charts.grad_norm_figure,
    ):
        assert builder(empty_view).layout.annotations[0].text == "no data yet"


def test_metric_figure_single_point_shows_a_marker():
    store = MetricStore(RECORD_COLUMNS, capacity=64)
    store.append(tuple(record_rows(1)[0]))
    fig = charts.metric_figure(store.view(), ["d_loss"], title="t")
    line = only_trace(fig, "d_loss")
    assert "markers" in line.mode
    assert list(line.x) == [1.0]


def test_metric_figure_errors(view):
    with pytest.raises(ValueError, match="lacks columns"):
        charts.metric_figure(view, ["d_loss", "nope"], title="t")
    with pytest.raises(ValueError, match="smoothing weight"):
        charts.metric_figure(view, ["d_loss"], title="t", smoothing=1.5)


# ---------------------------------------------------------------------- convenience builders


def test_builders_use_record_column_names(view):
    figs = [
        charts.loss_figure(view),
        charts.accuracy_figure(view),
        charts.d_output_figure(view),
        charts.grad_norm_figure(view),
    ]
    legend = [t.name for fig in figs for t in fig.data if t.showlegend is not False]
    assert legend == [
        "d_loss",
        "g_loss",
        "d_loss_real",
        "d_loss_fake",
        "d_acc_real",
        "d_acc_fake",
        "d_real",
        "d_fake",
        "d_grad_norm",
        "g_grad_norm",
    ]
    assert set(legend) <= set(RECORD_COLUMNS)
    assert set(charts.METRIC_COLORS) <= set(RECORD_COLUMNS)


@pytest.mark.parametrize(
    "loss_name, has_line",
    [
        ("minimax", True),
        ("nonsaturating", True),
        ("lsgan", False),
        ("hinge", False),
        ("wgan", False),
        ("wgan-gp", False),
        (None, False),
    ],
)
def test_loss_figure_equilibrium_line_only_for_bce(view, loss_name, has_line):
    fig = charts.loss_figure(view, events=EVENTS, smoothing=0.3, loss_name=loss_name)
    refs = reference_shapes(fig)
    if has_line:
        assert [(s.y0, s.label.text) for s in refs] == [
            (pytest.approx(2 * math.log(2), rel=1e-12, abs=0), "equilibrium 2 ln 2")
        ]
    else:
        assert refs == []
    assert len(event_shapes(fig)) == 2
    assert only_trace(fig, "d_loss_real").line.dash == "dash"
    assert only_trace(fig, "d_loss_fake").line.width < only_trace(fig, "d_loss").line.width
    assert only_trace(fig, "d_loss").line.dash == "solid"


def test_loss_figure_log_y(view):
    assert charts.loss_figure(view, log_y=True).layout.yaxis.type == "log"
    assert charts.loss_figure(view).layout.yaxis.type == "linear"


def test_accuracy_figure_has_chance_line_and_fixed_range(view):
    fig = charts.accuracy_figure(view, events=EVENTS, smoothing=0.5)
    assert [(s.y0, s.label.text) for s in reference_shapes(fig)] == [(0.5, "chance (D cannot tell)")]
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.02)
    assert len(event_shapes(fig)) == 2


def test_d_output_figure_midpoint_line(view):
    fig = charts.d_output_figure(view, events=EVENTS, midpoint=0.5)
    assert [s.y0 for s in reference_shapes(fig)] == [0.5]
    assert fig.layout.yaxis.title.text == "D(x) and D(G(z))"
    assert {"d_real", "d_fake"} <= {t.name for t in fig.data}
    critic = charts.d_output_figure(view, events=EVENTS, midpoint=None)
    assert reference_shapes(critic) == []
    assert len(event_shapes(critic)) == 2


def test_grad_norm_figure_is_log_by_default(view):
    fig = charts.grad_norm_figure(view, events=EVENTS)
    assert fig.layout.yaxis.type == "log"
    assert {"d_grad_norm", "g_grad_norm"} <= {t.name for t in fig.data}
    assert len(event_shapes(fig)) == 2
    assert charts.grad_norm_figure(view, log_y=False).layout.yaxis.type == "linear"


def test_a_log_axis_over_one_or_two_decades_is_labelled_1_2_5(view):
    """Norms between 0.5 and 5 got a label at every digit (0.5 0.6 0.7 0.8 0.9 1 2 3 4 5), crowded on a
    panel: such a span is labelled 1, 2, 5 per decade; a wider one every decade (`_log_ticks`), a
    narrower one keeps plotly's own ticks."""
    for low, high, dtick in ((0.5, 5.0, "D2"), (1e-3, 1e3, 1), (0.9, 1.1, None)):
        frame = view.copy()
        for c in ("d_grad_norm", "g_grad_norm"):
            span = np.geomspace(low, high, len(frame))
            for suffix in ("", "_min", "_max"):
                if f"{c}{suffix}" in frame.columns:
                    frame[f"{c}{suffix}"] = span
        axis = charts.grad_norm_figure(frame).layout.yaxis
        assert axis.dtick == dtick, (low, high)
        panels = charts.training_figure(frame, (), 0.0, loss_name="nonsaturating").layout.to_plotly_json()
        (log_axis,) = [a for k, a in panels.items() if k.startswith("yaxis") and a.get("type") == "log"]
        assert log_axis.get("dtick") == dtick, (low, high)  # the panel keeps it
    assert charts.loss_figure(view).layout.yaxis.dtick is None  # linear axes as plotly sets them


# ------------------------------------------------------------------------------------ the Train view's panels

PANEL_BUILDERS = ("loss_figure", "accuracy_figure", "d_output_figure", "grad_norm_figure")
PANEL_AXES = [("x", "y", "y2"), ("x2", "y3", "y4"), ("x3", "y5", "y6"), ("x4", "y7", "y8")]


def lone_panels(view, events, smoothing, log_y=False, loss_name=None, midpoint=0.5):
    """The four charts as `training_figure` builds its panels, each alone."""
    height = charts.PANEL_HEIGHT
    return [
        charts.loss_figure(view, events, smoothing, log_y, loss_name=loss_name, height=height),
        charts.accuracy_figure(view, events, smoothing, height=height),
        charts.d_output_figure(view, events, smoothing, midpoint, height=height),
        charts.grad_norm_figure(view, events, smoothing, log_y=True, height=height),
    ]


def panel_of(fig, index):
    """Panel ``index``'s traces, shapes, annotations and axes in a figure of panels."""
    x, y, edge = PANEL_AXES[index]
    domain = (f"{x} domain", f"{y} domain")
    return {
        "traces": [t for t in fig.data if (t.xaxis or "x") == x],
        "shapes": [s for s in fig.layout.shapes if s.xref in (x, domain[0])],
        "annotations": [a for a in fig.layout.annotations if a.xref in (x, domain[0])],
        "xaxis": fig.layout[f"xaxis{x[1:]}"],
        "yaxis": fig.layout[f"yaxis{y[1:]}"],
        "edge": fig.layout[f"yaxis{edge[1:]}"],
    }


@pytest.mark.parametrize("log_y", [False, True])
def test_training_figure_keeps_every_chart_as_a_panel(view, log_y):
    events = [*EVENTS, event(120, "flag", "d_leads", flag="d_leads")]
    fig = charts.training_figure(view, events, 0.6, log_y=log_y, loss_name="minimax", midpoint=0.5)
    alone = lone_panels(view, events, 0.6, log_y=log_y, loss_name="minimax", midpoint=0.5)
    assert len(fig.data) == sum(len(f.data) for f in alone)
    for index, lone in enumerate(alone):
        x, y, edge = PANEL_AXES[index]
        panel = panel_of(fig, index)
        # every trace, in order, with its values, on the panel's axes (pinned marks on its edge axis)
        assert [t.name for t in panel["traces"]] == [t.name for t in lone.data]
        for mine, theirs in zip(panel["traces"], lone.data):
            np.testing.assert_array_equal(np.asarray(mine.y, dtype=float), np.asarray(theirs.y, dtype=float))
            assert mine.yaxis == (edge if theirs.yaxis == "y2" else y)
            assert mine.line == theirs.line and mine.hovertemplate == theirs.hovertemplate
            assert mine.legend == ("legend" if index == 0 else f"legend{index + 1}")
            if theirs.legendgroup:
                assert mine.legendgroup == f"{index}:{theirs.legendgroup}"
        # the y axis as the chart had it, placed in the panel's domain
        assert panel["yaxis"].type == lone.layout.yaxis.type
        assert panel["yaxis"].title.text == lone.layout.yaxis.title.text
        assert panel["yaxis"].range == lone.layout.yaxis.range
        assert panel["yaxis"].anchor == x and panel["xaxis"].anchor == y
        if lone.layout.yaxis2 is not None and lone.layout.yaxis2.overlaying:
            assert panel["edge"].overlaying == y and tuple(panel["edge"].range) == (0.0, 1.0)
        # reference lines in the panel's data units, event markers across its plot only
        references = [(s.y0, s.label.text) for s in panel["shapes"] if s.yref == y]
        assert references == [(s.y0, s.label.text) for s in reference_shapes(lone)]
        assert all(s.xref == f"{x} domain" for s in panel["shapes"] if s.yref == y)
        markers = [s for s in panel["shapes"] if s.yref == f"{y} domain"]
        assert [s.x0 for s in markers] == [s.x0 for s in event_shapes(lone)] == [50, 120, 150]
        assert [a.text for a in panel["annotations"]] == [a.text for a in event_labels(lone)]
        # its title above it, at the left edge
        (title,) = [
            a for a in fig.layout.annotations if a.xref == "paper" and a.text == lone.layout.title.text
        ]
        assert title.x == 0 and title.y > panel["yaxis"].domain[1]
    assert fig.layout.yaxis.type == ("log" if log_y else "linear")
    assert fig.layout.yaxis7.type == "log"  # gradient norms
    assert tuple(fig.layout.yaxis3.range) == (0.0, 1.02)  # accuracy
    assert fig.layout.hovermode == "x unified" and fig.layout.dragmode == "zoom"
    assert fig.layout.title.text is None  # the panels' titles only


def test_training_figure_panels_share_steps_and_stack_without_overlap(view):
    fig = charts.training_figure(view, EVENTS, 0.6, loss_name="nonsaturating")
    axes = [panel_of(fig, i) for i in range(4)]
    # one zoom on steps for all: every x axis matches the first; tick labels and title under the last only
    assert [a["xaxis"].matches for a in axes] == [None, "x", "x", "x"]
    assert [a["xaxis"].showticklabels for a in axes] == [False, False, False, None]
    assert axes[-1]["xaxis"].title.text == "step"
    # each plot PANEL_PLOT_PX tall, top to bottom in order, its title and legend rows between two
    layout = fig.layout
    area = layout.height - layout.margin.t - layout.margin.b
    domains = [a["yaxis"].domain for a in axes]
    for low, high in domains:
        assert (high - low) * area == pytest.approx(charts.PANEL_PLOT_PX, abs=1e-6)
    assert domains[0][1] == 1.0 and domains[-1][0] == pytest.approx(0.0, abs=1e-9)
    titles = [a for a in layout.annotations if a.xref == "paper"]
    legends = [layout.legend, layout.legend2, layout.legend3, layout.legend4]
    for i in range(1, 4):
        gap_px = (domains[i - 1][0] - domains[i][1]) * area
        rows = -(-len({t.name for t in axes[i]["traces"] if t.showlegend is not False}) // 4)
        assert gap_px == pytest.approx(charts.PANEL_GAP_PX + charts.TITLE_ROW_PX + rows * 20, abs=1e-6)
        assert titles[i].y == pytest.approx(domains[i - 1][0] - charts.PANEL_GAP_PX / area, abs=1e-9)
    for legend, (_, high) in zip(legends, domains):  # each between its panel's title and plot
        assert legend.y == pytest.approx(high) and legend.yanchor == "bottom" and legend.orientation == "h"
    assert layout.showlegend is True


def test_training_figure_legend_entries_stay_in_their_panel(view):
    # a run whose every chart pins a NaN to its edge: each panel's NaN key shows and hides its own marks
    nan_view = view.copy()
    for column in chart_builders.METRIC_COLUMNS:
        nan_view[f"{column}_nonfinite"] = np.where(np.arange(len(view)) == 5, 1, 0).astype(np.uint8)
    diverged = [event(int(view["step"].iloc[5]), "flag", "diverged", flag="diverged")]
    fig = charts.training_figure(nan_view, diverged, 0.0)
    nan_groups = [t.legendgroup for t in fig.data if t.name == "NaN"]
    assert nan_groups == [f"{i}:edge_nan" for i in range(4) for _ in range(2)]  # a key and the marks
    for index in range(4):
        panel = panel_of(fig, index)
        (marks,) = [t for t in panel["traces"] if t.name == "NaN" and t.showlegend is False]
        assert marks.yaxis == PANEL_AXES[index][2]
        assert marks.meta is None  # (a metric's marks, no run's: Compare's name theirs, `edge_runs`)


def test_training_figure_of_an_empty_view_is_four_placeholders(empty_view):
    fig = charts.training_figure(empty_view, EVENTS)
    # an empty trace on each panel's axes, which plotly.js otherwise does not draw
    assert [(t.xaxis, t.yaxis, len(t.x)) for t in fig.data] == [(x, y, 0) for x, y, _ in PANEL_AXES]
    notes = [a for a in fig.layout.annotations if a.text == "no data yet"]
    assert [(a.xref, a.yref) for a in notes] == [(f"{x} domain", f"{y} domain") for x, y, _ in PANEL_AXES]
    assert {a.text for a in fig.layout.annotations} == {
        "no data yet",
        "Losses",
        "D accuracy",
        "D's output",
        "Gradient norms",
    }
    assert (
        fig.layout.height == 4 * (charts.TITLE_ROW_PX + charts.PANEL_PLOT_PX) + 3 * charts.PANEL_GAP_PX + 36
    )


def test_panel_marker_labels_are_cut_to_the_shorter_plot(view):
    events = [event(100, "hparam", "x", field="learning_rate_of_the_discriminator", new=0.5)]
    fig = charts.training_figure(view, events)
    labels = [a.text for a in fig.layout.annotations if a.xref.startswith("x")]
    expected = int(charts.MAX_LABEL_CHARS * charts.PANEL_PLOT_PX / charts.LABEL_CHARS_AT_PX)
    assert 20 <= expected < charts.MAX_LABEL_CHARS
    assert [len(html.unescape(text)) for text in labels] == [expected] * 4
    assert all(text.endswith("…") for text in labels)
    alone = charts.loss_figure(view, events)  # a lone chart keeps its longer labels
    assert len(html.unescape(event_labels(alone)[0].text)) == charts.MAX_LABEL_CHARS


def test_panels_figure_needs_a_panel():
    with pytest.raises(ValueError, match="at least one panel"):
        chart_builders.panels_figure([])


# ---------------------------------------------------------------------------- compare_figure


def test_compare_figure_one_line_per_run(view):
    store = MetricStore(RECORD_COLUMNS, capacity=64)
    store.extend(record_rows(120, start=1))
    other = store.view()
    empty = MetricStore(RECORD_COLUMNS, capacity=64).view()
    views = {"run-a": view, "run-b": other, "run-empty": empty, "run-old": view.drop(columns=["d_loss"])}
    fig = charts.compare_figure(views, "d_loss", smoothing=0.7)
    shown = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in shown] == ["run-a", "run-b"]
    for trace, run_view in zip(shown, (view, other)):
        np.testing.assert_allclose(
            trace.y, charts.smooth(run_view["d_loss"].to_numpy(), 0.7), rtol=1e-6, atol=0
        )
        np.testing.assert_array_equal(trace.x, run_view["step"].to_numpy())
    raw = [t for t in fig.data if t.showlegend is False]
    assert [t.name for t in raw] == ["run-a (raw)", "run-b (raw)"]
    assert shown[0].line.color != shown[1].line.color
    assert fig.layout.title.text == "d_loss"
    plain = charts.compare_figure(views, "d_loss")
    assert [t.name for t in plain.data] == ["run-a", "run-b"]
    assert charts.compare_figure(views, "d_loss", log_y=True).layout.yaxis.type == "log"


def evaluated_store(
    every: int, values: Sequence[float], rows: int = 1_000, capacity: int = 64
) -> MetricStore:
    """A run's store of ``rows`` steps with fd_cls measured every ``every`` steps (``values`` in turn),
    blank on the others; a custom column ``my_metric`` logged on the same steps."""
    store = MetricStore((*RECORD_COLUMNS, "my_metric"), capacity=capacity)
    table = np.c_[record_rows(rows), np.full(rows, np.nan)]
    table[:, [RECORD_COLUMNS.index(c) for c in EVAL_COLUMNS]] = np.nan  # measured on no other step
    for value, at in zip(values, range(every, rows + 1, every), strict=True):
        table[at - 1, RECORD_COLUMNS.index("fd_cls")] = value
        table[at - 1, -1] = 2 * value
    store.extend(table)
    return store


def test_compare_draws_a_quality_metric_through_each_runs_evaluations():
    """Compare drew fd_cls and classes_covered as a wall of NaN marks (every step between evaluations was
    a 'NaN' in the run's downsampled view) and no value at all."""
    stores = {
        "a": evaluated_store(100, [20.3, 12.2, 9.2, 8.0, 7.5, 7.1, 6.9, 6.5, 6.4, 6.0]),
        "b": evaluated_store(250, [145.0, 167.0, 120.0, 90.0]),
    }
    for column in ("fd_cls", "my_metric"):
        frames = {
            run_id: charts.compare_view(store, column, store.view(300, nonfinite=True))
            for run_id, store in stores.items()
        }
        fig = charts.compare_figure(frames, column, smoothing=0.6)
        shown = [t for t in fig.data if t.showlegend is not False and t.name in stores]
        assert [t.name for t in shown] == ["a", "b"]
        a, b = shown
        scale = 2.0 if column == "my_metric" else 1.0
        if column == "fd_cls":  # each evaluation at its own step, unsmoothed, a marker on each
            np.testing.assert_array_equal(a.x, np.arange(100, 1001, 100))
            np.testing.assert_array_equal(b.x, [250, 500, 750, 1000])
            np.testing.assert_allclose(b.y, [145.0, 167.0, 120.0, 90.0], rtol=1e-6)
        else:  # from the downsampled view: the buckets that hold a value, none blank
            assert len(b.x) == 4 and np.isfinite(np.asarray(b.y, dtype=float)).all()
            assert np.asarray(b.y, dtype=float).min() >= 2 * 90.0 - 1e-6
            assert np.asarray(b.y, dtype=float).max() <= 2 * 167.0 + 1e-6
        assert np.isfinite(np.asarray(a.y, dtype=float)).all() and len(a.x) == 10
        assert a.mode == b.mode == "lines+markers" and a.marker.size == 6
        assert float(np.nanmax(np.asarray(a.y, dtype=float))) == pytest.approx(20.3 * scale, rel=1e-6)
        assert not [t for t in fig.data if "(raw)" in (t.name or "")]  # not smoothed
        assert edge_marks(fig, "nan") == []
        # from step 0, as the Train view's quality charts: plotly padded the markers' range to below 0
        assert fig.layout.xaxis.rangemode == "tozero"
    # a per-step metric's NaN is still a failure, marked
    diverged = evaluated_store(100, [1.0] * 10)
    rows = record_rows(50, start=1_001)
    rows[:, [RECORD_COLUMNS.index(c) for c in EVAL_COLUMNS]] = np.nan
    rows[:, RECORD_COLUMNS.index("d_loss")] = np.nan
    diverged.extend(np.c_[rows, np.full(50, np.nan)])
    view = diverged.view(300, nonfinite=True)
    frames = {"diverged": charts.compare_view(diverged, "d_loss", view)}
    flag = {"diverged": [event(1_001, "flag", "diverged", flag="diverged")]}
    fig = charts.compare_figure(frames, "d_loss", events=flag)
    assert edge_marks(fig, "nan") and max(x for x, _, _ in edge_marks(fig, "nan")) == 1_050
    assert fig.layout.xaxis.rangemode is None  # lines alone: plotly's own range, not padded


def test_compare_figure_without_data_is_a_placeholder(empty_view):
    fig = charts.compare_figure({"run-a": empty_view}, "d_loss")
    assert [len(t.x) for t in fig.data] == [0]
    assert fig.layout.annotations[0].text == "no data yet"
    assert charts.compare_figure({}, "d_loss").layout.annotations[0].text == "no data yet"


# ----------------------------------------------------------------------------- points_figure


BOUNDS = (-2.0, 4.0, -1.0, 3.0)


@pytest.fixture
def points():
    rng = np.random.default_rng(2)
    # inside BOUNDS, all of them (points beyond them are drawn at the edge: `test_points_beyond_the_view...`)
    low, high = (BOUNDS[0] + 0.1, BOUNDS[2] + 0.1), (BOUNDS[1] - 0.1, BOUNDS[3] - 0.1)
    real = rng.uniform(low, high, size=(500, 2))
    fake = rng.uniform(low, high, size=(1000, 2))
    xs = np.linspace(BOUNDS[0], BOUNDS[1], 40)
    ys = np.linspace(BOUNDS[2], BOUNDS[3], 30)
    heatmap = 1 / (1 + np.exp(-(xs[None, :] - ys[:, None])))  # rows = y
    grads = rng.normal(size=(1000, 2)) * rng.uniform(0.1, 5.0, size=(1000, 1))
    return real, fake, heatmap, grads


def test_points_figure_max_points_draws_the_first_of_each_set_with_their_arrows(points):
    real, fake, heatmap, grads = points
    fig = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=heatmap, grads=grads, max_points=120)
    np.testing.assert_allclose(only_trace(fig, "real").x, real[:120, 0], rtol=1e-6)
    np.testing.assert_allclose(only_trace(fig, "generated").y, fake[:120, 1], rtol=1e-6)
    (arrows,) = [t for t in fig.data if t.name == charts.ARROW_NAME]
    bases = np.column_stack([arrows.x[0::3], arrows.y[0::3]])  # base, tip, gap per arrow
    assert len(bases) == 120  # one on each point drawn (fewer than MAX_ARROWS)
    np.testing.assert_allclose(bases, fake[:120])
    full = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=heatmap, grads=grads)
    (heat,), (full_heat,) = ([t for t in f.data if isinstance(t, go.Heatmap)] for f in (fig, full))
    np.testing.assert_array_equal(heat.z, full_heat.z)  # D's picture is the same: only points are fewer
    labels = [str(i) for i in range(len(fake))]
    labelled = charts.points_figure(real, fake, bounds=BOUNDS, fake_labels=labels, max_points=3)
    assert list(only_trace(labelled, "generated").customdata) == ["0", "1", "2"]
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="max_points must be an int >= 1 or None"):
            charts.points_figure(real, fake, bounds=BOUNDS, max_points=bad)
    # labels and arrows are checked against every point, not only the ones drawn
    with pytest.raises(ValueError, match="fake_labels needs one label per fake point"):
        charts.points_figure(real, fake, bounds=BOUNDS, fake_labels=labels[:10], max_points=10)
    with pytest.raises(ValueError, match="grads must match fake's shape"):
        charts.points_figure(real, fake, bounds=BOUNDS, grads=grads[:10], max_points=10)


def test_points_figure_heatmap_points_and_axes(points):
    real, fake, heatmap, _ = points
    fig = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=heatmap, title="step 10")
    (heat,) = [t for t in fig.data if isinstance(t, go.Heatmap)]
    # float32 on the wire (sent on every refresh): 7 significant digits
    np.testing.assert_allclose(heat.z, heatmap, rtol=1e-6)
    np.testing.assert_allclose(heat.x, np.linspace(-2, 4, 40), rtol=1e-6)
    np.testing.assert_allclose(heat.y, np.linspace(-1, 3, 30), rtol=1e-6)
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)  # probabilities: a fixed scale around 0.5
    assert fig.data[0] is heat  # behind the points
    real_trace, fake_trace = only_trace(fig, "real"), only_trace(fig, "generated")
    for trace, data in ((real_trace, real), (fake_trace, fake)):
        assert trace.x.dtype == trace.y.dtype == heat.z.dtype == np.float32
        np.testing.assert_allclose(trace.x, data[:, 0], rtol=1e-6)
        np.testing.assert_allclose(trace.y, data[:, 1], rtol=1e-6)
    assert real_trace.marker.color != fake_trace.marker.color
    assert traces_named(fig, charts.ARROW_NAME) == []
    assert tuple(fig.layout.xaxis.range) == (-2.0, 4.0)
    assert tuple(fig.layout.yaxis.range) == (-1.0, 3.0)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    # the plot keeps its height: the figure grows by the legend's row and the colour bar's margin
    margin = fig.layout.margin
    assert fig.layout.height - margin.t - margin.b == charts.POINTS_HEIGHT - 40 - 36
    assert fig.layout.title.text == "step 10"


def test_points_figure_colour_scale_centre(points):
    real, fake, heatmap, _ = points
    scores = 3.0 * heatmap + 10.0  # a critic's raw scores in [10, 13]
    fig = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=scores, midpoint=None)
    heat = fig.data[0]
    centre = np.median(scores)
    assert (heat.zmin + heat.zmax) / 2 == pytest.approx(centre, rel=1e-12)
    assert heat.zmax - heat.zmin == pytest.approx(2 * np.abs(scores - centre).max(), rel=1e-12)
    # a D near chance stays pale: the range is at least 0.5 either side of the midpoint
    near_chance = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=0.5 + 0.01 * heatmap).data[0]
    assert (near_chance.zmin, near_chance.zmax) == (0.0, 1.0)
    # hinge: raw scores (no midpoint) under a fixed threshold, 0: white at 0 wherever the median lies
    hinge = 3.0 * heatmap + 0.5  # scores in [0.5, 3.5]: D says real everywhere, all green
    assert np.median(hinge) > 1.0
    heat = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=hinge, midpoint=None, threshold=0.0).data[
        0
    ]
    assert (heat.zmin + heat.zmax) / 2 == pytest.approx(0.0, abs=1e-12)
    assert heat.zmax == pytest.approx(hinge.max(), rel=1e-6) and heat.zmin == pytest.approx(
        -hinge.max(), rel=1e-6
    )
    assert "(D says real above 0)" in heat.hovertemplate
    assert list(heat.colorbar.ticktext) == [format(v, ".3g") for v in (heat.zmin, 0.0, heat.zmax)]
    assert heat.colorbar.title.text == "D's score at each point (below 0: fake, above: real)"


def test_points_figure_gradient_arrows(points):
    real, fake, heatmap, grads = points
    fig = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=heatmap, grads=grads)
    arrows = only_trace(fig, charts.ARROW_NAME)
    assert arrows.name == "where G pushes its points"
    # a colour of their own: not the points', not the heatmap's, not the grey that read as the clusters'
    assert arrows.line.color == arrows.marker.color == charts.ARROW_COLOR
    assert charts.ARROW_COLOR not in (charts.REAL_COLOR, charts.FAKE_COLOR, "#333333")
    x = np.asarray(arrows.x, dtype=np.float64).reshape(-1, 3)
    y = np.asarray(arrows.y, dtype=np.float64).reshape(-1, 3)
    assert len(x) == charts.MAX_ARROWS == 200
    assert np.isnan(x[:, 2]).all() and np.isnan(y[:, 2]).all()
    base = np.column_stack([x[:, 0], y[:, 0]])
    tip = np.column_stack([x[:, 1], y[:, 1]])
    # each base is a generated point, and the arrow points along its gradient
    chosen = [int(np.flatnonzero((fake == b).all(axis=1))[0]) for b in base]
    assert len(set(chosen)) == 200
    step, g = tip - base, grads[chosen]
    cross = step[:, 0] * g[:, 1] - step[:, 1] * g[:, 0]
    np.testing.assert_allclose(cross, 0.0, atol=1e-12)
    assert ((step * g).sum(axis=1) > 0).all()
    lengths = np.hypot(*step.T)
    width = BOUNDS[1] - BOUNDS[0]
    shortest = charts.MIN_ARROW_FRACTION * width
    assert lengths.max() == pytest.approx(0.08 * width, rel=1e-9)
    # one scale for the arrows above the shortest visible length; the others drawn at that length
    ratios = lengths / np.hypot(*g.T)
    scaled = lengths > shortest * (1 + 1e-9)
    assert scaled.sum() >= 2 and (~scaled).sum() >= 2  # both kinds in this data
    np.testing.assert_allclose(ratios[scaled], ratios[scaled][0], rtol=1e-9)
    np.testing.assert_allclose(lengths[~scaled], shortest, rtol=1e-9)
    assert (ratios[~scaled] >= ratios[scaled][0] * (1 - 1e-9)).all()  # lengthened, never shortened
    assert fig.data[-1] is arrows  # on top of the points
    few = charts.points_figure(real[:5], fake[:5], bounds=BOUNDS, grads=grads[:5])
    assert len(only_trace(few, charts.ARROW_NAME).x) == 15


def test_points_figure_zero_gradients_and_input_checks(points):
    real, fake, heatmap, grads = points
    still = charts.points_figure(real, fake, bounds=BOUNDS, grads=np.zeros_like(fake))
    x = np.asarray(only_trace(still, charts.ARROW_NAME).x, dtype=np.float64).reshape(-1, 3)
    np.testing.assert_array_equal(x[:, 0], x[:, 1])
    with pytest.raises(ValueError, match="fake"):
        charts.points_figure(real, fake[:, :1], bounds=BOUNDS)
    with pytest.raises(ValueError, match="grads"):
        charts.points_figure(real, fake, bounds=BOUNDS, grads=grads[:10])
    with pytest.raises(ValueError, match="bounds"):
        charts.points_figure(real, fake, bounds=(1.0, 0.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="heatmap"):
        charts.points_figure(real, fake, bounds=BOUNDS, heatmap=np.ones(5))


def test_points_figure_latent_walk_path(points):
    real, _, heatmap, _ = points
    path = np.column_stack([np.linspace(-1, 3, 7), np.linspace(0, 2, 7)])
    fig = charts.points_figure(real, np.zeros((0, 2)), bounds=BOUNDS, heatmap=heatmap, path=path)
    walk = only_trace(fig, "latent walk")
    np.testing.assert_array_equal(walk.x, path[:, 0])
    np.testing.assert_array_equal(walk.y, path[:, 1])
    assert walk.mode == "lines+markers+text"
    assert list(walk.text) == ["A", "", "", "", "", "", "B"]
    assert walk.line.color == walk.marker.color == charts.G_COLOR
    assert list(walk.customdata) == list(range(7))
    # no empty "generated" entry when there are no generated points
    assert traces_named(fig, "generated") == []
    assert [t.name for t in fig.data] == ["D's output", "real", "latent walk"]
    with pytest.raises(ValueError, match="path"):
        charts.points_figure(real, real, bounds=BOUNDS, path=np.ones((4, 3)))


def test_points_figure_names_and_labels_the_second_point_set(points):
    real, fake, _, _ = points
    fig = charts.points_figure(real, fake[:4], bounds=BOUNDS, fake_name="asked", fake_labels=[1, 2, 3, 4])
    asked = only_trace(fig, "asked")
    assert traces_named(fig, "generated") == []
    assert asked.mode == "markers+text" and asked.text[0] == "1"  # (crowded ones thinned: test below)
    assert all(text in ("", label) for text, label in zip(asked.text, ["1", "2", "3", "4"]))
    assert "asked %{customdata}" in asked.hovertemplate and list(asked.customdata) == ["1", "2", "3", "4"]
    np.testing.assert_allclose(asked.x, fake[:4, 0], rtol=1e-6)  # float32 on the wire
    plain = only_trace(charts.points_figure(real, fake, bounds=BOUNDS), "generated")
    assert plain.mode == "markers" and plain.text is None
    with pytest.raises(ValueError, match="fake_labels needs one label per fake point"):
        charts.points_figure(real, fake[:4], bounds=BOUNDS, fake_labels=["1"])
    # a label beside its point on the side away from the view's right and top edges (it was cut there)
    corners = np.array(
        [[0.0, 0.0], [3.9, 0.0], [0.0, 2.9], [3.9, 2.9], [3.2, 2.4]]
    )  # BOUNDS: x -2..4, y -1..3
    edged = only_trace(
        charts.points_figure(real, corners, bounds=BOUNDS, fake_name="asked", fake_labels=range(5)), "asked"
    )
    assert list(edged.textposition) == ["top right", "top left", "bottom right", "bottom left", "top right"]


def test_points_crowded_together_keep_one_label_and_each_its_own_in_the_hover(points):
    """Fifty asked points in one cluster wrote their numbers over each other: a point within
    LABEL_MIN_GAP_SHARE of the view's larger side (6 here: 0.3) of an earlier labelled one is drawn
    without its label, which stays in its hover."""
    real = points[0]
    cluster = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.29], [0.31, 0.0], [2.0, 2.0], [2.0, 2.2]])
    asked = only_trace(
        charts.points_figure(real, cluster, bounds=BOUNDS, fake_name="asked", fake_labels=list("abcdef")),
        "asked",
    )
    assert list(asked.text) == ["a", "", "", "d", "e", ""]  # b, c within 0.3 of a; f of e
    assert list(asked.customdata) == list("abcdef")


# ------------------------------------------------------------------------- image_grid_figure


def test_image_grid_figure():
    grid = np.random.default_rng(3).integers(0, 256, size=(73, 146, 3), dtype=np.uint8)
    fig = charts.image_grid_figure(grid, title="samples")
    (image,) = fig.data
    assert isinstance(image, go.Image)
    # the grid travels as a lossless PNG
    assert image.source.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(image.source.split(",", 1)[1]))) as png:
        np.testing.assert_array_equal(np.asarray(png.convert("RGB")), grid)
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    # half as tall as wide: a shorter chart than a square grid, never over 420
    square = charts.image_grid_figure(np.zeros((50, 50, 3), dtype=np.uint8))
    assert square.layout.height <= 420
    assert fig.layout.height < square.layout.height
    assert fig.layout.title.text == "samples"
    with pytest.raises(ValueError, match="uint8"):
        charts.image_grid_figure(grid.astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        charts.image_grid_figure(grid[:, :, 0])


# ---------------------------------------------------------------------------------- validity


def all_figures(view, empty_view):
    """Every builder's figure, as built (plain dicts)."""
    charts = chart_builders
    rng = np.random.default_rng(4)
    fake = rng.normal(size=(50, 2))
    return [
        charts.loss_figure(view, EVENTS, 0.5, loss_name="minimax"),
        charts.loss_figure(view, EVENTS, 0.0, log_y=True),
        charts.accuracy_figure(view, EVENTS, 0.2),
        charts.d_output_figure(view, EVENTS, midpoint=None),
        charts.grad_norm_figure(view, EVENTS, 0.9),
        charts.metric_figure(view, ["lr_g"], title="lr", hlines=[(1.0, "one")], yrange=(0, 3)),
        charts.metric_figure(empty_view, ["d_loss"], title="empty"),
        charts.metric_figure(view, ["d_loss", "g_loss"], title="marked", markers=True),
        charts.compare_figure({"a": view, "b": view}, "g_loss", smoothing=0.5),
        charts.points_figure(
            rng.normal(size=(50, 2)), fake, bounds=BOUNDS, heatmap=rng.random((8, 8)), grads=-fake, title="p"
        ),
        charts.image_grid_figure(np.zeros((10, 20, 3), dtype=np.uint8), "g"),
        charts.points_figure(
            fake, fake[:3], bounds=BOUNDS, fake_name="asked", fake_labels=["1", "2", "3"], path=fake[:6]
        ),
    ]


def plain(value):
    """Figure JSON with plotly's typed arrays (``{"dtype", "bdata"}``, plotly 6 and later) as lists."""
    if isinstance(value, dict) and {"dtype", "bdata"} <= set(value):
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def numeric(value) -> bool:
    """A number, a blank (null) or a (nested) list of them."""
    if isinstance(value, list):
        return all(numeric(v) for v in value)
    return value is None or isinstance(value, int | float) and not isinstance(value, bool)


def numbers(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.asarray(values, dtype=object).ravel()], float)


def same_values(built, sent, where="figure"):
    """``sent`` holds what ``built`` holds: the same keys and texts, numbers equal to float32's precision
    (the data travels as float32), NaN sent as null."""
    if isinstance(built, dict):
        assert isinstance(sent, dict) and set(built) == set(sent), (where, sorted(built), sent)
        for key in built:
            same_values(built[key], sent[key], f"{where}.{key}")
    elif isinstance(built, list) and numeric(built):
        np.testing.assert_allclose(numbers(sent), numbers(built), rtol=1e-6, equal_nan=True, err_msg=where)
    elif isinstance(built, list):
        assert isinstance(sent, list) and len(built) == len(sent), where
        for i, (a, b) in enumerate(zip(built, sent)):
            same_values(a, b, f"{where}[{i}]")
    elif isinstance(built, float) and isinstance(sent, float | int | None):
        np.testing.assert_allclose(numbers([sent]), [built], rtol=1e-6, equal_nan=True, err_msg=where)
    else:
        assert sent == built, where


def test_every_figure_is_valid_for_the_installed_plotly_and_sent_as_built(view, empty_view):
    # What the live view sends (plotly.io's encoder on the builder's dict, as ui.live_chart does) is a
    # figure plotly's validating constructor accepts, and it holds what the validated builder's figure
    # holds: no property plotly would refuse, drop or change, and every array whole.
    for figure in all_figures(view, empty_view):
        # every array one orjson writes as it is (plotly's fast path; a strided one costs a walk in Python)
        orjson.dumps(figure, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
        sent = json.loads(pio.to_json(figure, validate=False))
        built = plain(json.loads(validated(figure).to_json()))
        assert built["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
        same_values(built, plain(json.loads(validated(sent).to_json())))


def test_a_figure_is_plain_data_and_the_builders_share_no_mutable_state(view):
    first = chart_builders.loss_figure(view, EVENTS)
    assert isinstance(first, dict) and isinstance(first["data"], list) and isinstance(first["layout"], dict)
    first["layout"]["height"] = 123  # a caller's change to one figure is not in the next
    assert chart_builders.loss_figure(view, EVENTS)["layout"]["height"] != 123


def test_charts_do_not_import_streamlit():
    source = Path(charts.__file__).read_text(encoding="utf-8")
    assert "import streamlit" not in source and "from streamlit" not in source


def quality_store(measured: dict[str, float]) -> MetricStore:
    """30 steps, an evaluation every 10: ``measured`` columns get value + step // 10, the rest blank."""
    store = MetricStore(RECORD_COLUMNS, capacity=64)
    for step in range(1, 31):
        row = dict.fromkeys(RECORD_COLUMNS, 0.5)
        row.update(dict.fromkeys(EVAL_COLUMNS, float("nan")))
        row["step"] = float(step)
        if step % 10 == 0:
            row.update({c: v + step // 10 for c, v in measured.items()})
        store.append([row[c] for c in RECORD_COLUMNS])
    return store


@pytest.mark.parametrize(
    ("measured", "charts_of"),
    [
        (  # ring8 / grid25
            {"modes_covered": 5, "hq_pct": 80, "mode_kl": 0.1, "grid_kl": 0.2, "grid_js": 0.05},
            {
                "coverage": ["modes_covered"],
                "samples": ["hq_pct"],
                "kl_modes": ["mode_kl"],  # at most ln 8: beside grid_kl (15+ when collapsed) a flat line
                "kl_grid": ["grid_kl"],
                "js": ["grid_js"],  # on its own scale: its worst, ln 2, looked like 0 beside a KL of 15
            },
        ),
        ({"grid_kl": 0.2, "grid_js": 0.05}, {"kl_grid": ["grid_kl"], "js": ["grid_js"]}),  # other 2D data
        (  # digit-like images
            {"classes_covered": 7, "class_kl": 0.3, "diversity": 0.8},
            {"coverage": ["classes_covered"], "samples": ["diversity"], "kl_modes": ["class_kl"]},
        ),
        ({"diversity": 0.8}, {"samples": ["diversity"]}),  # other images
    ],
)
def test_quality_figures_chart_every_measured_metric_on_its_own_scale(measured, charts_of):
    figures = charts.quality_figures(quality_store(measured).view())
    lines = {
        name: [t for t in fig.data if t.hoverinfo != "skip"] for name, fig in figures.items()
    }  # no bands
    assert {name: [t.name for t in traces] for name, traces in lines.items()} == charts_of
    for traces in lines.values():
        for line in traces:  # the sparse evaluations connected, each marked
            assert list(line.x) == [10, 20, 30] and "markers" in line.mode and line.marker.size == 6
            assert line.marker.opacity is None  # drawn, unlike the metric charts' invisible ones
            assert list(line.y) == pytest.approx([measured[line.name] + k for k in (1, 2, 3)])
    if "diversity" in measured:  # the real data's diversity as the reference
        assert [s.y0 for s in figures["samples"].layout.shapes if s.y0 == s.y1] == [1.0]
    if "grid_js" in measured:  # its ceiling, ln 2: no overlap at all
        (ceiling,) = [s for s in figures["js"].layout.shapes if s.y0 == s.y1]
        assert ceiling.y0 == pytest.approx(math.log(2)) and ceiling.label.text.startswith("ln 2")
    if "coverage" in figures:  # no target line unless the data's total is given
        assert not [s for s in figures["coverage"].layout.shapes if s.y0 == s.y1]
        with_total = charts.quality_figures(quality_store(measured).view(), coverage_total=8)["coverage"]
        assert [s.y0 for s in with_total.layout.shapes if s.y0 == s.y1] == [8.0]
        assert [s.label.text for s in with_total.layout.shapes if s.y0 == s.y1] == ["all 8"]


def test_quality_figures_before_the_first_evaluation_are_one_placeholder():
    empty = charts.quality_figures(MetricStore(RECORD_COLUMNS, capacity=64).view())
    assert list(empty) == ["pending"]
    assert "no evaluation yet" in str(empty["pending"].layout.annotations[0].text)
    unmeasured = charts.quality_figures(quality_store({}).view())  # rows, but no evaluation yet
    assert list(unmeasured) == ["pending"]
    ended = charts.quality_figures(quality_store({}).view(), ended=True)  # shorter than its eval_every
    assert list(ended) == ["pending"]
    assert str(ended["pending"].layout.annotations[0].text) == "no evaluation: the run ended before its first"
    axes = ended["pending"].layout
    assert not axes.xaxis.title.text and not axes.yaxis.title.text  # the message alone, no stray "step"
    blind = charts.quality_figures(quality_store({}).view(), ended=True, unwatched=True)  # no G given
    assert str(blind["pending"].layout.annotations[0].text) == "no evaluation: no G was watched (run.watch)"
    measured = charts.quality_figures(quality_store({"diversity": 0.5}).view(), ended=True)
    assert "pending" not in measured and measured


def test_event_labels_from_a_file_are_shown_as_text():
    """events.csv is a file anyone may write: plotly's HTML subset in a label (a link) is escaped."""
    crafted = "<a href=//evil.example>x</a>"  # no colon: the whole detail is the label
    markers = charts.event_markers([event(3, "flag", crafted, flag=crafted)])
    assert markers == [(3.0, html.escape(crafted), "flag")]
    assert "<" not in markers[0][1] and html.unescape(markers[0][1]) == crafted


# ------------------------------------------------------------ legends, edge marks, single steps


def store_view(rows: np.ndarray, **kwargs) -> pd.DataFrame:
    store = MetricStore(RECORD_COLUMNS, capacity=kwargs.pop("capacity", 4096))
    store.extend(rows)
    return store.view(nonfinite=True, **kwargs)


def plot_height(fig) -> int:
    return fig.layout.height - fig.layout.margin.t - fig.layout.margin.b


def legend_rows(fig) -> int:
    """Rows the legend takes: entries over the entries per row that its entry width allows."""
    shown = [t for t in fig.data if t.type == "scatter" and t.showlegend is not False]
    per_row = int(1 / fig.layout.legend.entrywidth)
    return -(-len(shown) // per_row)


@pytest.mark.parametrize("n_runs", [1, 2, 3, 5, 10])
def test_compare_legend_has_room_for_every_run(view, n_runs):
    # run ids as the registry makes them: 40 characters, too long for two to a row on a half-width chart
    views = {f"vanishing-gradients-20261130-1243{i:02d}-ab{i:02d}": view for i in range(n_runs)}
    fig = charts.compare_figure(views, "d_loss")
    legend = fig.layout.legend
    assert fig.layout.showlegend is True
    assert (legend.orientation, legend.yanchor, legend.y, legend.entrywidthmode) == (
        "h",
        "bottom",
        1.0,
        "fraction",
    )
    assert legend.entrywidth * charts.MIN_PLOT_PX >= 40 * charts.LEGEND_CHAR_PX  # a whole run id fits
    assert legend_rows(fig) == n_runs  # one to a row
    # the top margin holds the title's row and every legend row; the plot keeps its height
    assert fig.layout.margin.t == charts.TITLE_ROW_PX + n_runs * charts.LEGEND_ROW_PX
    assert plot_height(fig) == charts.METRIC_HEIGHT - 40 - 36
    assert [t.name for t in fig.data if t.showlegend is not False] == list(views)  # in full


def test_metric_legend_rows_follow_the_entries(view):
    short = charts.metric_figure(view, ["d_acc_real", "d_acc_fake"], title="t")
    assert legend_rows(short) == 1 and short.layout.legend.entrywidth * 2 <= 1
    assert short.layout.margin.t == charts.TITLE_ROW_PX + charts.LEGEND_ROW_PX
    losses = charts.loss_figure(view)  # four names of up to 11 characters: three to a row
    assert legend_rows(losses) == 2
    assert losses.layout.margin.t == charts.TITLE_ROW_PX + 2 * charts.LEGEND_ROW_PX
    assert plot_height(losses) == plot_height(short) == charts.METRIC_HEIGHT - 40 - 36
    # the title sits above the legend's rows, pinned to the figure's top
    assert (losses.layout.title.yref, losses.layout.title.y, losses.layout.title.yanchor) == (
        "container",
        1.0,
        "top",
    )
    # placeholders and pictures without a legend reserve nothing
    empty = charts.metric_figure(None, ["d_loss"], title="t")
    assert empty.layout.showlegend is False and empty.layout.margin.t == 40


def divergence_rows() -> np.ndarray:
    """The issue's divergence run: g_grad_norm positive up to step 32, exactly 0 from step 33, while
    d_grad_norm explodes; NaN in g_loss and g_grad_norm at the last step (80), +inf in d_loss at 79."""
    rows = record_rows(80)
    g_norm = RECORD_COLUMNS.index("g_grad_norm")
    d_norm = RECORD_COLUMNS.index("d_grad_norm")
    rows[:, g_norm] = np.linspace(0.02, 0.4, 80)
    rows[32:, g_norm] = 0.0
    rows[:, d_norm] = np.logspace(0, 19, 80)
    rows[78, RECORD_COLUMNS.index("d_loss")] = np.inf
    rows[79, RECORD_COLUMNS.index("g_loss")] = np.nan
    rows[79, g_norm] = np.nan
    return rows


DIVERGED_AT_79 = [event(79, "flag", "diverged at step 79: d_loss not finite", flag="diverged")]


def test_zeros_on_a_log_axis_are_marked_and_the_band_stays_where_values_are():
    frame = store_view(divergence_rows())
    fig = charts.grad_norm_figure(frame, smoothing=0.6, events=DIVERGED_AT_79)
    assert fig.layout.yaxis.type == "log"
    line = np.asarray(only_trace(fig, "g_grad_norm").y, dtype=np.float64)
    assert np.isfinite(line[:32]).all() and np.isnan(line[32:]).all()  # no value to draw from step 33
    zeros = edge_marks(fig, "nonpositive")
    assert [x for x, _, _ in zeros] == list(range(33, 80))  # step 80 is a NaN, marked as such
    assert {text for _, _, text in zeros} == {"g_grad_norm 0"}
    assert {color for _, color, _ in zeros} == {charts.G_COLOR}
    # the band covers steps 1-32 only, not the zeros after them (the issue saw it fill steps 0-80)
    ((steps, top, bottom),) = band_pieces(only_trace(fig, "g_grad_norm min-max"))
    assert steps.tolist() == list(range(1, 33)) and (bottom > 0).all() and (top >= bottom).all()
    # the NaN at the last step is marked at the top edge, on a log and on a linear axis
    for log_y in (True, False):
        nan = edge_marks(charts.grad_norm_figure(frame, log_y=log_y, events=DIVERGED_AT_79), "nan")
        assert nan == [(80, charts.G_COLOR, "g_grad_norm NaN")]
    # and d_grad_norm, positive throughout, has no marks at all
    assert all(color != charts.D_COLOR for kind in charts.EDGE_MARKS for _, color, _ in edge_marks(fig, kind))


def test_infinities_and_nan_are_marked_on_linear_and_log_axes():
    rows = divergence_rows()
    rows[10, RECORD_COLUMNS.index("d_loss_fake")] = -np.inf
    frame = store_view(rows)
    for log_y in (False, True):
        fig = charts.loss_figure(frame, log_y=log_y, events=DIVERGED_AT_79)
        assert edge_marks(fig, "posinf") == [(79, charts.D_COLOR, "d_loss +inf")]
        assert edge_marks(fig, "nan") == [(80, charts.G_COLOR, "g_loss NaN")]
        assert edge_marks(fig, "neginf") == [(11, charts.FAKE_COLOR, "d_loss_fake -inf")]  # row 10: step 11
        keys = [t.name for t in fig.data if t.showlegend is not False]
        assert {"+inf", "NaN", "-inf"} <= set(keys)
    # a view without the non-finite columns (an older caller) draws no such marks
    plain = MetricStore(RECORD_COLUMNS, capacity=4096)
    plain.extend(rows)
    assert edge_marks(charts.loss_figure(plain.view()), "posinf") == []


def test_nan_marks_in_merged_points_and_what_is_not_a_nan():
    rows = record_rows(1000)
    rows[500, RECORD_COLUMNS.index("g_loss")] = np.nan
    frame = store_view(rows, capacity=64)  # 16 rows a point: the NaN is inside a point's mean
    assert np.isfinite(frame["g_loss"]).all()
    marks = edge_marks(charts.loss_figure(frame, events=[event(501, "flag", "x", flag="diverged")]), "nan")
    (at,) = np.flatnonzero(frame["g_loss_nonfinite"].to_numpy())
    assert marks == [(frame["step"].iloc[at], charts.G_COLOR, "g_loss NaN")]
    # a G-only step leaves d_grad_norm blank: that is not a NaN, even after a divergence
    g_only = record_rows(50)
    g_only[29, RECORD_COLUMNS.index("d_grad_norm")] = np.nan
    frame = store_view(g_only)
    early = [event(10, "flag", "x", flag="diverged")]
    assert edge_marks(charts.grad_norm_figure(frame, events=early), "nan")[0][0] == 30
    steps = [*early, event(30, "step_g", "single step while paused")]
    assert edge_marks(charts.grad_norm_figure(frame, events=steps), "nan") == []
    # quality columns are blank between evaluations: not marked (nan_is_blank)
    quality = quality_store({"diversity": 0.5})
    quality_view = quality.view(nonfinite=True)
    assert (quality_view["diversity_nonfinite"] != 0).any()
    (samples,) = charts.quality_figures(quality_view).values()
    assert edge_marks(samples, "nan") == []


def test_band_pieces_are_closed_separately_across_blanks():
    rows = record_rows(60)
    column = RECORD_COLUMNS.index("d_real")
    rows[20:30, column] = np.nan  # ten blank steps
    rows[45, column] = np.nan
    fig = charts.d_output_figure(store_view(rows), events=[event(20, "flag", "x", flag="diverged")])
    pieces = band_pieces(only_trace(fig, "d_real min-max"))
    assert [(p[0][0], p[0][-1]) for p in pieces] == [(1, 20), (31, 45), (47, 60)]
    for px, _ in band_polygons(only_trace(fig, "d_real min-max")):
        px = px[~np.isnan(px)]
        assert px[0] == px[-1]  # each polygon ends where it began: nothing drawn across a gap


def test_single_steps_are_marked_as_their_own_points(view):
    events = [
        event(80, "step_d", "x", d_loss=1.2, d_acc_real=0.61, d_acc_fake=0.72, d_real=0.55, d_fake=0.41),
        event(80, "step_d", "x", d_loss=1.1, d_acc_real=0.66, d_acc_fake=0.8, d_real=0.57, d_fake=0.4),
        event(90, "step_g", "single step while paused"),
        event(100, "step_full", "single step while paused"),
    ]
    fig = charts.accuracy_figure(view, events)
    keys = {t.name: t for t in fig.data if t.showlegend is not False and list(t.x) == [None]}
    assert {"D-only step", "G-only step", "single full step"} <= set(keys)
    d_only = [t for t in fig.data if t.name == "D-only step" and t.showlegend is False]
    (d_only,) = d_only
    # two D-only steps after step 80: between it and step 81, in order, on each accuracy
    assert list(d_only.x) == pytest.approx([80 + 1 / 3, 80 + 1 / 3, 80 + 2 / 3, 80 + 2 / 3])
    assert list(d_only.y) == pytest.approx([0.61, 0.72, 0.66, 0.8], rel=1e-6)
    assert list(d_only.marker.color) == [charts.REAL_COLOR, charts.FAKE_COLOR] * 2
    assert (
        d_only.marker.symbol == "diamond" and "D-only step after step 80: d_acc_real 0.61" in d_only.text[0]
    )
    (g_only,) = [t for t in fig.data if t.name == "G-only step" and t.showlegend is False]
    point = int(np.searchsorted(view["step"].to_numpy(), 90))
    assert list(g_only.x) == [90.0, 90.0]
    expected = [view["d_acc_real"].iloc[point], view["d_acc_fake"].iloc[point]]
    assert list(g_only.y) == pytest.approx(expected, rel=1e-6)
    # the view's point averages several rows (capacity 64 for 300 rows): an open mark, the steps named
    last, held = int(view["step"].iloc[point]), int(view["rows"].iloc[point])
    assert held > 1 and last - held < 90 <= last
    assert list(g_only.marker.symbol) == ["square-open"] * 2
    assert g_only.text[0].endswith(f", mean of steps {last - held + 1}–{last}")
    # the loss chart marks the D-only step's loss, the grad chart nothing it has no value for
    losses = charts.loss_figure(view, events)
    (d_loss,) = [t for t in losses.data if t.name == "D-only step" and t.showlegend is False]
    assert list(d_loss.y) == pytest.approx([1.2, 1.1], rel=1e-6)
    grads = charts.grad_norm_figure(view, events=events[:2])
    assert [t for t in grads.data if t.name == "D-only step"] == []
    # no single steps, no keys
    assert [t.name for t in charts.accuracy_figure(view).data if t.showlegend is not False] == [
        "d_acc_real",
        "d_acc_fake",
    ]


def test_compare_stacks_the_caps_of_flags_raised_at_one_step(view):
    # Three runs of one config raise d_leads at the same check; a fourth clears one 2 steps later (nearer
    # than a cap's width): each cap keeps its colour and its hover, one below the other.
    frames = {f"run-{c}": view for c in "abcd"}
    events = {f"run-{c}": [event(100, "flag", "x", flag="d_leads")] for c in "abc"}
    events["run-d"] = [
        event(102, "flag_cleared", "x", flag="d_leads"),
        event(250, "flag", "x", flag="d_leads"),
    ]
    fig = charts.compare_figure(frames, "d_loss", events=events)
    caps = flag_caps(fig)
    assert list(caps.x) == [100.0, 100.0, 100.0, 102.0, 250.0]
    # each run's cap names its own flag (a unified hover shows every run's cap at the step): a run hidden
    # from the legend takes its flag's hover with it, and no flag is named twice
    own = [f"run-{c}, step 100: d_leads" for c in "abc"]
    alone = ["run-d, step 102: d_leads cleared", "run-d, step 250: d_leads"]
    assert list(caps.text) == own + alone
    assert list(caps.marker.color) == [charts.PALETTE[i] for i in (0, 1, 2, 3, 3)]
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b  # the legend's rows apart
    drops = [(1.0 - y) * plot_px for y in caps.y]  # pixels below the top edge, on the plot as drawn
    assert drops == pytest.approx([k * charts.CAP_STACK_PX for k in (0, 1, 2, 3, 0)], abs=1e-3)
    assert charts.CAP_PX <= charts.CAP_STACK_PX <= 1.5 * charts.CAP_PX  # apart, and still a column


def test_compare_names_each_flags_line_label_and_cap_after_its_run(view):
    """A run hidden from a Compare legend kept its flags drawn on every chart (a newcomer read them as the
    shown run's): each flag's line, label and cap now carry its run, which the browser hides with it."""
    frames = {name: view for name in ("one", "two")}
    events = {
        "one": [event(100, "flag", "x", flag="d_leads")],
        "two": [event(200, "flag", "x", flag="mode_collapse")],
    }
    fig = charts.compare_figure(frames, "d_loss", events=events)
    assert [(s.x0, s.name) for s in event_shapes(fig)] == [(100.0, "one"), (200.0, "two")]
    labels = [a for a in fig.layout.annotations if a.textangle == -90]
    assert [(a.x, a.name) for a in labels] == [(100.0, "one"), (200.0, "two")]
    caps = flag_caps(fig)
    assert caps.groups == ["one", "two"] and caps.x == [100.0, 200.0]
    # the Train view's flags are no run's: no names, one trace of caps
    train = go.Figure(charts.loss_figure(frames["one"], events["one"]))
    assert [s.name for s in event_shapes(train)] == [None]
    (cap,) = traces_named(train, "events")
    assert cap.legendgroup is None


def test_compare_marks_each_runs_flags_in_its_colour(view):
    store = MetricStore(RECORD_COLUMNS, capacity=64)
    store.extend(divergence_rows())
    frames = {"run-a": view, "run-b": store.view(nonfinite=True), "run-c": view}
    events = {
        "run-a": [
            event(60, "flag", "x", flag="d_overpowers"),
            event(200, "flag_cleared", "x", flag="d_overpowers"),
        ],
        "run-b": [
            event(30, "flag", "x", flag="exploding_gradients"),
            event(80, "flag", "x", flag="diverged"),
        ],
        "run-c": [event(90, "hparam", "x", field="lr_g", new=0.1)],  # settings are not drawn here
    }
    fig = charts.compare_figure(frames, "g_grad_norm", log_y=True, events=events)
    shapes = event_shapes(fig)
    assert [(s.x0, s.line.color, s.line.dash) for s in shapes] == [
        (30.0, charts.PALETTE[1], "dot"),
        (60.0, charts.PALETTE[0], "dot"),
        (80.0, charts.PALETTE[1], "dot"),
        (200.0, charts.PALETTE[0], "dash"),
    ]
    caps = flag_caps(fig)
    assert caps.text[0] == "run-b, step 30: exploding_gradients"
    assert caps.text[3] == "run-a, step 200: d_overpowers cleared"
    assert list(caps.y) == [1.0, 1.0, 1.0, 1.0]  # far apart: every cap at the top edge
    # run-b's zeros and NaN, pinned to the edges in its colour
    assert {c for _, c, _ in edge_marks(fig, "nonpositive")} == {charts.PALETTE[1]}
    assert edge_marks(fig, "nan") == [(80, charts.PALETTE[1], "run-b: NaN")]
    assert (
        legend_rows(fig) >= 2
        and fig.layout.margin.t == charts.TITLE_ROW_PX + legend_rows(fig) * charts.LEGEND_ROW_PX
    )


def test_heatmap_colour_bar_sits_in_the_figure_and_names_its_ends(points):
    """The bar sat about 100 px under the x axis, past the off-view note, its ends named "D says fake"
    and "D says real" with only 0.5 numbered, under the title "D(x), 0 to 1": D(x) is the metric charts'
    d_real (D's mean on real data), not D over the plane. It is right above the plot now, under the
    legend, its ends numbered and its title saying what it measures and which way is real."""
    real, fake, heatmap, _ = points
    fig = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=heatmap)
    heat = fig.data[0]
    bar = heat.colorbar
    assert heat.showscale is not False
    # horizontal, on the plot's top edge at its left, in the top margin kept for it, the legend above it
    assert (bar.orientation, bar.yref, bar.yanchor) == ("h", "container", "bottom")
    assert bar.y == pytest.approx(1.0 - fig.layout.margin.t / fig.layout.height)  # the plot's top edge
    assert (bar.xref, bar.x, bar.xanchor, bar.lenmode) == ("paper", 0.0, "left", "pixels")
    assert fig.layout.xaxis.constraintoward == "left" and fig.layout.yaxis.constraintoward == "top"
    plain = charts.points_figure(real, fake, bounds=BOUNDS)  # no heatmap: no bar, no room kept for one
    assert fig.layout.margin.t - plain.layout.margin.t == charts.COLORBAR_BLOCK_PX
    assert fig.layout.height - plain.layout.height == charts.COLORBAR_BLOCK_PX
    assert fig.layout.margin.b == plain.layout.margin.b  # nothing of it under the plot
    paper_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert fig.layout.legend.y == pytest.approx(1.0 + charts.COLORBAR_BLOCK_PX / paper_px)
    assert plain.layout.legend.y == 1.0
    # title row, bar, tick labels and its gap to the plot fit the block
    assert bar.ypad + bar.thickness + bar.title.font.size + bar.tickfont.size + 12 <= charts.COLORBAR_BLOCK_PX
    assert bar.len <= charts.MIN_PLOT_PX - 100
    assert bar.title.text == "D's output at each point (0 = fake, 1 = real)"
    assert list(bar.tickvals) == [0.0, 0.5, 1.0]
    assert list(bar.ticktext) == ["0", "0.5", "1"]
    assert "D says real above 0.5" in heat.hovertemplate
    # a critic's scores: its own range numbered, no fixed threshold to name
    critic = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=3.0 * heatmap + 10, midpoint=None)
    bar = critic.data[0].colorbar
    assert bar.title.text == "D's score (higher: real; white: median, not a boundary)"
    low, high = critic.data[0].zmin, critic.data[0].zmax
    assert list(bar.tickvals) == pytest.approx([low, (low + high) / 2, high])
    assert list(bar.ticktext) == [format(v, ".3g") for v in bar.tickvals]
    # hinge: raw scores with a fixed threshold, which the title names
    hinge = charts.points_figure(
        real, fake, bounds=BOUNDS, heatmap=3.0 * heatmap - 1.5, midpoint=None, threshold=0.0
    )
    assert hinge.data[0].colorbar.title.text == "D's score at each point (below 0: fake, above: real)"
    # least squares: outputs around 0.5 beyond 0..1
    wide = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=2.0 * heatmap - 0.5, midpoint=0.5)
    assert wide.data[0].colorbar.title.text == "D's output at each point (below 0.5: fake, above: real)"


def test_snapshot_figure_draws_a_grid_or_the_points_with_the_runs_real_ones():
    grid = np.zeros((16, 16, 3), dtype=np.uint8)
    assert [t.type for t in charts.snapshot_figure({"grid": grid}, None, midpoint=0.5, title="s").data] == [
        "image"
    ]
    points = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    snap = {"points": points, "bounds": np.array([-3, 3, -3, 3]), "heatmap": np.full((8, 8), 0.5)}
    real = {"points": points[:7] + 1}
    fig = charts.snapshot_figure(snap, real, midpoint=0.5, title="step 5", height=300)
    by_name = {t.name: t for t in fig.data if t.name in ("real", "generated")}
    assert len(by_name["real"].x) == 7 and len(by_name["generated"].x) == 30
    taller = charts.snapshot_figure(snap, real, midpoint=0.5, title="step 5", height=500)
    assert taller.layout.height - fig.layout.height == 200  # the height asked for (plus the colour bar's)
    assert list(fig.layout.xaxis.range) == [-3, 3]
    no_real = charts.snapshot_figure(snap, None, midpoint=0.5, title="t")
    assert sum(len(t.x) for t in no_real.data if t.name == "real") == 0
    assert sum(len(t.x) for t in no_real.data if t.name == "generated") == 30
    with pytest.raises(ValueError, match="no bounds"):
        charts.snapshot_figure({"points": points}, real, midpoint=0.5, title="t")


def test_quality_charts_start_at_zero_even_with_one_evaluation():
    # one evaluation at step 500: the axes were plotly's rounding around it (500, 500.5, 501; -1 to 1)
    view = pd.DataFrame({"step": [500], "hq_pct": [0.0], "modes_covered": [3.0]})
    figures = charts.quality_figures(view, coverage_total=8)
    for figure in figures.values():
        assert figure.layout.xaxis.rangemode == "tozero" and figure.layout.yaxis.rangemode == "tozero"
    loss = charts.metric_figure(view, ["hq_pct"], title="t")
    assert loss.layout.xaxis.rangemode is None  # other charts keep plotly's own range


def test_step_axes_autorange_from_their_first_step_not_before(view):
    """plotly.js pads an axis that holds markers by their size: a long run's step axis began at -10,444
    (a flag's cap at its first step). Each step axis now autoranges from the first step it draws (0 for
    the quality charts, from zero), its markers drawn over the axis' ends."""
    evaluations = pd.DataFrame({"step": [1_000.0, 2_000.0, 3_000.0], "hq_pct": [10.0, 20.0, 30.0]})
    flags = [event(500, "flag", "x", flag="d_leads")]
    (quality,) = charts.quality_figures(evaluations, flags).values()
    bounds = quality.layout.xaxis.autorangeoptions
    assert (bounds.minallowed, bounds.maxallowed) == (0.0, None)  # (a maxallowed: plotly.js ignores a zoom)
    marked = [t for t in quality.data if "markers" in (t.mode or "")]
    assert marked and all(t.cliponaxis is False for t in marked)
    # the Train view's panels: from the first step of the view or of a marker, the same on every panel;
    # from 0 where that is within 5% of the last (a run from its first steps: as its quality charts)
    late = view.copy()
    late["step"] = late["step"] + 1_000.0  # steps 1,008 ... 1,300: a branch, a zoom, a resumed run
    early = [event(1_002, "hparam", "x", field="lr_g", new=1e-4)]
    for shown, events, first in ((late, [], 1_008.0), (late, early, 1_002.0), (view, [], 0.0)):
        figure = charts.training_figure(shown, events)
        axes = [figure.layout[name] for name in figure.layout if name.startswith("xaxis")]
        assert len(axes) == 4
        assert {a.autorangeoptions.minallowed for a in axes} == {first}
        assert {a.autorangeoptions.maxallowed for a in axes} == {None}
    lines = [t for t in figure.data if t.mode == "lines"]
    assert lines and all(t.cliponaxis is None for t in lines)  # lines are clipped as ever
    # one step alone: plotly's own range around it (a bound at that step would leave no axis)
    one = charts.metric_figure(pd.DataFrame({"step": [7.0], "d_loss": [1.0]}), ["d_loss"], title="t")
    assert one.layout.xaxis.autorangeoptions.minallowed is None


def test_a_sparse_custom_metric_draws_its_steps_from_zero_and_keeps_its_own_values_range():
    """A Lightning run whose only validation was its last had one point at step 40 on a step axis of
    plotly's rounding (39, 39.5, 40, 40.5, 41), not lined up with the run's other charts (0 to 40)."""
    view = pd.DataFrame(
        {"step": [38.0, 39.0, 40.0], "val/d_fake": [np.nan, np.nan, -0.25], "dense": [1.0] * 3}
    )
    figures = charts.custom_metric_figures(view, ["val/d_fake", "dense"])
    sparse = figures["val/d_fake"]
    assert sparse.layout.xaxis.rangemode == "tozero"  # as the quality charts' steps
    assert sparse.layout.yaxis.rangemode is None  # a custom metric may be negative: plotly's own range
    assert only_trace(sparse, "val/d_fake").mode == "lines+markers"
    assert figures["dense"].layout.xaxis.rangemode is None  # logged every step: as the loss charts


def test_a_custom_metric_logged_as_nan_at_every_step_says_so_not_no_data_yet():
    """A review: a metric logged as NaN at each of 300 steps (recorded blank) read "no data yet"."""
    view = pd.DataFrame({"step": [1.0, 2.0, 3.0], "all_nan": [np.nan] * 3, "some": [np.nan, 1.0, np.nan]})
    figures = charts.custom_metric_figures(view, ["all_nan", "some"])
    (said,) = [a.text for a in figures["all_nan"].layout.annotations]
    assert said == "no value to draw: NaN or blank at every step so far"
    assert not figures["some"].layout.annotations or all(
        a.text != said for a in figures["some"].layout.annotations
    )
    empty = charts.custom_metric_figures(view.iloc[0:0], ["all_nan"])["all_nan"]
    assert [a.text for a in empty.layout.annotations] == ["no value yet"]  # (no rows at all)


def test_custom_metrics_group_by_their_names_first_part_in_the_order_logged():
    """TensorBoard's sections: the part before the first "/", the ungrouped first; a name that starts
    with "/" has no group; a new metric joins its group's end, a new group the list's end."""
    names = ["val/fid", "fake_std", "train/a", "/x", "val/kid/mean", "train/", "b"]
    assert charts.custom_metric_groups(names) == [
        ("", ["fake_std", "/x", "b"]),
        ("val", ["val/fid", "val/kid/mean"]),
        ("train", ["train/a", "train/"]),
    ]
    grown = charts.custom_metric_groups([*names, "val/is", "ema/fid"])
    assert grown[1] == ("val", ["val/fid", "val/kid/mean", "val/is"]) and grown[-1] == ("ema", ["ema/fid"])
    assert charts.custom_metric_groups(["val/fid"]) == [("val", ["val/fid"])]  # (no empty "" group)
    assert charts.custom_metric_groups([]) == []


def test_inputs_digest_changes_with_what_a_figure_is_drawn_from_and_only_with_it(view):
    snapshot = {"points": np.arange(6.0).reshape(3, 2), "bounds": np.array([0.0, 1.0, 0.0, 1.0])}
    digest = chart_builders.inputs_digest(view, EVENTS, snapshot, {"title": "t"}, 3)
    again = {k: v.copy() for k, v in snapshot.items()}
    assert chart_builders.inputs_digest(view.copy(), list(EVENTS), again, {"title": "t"}, 3) == digest
    moved = {**snapshot, "points": snapshot["points"] + 1e-9}
    changed_view = view.copy()
    changed_view.loc[changed_view.index[-1], "d_loss"] += 1.0
    for parts in (
        (view, EVENTS, moved, {"title": "t"}, 3),  # a value
        (changed_view, EVENTS, snapshot, {"title": "t"}, 3),  # one value in a frame
        (view, [*EVENTS, event(200, "flag", "d_leads", flag="d_leads")], snapshot, {"title": "t"}, 3),
        (view, EVENTS, snapshot, {"title": "u"}, 3),  # an option
        (view, EVENTS, {**snapshot, "points": snapshot["points"].T}, {"title": "t"}, 3),  # a shape
    ):
        assert chart_builders.inputs_digest(*parts) != digest
    assert chart_builders.inputs_digest(np.array(["a", None], dtype=object)) != chart_builders.inputs_digest(
        np.array(["a", "b"], dtype=object)
    )


# ------------------------------------------------------------ single steps on a live run's charts


DIGITS_QUALITY = (
    "classes_covered",
    "class_kl",
    "diversity",
    "fd_cls",
    "kid_cls",
    *chart_builders.PRDC_COLUMNS["cls"],
)
SINGLE_STEP_NAMES = {name for name, _ in chart_builders.SINGLE_STEP_MARKS.values()}


def live_store(n_steps: int, eval_steps: Sequence[int]) -> tuple[MetricStore, np.ndarray]:
    """A store filled as the runner fills a digits run's: one row a generator step (`record_rows`' values),
    the quality columns blank except at ``eval_steps``, where each is 10 + its position + step / 1000 (a
    value of its own at every evaluation). Returns the store and the rows given to it."""
    rows = record_rows(n_steps)
    for c in EVAL_COLUMNS:
        rows[:, RECORD_COLUMNS.index(c)] = np.nan
    for position, c in enumerate(DIGITS_QUALITY):
        at = np.asarray(eval_steps) - 1
        rows[at, RECORD_COLUMNS.index(c)] = 10 + position + rows[at, 0] / 1000
    store = MetricStore(RECORD_COLUMNS)  # the Train view's capacity
    store.extend(rows.copy())
    return store, rows


def single_step_marks(fig) -> dict[str, list[tuple[float, float, str, str]]]:
    """A chart's single-step marks by legend name: (step, value, marker symbol, hover) per mark."""
    found: dict[str, list[tuple[float, float, str, str]]] = {}
    for trace in fig.data:
        if trace.name in SINGLE_STEP_NAMES and trace.showlegend is False:
            symbols = trace.marker.symbol
            symbols = [symbols] * len(trace.x) if isinstance(symbols, str) else list(symbols)
            found[trace.name] = list(zip(trace.x, trace.y, symbols, trace.text))
    return found


# Paused at step 2043 of a 3000-step run evaluated every 500 steps: Step, D step, G step, Step, then
# resumed; and, paused again at 1499, one G step, which is step 1500: an evaluated one.
PAUSED_STEPS = [
    event(2044, "step_full", "single step while paused"),
    event(2044, "step_d", "x", d_loss=1.25, d_acc_real=0.6, d_acc_fake=0.7, d_real=0.55, d_fake=0.4),
    event(2045, "step_g", "single step while paused"),
    event(2046, "step_full", "single step while paused"),
    event(1500, "step_g", "single step while paused"),
]


def test_quality_charts_mark_a_single_step_only_where_it_was_evaluated():
    """The user's run: single steps at 2044-2046 between the evaluations at 2000 and 2500 were marked on
    every quality chart with step 2500's values (the next evaluated row taken for theirs)."""
    store, rows = live_store(3000, range(500, 3001, 500))
    figures = charts.quality_figures(charts.evaluations(store), PAUSED_STEPS)
    assert {"coverage", "samples", "kl_modes", "fd_cls", "kid_cls", "prdc_cls"} <= set(figures)
    for name, fig in figures.items():
        marks = single_step_marks(fig)
        # only the G step at 1500, evaluated there, on each of the chart's columns, with step 1500's values
        assert set(marks) == {"G-only step"}, name
        columns = [t.name for t in fig.data if t.name in DIGITS_QUALITY and t.mode == "lines+markers"]
        assert columns, name
        expected = [rows[1499, RECORD_COLUMNS.index(c)] for c in columns]
        assert [m[0] for m in marks["G-only step"]] == [1500.0] * len(columns), name
        assert [m[1] for m in marks["G-only step"]] == pytest.approx(expected, rel=1e-6, abs=1e-9)
        assert {m[2] for m in marks["G-only step"]} == {"square"}  # the step's own value: filled
        assert all(", mean of" not in m[3] for m in marks["G-only step"])
        # their keys: only the kind drawn
        keys = [t.name for t in fig.data if t.name in SINGLE_STEP_NAMES and t.showlegend is not False]
        assert keys == ["G-only step"], name
    fd = single_step_marks(figures["fd_cls"])["G-only step"]
    assert fd[0][3] == f"G-only step 1500: fd_cls {rows[1499, RECORD_COLUMNS.index('fd_cls')]:.4g}"


def test_a_single_step_mark_says_which_steps_its_value_averages():
    """A 3000-step run drawn in 300 points: each point the mean of 10 steps. The marks at steps 2044 and
    2046 are both point 2041-2050's mean, said as such and drawn open; on a short run, where each point is
    one step, a mark is that step's own value, filled."""
    store, rows = live_store(3000, range(500, 3001, 500))
    view = chart_builders.metric_view(store, 300)  # the Train view's CHART_POINTS
    assert list(view["step"][204:206]) == [2050, 2060] and view["rows"][204] == 10
    marks = single_step_marks(charts.loss_figure(view, PAUSED_STEPS))
    d_loss = rows[2040:2050, RECORD_COLUMNS.index("d_loss")]  # steps 2041-2050
    full = [m for m in marks["single full step"] if m[3].split(": ")[1].startswith("d_loss ")]
    assert [m[0] for m in full] == [2044.0, 2046.0]
    for at, value, symbol, hover in full:
        assert value == pytest.approx(d_loss.mean(), rel=1e-6)
        assert value != pytest.approx(rows[int(at) - 1, RECORD_COLUMNS.index("d_loss")], rel=1e-3)
        assert symbol == "circle-open"
        assert hover == f"single full step {int(at)}: d_loss {d_loss.mean():.4g}, mean of steps 2041–2050"
    # the same steps on a short run's view, one row a point: each mark is its step's own row
    short_store, short_rows = live_store(2100, [2000])
    short = chart_builders.metric_view(short_store, 2100)
    assert (short["rows"] == 1).all()
    marks = single_step_marks(charts.loss_figure(short, PAUSED_STEPS))
    full = [m for m in marks["single full step"] if m[3].split(": ")[1].startswith("d_loss ")]
    assert [m[0] for m in full] == [2044.0, 2046.0]
    for at, value, symbol, hover in full:
        own = short_rows[int(at) - 1, RECORD_COLUMNS.index("d_loss")]
        assert value == pytest.approx(own, rel=1e-6)
        assert symbol == "circle" and hover == f"single full step {int(at)}: d_loss {own:.4g}"


# ------------------------------------------------------------ points beyond a 2D view's fixed axes


def test_points_beyond_the_view_are_drawn_at_its_edge_and_counted():
    """A diverged ring8 run (the Divergence preset): its snapshots hold generated points near 1e16, far
    outside the fixed axes, and the view showed none of them, with "generated" in the legend."""
    rng = np.random.default_rng(5)
    bounds = np.array([-3.0, 3.0, -2.0, 2.0])
    real = {"points": rng.uniform(-1.5, 1.5, size=(200, 2))}
    fake = rng.uniform(-1.0, 1.0, size=(300, 2))
    fake[:250] *= 1e16  # flown off, every way
    fake[250] = [1.2e16, 0.5]  # straight off the right edge: the farthest
    fake[251] = [0.5, -np.inf]  # below
    fake[252] = [np.nan, 0.0]  # nowhere
    fake[253] = [3.5, 1.0]  # just past the right edge
    snap = {"points": fake.astype(np.float32), "bounds": bounds, "heatmap": np.full((8, 8), 0.5)}
    fig = charts.snapshot_figure(snap, real, midpoint=0.5, title="step 150")
    # the axes stay where they were: snapshots stay comparable
    assert tuple(fig.layout.xaxis.range) == (-3.0, 3.0) and tuple(fig.layout.yaxis.range) == (-2.0, 2.0)
    inside = only_trace(fig, "generated")
    assert len(inside.x) == 46  # 300 - 250 flown off - the four above
    assert ((np.abs(inside.x) <= 3) & (np.abs(inside.y) <= 2)).all()
    edge = only_trace(fig, "generated beyond the edge")
    assert edge.showlegend is False and edge.legendgroup == inside.legendgroup == "generated"
    assert len(edge.x) == 253 and edge.marker.symbol == "arrow" and edge.cliponaxis is False
    xs, ys = np.asarray(edge.x, dtype=np.float64), np.asarray(edge.y, dtype=np.float64)
    assert ((np.abs(xs) == 3) | (np.abs(ys) == 2)).all()  # every one on the edge, none past it
    assert ((np.abs(xs) <= 3) & (np.abs(ys) <= 2)).all()
    angles = np.asarray(edge.marker.angle, dtype=np.float64) % 360  # (plotly keeps them in [-180, 180))
    # the right edge's point points right (90° clockwise from up), the one below points down
    assert (xs[250], ys[250], angles[250]) == pytest.approx((3.0, 0.5, 90.0))
    assert (xs[251], ys[251], angles[251]) == pytest.approx((0.5, -2.0, 180.0))
    assert (xs[-1], ys[-1], angles[-1]) == pytest.approx((3.0, 1.0, 90.0))
    assert edge.text[250] == "generated at (1.2e+16, 0.5): beyond the view's edge"
    assert edge.text[251] == "generated at (0.5, -inf): beyond the view's edge"
    # the real points are all inside: drawn as they are, none at the edge, not in the note
    assert len(only_trace(fig, "real").x) == 200 and traces_named(fig, "real beyond the edge") == []
    (note,) = fig.layout.annotations
    assert note.text.split("<br>") == [
        "253 of 300 generated points outside this view",
        "(|x| or |y| up to inf): arrows at its edge",
        "1 of 300 generated points NaN: not drawn",
    ]
    # under the plot, below its x tick labels (in a corner of the plot it covered real modes), in a band
    # the figure keeps for it whether or not there is a note: the view does not change height
    assert (note.xref, note.yref, note.x, note.y) == ("x domain", "y domain", 0.0, 0.0)
    assert (note.xanchor, note.yanchor) == ("left", "top") and note.yshift == -charts.X_TICK_LABELS_PX
    three_lines = 3 * chart_builders.NOTE_LINE_PX[False]
    assert three_lines <= fig.layout.margin.b - 36 <= three_lines + 10
    few = {**snap, "points": snap["points"][250:]}  # 4 beyond the edge, 1 NaN: still three lines
    assert charts.snapshot_figure(few, real, midpoint=0.5, title="t").layout.height == fig.layout.height
    # sent as valid JSON (no NaN or Infinity tokens, which a browser's JSON.parse refuses)
    sent = orjson.loads(pio.to_json(chart_builders.snapshot_figure(snap, real, midpoint=0.5, title="t")))
    assert len(sent["data"]) == len(fig.data)
    # without the infinity, the farthest finite coordinate; a small multiple says it in one short line
    finite = {**snap, "points": snap["points"][[0, 250, 253, 260]]}
    small = charts.snapshot_figure(finite, real, midpoint=0.5, title="s", legend=False, max_points=250)
    (note,) = small.layout.annotations
    assert note.text == "3/4 generated off view<br>|x| or |y| up to 1.2e+16"
    assert note.font.size < fig.layout.annotations[0].font.size
    # nothing off the view: no note, no edge marks
    calm = charts.snapshot_figure({**snap, "points": snap["points"][260:]}, real, midpoint=0.5, title="c")
    assert not calm.layout.annotations and traces_named(calm, "generated beyond the edge") == []
    two_line_band = chart_builders.NOTE_BAND_LINES * chart_builders.NOTE_LINE_PX[False] + 4
    assert calm.layout.margin.b == 36 + two_line_band  # kept, empty
    # every one gone: the set keeps its legend entry (a blank point), its marks at the edge in its group
    gone = charts.snapshot_figure({**snap, "points": snap["points"][:250]}, real, midpoint=0.5, title="g")
    kept = only_trace(gone, "generated")
    assert list(kept.x) == [None] and kept.showlegend is not False and kept.legendgroup == "generated"
    assert len(only_trace(gone, "generated beyond the edge").x) == 250
    assert gone.layout.annotations[0].text.startswith("250 of 250 generated points outside this view")


def test_a_small_multiples_note_counts_every_point_and_covers_none():
    """An earlier snapshot draws its first 250 points but said "69/250 generated off view" of a 256-point
    set (the main view: 17 of 256), in its top left corner, over two of ring8's modes; then, in its
    emptiest corner, "458/1000 generated off view to 4.2" still over two modes (on ring8 every corner
    holds one), "to 4.2" unexplained. It says "|x| or |y| up to" as the main view does, in a corner no
    drawn point is in, else under the plot, the figure keeping its height."""
    rng = np.random.default_rng(0)
    bounds = (-3.0, 3.0, -3.0, 3.0)
    modes = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)
    real = modes[rng.integers(0, 8, 256)] + 0.05 * rng.standard_normal((256, 2))
    fake = real.copy()
    fake[:60] = [5.0, 0.0]  # off the view, among the points drawn
    fake[250:] = [0.0, 9.0]  # off the view, among the six not drawn
    fig = charts.points_figure(real, fake, bounds=bounds, legend=False, max_points=250, height=272)
    (note,) = fig.layout.annotations
    assert note.text == "66/256 generated off view<br>|x| or |y| up to 9"
    # every corner holds a mode: under the plot, below its x tick labels, in a band the plot gives up
    assert (note.xref, note.yref, note.x, note.y) == ("x domain", "y domain", 0.0, 0.0)
    assert (note.xanchor, note.yanchor, note.yshift) == ("left", "top", -charts.X_TICK_LABELS_PX)
    assert note.font.size == 10
    calm = charts.points_figure(real, real, bounds=bounds, legend=False, max_points=250, height=272)
    assert not calm.layout.annotations
    assert fig.layout.height == calm.layout.height == 272
    assert fig.layout.margin.b - calm.layout.margin.b == 2 * chart_builders.NOTE_LINE_PX[True] + 4
    # the data in the middle of a wide view: the top left corner is empty, the note goes there
    inner = real * 0.5
    inner[:60], inner[250:] = [15.0, 0.0], [0.0, 30.0]  # off a view of -10 to 10
    centred = charts.points_figure(
        real * 0.5, inner, bounds=(-10.0, 10.0, -10.0, 10.0), legend=False, max_points=250, height=272
    )
    (note,) = centred.layout.annotations
    assert (note.x, note.y, note.xanchor, note.yanchor) == (0.0, 1.0, "left", "top")
    assert note.xshift == charts.OFF_VIEW_NOTE_INSET_PX and note.yshift == -charts.OFF_VIEW_NOTE_INSET_PX
    assert centred.layout.margin.b == calm.layout.margin.b
    # real points count as generated ones do: one in a corner's box sends the note on, and with every
    # corner taken there is none
    empty = chart_builders._empty_corner
    assert empty([np.zeros((5, 2))], bounds, ["a note"], plot_px=200, short=True) == "top left"
    top_left = np.array([[-2.9, 2.9]])
    assert empty([np.zeros((0, 2)), top_left], bounds, ["x" * 10], plot_px=200, short=True) == "top right"
    corners = np.array([[-2.9, 2.9], [2.9, 2.9], [-2.9, -2.9], [2.9, -2.9]])
    assert empty([corners[:2], corners[2:]], bounds, ["x" * 10], plot_px=200, short=True) is None
    # a point just beyond the text's box, under a marker's radius of it, counts as in it
    box_px = 10 * chart_builders.NOTE_CHAR_PX[True] + 6 + charts.OFF_VIEW_NOTE_INSET_PX
    edge = np.array([[-3.0 + 6.0 * (box_px + 2) / 200, 2.9]])
    assert empty([edge], bounds, ["x" * 10], plot_px=200, short=True) == "top right"


def test_points_off_the_view_keep_their_labels():
    """The Probe page numbers the points it asks D about: one beyond the view keeps its number."""
    asked = np.array([[0.0, 0.0], [9.0, 0.5], [np.nan, 1.0], [1.0, 1.0]])
    fig = charts.points_figure(
        np.zeros((0, 2)), asked, bounds=BOUNDS, fake_name="asked", fake_labels=["1", "2", "3", "4"]
    )
    assert list(only_trace(fig, "asked").text) == ["1", "4"]
    assert list(only_trace(fig, "asked beyond the edge").text) == [
        "asked 2 at (9, 0.5): beyond the view's edge"
    ]
    assert fig.layout.annotations[0].text.split("<br>")[-1] == "1 of 4 asked points NaN: not drawn"


# ------------------------------------------------------------ quality charts, titles and legends


def digits_quality(events=()) -> dict:
    """The quality charts of a 3000-step digits run evaluated every 500 steps (`live_store`)."""
    store, _ = live_store(3000, range(500, 3001, 500))
    return charts.quality_figures(charts.evaluations(store), list(events), coverage_total=10)


BASELINE = event(
    0,
    "baseline",
    "real vs real",
    fd_cls=3.1,
    kid_cls=0.001,
    precision_cls=0.95,
    recall_cls=0.96,
    density_cls=0.97,
    coverage_cls=0.94,
)


def test_quality_titles_are_one_line_and_the_plots_of_one_height():
    """Three to a row, a chart was about 300 px wide (a 1400 px window, sidebar open): the PRDC chart's
    title ran past its right edge, then wrapped to two lines that lowered its plot below its neighbours'.
    Each title is one line now, and every plot of one height (the browser lines up the plots of a row:
    tests/e2e/test_chart_grid.py)."""
    figures = digits_quality([BASELINE])
    fits = int(charts.QUALITY_TITLE_PX // charts.TITLE_CHAR_PX)
    single = figures["fd_cls"]
    plot = single.layout.height - single.layout.margin.t - single.layout.margin.b
    for name, fig in figures.items():
        assert "<br>" not in fig.layout.title.text and len(fig.layout.title.text) <= fits, name
        assert fig.layout.height - fig.layout.margin.t - fig.layout.margin.b == plot, name
        assert fig.layout.title.pad.t == 8
    assert figures["prdc_cls"].layout.title.text == "PRDC (classifier features)"
    assert figures["fd_cls"].layout.title.text == "Fréchet distance (classifier features)"  # 38: fits
    assert plot == charts.METRIC_HEIGHT - 40 - 36
    # words are kept whole, and a title that fits is left as it is
    wrapped = chart_builders._wrap_title("alpha beta gamma delta epsilon", 11 * charts.TITLE_CHAR_PX)
    assert wrapped == "alpha beta<br>gamma delta<br>epsilon"
    assert chart_builders._wrap_title("Coverage", 100) == "Coverage"


def test_quality_legends_fit_the_narrowest_chart():
    """The Divergence chart's three entries were fitted to a 340 px plot, three to a row; on a 232 px
    plot plotly wrapped them to two rows, the second drawn over the title. The legends are planned for
    the narrowest column the page draws (`SMALL_CHART_MIN_PX`)."""
    store = quality_store({"modes_covered": 5, "hq_pct": 80, "mode_kl": 0.1, "grid_kl": 0.2, "class_kl": 0.3})
    figures = charts.quality_figures(store.view())  # (each chart's top margin its own)
    for name, fig in figures.items():
        names = [t.name for t in fig.data if t.showlegend is not False]
        widest = max(len(n) for n in names) * charts.LEGEND_CHAR_PX + charts.LEGEND_SYMBOL_PX
        assert fig.layout.legend.entrywidth * charts.QUALITY_MIN_PLOT_PX >= 0.94 * widest, name
        per_row = round(0.94 / fig.layout.legend.entrywidth)
        assert legend_rows(fig) == -(-len(names) // per_row), name
        assert fig.layout.margin.t == charts.TITLE_ROW_PX + legend_rows(fig) * charts.LEGEND_ROW_PX, name
    kl_modes = figures["kl_modes"]
    assert [t.name for t in kl_modes.data if t.showlegend is not False] == ["mode_kl", "class_kl"]
    assert legend_rows(kl_modes) == 1
    assert charts.QUALITY_MIN_PLOT_PX == charts.SMALL_CHART_MIN_PX - 58 - 10 == 260 - 58 - 10


@pytest.mark.parametrize(
    ("flag_step", "label_at"),
    [
        (None, "start"),  # nothing in the way: at the line's left end, as before
        # d_leads near the left: its label reaches ~50 px down from the plot's top, and this line (0.95
        # of an axis to ~21) lies near the foot: the label stays, its marker's line under it
        (260, "start"),
        (2900, "start"),  # near the right: it stays
    ],
)
def test_a_reference_label_keeps_clear_of_the_event_markers(flag_step, label_at):
    """On the PRDC chart a d_leads marker near the start was printed over "real vs real: 0.94–0.97"
    (`test_a_reference_label_moves_only_where_a_marker_label_reaches_it`: the line near the top)."""
    events = [BASELINE]
    if flag_step is not None:
        events.append(event(flag_step, "flag", "d_leads", flag="d_leads"))
    prdc = digits_quality(events)["prdc_cls"]
    (line,) = reference_shapes(prdc)
    assert line.label.text == "real vs real: 0.94–0.97"
    assert line.label.textposition == label_at
    if flag_step is not None:
        (marker,) = event_shapes(prdc)
        assert marker.x0 == flag_step


def test_a_reference_label_moves_only_where_a_marker_label_reaches_it():
    """A marker's label is written down from the plot's top (`_marker_depth`): a reference label near
    the top is moved from under it, one lower down stays where it reads first, at the left."""
    depth = chart_builders._marker_depth("d_leads", 200)
    assert 40 < depth < 60  # 7 characters at 10 px, and half its cap

    def end(y: float) -> str:
        (shape,) = chart_builders._hline_shapes(
            [(y, "real vs real: 0.94–0.97")],
            False,
            (0.0, 1.0),
            avoid=(0.05,),
            plot_height_px=200,
            avoid_depths=(depth,),
        )
        return shape["label"]["textposition"]

    assert end(0.95) == "end"  # its label under the line, ~10 px from the top: under d_leads' label
    assert end(0.6) == "start"  # ~80 px down: clear of it
    assert end(0.2) == "start"
    # without the depths every marker is taken to reach the whole height, as before
    (shape,) = chart_builders._hline_shapes([(0.2, "real vs real")], False, (0.0, 1.0), avoid=(0.05,))
    assert shape["label"]["textposition"] == "end"


def test_a_reference_label_along_a_curve_keeps_clear_of_its_points():
    """mode_kl at ln 8 all run long (every sample in one mode): its points lay on the ceiling's label."""
    x = np.linspace(0.0, 1.0, 8)
    on = chart_builders._hline_shapes(
        [(math.log(8), "ln 8 = 2.08: all in one mode")],
        False,
        (0.0, math.log(8)),
        curves=[(x, np.full(8, math.log(8)))],
    )
    off = chart_builders._hline_shapes(
        [(math.log(8), "ln 8 = 2.08: all in one mode")],
        False,
        (0.0, math.log(8)),
        curves=[(x, np.full(8, 0.3))],
    )
    assert on[0]["label"]["padding"] == charts.REFERENCE_CROSSED_PAD_PX > charts.REFERENCE_PAD_PX
    assert off[0]["label"]["padding"] == charts.REFERENCE_PAD_PX
    assert on[0]["label"]["yanchor"] == off[0]["label"]["yanchor"] == "top"  # at the top: under the line


def test_a_quality_chart_from_zero_places_its_labels_on_the_axis_drawn():
    """A collapsed run's mode_kl, all at ln 8: its span was that one value, and the ceiling's label was
    put above the line, out of the plot's top under the legend; the axis drawn reaches down to 0."""
    steps = np.arange(500.0, 4001.0, 500.0)
    view = {"step": steps, "mode_kl": np.full(steps.size, math.log(8))}
    (ceiling,) = [
        s
        for s in charts.quality_figures(view, coverage_total=8)["kl_modes"].layout.shapes
        if s.label.text and s.label.text.startswith("ln 8")
    ]
    assert ceiling.label.yanchor == "top"


def test_reference_labels_take_the_end_no_marker_crosses():
    hlines = [(0.5, "chance (D cannot tell)")]
    ends = [
        chart_builders._hline_shapes(hlines, False, (0.0, 1.0), avoid=avoid)[0]["label"]["textposition"]
        for avoid in ((), (0.05,), (0.05, 0.98), (0.05, 0.5, 0.98))
    ]
    # its label is about 130 px of a 340 px plot (`MIN_PLOT_PX`): a marker at 0.5 is clear of both ends,
    # not of the middle; with every place crossed it stays at the left
    assert ends == ["start", "end", "middle", "start"]


def accuracy_view(values) -> pd.DataFrame:
    values = np.asarray(values, dtype=np.float64)
    return pd.DataFrame({"step": np.arange(1.0, len(values) + 1), "d_acc_real": values})


@pytest.mark.parametrize(
    ("values", "place"),
    [
        # far from the line everywhere: at its left end, above it, as always
        (np.full(300, 0.9), ("start", "bottom")),
        # just above the line at first (a label above it there would be printed over), then far from it
        (np.r_[np.full(100, 0.53), np.full(200, 0.9)], ("end", "bottom")),
        # just above it all along: below the line, at its left end
        (np.full(300, 0.53), ("start", "top")),
        # around it at first (on both sides), then just above it: below the line, at its right end
        (np.r_[np.tile([0.47, 0.53], 50), np.full(200, 0.53)], ("end", "top")),
    ],
)
def test_a_reference_label_goes_where_no_curve_runs_through_it(values, place):
    """An API run has no Start marker to push the label along: "chance (D cannot tell)" sat at the left
    end, where the accuracies of a run start, and was printed over by them (its label is ~13 px tall:
    0.058 of a 0..1 axis on a 224 px plot)."""
    fig = charts.metric_figure(
        accuracy_view(values), ["d_acc_real"], title="t", hlines=[(0.5, "chance")], yrange=(0, 1)
    )
    (line,) = reference_shapes(fig)
    assert (line.label.textposition, line.label.yanchor) == place


def test_a_reference_label_at_the_top_stays_below_its_line_whatever_crosses_it():
    # the line is in the top fifth of the span: above it the label would leave the plot, so it stays
    # below, at the end crossed least (the curve rises to the line at the start only)
    values = np.r_[np.linspace(0.0, 1.0, 10), np.full(290, 0.2)]
    fig = charts.metric_figure(accuracy_view(values), ["d_acc_real"], title="t", hlines=[(0.98, "top")])
    (line,) = reference_shapes(fig)
    assert (line.label.textposition, line.label.yanchor) == ("end", "top")


def test_label_crossings_counts_segments_through_the_box_and_skips_gaps():
    box = ((0.0, 0.5), (0.4, 0.6))

    def crossings(*curves):
        return chart_builders._label_crossings(chart_builders._segments(curves), *box)

    steep = (np.array([0.1, 0.2]), np.array([0.0, 1.0]))  # both points outside, the segment through it
    assert crossings(steep) == 1
    beside = (np.array([0.6, 0.9]), np.array([0.5, 0.5]))  # at the box's height, right of it
    assert crossings(beside) == 0
    gap = (np.array([0.1, 0.2, 0.3]), np.array([0.5, np.nan, 0.0]))  # a gap: no segment drawn
    assert crossings(gap) == 0
    lone = (np.array([0.25]), np.array([0.5]))  # a single point inside
    assert crossings(lone, steep, beside) == 2
    assert crossings() == 0


def test_run_styles_stay_with_their_runs_and_tell_nine_runs_apart():
    first = charts.run_styles(["a", "b", "c"])
    assert list(first.values()) == [(color, "solid") for color in charts.PALETTE[:3]]
    first_two = {"a": first["a"], "b": first["b"]}
    # b removed: a and c keep theirs; d takes the style b freed, not a or c's
    second = charts.run_styles(["a", "c", "d"], first)
    assert second == {"a": first["a"], "c": first["c"], "d": first["b"]}
    # past the palette: the colours again, dashed, then dotted (a reviewer's 9th run was the 1st's line);
    # a style not in RUN_STYLES is given again (a stale session value), a kept one may come as a list
    size = len(charts.PALETTE)
    many = charts.run_styles(
        [str(i) for i in range(size + 2)], {"0": ("#123456", "solid"), "1": ["#e69f00", "solid"]}
    )
    assert many["0"] == (charts.PALETTE[0], "solid") and many["1"] == (charts.PALETTE[1], "solid")
    assert many[str(size)] == (charts.PALETTE[0], "dash") and many[str(size + 1)] == (
        charts.PALETTE[1],
        "dash",
    )
    assert len(set(many.values())) == size + 2
    # a session's value of another shape is no style: fresh ones, no error
    for stale in ({"a": 5}, ["a"], "a", {"a": "#0072b2"}, {"a": ("#0072b2", "wavy")}):
        assert charts.run_styles(["a", "b"], stale) == first_two
    crowd = charts.run_styles([str(i) for i in range(len(charts.RUN_STYLES) + 1)])
    assert (
        len(set(crowd.values())) == len(charts.RUN_STYLES)
        and crowd[str(len(charts.RUN_STYLES))] == crowd["0"]
    )


def test_compare_draws_each_run_in_its_colour_and_dash():
    frames = {
        run_id: pd.DataFrame({"step": [1.0, 2.0, 3.0], "d_loss": [1.0, 0.9, 0.8]}) for run_id in ("a", "b")
    }
    styles = {"a": ("#0072b2", "solid"), "b": ("#0072b2", "dash")}
    fig = charts.compare_figure(
        frames,
        "d_loss",
        smoothing=0.5,
        colors={r: c for r, (c, _) in styles.items()},
        dashes={r: d for r, (_, d) in styles.items()},
    )
    for run_id, (color, dash) in styles.items():
        line = only_trace(fig, run_id)
        assert (line.line.color, line.line.dash, line.line.width) == (color, dash, 2.0)
        assert only_trace(fig, f"{run_id} (raw)").line.dash == dash  # its faint raw line too
    plain = charts.compare_figure(frames, "d_loss")  # no styles: the palette in order, solid
    assert [(only_trace(plain, r).line.color, only_trace(plain, r).line.dash) for r in "ab"] == [
        (charts.PALETTE[0], "solid"),
        (charts.PALETTE[1], "solid"),
    ]


def test_compare_notes_count_the_runs_of_a_sweep_rather_than_name_each():
    """Ten runs with long ids made each note seven lines under every chart: past MANY_RUNS_NAMED runs a
    note counts them, and says which table column names each run's loss or data."""
    sweep = {f"ring8-nonsaturating-lr_d_{i}e-4-seed{i}-sweep": "nonsaturating" for i in range(6)}
    sweep |= {"hinge-run": "hinge", "critic": "wgan-gp"}
    assert charts.compare_scale_note("d_loss", sweep) == (
        "These runs train different losses (nonsaturating: 6 runs; hinge: 1 run; wgan-gp: 1 run, as the "
        "table's loss column says): d_loss is on each loss's own scale, so compare each run's trend, not "
        "the values across losses."
    )
    assert charts.compare_scale_note("d_acc_real", sweep).startswith(
        "d_acc_real of a Wasserstein critic (critic) ranks its scores against the batch's median, which a "
        "healthy critic keeps high; the others' (7 runs) is a verdict"
    )
    data = charts.compare_data_note({run_id: "ring8" for run_id in sweep} | {"d": "digits"})
    assert data.startswith(
        "These runs train on different data (ring8: 8 runs; digits: 1 run, as the table's dataset"
    )
    # a label smoothing sweep: each run its own real target, said once, not a count of one per value
    smoothed = {f"ls-{i}": LOSSES["nonsaturating"].smoothed(i / 20) for i in range(6)}
    assert "(6 runs, each its own, as the table's label_smoothing column says: label smoothing)" in (
        charts.compare_scale_note("d_loss", smoothed)
    )
    assert "differ (6 runs, each its own, as the table's label_smoothing column says)" in (
        charts.compare_scale_note("d_real", smoothed)
    )
    # four runs or fewer: each named, as before
    few = dict(list(sweep.items())[-3:])
    assert "hinge: hinge-run; wgan-gp: critic" in charts.compare_scale_note("d_loss", few)


def test_compare_says_when_runs_values_mean_different_things():
    mixed = {"a": "nonsaturating", "b": "wgan-gp", "c": ""}  # c named no loss: left out
    assert charts.compare_scale_note("d_loss", mixed) == (
        "These runs train different losses (nonsaturating: a; wgan-gp: b): d_loss is on each loss's own "
        "scale, so compare each run's trend, not the values across losses."
    )
    assert charts.compare_scale_note("d_real", mixed) == (
        "d_real is D's output, 0.5 where it cannot tell, for a, and a raw score (unbounded, no midpoint) "
        "for b: compare each run's trend, not the values."
    )
    # BCE and LSGAN outputs share the midpoint 0.5: comparable, though their losses are not
    assert charts.compare_scale_note("d_fake", {"a": "minimax", "b": "lsgan"}) is None
    assert charts.compare_scale_note("g_loss", {"a": "minimax", "b": "lsgan"}) is not None
    # one loss, or a column every loss means alike: no note
    assert charts.compare_scale_note("g_loss", {"a": "hinge", "b": "hinge"}) is None
    for column in ("d_grad_norm", "fd_cls", "lr_g"):
        assert charts.compare_scale_note(column, mixed) is None
    # a critic's accuracy ranks its scores (a healthy one keeps it high); a fixed threshold's is a verdict
    assert charts.compare_scale_note("d_acc_real", mixed) == (
        "d_acc_real of a Wasserstein critic (b) ranks its scores against the batch's median, which a healthy "
        "critic keeps high; the others' (a) is a verdict at a fixed threshold, about 50% where D cannot "
        "tell: compare each run's trend, not the values."
    )
    assert charts.compare_scale_note("d_acc_fake", {"a": "minimax", "b": "hinge"}) is None
    assert charts.compare_scale_note("d_acc_fake", {"a": "wgan", "b": "wgan-gp"}) is None


def test_compare_smooths_a_runs_own_metric_it_logged_on_every_step_only():
    rows = 60
    store = MetricStore((*RECORD_COLUMNS, "my_metric"), capacity=64)
    table = np.c_[record_rows(rows), np.sin(np.arange(rows, dtype=np.float64))]
    store.extend(table)
    every = store.view()  # my_metric on every step
    table[np.arange(rows) % 3 != 0, -1] = np.nan
    some = MetricStore((*RECORD_COLUMNS, "my_metric"), capacity=64)
    some.extend(table)
    fig = charts.compare_figure({"every": every, "some": some.view()}, "my_metric", smoothing=0.8)
    (dense,) = traces_named(fig, "every")
    (sparse,) = traces_named(fig, "some")
    np.testing.assert_allclose(dense.y, charts.smooth(every["my_metric"].to_numpy(), 0.8), rtol=1e-6)
    assert dense.mode == "lines" and traces_named(fig, "every (raw)")  # a smoothed line over its raw one
    # the other run's: its 20 logged steps as they were, with a marker each, no raw twin
    np.testing.assert_array_equal(sparse.x, np.arange(1, rows + 1)[::3])
    np.testing.assert_allclose(sparse.y, np.sin(np.arange(rows, dtype=np.float64))[::3], rtol=1e-6)
    assert sparse.mode == "lines+markers" and not traces_named(fig, "some (raw)")


def test_a_critics_accuracy_panel_says_its_two_lines_are_one(view):
    """A critic's accuracies are split at the median of the batch's pooled scores: on real and fake
    batches of one size they are equal (one line hides the other), which the panel's title says."""
    scores = np.random.default_rng(0).standard_normal(2 * 64)
    real, fake = scores[:64], scores[64:]
    median = np.median(scores)
    assert np.mean(real > median) == np.mean(fake < median)  # the identity the title states

    def titles(fig):
        return [a.text for a in fig.layout.annotations if a.xref == "paper"]

    critic = titles(charts.training_figure(view, EVENTS, 0.6, loss_name="wgan-gp", midpoint=None))
    assert critic[1] == "D accuracy at the batch's median score (real = fake for equal batches)"
    assert len(critic[1]) * charts.TITLE_CHAR_PX <= charts.PANEL_MIN_PLOT_PX + charts.MARGIN["l"]  # one line
    # hinge: unbounded scores (no midpoint, as the Train view passes it) under a fixed threshold, score > 0
    hinge = LOSSES["hinge"]
    assert hinge.midpoint is None and hinge.threshold == 0.0
    assert titles(charts.training_figure(view, EVENTS, 0.6, loss_name="hinge", midpoint=hinge.midpoint))[
        1
    ] == ("D accuracy")
    # no loss named (a run of unknown loss): the midpoint says which
    unnamed = titles(charts.training_figure(view, EVENTS, 0.6, midpoint=None))
    assert unnamed[1] == critic[1]
    assert titles(charts.training_figure(view, EVENTS, 0.6, midpoint=0.5))[1] == "D accuracy"
    assert charts.accuracy_figure(view).layout.title.text == "D accuracy"


def test_a_frechet_distance_falling_over_decades_is_drawn_on_a_log_axis():
    """fd_cls from 120 to 2.3 on a linear axis lay flat at 0 after the first evaluations; spread over
    `charts.LOG_SPREAD` times or more (all above 0) its chart takes a log axis. A narrow spread, and KID
    (which may be below 0), stay linear."""
    steps = np.arange(0, 3000, 100.0)

    def chart(column, values):
        measured = np.full(len(steps), np.nan)
        measured[5::5] = values
        return charts.quality_figures(pd.DataFrame({"step": steps, column: measured}))[column]["layout"][
            "yaxis"
        ]

    falling = chart("fd_cls", [120, 40, 10, 3, 2.3])
    assert falling["type"] == "log"
    low, high = falling["range"]  # log10 of the axis' ends: the values inside, with a margin
    assert math.log10(1.5) < low < math.log10(2.3) and math.log10(120) < high < math.log10(300)
    assert chart("fid", [300, 90, 40, 20, 14])["type"] == "log"
    assert chart("fd_cls", [12, 10, 8, 7, 6])["type"] in (None, "linear")
    assert chart("kid_cls", [0.5, 0.1, 0.01, -0.001, 0.002])["type"] in (None, "linear")


def test_a_placeholder_cannot_be_zoomed():
    """The "no evaluation yet" chart shares the Train view's step zoom: a drag over its empty -1..6 zoomed
    every step chart to there. Its axes are fixed."""
    (pending,) = charts.quality_figures(None).values()
    assert (
        pending["layout"]["xaxis"]["fixedrange"] is True and pending["layout"]["yaxis"]["fixedrange"] is True
    )


def test_the_labels_chart_of_d_s_class_head_alone_is_titled_for_what_it_draws():
    """A review: a folder's acgan run (no classifier: no label_fidelity) drew D's held-out class accuracy
    alone under "Label fidelity", which is whether G draws the class asked for."""
    alone = charts.quality_figures(quality_store({"d_class_acc": 0.5}).view())["labels"]
    both = charts.quality_figures(quality_store({"d_class_acc": 0.5, "label_fidelity": 0.4}).view())["labels"]
    assert alone.layout.title.text == charts.LABELS_D_ONLY_TITLE == "D's class accuracy (held-out reals)"
    assert both.layout.title.text == "Label fidelity"


def test_a_learning_rate_that_changes_gets_its_own_panel_and_fixed_rates_none():
    """A review (a W&B user): a StepLR halving lr_g every 100 steps was drawn nowhere on the Train view."""

    def store(lr_g):
        kept = MetricStore(RECORD_COLUMNS, capacity=64)
        for step in range(1, 301):
            row = dict.fromkeys(RECORD_COLUMNS, 0.5)
            row.update(
                dict.fromkeys(EVAL_COLUMNS, float("nan")), step=float(step), lr_d=2e-4, lr_g=lr_g(step)
            )
            kept.append([row[c] for c in RECORD_COLUMNS])
        return chart_builders.metric_view(kept, 100)

    def titles(view):
        figure = chart_builders.training_figure(view)
        return [a["text"] for a in figure["layout"]["annotations"] if a.get("text") in PANEL_TITLES]

    PANEL_TITLES = ("Losses", "D accuracy", "D's output", "Gradient norms", chart_builders.LR_TITLE)
    stepped = store(lambda step: 2e-4 * 0.5 ** (step // 100))
    assert chart_builders.changing_lr_columns(stepped) == ["lr_d", "lr_g"]
    assert titles(stepped) == list(PANEL_TITLES)
    panel = validated(chart_builders.lr_figure(stepped))
    lines = {t.name: t for t in panel.data if t.name in ("lr_d", "lr_g")}
    assert panel.layout.yaxis.type == "log" and set(lines) == {"lr_d", "lr_g"}
    # (step 300 alone at 2.5e-5, averaged into the last point with the steps before it at 5e-5)
    assert 2.5e-5 <= min(lines["lr_g"].y) <= 5e-5 and max(lines["lr_g"].y) == pytest.approx(2e-4)
    fixed = store(lambda step: 2e-4)
    assert chart_builders.changing_lr_columns(fixed) == [] and titles(fixed) == list(PANEL_TITLES[:4])
    assert chart_builders.changing_lr_columns(None) == []


def test_verdicts_figure_draws_each_batch_as_shares_of_itself_with_the_threshold():
    real = np.array([0.91, 0.81, 0.86, 0.96])  # (none on a bin edge)
    fake = np.array([0.11, 0.21, 0.61, np.nan, 0.16, 0.31])  # the NaN is left out: 5 of G's drawn
    figure = charts.verdicts_figure(real, fake, 0.5, probability=True)
    bars = {t["name"]: t for t in figure["data"] if t["type"] == "bar"}
    assert set(bars) == {"real (4)", "G's samples (5)"}
    for trace, expected in ((bars["real (4)"], real), (bars["G's samples (5)"], fake[np.isfinite(fake)])):
        x, y = np.asarray(trace["x"]), np.asarray(trace["y"])
        assert len(x) == charts.VERDICT_BINS and x.min() > 0 and x.max() < 1  # bins over [0, 1]
        assert y.sum() == pytest.approx(1.0, abs=1e-12)
        # each value's share in the bin that holds it
        for value in expected:
            at = int(np.argmin(np.abs(x - value)))
            assert y[at] >= 1 / len(expected) - 1e-12
    lines = [t for t in figure["data"] if t["type"] == "scatter"]
    assert [t["name"] for t in lines] == ["threshold 0.5"]
    assert list(lines[0]["x"]) == [0.5, 0.5]
    assert list(figure["layout"]["xaxis"]["range"]) == [0.0, 1.0]
    # raw scores: the range holds the threshold
    scores = charts.verdicts_figure(np.array([2.0, 3.0]), np.array([1.0]), -4.0)
    assert list(scores["layout"]["xaxis"]["range"]) == [-4.0, 3.0]
    with pytest.raises(ValueError, match="no finite D output"):
        charts.verdicts_figure(np.array([np.nan]), np.array([]), 0.0)
