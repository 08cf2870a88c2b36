"""Compare's review fixes: runs on different data told apart when one named no data set, a quality
metric a run never measured named in the legend, a metric none of the ended runs logged said so, the
chosen runs' rows as one CSV, each run's status, the samples slider at the newest step when the runs
change, a run deleted elsewhere named once, quality axes of a minimum span, and a log axis with nothing
positive to draw."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest

from gan_core import charts as gan_charts
from gan_core import track
from gan_core.app import compare_csv_bytes
from gan_core.tracking.schema import CSV_COLUMNS
from tests.test_compare_settings import APP_DIR, TIMEOUT, finished  # (the same tiny runs)
from ui.live_chart import read_payload


def own_points_run(root: Path, run_id: str, steps: int = 3, **init) -> None:
    """A user's loop on 2D points that named no data set (run.json: data_kind points, dataset "")."""
    with track.init(run_id, root=root, loss="nonsaturating", real=torch.randn(64, 2), **init) as run:
        for _ in range(steps):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))


def compare(runs: list[str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    if runs is not None:
        at.multiselect(key="cmp_runs").set_value(runs).run()
    assert not at.exception
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """Each chart on the page by its key, as the figure JSON the browser gets (`ui.live_chart`)."""
    return {
        user_key_from_element_id(c.proto.id): read_payload(c.proto.bytes)["figure"]
        for c in at.get("bidi_component")
    }


# ------------------------------------------------------------------------------ different data


def test_a_points_run_that_named_no_data_set_is_told_apart_from_a_digits_run(runs_root):
    own_points_run(runs_root, "blob")
    finished(runs_root, "digits", dataset="digits", steps=3)
    at = compare(["blob", "digits"])
    assert [i.value for i in at.info] == [
        "These runs train on different data (points (unnamed): blob; digits: digits): their losses, "
        "accuracies and quality metrics are each data set's own, so compare each run's trend, and values "
        "only within one data set."
    ]
    diff = at.dataframe[1].value
    assert diff.loc["(dataset)"].to_dict() == {"blob": "points (unnamed)", "digits": "digits"}


# ------------------------------------------------------------------------- quality never measured


def test_a_chosen_run_that_never_measured_a_quality_metric_is_named_in_the_legend():
    steps = np.arange(1, 11, dtype=np.float64)
    measured = pd.DataFrame({"step": steps, "grid_js": np.where(steps % 5 == 0, 0.3, np.nan)})
    never = pd.DataFrame({"step": steps, "grid_js": np.full(10, np.nan)})
    figure = gan_charts.compare_figure({"ring": measured, "digits": never}, "grid_js")
    named = [t["name"] for t in figure["data"] if t.get("showlegend", True)]
    assert named == ["ring", "digits (not measured)"]
    (unmeasured,) = [t for t in figure["data"] if t["name"] == "digits (not measured)"]
    assert list(unmeasured["y"]) == [None]  # a key in the legend, nothing drawn
    alone = gan_charts.compare_figure({"digits": never}, "grid_js")  # the only run: named, not "no data"
    assert [t["name"] for t in alone["data"]] == ["digits (not measured)"]


# ------------------------------------------------------------------------------- never logged


def test_a_metric_none_of_the_ended_runs_logged_says_so_and_a_live_run_s_says_no_data_yet():
    frame = pd.DataFrame({"step": [1.0, 2.0], "d_loss": [1.0, 0.9]})  # no my_metric column

    def message(statuses):
        figure = gan_charts.compare_figure({"a": frame, "b": frame}, "my_metric", statuses=statuses)
        return figure["layout"]["annotations"][0]["text"]

    assert message({"a": "finished", "b": "interrupted"}) == "none of the chosen runs logged my_metric"
    assert message({"a": "finished", "b": "failed"}) == "none of the chosen runs logged my_metric"
    assert message({"a": "finished", "b": "running"}) == "no data yet"  # b may log it yet
    assert message({"a": "finished", "b": "paused"}) == "no data yet"
    assert message(None) == "no data yet"


# ------------------------------------------------------------------------------------ CSV export


def test_the_chosen_runs_rows_download_as_one_csv_in_metrics_csv_order(runs_root):
    finished(runs_root, "built", steps=4)
    with track.init("mine", root=runs_root, loss="nonsaturating", dataset="ring8") as run:
        for i in range(3):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.log({"fake_std": float(i)})
            run.g_step(torch.tensor(0.7))
    from ui.common import registry  # (imports streamlit: the app's registry of runs_root)

    views = {run_id: registry().view(run_id) for run_id in ("mine", "built")}
    table = pd.read_csv(io.BytesIO(compare_csv_bytes(views)), keep_default_na=False, dtype=str)
    # what each run is, and the settings that differ (the target steps: 0, open-ended, and 4), lead
    leading = ["run_id", "source", "loss", "dataset", "model", "steps"]
    assert list(table.columns) == [*leading, *CSV_COLUMNS[:-1], "fake_std", "flags"]
    assert table["run_id"].tolist() == ["mine"] * 3 + ["built"] * 4
    assert table["source"].tolist() == ["api"] * 3 + ["trainer"] * 4
    assert table["model"].tolist() == [""] * 3 + ["mlp"] * 4  # (blank: the loop named none)
    assert set(table["loss"]) == {"nonsaturating"} and set(table["dataset"]) == {"ring8"}
    assert table["steps"].tolist() == ["0"] * 3 + ["4"] * 4
    assert table["step"].tolist() == ["1", "2", "3", "1", "2", "3", "4"]
    assert table["fake_std"].tolist() == ["0", "1", "2", "", "", "", ""]  # blank for the run without
    # each cell as the run's file holds it
    built = pd.read_csv(runs_root / "built" / "metrics.csv", keep_default_na=False, dtype=str)
    assert table[table["run_id"] == "built"]["d_loss"].tolist() == built["d_loss"].tolist()

    at = compare(["mine", "built"])
    (button,) = [b for b in at.get("download_button") if user_key_from_element_id(b.proto.id) == "cmp_csv"]
    assert button.proto.label == "Download CSV"


def test_a_sweeps_download_says_each_runs_settings_that_differ_on_each_of_its_rows(runs_root):
    """A review: a sweep's export had lr_g and lr_d (rows hold them) but no loss, dataset, seed or a loop's
    own config: grouping by them took a join with each run's config.json."""
    finished(runs_root, "low", steps=3, loss="hinge")
    finished(runs_root, "high", steps=3, seed=7)
    for run_id, step in (("own", 2.5), ("own-2", 3.5)):  # a config key named as a metric column
        with track.init(run_id, root=runs_root, config={"step": step, "arch": [8, 8]}) as run:
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
    from ui.common import registry

    views = {run_id: registry().view(run_id) for run_id in ("low", "high")}
    table = pd.read_csv(io.BytesIO(compare_csv_bytes(views)), keep_default_na=False, dtype=str)
    assert list(table.columns[:6]) == ["run_id", "source", "loss", "dataset", "model", "seed"]
    assert table["loss"].tolist() == ["hinge"] * 3 + ["nonsaturating"] * 3
    assert table["seed"].tolist() == ["0"] * 3 + ["7"] * 3
    assert "lr_g (setting)" not in table.columns  # (the rows' own lr_g: the value in force at each)
    views = {run_id: registry().view(run_id) for run_id in ("own", "own-2")}
    table = pd.read_csv(io.BytesIO(compare_csv_bytes(views)), keep_default_na=False, dtype=str)
    assert list(table.columns[:6]) == ["run_id", "source", "loss", "dataset", "model", "step (setting)"]
    assert table["step (setting)"].tolist() == ["2.5", "3.5"] and table["step"].tolist() == ["1", "1"]
    assert "arch" not in table.columns  # (the same in both: no difference)
    # a loop's config lr_g, its optimizer not given (no lr_g in its rows), beside a built-in run's
    with track.init("own-lr", root=runs_root, config={"lr_g": 5e-4}) as run:
        run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
        run.g_step(torch.tensor(0.7))
    views = {run_id: registry().view(run_id) for run_id in ("own-lr", "low")}
    table = pd.read_csv(io.BytesIO(compare_csv_bytes(views)), keep_default_na=False, dtype=str)
    assert table["lr_g (setting)"].tolist() == ["0.0005", "0.0002", "0.0002", "0.0002"]
    assert table["lr_g"].tolist() == ["", "0.0002", "0.0002", "0.0002"]  # (the rows' own)


# ------------------------------------------------------------------------------------ run status


def interrupted(root: Path, run_id: str) -> None:
    """A finished run's status.json rewritten as a run whose process died mid-run leaves it."""
    finished(root, run_id)
    path = root / run_id / "status.json"
    status = json.loads(path.read_text())
    path.write_text(json.dumps({**status, "status": "running", "pid": 2**22 + 12345, "step": 3}))


def test_each_chosen_run_s_status_is_in_the_settings_table(runs_root):
    finished(runs_root, "done")
    interrupted(runs_root, "cut")
    at = compare(["done", "cut"])
    diff = at.dataframe[1].value
    assert diff.index[0] == "(status)"
    assert diff.loc["(status)"].to_dict() == {"done": "finished", "cut": "interrupted"}
    finished(runs_root, "done2", seed=1)
    at = compare(["done", "done2"])  # both finished: nothing to say
    assert "(status)" not in at.dataframe[1].value.index
    interrupted(runs_root, "cut2")
    at = compare(["cut", "cut2"])  # the same, but not finished: said
    assert at.dataframe[1].value.loc["(status)"].to_dict() == {"cut": "interrupted", "cut2": "interrupted"}


# ------------------------------------------------------------------------------------ samples step


def sample_slider(at: AppTest):
    (slider,) = [s for s in at.select_slider if s.key.startswith("cmp_sample_step")]
    return slider


def test_the_samples_go_to_the_newest_step_when_the_chosen_runs_change(runs_root):
    finished(runs_root, "short", steps=6, sample_every=2)
    finished(runs_root, "long", steps=12, sample_every=2, seed=1)
    at = compare(["short"])
    sample_slider(at).set_value(2).run()
    assert int(sample_slider(at).value) == 2
    at.run()  # the same runs: the step chosen stays
    assert int(sample_slider(at).value) == 2
    at.multiselect(key="cmp_runs").set_value(["short", "long"]).run()  # a longer run added: its newest
    assert int(sample_slider(at).value) == 12
    sample_slider(at).set_value(4).run()
    assert int(sample_slider(at).value) == 4
    at.multiselect(key="cmp_runs").set_value([]).run()  # none chosen, then the same two: the step kept
    at.multiselect(key="cmp_runs").set_value(["short", "long"]).run()
    assert int(sample_slider(at).value) == 4
    at.multiselect(key="cmp_runs").set_value(["short"]).run()  # the long one taken out: the newest
    assert int(sample_slider(at).value) == 6
    assert not at.exception


# ------------------------------------------------------------------------------------- run gone


def test_a_chosen_run_deleted_elsewhere_is_said_to_be_gone_once(runs_root):
    finished(runs_root, "kept")
    finished(runs_root, "deleted", seed=1)
    at = compare(["kept", "deleted"])
    assert not at.info
    shutil.rmtree(runs_root / "deleted")  # (as the Runs page, another tab or a terminal deletes it)
    at.run()
    assert [i.value for i in at.info] == ["Run deleted is gone (deleted or moved): no longer compared."]
    assert at.multiselect(key="cmp_runs").value == ["kept"] and not at.exception
    at.run()  # said once
    assert not at.info and at.multiselect(key="cmp_runs").value == ["kept"]


# ----------------------------------------------------------------------------- bounded y axes


def test_a_bounded_quality_metric_s_axis_spans_at_least_a_tenth_of_its_range():
    steps = np.arange(200.0, 1001.0, 200.0)
    noise = np.array([0.0, 1e-9, -1e-9, 2e-9, 0.0])
    flat = pd.DataFrame({"step": steps, "grid_js": np.log(2) + noise})  # no overlap at all, all run long
    low, high = gan_charts.compare_figure({"a": flat}, "grid_js")["layout"]["yaxis"]["range"]
    assert high - low >= np.log(2) / 10 and low <= np.log(2) - 1e-9 and high >= np.log(2) + 2e-9
    assert high <= np.log(2) * 1.05  # inside the metric's ends, with room for the markers
    varied = pd.DataFrame({"step": steps, "grid_js": [0.6, 0.4, 0.3, 0.2, 0.1]})
    assert "range" not in gan_charts.compare_figure({"a": varied}, "grid_js")["layout"]["yaxis"]
    assert "range" not in gan_charts.compare_figure({"a": flat}, "grid_js", log_y=True)["layout"]["yaxis"]
    # a log axis of a loss between 0.06 and 1 labelled 1, 2, 5 a decade (with no span, plotly labelled every
    # digit, "1 0.9 0.8 ... 0.1 0.09 ... 0.06", in each other's way on a 10-run Compare)
    loss = pd.DataFrame({"step": steps, "d_loss": [0.95, 0.5, 0.2, 0.1, 0.06]})
    assert gan_charts.compare_figure({"a": loss}, "d_loss", log_y=True)["layout"]["yaxis"]["dtick"] == "D2"
    # the Train view's quality chart (from 0): a share of high-quality samples flat near 0 is not blown
    # up either (grid_js is drawn there with its ln 2 line: from 0 to ln 2 already)
    near_zero = pd.DataFrame({"step": steps, "hq_pct": 1e-6 + noise})
    low, high = gan_charts.quality_figures(near_zero)["samples"]["layout"]["yaxis"]["range"]
    assert -1 < low <= 0 and 10 <= high < 11
    assert "range" not in gan_charts.quality_figures(flat)["js"]["layout"]["yaxis"]


# ------------------------------------------------------------------------ log axis, nothing above 0


def test_a_loss_at_or_below_zero_everywhere_is_said_not_drawn_on_a_log_axis():
    steps = np.arange(1.0, 11.0)
    minimax = pd.DataFrame({"step": steps, "g_loss": -0.7 - steps / 100})  # minimax's G loss: all < 0
    positive = pd.DataFrame({"step": steps, "g_loss": 0.7 + steps / 100})
    alone = gan_charts.compare_figure({"mm": minimax}, "g_loss", log_y=True, smoothing=0.6)
    assert [a["text"] for a in alone["layout"]["annotations"]] == [
        "g_loss ≤ 0 everywhere: not drawn on a log axis"
    ]
    assert not [t for t in alone["data"] if len(t.get("y") or [])]  # no marks along the bottom edge
    both = gan_charts.compare_figure({"mm": minimax, "ns": positive}, "g_loss", log_y=True, smoothing=0.6)
    named = [t["name"] for t in both["data"] if t.get("showlegend", True) and not t["name"].endswith("(raw)")]
    assert named[:2] == ["mm (all ≤ 0, not drawn)", "ns"]
    (mm,) = [t for t in both["data"] if t["name"].startswith("mm")]
    assert list(mm["y"]) == [None]
    linear = gan_charts.compare_figure({"mm": minimax}, "g_loss", smoothing=0.6)  # a linear axis: drawn
    assert [t["name"] for t in linear["data"] if t.get("mode") == "lines"][-1] == "mm"
