"""The Train view's losses axis fits their values without their outliers (`charts.robust_yrange`, as
Compare's): a student raised lr_d ten times on a healthy run, one step's d_loss of 35.5 ran the axis up to
38, and the rest of the run's losses, near 1.4, were flat lines at its foot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from gan_core import charts
from gan_core.store import MetricStore
from gan_core.tracking.schema import RECORD_COLUMNS
from tests.test_charts import record_rows


def run_view(spike: float | None) -> pd.DataFrame:
    steps = np.arange(1, 401, dtype=np.float64)
    rng = np.random.default_rng(0)
    d_loss = 1.38 + 0.05 * rng.standard_normal(steps.size)
    frame = {
        "step": steps,
        "d_loss": d_loss,
        "g_loss": 0.7 + 0.05 * rng.standard_normal(steps.size),
        "d_loss_real": d_loss / 2,
        "d_loss_fake": d_loss / 2,
        **{c: np.full(steps.size, 0.5) for c in (*charts.ACCURACY_COLUMNS, *charts.D_OUTPUT_COLUMNS)},
        **{c: np.full(steps.size, 1.0) for c in charts.GRAD_NORM_COLUMNS},
    }
    for c in list(frame)[1:]:
        frame[f"{c}_min"], frame[f"{c}_max"] = frame[c] - 0.02, frame[c] + 0.02
    if spike is not None:
        frame["d_loss_max"] = frame["d_loss_max"].copy()
        frame["d_loss_max"][200] = spike  # one point's band: a step of 35.5 among its bucket's
    return pd.DataFrame(frame)


def loss_range(figure: dict) -> list[float] | None:
    return figure["layout"]["yaxis"].get("range")


def test_one_spike_is_marked_at_the_edge_not_fitted():
    figure = charts.loss_figure(run_view(35.5), fit_outliers=False)
    low, high = loss_range(figure)
    assert 0.4 < low < 0.7 and 1.4 < high < 1.7  # the losses' own scale
    (above,) = [
        t for t in figure["data"] if t.get("legendgroup") == "edge_above" and not t.get("showlegend", 1)
    ]
    assert list(above["x"]) == [201.0] and "d_loss max 35.5" in above["text"][0]
    assert figure["layout"]["meta"]["off_axis"] == {"d_loss": [1, [["above", 35.5]]]}
    # asked to fit every value, or on a log axis: as before, the spike in range
    assert loss_range(charts.loss_figure(run_view(35.5), fit_outliers=True)) is None
    logged = charts.loss_figure(run_view(35.5), log_y=True, fit_outliers=False)
    assert "off_axis" not in (logged["layout"].get("meta") or {})


def test_a_run_without_outliers_is_drawn_as_before():
    plain = charts.loss_figure(run_view(None), fit_outliers=False)
    assert loss_range(plain) is None and "meta" not in plain["layout"]
    assert pio.to_json(plain) == pio.to_json(charts.loss_figure(run_view(None), fit_outliers=True))
    mild = charts.loss_figure(run_view(4.0), fit_outliers=False)  # three times the rest: its own scale
    assert loss_range(mild) is None


def store_view(n: int, spike: float = 35.5) -> dict:
    """The Train view's view (`charts.metric_view`, 300 points) of a store of ``n`` rows, one step's d_loss
    ``spike`` among losses near 1.38, half-way."""
    rows = record_rows(n)
    rng = np.random.default_rng(0)
    d = 1.38 + 0.05 * rng.standard_normal(n)
    for column, values in (("d_loss", d), ("d_loss_real", d / 2), ("d_loss_fake", d / 2)):
        rows[:, RECORD_COLUMNS.index(column)] = values
    rows[:, RECORD_COLUMNS.index("g_loss")] = 0.7 + 0.05 * rng.standard_normal(n)
    rows[n // 2, RECORD_COLUMNS.index("d_loss")] = spike
    store = MetricStore(RECORD_COLUMNS, capacity=1 << 16)
    store.extend(rows)
    return charts.metric_view(store, 300)


@pytest.mark.parametrize("n", [200, 900, 3000, 10000])
def test_a_spike_is_left_off_whatever_the_points_it_is_averaged_into(n):
    """The fit read each point's mean: a one-step spike averaged into a point of ten rows (3,000 steps, the
    default run) read 4.8, no leap, and kept the axis up to 35.5 (a reviewer's). The band's max holds it."""
    figure = charts.training_figure(store_view(n), smoothing=0.6)
    low, high = figure["layout"]["yaxis"]["range"]  # (the losses panel's)
    assert 0.3 < low < 0.7 and 1.4 < high < 1.8, (n, low, high)
    note = charts.training_off_axis_note(figure)
    assert note is not None and note.startswith(
        "Off the losses' axis, which fits the rest: d_loss (1 point, up to 35.5)"
    )


def test_the_train_views_panels_carry_the_note():
    figure = charts.training_figure(run_view(35.5), smoothing=0.6)
    note = charts.training_off_axis_note(figure)
    assert note == (
        "Off the losses' axis, which fits the rest: d_loss (1 point, up to 35.5), marked at its edge with "
        "their values in the hover. To draw them, turn on Fit the losses to outliers too."
    )
    assert figure["layout"]["meta"]["panels"]  # (the panels' plan kept beside it)
    assert charts.training_off_axis_note(charts.training_figure(run_view(35.5), fit_outliers=True)) is None
    assert charts.training_off_axis_note(charts.training_figure(run_view(None))) is None
