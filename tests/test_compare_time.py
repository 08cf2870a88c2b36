"""Compare against training time as well as steps (TensorBoard's RELATIVE axis, W&B's "Relative time"):
each run's points, evaluations, flags and edge marks at their step's ``time_s``, one unit for every chart
(s, min or h by the longest run), the hovers saying the time and each run's step, a run without a time
named and left out; the page's "x axis" control kept in its address (``x=time``), an unknown value said
once and drawn against step, the charts of each axis their own elements (no zoom carried across)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gan_core.evaluation import EVAL_COLUMNS
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir
from gan_core.store import MetricStore
from gan_core.trainer import RECORD_COLUMNS
from tests.test_charts import charts, edge_marks, event, event_shapes, flag_caps, record_rows
from tests.test_compare_address import address, opened, warnings
from tests.test_compare_page import APP_DIR, finished
from tests.test_compare_page import charts as page_charts
from tests.test_literal import shown

FORMAT1 = APP_DIR / "tests" / "fixtures" / "format1" / "format1-ring8"
TIME = RECORD_COLUMNS.index("time_s")


def timed_store(seconds: np.ndarray, capacity: int = 4096, start: int = 1) -> MetricStore:
    """A run's store whose rows (steps ``start``, ``start`` + 1 ...) took ``seconds`` of training each:
    its time_s their running sum."""
    rows = record_rows(len(seconds), start=start)
    rows[:, TIME] = np.cumsum(seconds)
    store = MetricStore(RECORD_COLUMNS, capacity=capacity)
    store.extend(rows)
    return store


def frames_of(stores: dict[str, MetricStore], column: str = "d_loss", points: int = 600) -> dict:
    return {
        run_id: charts.compare_view(store, column, store.view(points, nonfinite=True))
        for run_id, store in stores.items()
    }


def axis_of(stores: dict[str, MetricStore], points: int = 600) -> object:
    return charts.compare_time_axis(
        {
            run_id: charts.compare_clock(store, store.view(points, nonfinite=True))
            for run_id, store in stores.items()
        }
    )


def lines(fig) -> dict[str, object]:
    """Each run's line (the one its legend names: not its raw line, nor an edge mark's key) by run id."""
    return {t.name: t for t in fig.data if t.showlegend is not False and t.yaxis != "y2"}


# ------------------------------------------------------------------------------------------ the clock
def test_a_clock_is_exact_at_the_views_points_and_close_between_them():
    """time_s at each point's own step (its last row's, the largest of a never-decreasing clock) and at the
    run's first step; a step between two points linear between them, off by less than one point's span."""
    per_step = np.where(np.arange(1, 2_001) <= 700, 0.01, 0.05)  # d_steps 1 -> 5 at step 700: 5x slower
    exact = np.cumsum(per_step)
    store = timed_store(per_step, capacity=64)  # 2,000 rows in 64 buckets: 32 or more rows a point
    view = store.view(600, nonfinite=True)
    assert (view["rows"] > 1).all()
    clock = charts.compare_clock(store, view)
    np.testing.assert_allclose(clock.steps, np.r_[1, view["step"]])
    np.testing.assert_allclose(clock.at(view["step"]), exact[view["step"].astype(int) - 1], rtol=1e-12)
    assert clock.at([1])[0] == pytest.approx(exact[0], rel=1e-12)
    between = np.arange(1, 2_001)
    error = np.abs(clock.at(between) - exact)
    span = np.diff(clock.seconds).max()  # the time one point spans, at the slow pace
    assert 0 < error.max() <= span / 2 + 1e-9, (error.max(), span)  # (a kink inside one point: half of it)
    kink = int(view["step"][view["step"] < 700].max())  # the last point before the pace changes
    assert error[:kink].max() <= 1e-9 and error[kink:700].max() > 0.01  # at an even pace, linear is exact
    assert error[800:].max() <= 1e-9
    # held at the ends; NaN stays NaN
    assert clock.at([0, 5_000, np.nan])[:2].tolist() == pytest.approx([exact[0], exact[-1]])
    assert np.isnan(clock.at([np.nan]))[0]


def test_a_run_whose_rows_hold_no_time_has_no_clock():
    store = timed_store(np.full(50, np.nan))
    assert charts.compare_clock(store, store.view(600, nonfinite=True)) is None
    without = store.view(600, nonfinite=True).drop(columns=["time_s", "time_s_min", "time_s_max"])
    assert charts.compare_clock(store, without) is None


@pytest.mark.parametrize(
    ("longest", "unit", "scale"),
    [(0.0, "s", 1), (119.9, "s", 1), (120.1, "min", 60), (7_199.0, "min", 60), (7_201.0, "h", 3_600)],
)
def test_the_unit_is_the_longest_runs(longest, unit, scale):
    short = timed_store(np.full(10, 0.5))
    long = timed_store(np.full(10, longest / 10))
    axis = axis_of({"short": short, "long": long, "none": timed_store(np.full(10, np.nan))})
    assert (axis.unit, axis.seconds, axis.title) == (unit, scale, f"training time ({unit})")
    assert axis.clocks["none"] is None


# ------------------------------------------------------------------------------------------ the figure
def test_two_runs_are_drawn_at_their_times_their_flags_too_and_the_hover_says_time_and_step():
    """A fast run (0.1 s a step, 600 steps) and a slow one (0.5 s a step, 200): each point at its own
    step's time, each flag at its step's time; the hover's title the time, each line's hover its step."""
    stores = {"fast": timed_store(np.full(600, 0.1)), "slow": timed_store(np.full(200, 0.5))}
    axis = axis_of(stores)
    assert axis.unit == "s"  # (100 s the longest)
    flags = {
        "fast": [event(100, "flag", "x", flag="d_leads"), event(400, "flag_cleared", "x", flag="d_leads")],
        "slow": [event(100, "flag", "x", flag="d_leads")],
    }
    frames = frames_of(stores)
    fig = charts.compare_figure(frames, "d_loss", smoothing=0.6, events=flags, time_axis=axis)
    by_step = charts.compare_figure(frames, "d_loss", smoothing=0.6, events=flags)
    fast, slow = lines(fig)["fast"], lines(fig)["slow"]
    np.testing.assert_allclose(fast.x, 0.1 * np.arange(1, 601), rtol=1e-9)
    np.testing.assert_allclose(slow.x, 0.5 * np.arange(1, 201), rtol=1e-9)
    # the values and their smoothing are the step chart's (an EMA over the run's points, as before)
    for name, steps in (("fast", 600), ("slow", 200)):
        np.testing.assert_array_equal(lines(fig)[name].y, lines(by_step)[name].y)
        np.testing.assert_array_equal(lines(by_step)[name].x, np.arange(1, steps + 1))
    shapes = event_shapes(fig)
    assert [s.x0 for s in shapes] == pytest.approx([10.0, 40.0, 50.0])
    assert [s.line.dash for s in shapes] == ["dot", "dash", "dot"]  # (raised: dotted in the run's colour)
    assert [s.x0 for s in event_shapes(by_step)] == [100.0, 100.0, 400.0]
    caps = flag_caps(fig)
    assert list(caps.text) == [
        "fast, step 100 at 10 s: d_leads",
        "fast, step 400 at 40 s: d_leads cleared",
        "slow, step 100 at 50 s: d_leads",
    ]
    # the hover: the time as its title, each run's step and value (raw beside the smoothed) in its line
    assert fig.layout.hovermode == "x unified"
    assert fig.layout.xaxis.unifiedhovertitle.text == "%{x:.4~g} s of training"
    assert fast.hovertemplate == "%{y:.4g} (raw %{customdata[0]:.4g}), step %{customdata[1]:,.0f}"
    np.testing.assert_array_equal(np.asarray(fast.customdata)[:, 1], np.arange(1, 601))
    np.testing.assert_allclose(np.asarray(fast.customdata)[:, 0], frames["fast"]["d_loss"], rtol=1e-6)
    assert fig.layout.xaxis.title.text == "training time (s)" and by_step.layout.xaxis.title.text == "step"
    # its own uirevision: plotly's kept zoom does not pass from one axis to the other
    assert by_step.layout.uirevision == "d_loss" and fig.layout.uirevision == "d_loss @ training time (s)"
    unsmoothed = charts.compare_figure(frames, "d_loss", time_axis=axis)
    assert lines(unsmoothed)["slow"].hovertemplate == "%{y:.4g}, step %{customdata:,.0f}"


def test_minutes_scale_every_x_and_the_flags_and_edge_marks_say_their_step():
    """A run of 30 minutes (3 s a step) beside one of 5: the axis in minutes; a NaN's and an off-axis
    value's marks at their step's time, hovered with the step."""
    slow = timed_store(np.full(600, 3.0))
    fast_rows = record_rows(300)
    fast_rows[:, TIME] = np.cumsum(np.full(300, 1.0))
    fast_rows[250:, RECORD_COLUMNS.index("d_loss")] = 10.0 ** np.linspace(3, 30, 50)  # diverges at 251
    fast_rows[-1, RECORD_COLUMNS.index("d_loss")] = np.nan
    fast = MetricStore(RECORD_COLUMNS)
    fast.extend(fast_rows)
    stores = {"slow": slow, "fast": fast}
    axis = axis_of(stores)
    assert axis.unit == "min"
    flags = {"fast": [event(300, "flag", "x", flag="diverged")]}
    fig = charts.compare_figure(frames_of(stores), "d_loss", events=flags, time_axis=axis)
    np.testing.assert_allclose(lines(fig)["slow"].x, 3.0 * np.arange(1, 601) / 60, rtol=1e-9)
    assert fig.layout.xaxis.title.text == "training time (min)"
    assert fig.layout.xaxis.unifiedhovertitle.text == "%{x:.4~g} min of training"
    ((x, _, text),) = edge_marks(fig, "nan")
    assert x == pytest.approx(5.0) and text == "fast: NaN (step 300)"
    above = edge_marks(fig, "above")
    assert above and [m[0] for m in above] == pytest.approx(np.arange(251, 300) / 60)
    assert above[0][2] == "fast: 1000 (step 251)"
    assert flag_caps(fig).text[0] == "fast, step 300 at 5 min: diverged"
    assert charts.compare_off_axis_note(fig.to_plotly_json()).startswith(
        "Off this axis, which fits the other values: fast ("
    )


def test_an_evaluation_and_a_setting_are_drawn_at_their_steps_times():
    """fd_cls (kept exactly, at its own steps: no time_s in that view) at its steps' times from the run's
    clock; lr_g, a setting, as steps held until the next change, at its times."""
    per_step = np.where(np.arange(1, 1_001) <= 500, 0.2, 0.6)
    rows = record_rows(1_000)
    rows[:, TIME] = np.cumsum(per_step)
    rows[:, [RECORD_COLUMNS.index(c) for c in EVAL_COLUMNS]] = np.nan
    fd = RECORD_COLUMNS.index("fd_cls")
    rows[99::100, fd] = np.arange(10, 0, -1)
    rows[:, RECORD_COLUMNS.index("lr_g")] = np.where(np.arange(1, 1_001) <= 600, 2e-4, 1e-4)
    store = MetricStore(RECORD_COLUMNS)
    store.extend(rows)
    axis = axis_of({"run": store})
    fig = charts.compare_figure(frames_of({"run": store}, "fd_cls"), "fd_cls", time_axis=axis)
    assert "time_s" not in store.exact_view(["fd_cls"]).columns  # (mapped through the run's clock)
    expected = np.cumsum(per_step)[np.arange(99, 1_000, 100)] / 60  # 400 s the longest: minutes
    np.testing.assert_allclose(lines(fig)["run"].x, expected, rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(lines(fig)["run"].customdata), np.arange(100, 1_001, 100))
    lr = charts.compare_figure(frames_of({"run": store}, "lr_g"), "lr_g", smoothing=0.9, time_axis=axis)
    line = lines(lr)["run"]
    assert line.line.shape == "hv" and "(raw)" not in " ".join(t.name for t in lr.data)
    (change,) = np.flatnonzero(np.diff(np.asarray(line.y, dtype=float))) + 1
    # (drawn at the point of two rows the change is in, 601-602, as on steps: `_held_values`)
    assert line.customdata[change] == 602
    assert line.x[change] == pytest.approx(np.cumsum(per_step)[601] / 60)


def test_a_run_without_time_is_named_in_the_legend_and_under_the_chart_not_drawn():
    stores = {"timed": timed_store(np.full(50, 0.2)), "old": timed_store(np.full(50, np.nan))}
    axis = axis_of(stores)
    fig = charts.compare_figure(frames_of(stores), "g_loss", smoothing=0.5, time_axis=axis)
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == ["timed", "old (no training time recorded)"]
    (old,) = [t for t in fig.data if t.name.startswith("old")]
    assert list(old.x) == [None]
    assert fig.layout.meta["untimed"] == ["old"]
    assert charts.compare_untimed_note(fig.to_plotly_json()) == (
        "old has no training time recorded (no time_s in its metrics.csv): not drawn against time. "
        "Choose x axis step to see it."
    )
    # against steps it is drawn, and nothing is said
    by_step = charts.compare_figure(frames_of(stores), "g_loss", smoothing=0.5)
    assert [t.name for t in by_step.data if t.showlegend is not False] == ["timed", "old"]
    assert charts.compare_untimed_note(by_step.to_plotly_json()) is None
    # with no run to draw, a placeholder says why
    alone = charts.compare_figure(frames_of({"old": stores["old"]}), "g_loss", time_axis=axis)
    assert alone.layout.annotations[0].text == (
        "no training time recorded (time_s) by the runs that logged g_loss: draw against step"
    )
    assert alone.layout.uirevision == "g_loss @ training time (s)"

    # a quality metric it never measured: "(not measured)" first, as against steps
    def evaluated(seconds: float, measures: bool) -> MetricStore:
        rows = record_rows(50)
        rows[:, [RECORD_COLUMNS.index(c) for c in EVAL_COLUMNS]] = np.nan
        if measures:
            rows[24::25, RECORD_COLUMNS.index("fd_cls")] = [3.0, 2.0]
        rows[:, TIME] = seconds * np.arange(1, 51)
        store = MetricStore(RECORD_COLUMNS)
        store.extend(rows)
        return store

    stores = {
        "timed": evaluated(0.2, True),
        "never": evaluated(np.nan, False),
        "old": evaluated(np.nan, True),
    }
    fd = charts.compare_figure(frames_of(stores, "fd_cls"), "fd_cls", time_axis=axis_of(stores))
    assert [t.name for t in fd.data if t.showlegend is not False] == [
        "timed",
        "never (not measured)",
        "old (no training time recorded)",
    ]
    np.testing.assert_allclose(lines(fd)["timed"].x, [5.0, 10.0])
    assert fd.layout.meta["untimed"] == ["old"]
    del stores["timed"]
    fd = charts.compare_figure(frames_of(stores, "fd_cls"), "fd_cls", time_axis=axis_of(stores))
    assert fd.layout.annotations[0].text == (
        "no training time recorded (time_s) by the runs that logged fd_cls: draw against step"
    )


def test_a_resumed_run_is_drawn_on_one_clock_from_its_checkpoints_time(tmp_path):
    """A run killed after step 13 with its last checkpoint at 10, resumed: its rows 11-13 replaced, its
    clock going on from the checkpoint's time_s (no reset to 0), the chart's x its rows' time_s."""
    from tests.test_resume import TINY, stopped_at
    from tests.test_resume import finished as resumed_to_the_end

    stopped_at(tmp_path, "crash", 13, checkpoint_every=5, steps=0)
    run = RunDir.open(tmp_path, "crash")
    before = run.read_metrics().set_index("step")["time_s"]
    run.checkpoints()[-1][1].unlink()  # (the checkpoint at 13: what a kill -9 leaves has 10 the latest)
    run.claim("test").write_status({"status": "running"})
    run.release()
    registry = RunRegistry(tmp_path)
    resumed_to_the_end(registry.resume("crash", {"steps": 24}))
    assert TINY["dataset"] == "ring8"
    frame = RunDir.open(tmp_path, "crash").read_metrics()
    assert frame["step"].tolist() == list(range(1, 25)) and frame["time_s"].is_monotonic_increasing
    assert frame.loc[frame.step == 10, "time_s"].item() == pytest.approx(before[10], rel=1e-12)
    assert frame.loc[frame.step == 11, "time_s"].item() > before[10]  # on from the checkpoint's time
    view = registry.view("crash")
    downsampled = view.store.view(600, nonfinite=True)
    axis = charts.compare_time_axis({"crash": charts.compare_clock(view.store, downsampled)})
    fig = charts.compare_figure({"crash": downsampled}, "d_loss", time_axis=axis)
    np.testing.assert_allclose(lines(fig)["crash"].x, frame["time_s"], rtol=1e-9)


# ------------------------------------------------------------------------------------------ the page
@pytest.fixture
def two_paces(runs_root):
    """A 1:1 run and a WGAN-GP critic with five D steps a G step: the second costs more per step."""
    finished(runs_root, "fast", steps=30)
    finished(runs_root, "slow", steps=30, d_steps=5, loss="wgan-gp", seed=1)
    return runs_root


def csv_time(root: Path, run_id: str) -> np.ndarray:
    return pd.read_csv(root / run_id / "metrics.csv")["time_s"].to_numpy()


def test_a_link_with_x_time_draws_every_chart_against_each_runs_training_time(two_paces):
    at = opened({"runs": "fast,slow", "metrics": "d_loss,lr_d", "x": "time"})
    assert at.segmented_control(key="cmp_x").value == "time" and warnings(at) == []
    drawn = page_charts(at)
    assert sorted(k for k in drawn if "chart" in k) == ["cmp_tchart_s_d_loss", "cmp_tchart_s_lr_d"]
    for key in ("cmp_tchart_s_d_loss", "cmp_tchart_s_lr_d"):
        figure = drawn[key]
        assert figure["layout"]["xaxis"]["title"]["text"] == "training time (s)"
        for run_id in ("fast", "slow"):
            (line,) = [t for t in figure["data"] if t.get("name") == run_id]
            np.testing.assert_allclose(line["x"], csv_time(two_paces, run_id), rtol=1e-9)
            steps = np.asarray(line["customdata"], dtype=float)
            assert (steps[:, 1] if steps.ndim == 2 else steps).tolist() == list(range(1, 31))
    assert csv_time(two_paces, "slow")[-1] > csv_time(two_paces, "fast")[-1]  # (the critic's 5 D steps)
    assert address(at) == {"runs": "fast,slow", "metrics": "d_loss,lr_d", "x": "time"}
    # the runs' summary and the download are the step view's
    step_view = opened({"runs": "fast,slow", "metrics": "d_loss,lr_d"})
    pd.testing.assert_frame_equal(at.dataframe[0].value, step_view.dataframe[0].value)
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV"]
    assert sorted(k for k in page_charts(step_view) if "chart" in k) == ["cmp_chart_d_loss", "cmp_chart_lr_d"]


def test_the_x_axis_follows_the_control_into_the_address_and_back(two_paces):
    at = opened({"runs": "fast,slow"})
    assert at.segmented_control(key="cmp_x").value == "step" and "x" not in address(at)
    at.segmented_control(key="cmp_x").set_value("time").run()
    assert address(at)["x"] == "time"
    assert all(k.startswith("cmp_tchart_s_") for k in page_charts(at) if "chart" in k)
    again = opened(address(at))  # a reload, or the link sent to someone
    assert again.segmented_control(key="cmp_x").value == "time"
    assert all(k.startswith("cmp_tchart_s_") for k in page_charts(again) if "chart" in k)
    at.segmented_control(key="cmp_x").set_value("step").run()
    assert "x" not in address(at)  # (the default: the address every link had before the choice)
    assert all(k.startswith("cmp_chart_") for k in page_charts(at) if "chart" in k)
    # kept while other things change
    at.segmented_control(key="cmp_x").set_value("time").run()
    at.toggle(key="cmp_log").set_value(True).run()
    assert at.segmented_control(key="cmp_x").value == "time" and address(at)["x"] == "time"


def test_an_unknown_x_in_a_link_is_said_once_and_the_charts_drawn_against_step(two_paces):
    at = opened({"runs": "fast,slow", "x": "wall"})
    (said,) = warnings(at)
    assert said == (
        "The address names x axis 'wall', which is none of step, time (x=step: against the runs' steps; "
        "x=time: against their training time); drawn against step."
    )
    assert at.segmented_control(key="cmp_x").value == "step" and "x" not in address(at)
    assert all(k.startswith("cmp_chart_") for k in page_charts(at) if "chart" in k)
    # with the link's other problems, in one message
    both = opened({"runs": "fast,ghost", "x": "<b>"})
    (said,) = warnings(both)
    assert "ghost" in said and "x axis '<b>'" in said


def test_a_folder_without_time_s_is_drawn_against_step_and_named_under_each_time_chart(runs_root):
    shutil.copytree(FORMAT1, runs_root / "untimed")
    path = runs_root / "untimed" / "metrics.csv"
    pd.read_csv(path).drop(columns=["time_s"]).to_csv(path, index=False)  # (a CSV written without it)
    finished(runs_root, "timed", steps=20)
    at = opened({"runs": "timed,untimed", "metrics": "d_loss,g_loss"})
    names = [t.get("name") for t in page_charts(at)["cmp_chart_d_loss"]["data"]]
    assert "untimed" in names and "timed" in names  # against step, both drawn
    at.segmented_control(key="cmp_x").set_value("time").run()
    assert not at.exception
    figure = page_charts(at)["cmp_tchart_s_d_loss"]
    assert [t["name"] for t in figure["data"] if t.get("showlegend") is not False] == [
        "timed",
        "untimed (no training time recorded)",
    ]
    notes = [shown(c.value) for c in at.caption if "no training time" in c.value]
    assert (
        notes
        == [
            "untimed has no training time recorded (no time_s in its metrics.csv): not drawn against time. "
            "Choose x axis step to see it."
        ]
        * 2
    )  # under each chart
