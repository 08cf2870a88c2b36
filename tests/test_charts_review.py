"""The chart fixes a review asked for: log axes labelled every decade with the data's top under a label,
the exploding-gradients threshold on the gradient-norm chart, class labels beside a conditional grid's
rows, and values beyond float32 sent as edge marks rather than infinities (`gan_core.charts`)."""

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from gan_core import charts
from gan_core.flags import EXPLODING_NORM


def validated(figure: dict) -> go.Figure:
    """A builder's figure through plotly's validating constructor (a ValueError for what it refuses)."""
    return go.Figure(figure)


def norms(d: np.ndarray, g: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"step": np.arange(len(d), dtype=np.float64) * 5, "d_grad_norm": d, "g_grad_norm": g})


def labelled_ticks(axis) -> list[float]:
    """The labelled ticks (log10 units) a log axis with a numeric dtick draws inside its range."""
    low, high = axis.range
    dtick, tick0 = int(axis.dtick), int(axis.tick0 or 0)
    first = tick0 + math.ceil((low - tick0) / dtick) * dtick
    return [float(t) for t in range(first, math.floor(high) + 1, dtick)]


def test_a_log_axis_over_many_decades_labels_every_decade_and_the_datas_top():
    """Gradient norms from 1e-7 to 100 were labelled 1, 0.001, 0.000001 only: g_grad_norm at 30 to 100
    sat above the top label. Every decade is labelled now (every second on a short panel), and the
    labelled ticks reach past both ends of the data."""
    d = np.geomspace(1e-7, 1.0, 60)
    g = np.linspace(30.0, 95.0, 60)
    axis = validated(charts.grad_norm_figure(norms(d, g))).layout.yaxis
    assert axis.type == "log" and axis.dtick == 1
    ticks = labelled_ticks(axis)
    assert ticks == [float(t) for t in range(-7, 3)]  # 1e-7 ... 100: each decade
    assert 10 ** ticks[-1] >= g.max() and 10 ** ticks[0] <= d.min()
    low, high = axis.range
    # a little room past the end ticks (a line at 100 is not cut in half by the plot's edge), no more
    assert 0 < (high - 2) / (high - low) < 0.04 and 0 < (-7 - low) / (high - low) < 0.04
    # the Train view's panel is shorter: every second decade, still past both ends of the data
    panels = validated(charts.training_figure(full_view(d, g), loss_name="nonsaturating")).layout
    (log_axis,) = [panels[k] for k in panels if k.startswith("yaxis") and panels[k].type == "log"]
    assert log_axis.dtick == 2
    ticks = labelled_ticks(log_axis)
    assert ticks == [-8.0, -6.0, -4.0, -2.0, 0.0, 2.0]
    # counted from the decade above the data's top: 1000 over norms reaching 120, not 10000
    taller = validated(charts.training_figure(full_view(d, np.linspace(30.0, 120.0, 60)))).layout
    (log_axis,) = [taller[k] for k in taller if k.startswith("yaxis") and taller[k].type == "log"]
    assert (log_axis.dtick, labelled_ticks(log_axis)[-1]) == (2, 3.0) and log_axis.range[1] < 3.5
    # decades beyond 0.001 ... 10,000: each as a power of ten, alike and short ("~g" wrote 1, 0.001,
    # 0.000001, 1e-9, 1e-12 down one axis, and 0.000001 ran into the axis' title on Compare)
    assert (log_axis.exponentformat, log_axis.tickformat) == ("power", None)
    # a span of three decades: every decade; the top not a power of ten: the tick above it; labels that
    # stay within 0.001 ... 10,000 read as plain numbers: 100, not 1e+2 or 10²
    axis = validated(charts.grad_norm_figure(norms(np.full(5, 0.02), np.full(5, 35.0)))).layout.yaxis
    assert axis.dtick == 1 and labelled_ticks(axis) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert (axis.tickformat, axis.exponentformat) == ("~g", None)
    wide = validated(charts.grad_norm_figure(norms(np.full(5, 0.001), np.full(5, 9_000.0)))).layout.yaxis
    assert labelled_ticks(wide)[0] == -3.0 and labelled_ticks(wide)[-1] == 4.0 and wide.tickformat == "~g"
    deep = validated(charts.grad_norm_figure(norms(np.full(5, 0.0009), np.full(5, 9.0)))).layout.yaxis
    assert labelled_ticks(deep)[0] == -4.0 and deep.exponentformat == "power"
    # one to two decades: 1, 2, 5 of each, the ends at such a tick (0.5 and 5 here)
    axis = validated(charts.grad_norm_figure(norms(np.full(5, 0.6), np.full(5, 4.0)))).layout.yaxis
    assert axis.dtick == "D2"
    low, high = axis.range
    assert low < math.log10(0.5) < math.log10(0.6) and math.log10(4.0) < math.log10(5.0) < high < 0.75
    # a span too short for that: plotly's own ticks and range
    axis = validated(charts.grad_norm_figure(norms(np.full(5, 0.9), np.full(5, 1.1)))).layout.yaxis
    assert axis.dtick is None and axis.range is None


def full_view(d: np.ndarray, g: np.ndarray) -> pd.DataFrame:
    """A view with every column the Train view's panels draw, the gradient norms ``d`` and ``g``."""
    frame = norms(d, g)
    for column in charts.METRIC_COLUMNS:
        if column not in frame:
            frame[column] = 0.5
    return frame


def threshold_lines(figure: go.Figure) -> list[go.layout.Shape]:
    return [s for s in figure.layout.shapes if (s.label.text or "").startswith("exploding")]


def test_the_exploding_gradients_threshold_is_drawn_when_a_norm_comes_near_it():
    """The exploding_gradients flag is raised above a norm of 100, which the chart neither labelled nor
    drew while g_grad_norm ran at 30 to 100."""
    near = validated(charts.grad_norm_figure(norms(np.full(8, 0.5), np.linspace(30, 95, 8))))
    (line,) = threshold_lines(near)
    assert line.y0 == line.y1 == EXPLODING_NORM == 100
    assert line.label.text == "exploding_gradients above 100"
    assert line.line.dash == "dash"
    assert near.layout.yaxis.range[1] > 2  # the line is on the axis, under its top label
    # a band's top counts: a spike averaged away by downsampling still draws it
    spiky = norms(np.full(8, 0.5), np.full(8, 3.0))
    spiky["g_grad_norm_min"], spiky["g_grad_norm_max"] = 1.0, np.r_[np.full(7, 4.0), 250.0]
    assert len(threshold_lines(validated(charts.grad_norm_figure(spiky)))) == 1
    # far below it (under a tenth): no line, the axis not stretched up to it
    calm = validated(charts.grad_norm_figure(norms(np.full(8, 0.5), np.full(8, 9.0))))
    assert threshold_lines(calm) == [] and calm.layout.yaxis.range[1] < 1.2
    # on a linear axis too, and in the Train view's panel
    assert (
        len(
            threshold_lines(
                validated(charts.grad_norm_figure(norms(np.ones(4), np.full(4, 50.0)), log_y=False))
            )
        )
        == 1
    )
    panels = validated(charts.training_figure(full_view(np.full(8, 0.5), np.linspace(30, 95, 8))))
    assert len(threshold_lines(panels)) == 1
    # no data yet: the placeholder, no line
    assert threshold_lines(validated(charts.grad_norm_figure(norms(np.zeros(0), np.zeros(0))))) == []


FASHION = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def class_grid_image(rows: int, tile: int = 28, columns: int = 8) -> np.ndarray:
    """A grid laid out as `rundir.image_grid` lays one out (1 px of padding around each tile)."""
    return np.full((rows * (tile + 1) + 1, columns * (tile + 1) + 1, 3), 128, dtype=np.uint8)


def test_grid_row_labels_name_each_class():
    assert charts.grid_row_labels(3) == ["0", "1", "2"]
    assert charts.grid_row_labels(3, ["0", "1", "2"]) == ["0", "1", "2"]  # digits: the index says it
    labels = charts.grid_row_labels(10, FASHION)
    assert labels[:4] == ["0 T-shirt/top", "1 Trouser", "2 Pullover", "3 Dress"]
    assert labels[9] == "9 Ankle boot"
    long = charts.grid_row_labels(2, ["a_very_long_folder_name", "b"])
    assert long == ["0 a_very_long…", "1 b"] and len(long[0]) == charts.GRID_LABEL_CHARS
    assert charts.grid_row_labels(2, ["cats"]) == ["0 cats", "1"]  # names for some rows only
    assert charts.grid_row_labels(0) == []
    with pytest.raises(ValueError, match="rows must be a whole number >= 0, got -1"):
        charts.grid_row_labels(-1)


def test_a_conditional_grid_labels_its_rows_with_their_classes():
    """The Train view's conditional grid said only "a row per class from the top": nothing said which
    row is which class (fashion-mnist's, a folder's names)."""
    grid = class_grid_image(10)
    labels = charts.grid_row_labels(10, FASHION)
    fig = validated(charts.image_grid_figure(grid, title="G(z, class)", row_labels=labels))
    notes = fig.layout.annotations
    assert [n.text for n in notes] == labels
    # on the image's own axes, at the left edge of its pixels, each at the middle of its row of tiles
    for index, note in enumerate(notes):
        assert (note.xref, note.yref, note.x, note.xanchor) == ("x", "y", -0.5, "right")
        top = 1 + index * 29  # the row's first pixel row
        assert top <= note.y <= top + 27 and note.y == pytest.approx(top + 13.5, abs=1.0)
    # the left margin holds the widest label, no more than that and a gap
    widest = max(len(label) for label in labels) * charts.GRID_LABEL_CHAR_PX
    assert widest < fig.layout.margin.l <= widest + 12
    assert all(n.font.size == 11 for n in notes)
    # a name from a file is text: shown as it is, never as markup
    odd = validated(charts.image_grid_figure(class_grid_image(2), row_labels=["<b>x</b>", "a&b"]))
    assert [n.text for n in odd.layout.annotations] == ["&lt;b&gt;x&lt;/b&gt;", "a&amp;b"]
    # without labels: no annotations, the narrow margin as before
    plain = validated(charts.image_grid_figure(grid, title="G(z)"))
    assert not plain.layout.annotations and plain.layout.margin.l == 10
    # 32 classes (`trainer.MAX_GRID_CLASSES`) in a 420 px figure: rows of about 11 px, every one labelled
    # at a smaller font; in a shorter figure (a wide grid) every second row
    many = validated(charts.image_grid_figure(class_grid_image(32), row_labels=charts.grid_row_labels(32)))
    assert len(many.layout.annotations) == 32 and {n.font.size for n in many.layout.annotations} == {10}
    wide = validated(
        charts.image_grid_figure(class_grid_image(32, columns=64), row_labels=charts.grid_row_labels(32))
    )
    assert [n.text for n in wide.layout.annotations] == [str(i) for i in range(0, 32, 2)]
    with pytest.raises(ValueError, match="row_labels: 40 labels for a grid 30 pixels tall"):
        charts.image_grid_figure(
            np.zeros((30, 30, 3), dtype=np.uint8), row_labels=[str(i) for i in range(40)]
        )


def test_snapshot_figure_passes_a_grids_row_labels_on():
    grid = class_grid_image(3)
    fig = validated(
        charts.snapshot_figure({"grid": grid}, None, midpoint=0.5, title="s", row_labels=["0", "1", "2"])
    )
    assert [n.text for n in fig.layout.annotations] == ["0", "1", "2"]


def test_a_value_beyond_float32_is_an_edge_mark_with_its_value_not_an_infinity():
    """A finite 1e308 in metrics.csv overflowed float32 on its way to the browser (a RuntimeWarning) and
    was drawn as +inf. It is a mark at the plot's top edge now, its true value in the hover, the line
    broken there, the axis not stretched to it; -1e308 likewise at the bottom."""
    d_loss = np.array([0.7, 0.6, 1e308, 0.5, -1e300, 0.4])
    frame = pd.DataFrame({"step": np.arange(6.0), "d_loss": d_loss})
    with np.errstate(over="raise", invalid="raise"):  # the overflow was a RuntimeWarning, now refused
        built = charts.metric_figure(frame, ["d_loss"], title="t")
    fig = validated(built)
    line = next(t for t in fig.data if t.name == "d_loss")
    y = np.asarray(line.y, dtype=np.float64)
    assert not np.isinf(y).any()
    assert np.isnan(y[[2, 4]]).all() and y[[0, 1, 3, 5]] == pytest.approx([0.7, 0.6, 0.5, 0.4])
    top = next(t for t in fig.data if t.legendgroup == "edge_huge" and t.showlegend is False)
    assert list(top.x) == [2] and list(top.text) == ["d_loss 1e+308"] and top.yaxis == "y2"
    assert top.y[0] == pytest.approx(charts.EDGE_MARKS["huge"][2])
    bottom = next(t for t in fig.data if t.legendgroup == "edge_huge_negative" and t.showlegend is False)
    assert list(bottom.x) == [4] and list(bottom.text) == ["d_loss -1e+300"]
    # no +inf mark: it was not an infinity
    assert not [t for t in fig.data if t.legendgroup == "edge_posinf"]
    # a band's top beyond it marks the point too; on a log axis the axis keeps to what is drawn
    spiky = pd.DataFrame(
        {
            "step": np.arange(4.0),
            "d_grad_norm": [1.0, 2.0, 3.0, 4.0],
            "d_grad_norm_min": [0.5, 1.0, 2.0, 3.0],
            "d_grad_norm_max": [2.0, 1e308, 4.0, 5.0],
            "g_grad_norm": [1.0, 1.0, 1.0, 1.0],
        }
    )
    fig = validated(charts.grad_norm_figure(spiky))
    mark = next(t for t in fig.data if t.legendgroup == "edge_huge" and t.showlegend is False)
    assert list(mark.x) == [1] and list(mark.text) == ["d_grad_norm 1e+308"]
    # up to the exploding_gradients line it passed (100), not to 1e308
    assert 2 < fig.layout.yaxis.range[1] < 2.5


def labelled_lines(figure) -> list[tuple[float, str]]:
    """(y, label text) of each reference line with a label."""
    return [(s.y0, s.label.text) for s in validated(figure).layout.shapes if s.label and s.label.text]


def test_two_reference_lines_closer_than_a_label_do_not_print_one_label_over_the_other():
    """An acgan run's label-fidelity chart printed "every sample its class" (1.0) and "classifier, held
    out" (0.994) over each other ("evclassifier held out"): on a plot as narrow as the chart is drawn no
    place of the second is clear of the first, so it is written under it, with its value."""
    from gan_core.store import MetricStore
    from gan_core.tracking.schema import EVAL_COLUMNS, RECORD_COLUMNS

    def chart(reference: float):
        store = MetricStore(RECORD_COLUMNS, capacity=64)
        for step in range(1, 301):
            row = dict.fromkeys(RECORD_COLUMNS, 0.5)
            row.update(dict.fromkeys(EVAL_COLUMNS, float("nan")))
            row["step"] = float(step)
            if step % 50 == 0:
                row["label_fidelity"], row["d_class_acc"] = 0.7 + step / 1000, 0.6 + step / 1000
            store.append([row[c] for c in RECORD_COLUMNS])
        references = {"d_class_acc": (reference, "classifier, held out")}
        (figure,) = [
            f
            for f in charts.quality_figures(charts.evaluations(store), references=references).values()
            if "label_fidelity" in {t.name for t in validated(f).data}
        ]
        return figure

    assert labelled_lines(chart(0.994)) == [(1.0, "every sample its class<br>classifier, held out (0.994)")]
    # apart, each line keeps its own label
    assert labelled_lines(chart(0.8)) == [(1.0, "every sample its class"), (0.8, "classifier, held out")]
