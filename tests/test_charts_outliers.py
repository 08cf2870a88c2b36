"""Compare's y axis fitted without outliers (TensorBoard's "ignore outliers in chart scaling", done so that
nothing is hidden): one diverged run's d_loss at 1.5e11 drew every other run as a flat line at 0. The axis
now fits the other values, the outliers are marked at its edge with their values, a line names their run,
and "Fit the axis to outliers too" gives the old axis back (`gan_core.charts.robust_yrange`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gan_core import charts as chart_builders
from gan_core import track
from tests.test_charts import charts, edge_marks, edge_runs
from tests.test_compare_page import APP_DIR, TIMEOUT
from tests.test_compare_page import charts as page_charts

HEALTHY_STEPS = 400
DIVERGED_AT = 31  # the diverged run's first exploding row, as the divergence preset's run on ring8 had it


def healthy_d_loss(seed: int = 0) -> np.ndarray:
    """A BCE d_loss of ring8 over 400 steps: 1.38 falling to 1.30, noise 0.03 (its 1.21 to 1.49)."""
    rng = np.random.default_rng(seed)
    return np.linspace(1.38, 1.30, HEALTHY_STEPS) + rng.normal(0.0, 0.03, HEALTHY_STEPS)


def diverged_d_loss() -> np.ndarray:
    """The divergence preset's d_loss on ring8 as its run wrote it: 30 steps near 1.3, then 33.5, 4,686,
    7.5e7 ... up to 1.85e11 within 30 steps, 50 rows out there (most of the run), and 0.6 at the last."""
    normal = np.linspace(1.397, 1.265, DIVERGED_AT - 1)
    climb = [33.47, 4686.2, 7.5e7, 7.0e8, 2.56e9, 5.98e9, 1.2e10, 1.86e10, 2.72e10, 4.05e10]
    out_there = 1.85e11 - np.abs(np.linspace(-1.0, 1.0, 39)) * 1.0e11  # up to 1.85e11 and down again
    return np.concatenate([normal, climb, out_there, [0.6]])


def frame(values: np.ndarray, column: str = "d_loss") -> pd.DataFrame:
    """A run's rows of one metric, one point per step from step 1, as `MetricStore.view` gives them."""
    steps = np.arange(1, len(values) + 1, dtype=np.float64)
    return pd.DataFrame({"step": steps, column: values, f"{column}_min": values, f"{column}_max": values})


def y_range(fig) -> tuple[float, float] | None:
    axis = fig.layout.yaxis
    return None if axis.range is None else tuple(axis.range)


def test_a_diverged_run_no_longer_flattens_the_others_and_its_values_are_marked_where_they_went():
    healthy, diverged = healthy_d_loss(), diverged_d_loss()
    frames = {"ring8-a": frame(healthy), "diverged": frame(diverged)}
    colors = {"ring8-a": "#0072b2", "diverged": "#d55e00"}
    raw = chart_builders.compare_figure(frames, "d_loss", colors=colors)
    fig = charts.compare_figure(frames, "d_loss", colors=colors)
    # the axis covers the healthy run and the diverged run's values before it leapt (and its last, 0.6,
    # as the divergence's step wrote it), with a little room: not 1e11
    low, high = y_range(fig)
    shown = np.r_[healthy, diverged[: DIVERGED_AT - 1], diverged[-1]]
    span = shown.max() - shown.min()
    assert shown.min() == pytest.approx(0.6) and shown.min() - 0.1 * span <= low <= shown.min()
    assert shown.max() <= high <= shown.max() + 0.1 * span < 2.0
    # each value beyond it marked at the top edge, at its step, its value in the hover, in its run's colour
    above = edge_marks(fig, "above")
    beyond = np.flatnonzero(diverged > high)
    assert [x for x, _, _ in above] == (beyond + 1).tolist()
    assert beyond[0] + 1 == DIVERGED_AT and len(beyond) == 49  # from 33.5 on, all of it
    assert {c for _, c, _ in above} == {colors["diverged"]}
    hovers = [text for _, _, text in above]
    assert hovers[:3] == ["diverged: 33.47", "diverged: 4686", "diverged: 7.5e+07"]
    assert max(float(t.split(": ")[1]) for t in hovers) == pytest.approx(1.85e11, rel=1e-3)
    assert edge_marks(fig, "below") == []
    # and a line under the chart names that run alone
    note = chart_builders.compare_off_axis_note(raw)
    assert note.startswith("Off this axis, which fits the other values: diverged (49 points, up to 1.85e+11)")
    assert "ring8-a" not in note
    # fitted to every value, it is the old chart: plotly ranges it over 1e11, nothing marked or said
    fitted = charts.compare_figure(frames, "d_loss", colors=colors, fit_outliers=True)
    assert y_range(fitted) is None and edge_marks(fitted, "above") == []
    assert chart_builders.compare_off_axis_note(fitted.to_plotly_json()) is None


def test_each_runs_marks_at_the_edge_are_its_own_trace_so_its_legend_entry_hides_them():
    """Compare's linked legend hid a run's line and flags in every chart, but its marks at the edge stayed:
    they were one trace per kind for every run. Each run's are now a trace of their own, the run named in
    its ``meta`` (`ui.live_chart` hides it with the run), under the kind's one key."""
    healthy, diverged = healthy_d_loss(), diverged_d_loss()
    second = diverged * 2.0  # a second diverged run, beyond the axis from the same step
    frames = {"ring8-a": frame(healthy), "diverged": frame(diverged), "diverged-2": frame(second)}
    fig = charts.compare_figure(frames, "d_loss")
    runs = edge_runs(fig, "above")
    assert sorted(runs) == ["diverged", "diverged-2"]  # the healthy run has none
    assert len(runs["diverged"]) == len(runs["diverged-2"]) == 49
    assert all(t.startswith("diverged: ") for t in runs["diverged"])
    assert all(t.startswith("diverged-2: ") for t in runs["diverged-2"])
    assert len(edge_marks(fig, "above")) == 98  # every point of both, once


def test_the_smoothed_lines_are_fitted_too_and_a_hyperparameter_is_never():
    healthy, diverged = healthy_d_loss(), diverged_d_loss()
    frames = {"ring8-a": frame(healthy), "diverged": frame(diverged)}
    fig = charts.compare_figure(frames, "d_loss", smoothing=0.6)
    low, high = y_range(fig)
    assert high < 2.0  # the diverged run's smoothed line climbs off it as its values do
    (line,) = [t for t in fig.data if t.name == "ring8-a" and t.showlegend is not False]
    assert low <= np.nanmin(line.y) and np.nanmax(line.y) <= high
    lr = np.r_[np.full(300, 2e-4), np.full(100, 1.0)]  # a setting is no measurement: every value shown
    steps = charts.compare_figure({"a": frame(np.full(400, 2e-4), "lr_d"), "b": frame(lr, "lr_d")}, "lr_d")
    assert y_range(steps) is None and edge_marks(steps, "above") == []


def test_what_a_run_does_on_its_own_scale_is_no_outlier():
    """Only a leap of orders of magnitude within a run is one: runs on other scales, a D that wins, an early
    transient, a hinge loss at exactly 0, a spike of a few times the rest and a steady climb are fitted as
    before (None: plotly ranges the axis over every value)."""
    rng = np.random.default_rng(1)
    bce = healthy_d_loss()
    critic = np.concatenate([np.linspace(-0.5, -8.0, 150), np.linspace(-8.0, 5.0, 250)])
    critic += rng.normal(0, 0.5, critic.size)
    d_wins = 1.38 * np.exp(-np.arange(400) / 5.0) + 0.001  # d_loss from 1.38 to 0.001 within 30 steps
    minimax_g = -(0.7 * np.exp(-np.arange(400) / 10.0) + 0.002)  # a minimax g_loss near -0.002
    hinge = np.r_[np.linspace(2.0, 0.0, 50), np.zeros(350)]
    spiked = bce.copy()
    spiked[200] = 13.2  # a huge lr_d's spike: 13.2 beside 1.39
    climb = np.r_[bce[:300], 1.4 * 2.0 ** np.arange(1, 31)]  # doubling at each step, to 1.5e9
    long_and_short = [0.7 + rng.normal(0, 0.01, 600), 3.0 + rng.normal(0, 0.05, 60)]
    for runs in (
        [bce, critic],
        [d_wins, d_wins, d_wins, bce],
        [d_wins],
        [minimax_g, minimax_g, bce - 0.68],
        [hinge, hinge, bce],
        [spiked, bce],
        [climb, bce],
        long_and_short,
        [np.full(50, 1e11), bce],  # (at 1e11 from its first point: a run on another scale)
    ):
        assert chart_builders.robust_yrange(runs) is None
    fig = charts.compare_figure({"bce": frame(bce), "critic": frame(critic)}, "d_loss")
    assert y_range(fig) is None and edge_marks(fig, "above") == edge_marks(fig, "below") == []


def test_a_leap_is_found_in_each_run_however_many_points_it_and_the_others_have():
    """A 600-row run that leapt to 40 for one point, beside a 60-row run near 3: the 40 is off the axis,
    which fits both runs' other values; a run that leapt for three quarters of its points is found too."""
    rng = np.random.default_rng(2)
    spiked = 0.7 + rng.normal(0, 0.01, 600)
    spiked[300] = 40.0
    short = 3.0 + rng.normal(0, 0.05, 60)
    low, high = chart_builders.robust_yrange([spiked, short])
    assert 3.0 < high < 3.5 and 0.5 < low < 0.67  # (with 5 % of their span as room each side)
    mostly_out = np.r_[1.3 + rng.normal(0, 0.02, 10), np.geomspace(50.0, 1e9, 30)]
    low, high = chart_builders.robust_yrange([mostly_out])
    assert 1.2 < low < 1.3 < high < 1.4


def test_a_log_axis_leaves_out_only_values_powers_of_ten_away_and_gradient_norms_are_on_one():
    """Gradient norms are on a log axis in Compare as in the Train view. There a vanishing G gradient
    (1e-4) beside healthy ones (0.3) is what the axis is for; a diverged run that leapt from 0.7 to 200,
    more than two powers of ten, and on to 1.9e12 is marked from its leap."""
    assert chart_builders.compare_log_y("d_grad_norm", False) and chart_builders.compare_log_y(
        "g_grad_norm", False
    )
    assert not chart_builders.compare_log_y("d_loss", False) and chart_builders.compare_log_y("d_loss", True)
    rng = np.random.default_rng(3)
    healthy = 0.3 * np.exp(rng.normal(0, 0.3, 400))
    vanishing = np.geomspace(0.3, 1e-4, 400)
    exploded = np.r_[healthy[:30], np.geomspace(200.0, 1.9e12, 50)]
    frames = {"healthy": frame(healthy, "g_grad_norm"), "vanishing": frame(vanishing, "g_grad_norm")}
    # nothing left out: the data's own span, its ticks chosen for it (`_log_ticks`, as the Train view's)
    low, high = (10**v for v in y_range(charts.compare_figure(frames, "g_grad_norm", log_y=True)))
    assert low <= vanishing.min() < 100 * low and healthy.max() <= high < 10 * healthy.max()
    frames["diverged"] = frame(exploded, "g_grad_norm")
    fig = charts.compare_figure(frames, "g_grad_norm", log_y=True)
    low, high = (10**v for v in y_range(fig))  # (a log axis' range is in powers of ten)
    assert low <= 1e-4 and 1e-4 / low < 2  # the vanishing norm's end on it, 5 % of the decades as room
    top = max(healthy.max(), exploded[:30].max())
    assert top <= high < 2 * top  # the healthy norms' top, not 1e12
    above = edge_marks(fig, "above")
    assert {text.split(":")[0] for _, _, text in above} == {"diverged"}
    assert [x for x, _, _ in above] == list(range(31, 81))  # from its leap to 200 on
    # labelled for the range it shows (its 3.8 decades: every decade), not for the 16 decades of all the
    # data, which left plotly labelling every digit of a short range (0.06 0.07 0.08 0.09 0.1 ... 0.9 1)
    assert fig.layout.yaxis.dtick in (1, "D2")
    # a short range too: 1, 2 and 5 of each decade
    frames = {"healthy": frame(healthy, "g_grad_norm"), "diverged": frame(exploded, "g_grad_norm")}
    assert charts.compare_figure(frames, "g_grad_norm", log_y=True).layout.yaxis.dtick == "D2"


def test_a_value_the_chart_marks_otherwise_is_not_marked_twice():
    """NaN, infinities and values beyond float32 have their own marks (`EDGE_MARKS`); 0 on a log axis too."""
    values = np.r_[healthy_d_loss()[:100], [1e39], 1.2 * np.ones(5), [1e11]]
    fig = charts.compare_figure({"a": frame(values)}, "d_loss")
    assert [t for _, _, t in edge_marks(fig, "huge")] == ["a: 1e+39"]
    assert [t for _, _, t in edge_marks(fig, "above")] == ["a: 1e+11"]


def test_a_value_beyond_float32_does_not_carry_a_runs_smoothed_line_off_the_chart():
    """One 1e308 at step 60 of 200 (a hand-edited file, an overflow in float64): Compare smoothed the raw
    values, so every smoothed point after it was near 1e276, which no chart can draw: the run's line
    ended at step 59 beside an edge mark, where the Train view drew it whole (found by review)."""
    values = healthy_d_loss()[:200].copy()
    values[59] = 1e308
    fig = charts.compare_figure({"a": frame(values)}, "d_loss", smoothing=0.6)
    (line,) = [t for t in fig.data if t.name == "a" and t.showlegend is not False]
    y = np.asarray(line.y, dtype=np.float64)
    assert np.isnan(y[59]) and np.isfinite(np.delete(y, 59)).all()
    assert (y[60:] > 1.2).all() and (y[60:] < 1.5).all()  # the healthy values' 1.21 to 1.49, smoothed
    assert [t for _, _, t in edge_marks(fig, "huge")] == ["a: 1e+308"]


def test_the_page_fits_its_axes_without_a_diverged_run_and_says_so(runs_root):
    """On the page: a loop whose d_loss went to 1e11 beside a healthy one; the chart's axis fits the healthy
    one, the line under it names the diverged run, and the toggle fits the axis to every value."""
    rng = np.random.default_rng(4)
    for run_id, d_losses in (
        ("healthy", 1.35 + rng.normal(0, 0.03, 40)),
        ("exploded", np.r_[1.35 + rng.normal(0, 0.03, 15), np.geomspace(50, 1.5e11, 25)]),
    ):
        with track.init(run_id, root=runs_root, loss="nonsaturating", steps=40) as run:
            for d_loss in d_losses:
                run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(float(d_loss)))
                run.g_step(torch.tensor(0.7))
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="cmp_runs").set_value(["healthy", "exploded"]).run()
    assert not at.exception
    low, high = page_charts(at)["cmp_chart_d_loss"]["layout"]["yaxis"]["range"]
    assert 1.1 < low < 1.35 < high < 1.6
    (note,) = [c.value for c in at.caption if c.value.startswith("Off this axis")]
    assert "exploded (25 points, up to 1.5e+11)" in note and "healthy" not in note
    assert not [c for c in at.caption if c.value.startswith("Off this axis") and "d_acc" in c.value]
    at.toggle(key="cmp_fit_outliers").set_value(True).run()
    assert "range" not in page_charts(at)["cmp_chart_d_loss"]["layout"]["yaxis"]
    assert not [c.value for c in at.caption if c.value.startswith("Off this axis")]
    # the gradient norms on a log axis, as the Train view draws them, the log-scale toggle off
    at.multiselect(key="cmp_metrics").set_value(["d_loss", "d_grad_norm"]).run()
    assert page_charts(at)["cmp_chart_d_grad_norm"]["layout"]["yaxis"]["type"] == "log"
    assert page_charts(at)["cmp_chart_d_loss"]["layout"]["yaxis"]["type"] == "linear"


def test_a_runs_start_and_a_leap_the_axis_holds_anyway_are_no_outliers():
    """Near 0 a ratio of sizes says little: a hinge d_loss falling from 2 to ~0.01 had its first 7 points
    marked off the axis (0.0001 to 0.021), and beside a BCE run near 1.35 its 1.72 and 2.0 were cut."""
    rng = np.random.default_rng(5)
    hinge = np.r_[np.linspace(2.0, 0.01, 8), rng.uniform(0.001, 0.02, 392)]
    assert chart_builders.robust_yrange([hinge]) is None
    bce = 1.35 + rng.normal(0.0, 0.02, 400)
    assert chart_builders.robust_yrange([hinge, bce]) is None
    minimax = np.r_[[-0.69, -0.55, -0.4], -rng.uniform(0.001, 0.01, 397)]
    assert chart_builders.robust_yrange([minimax]) is None
    # a divergence after its start is still one, its start and all
    diverged = diverged_d_loss()
    low, high = chart_builders.robust_yrange([hinge, diverged])
    assert -0.2 < low < 0.0 and 2.0 <= high < 2.3  # the hinge run's 2.0 and the diverged run's 1.4 held
