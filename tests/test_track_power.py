"""The tracking API pushed at its edges (a review of `gan_core.track`'s power use): any metric name ``log``
takes draws, names that would shadow Compare's download's leading columns are reserved, float64 models
are watched and evaluated, float64 and integer tensor metrics keep their value, and the messages of a
busy, taken or changed run folder say that first and alone."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import gan_core.track as track
from gan_core.registry import RunRegistry, compare_csv_bytes
from gan_core.rundir import RunBusyError, RunDir, RunDirError
from gan_core.tracking.schema import check_metric_name
from gan_core.tracking.track import TrackingError

ROOT = Path(__file__).resolve().parents[1]


def ring(n: int = 256, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Points on a ring of radius 2 (a 2D data set the tracker draws as points)."""
    angle = torch.rand(n, dtype=dtype) * 2 * math.pi
    return torch.stack([2 * angle.cos(), 2 * angle.sin()], 1)


class Toy:
    """A tiny 2D GAN in ``dtype``, one D and one G update a step, recorded through the API."""

    def __init__(self, dtype: torch.dtype = torch.float32, seed: int = 0):
        torch.manual_seed(seed)
        self.G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)).to(dtype)
        self.D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1)).to(dtype)
        self.real = ring(256, dtype)
        self.dtype = dtype

    def step(self, run, log: dict | None = None) -> None:
        fake = self.G(torch.randn(32, 2, dtype=self.dtype))
        real_logits, fake_logits = self.D(self.real[:32]), self.D(fake.detach())
        d_loss = nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()
        self.D.zero_grad()
        d_loss.backward()
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=self.D)
        g_loss = nn.functional.softplus(-self.D(fake)).mean()
        self.G.zero_grad()
        g_loss.backward()
        if log:
            run.log(log)
        run.g_step(g_loss, g_params=self.G)


def metrics_rows(root: Path, run_id: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((root / run_id / "metrics.csv").read_text())))


def train_view_of(root: Path, monkeypatch, runs: dict[str, list[str]], shown: str):
    """An AppTest of the dashboard on ``root``, which gets a finished 4-step run of a user's loop for each
    of ``runs`` (run id -> the metrics it logs), its address naming run ``shown``."""
    from streamlit.testing.v1 import AppTest

    toy = Toy()
    for run_id, names in runs.items():
        run = track.init(run_id, root=root, loss="nonsaturating", real=toy.real, steps=4)
        for _ in range(4):
            toy.step(run, {name: float(i) for i, name in enumerate(names)})
        run.finish()
    monkeypatch.setenv("GAN_DASHBOARD_RUNS", str(root))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["run"] = shown
    return at


# ------------------------------------------------------------------------- 1. every name log() takes draws
def test_custom_metrics_of_any_accepted_name_draw_in_the_train_view(tmp_path, monkeypatch):

    from ui.live_chart import custom_chart_key

    names = ["_x", "a__b", "x_", "fake_std", "ema/fid", "a.b-c"]
    at = train_view_of(tmp_path, monkeypatch, {"odd-names": names}, "odd-names")
    assert not at.run().exception and not at.error
    keys = [element.key for element in at.get("bidi_component")]
    custom = [key for key in keys if key.startswith("chart_custom")]
    # one chart per metric, in log order, ema/fid in its group's section after the metrics of none
    assert custom == [custom_chart_key(name) for name in names if "/" not in name] + ["chart_custom_ema/fid"]
    assert "chart_custom_fake_std" in custom and "chart_custom_ema/fid" in custom  # plain names read as such
    assert not any("__" in key or key.endswith("_") for key in custom)


def test_custom_metrics_are_in_a_section_per_group_that_folds_away_for_the_session(tmp_path, monkeypatch):
    """``train/...`` and ``val/...`` in a section each, after the metrics with no group; a folded
    section's charts are not sent at all, the others' still are, and a section folded before a visit to
    another page (the widget's own state gone) is still folded."""

    from ui.live_chart import chart_key, custom_chart_key

    names = ["train/d_gap", "fake_std", "val/fid", "train/g_gap", "real_std", "val/kid"]
    at = train_view_of(tmp_path, monkeypatch, {"grouped": names, "plain": ["fake_std"]}, "grouped")

    def drawn() -> tuple[list[str], list[str]]:
        assert not at.run().exception and not at.error
        keys = [element.key for element in at.get("bidi_component")]
        return [key for key in keys if key.startswith("chart_custom")], [e.label for e in at.get("expander")]

    sections = ["train/", "val/"]
    every = ["fake_std", "real_std", "train/d_gap", "train/g_gap", "val/fid", "val/kid"]
    charts_sent, labels = drawn()
    assert charts_sent == [custom_chart_key(name) for name in every]
    assert [label for label in labels if label in sections] == sections
    train = chart_key("custom_group", "train")
    at.session_state[train] = False  # (as a click on its header leaves it)
    charts_sent, labels = drawn()
    assert charts_sent == [custom_chart_key(name) for name in every if not name.startswith("train/")]
    assert [label for label in labels if label in sections] == sections  # (folded, not gone)
    at.session_state[train] = True
    assert drawn()[0] == [custom_chart_key(name) for name in every]
    # val folded (`_folded_groups`, as its header's click leaves it), then a run with no sections watched
    # (Streamlit drops the state of the sections it did not draw) and this one again: val still folded
    at.session_state[chart_key("custom_group", "val")] = False
    at.session_state["_folded_groups"] = {"val"}
    at.session_state["run_id"] = "plain"  # (as the Runs page's Open sets it)
    assert drawn() == (["chart_custom_fake_std"], [label for label in labels if label not in sections])
    at.session_state["run_id"] = "grouped"
    assert drawn()[0] == [custom_chart_key(name) for name in every if not name.startswith("val/")]


def test_a_custom_charts_key_is_one_per_name_and_never_holds_the_components_delimiter():
    from ui.live_chart import custom_chart_key

    names = ["x", "_x", "x_", "__x", "x__", "a__b", "a_b", "a___b", "a-b", "a_-b", "_", "-_", "a/_b", "a._b"]
    keys = [custom_chart_key(name) for name in names]
    assert len(set(keys)) == len(names)
    assert not any("__" in key or key.endswith("_") for key in keys)
    assert custom_chart_key("a_b") == "chart_custom_a_b" and custom_chart_key("a-b") == "chart_custom_a-b"
    assert custom_chart_key("_x").startswith("chart_custom-")


# --------------------------------------------------- 2. run_id and source lead Compare's download alone
@pytest.mark.parametrize("name", ["run_id", "source", "rows", "gp_max"])
def test_names_the_charts_or_compares_download_use_are_refused_with_the_reserved_list(tmp_path, name):
    with track.init("reserved", root=tmp_path) as run, pytest.raises(TrackingError) as refused:
        run.log({name: 1.0})
    message = str(refused.value)
    assert message.startswith(f"metric name '{name}' is reserved: ")
    assert "rows, run_id, source and names ending in _min, _max or _nonfinite" in message
    assert [check_metric_name(n) for n in ("run_idx", "sources")] == ["run_idx", "sources"]  # the names alone


def test_compares_download_keeps_an_older_folders_run_id_or_source_metric_under_its_own_name(tmp_path):
    toy = Toy()
    run = track.init("older", root=tmp_path, loss="nonsaturating", real=toy.real, steps=2)
    for step in range(2):
        toy.step(run, {"rid": 10.0 + step, "src": 20.0 + step})
    run.finish()
    path = tmp_path / "older" / "metrics.csv"  # as a folder written before the names were reserved holds them
    header, rest = path.read_text().split("\n", 1)
    path.write_text(header.replace(",rid,", ",run_id,").replace(",src,", ",source,") + "\n" + rest)
    registry = RunRegistry(tmp_path)
    table = list(csv.reader(io.StringIO(compare_csv_bytes({"older": registry.view("older")}).decode())))
    columns = table[0]
    assert columns[:2] == ["run_id", "source"] and columns.count("run_id") == columns.count("source") == 1
    assert columns.index("run_id (logged)") < columns.index("source (logged)") < columns.index("flags")
    rows = [dict(zip(columns, row)) for row in table[1:]]
    assert [r["run_id"] for r in rows] == ["older", "older"] and [r["source"] for r in rows] == ["api"] * 2
    assert [r["run_id (logged)"] for r in rows] == ["10", "11"]
    assert [r["source (logged)"] for r in rows] == ["20", "21"]


# ------------------------------------------------------------------ 3. a float64 model pair is watched
def test_a_float64_model_pair_is_watched_drawn_and_evaluated_without_a_warning(tmp_path):
    toy = Toy(torch.float64)
    run = track.init(
        "f64", root=tmp_path, loss="nonsaturating", real=toy.real, steps=4, sample_every=2, eval_every=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no TrackingWarning (nor any other) on the way
        run.watch(toy.G, torch.randn(64, 2, dtype=torch.float64), D=toy.D)
        for _ in range(4):
            toy.step(run)
        run.finish()
    assert run.status == "finished" and run.error is None
    folder = RunDir.open(tmp_path, "f64")
    events = folder.read_events()
    assert "eval_error" not in set(events["kind"])
    assert math.isfinite(run.last_eval["grid_js"])  # measured at step 4
    steps = dict(folder.snapshot_steps())
    view = folder.load_snapshot(steps[4])
    assert view["points"].dtype == np.float32 and view["points"].shape == (64, 2)
    assert view["heatmap"].dtype == np.float32 and np.isfinite(view["heatmap"]).all()
    assert view["grads"].dtype == np.float32 and np.isfinite(view["grads"]).all()


class FailsOnMany(nn.Module):
    """A G that fails on more than 256 rows at once (the evaluation's 2,500 points; a snapshot's 64 pass)."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(2, 2)

    def forward(self, z):
        if len(z) > 256:
            raise RuntimeError("out of memory (in this test)")
        return self.inner(z)


def test_an_evaluation_that_fails_is_said_once_as_a_warning_and_each_time_as_an_event(tmp_path):
    toy = Toy()
    toy.G = FailsOnMany()
    run = track.init(
        "evalfail",
        root=tmp_path,
        loss="nonsaturating",
        real=toy.real,
        steps=6,
        sample_every=100,
        eval_every=2,
    )
    run.watch(toy.G, torch.randn(64, 2), D=toy.D)
    with pytest.warns(track.TrackingWarning) as said:
        for _ in range(6):
            toy.step(run)
        run.finish()
    messages = [str(w.message) for w in said if "evaluation" in str(w.message)]
    assert messages == [
        "the evaluation at step 2 failed, so its quality metrics are blank (RuntimeError: out of memory (in "
        "this test)); training goes on, and each later failure is an eval_error event"
    ]
    events = RunDir.open(tmp_path, "evalfail").read_events()
    assert events[events["kind"] == "eval_error"]["step"].tolist() == [2, 4, 6]
    assert run.status == "finished"


# ------------------------------------------------------- 4. float64 and integer tensor metrics kept whole
@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_float64_and_integer_tensor_metrics_keep_their_value(tmp_path, commit_every):
    toy = Toy()
    run = track.init("wide", root=tmp_path, loss="nonsaturating", real=toy.real, commit_every=commit_every)
    logged = {
        "big": torch.tensor(1e300, dtype=torch.float64),
        "tiny": torch.tensor(1e-300, dtype=torch.float64),
        "close": torch.tensor(1.0 + 1e-12, dtype=torch.float64),
        "count": torch.tensor(2**40 + 1),  # int64
        "count32": torch.tensor(2**30 + 1, dtype=torch.int32),
        "plain": torch.tensor(0.1),  # float32: as before
    }
    for _ in range(3):
        toy.step(run, logged)
    run.finish()
    row = metrics_rows(tmp_path, "wide")[-1]
    assert row["step"] == "3"
    assert float(row["big"]) == 1e300 and float(row["tiny"]) == 1e-300
    assert float(row["close"]) == 1.0 + 1e-12
    assert int(float(row["count"])) == 2**40 + 1 and int(float(row["count32"])) == 2**30 + 1
    assert float(row["plain"]) == pytest.approx(0.1, rel=1e-7, abs=0)  # float32's 0.1
    assert float(row["d_loss"]) > 0 and row["flags"] == ""


def test_a_float64_batch_comes_back_whole_through_the_readback():
    from gan_core.tracking.readback import LaggedReadback

    readback = LaggedReadback()
    values = torch.tensor([1e300, 1e-300, 2.0**40 + 1, 0.5], dtype=torch.float64)
    first = readback.start(values)
    second = readback.start(torch.tensor([0.25, 0.75]))  # a float32 batch after it, in the other buffer
    assert first.tolist() == [1e300, 1e-300, 2.0**40 + 1, 0.5]
    assert second.tolist() == [0.25, 0.75]
    if torch.cuda.is_available():  # the pinned ring of two buffers: float64 as two float32 places a value
        third = readback.start(values.cuda())
        fourth = readback.start(torch.tensor([0.25, 0.75], device="cuda"))
        assert third.tolist() == [1e300, 1e-300, 2.0**40 + 1, 0.5]
        assert fourth.tolist() == [0.25, 0.75]
        fifth = readback.start(values.cuda() / 2)  # the first buffer again, after both were read
        assert fifth.tolist() == [5e299, 5e-301, 2.0**39 + 0.5, 0.25]


# ---------------------------------------------------- 8. truth values refused alike; the last value wins
@pytest.mark.parametrize(
    ("value", "said"),
    [
        (True, "got a bool (True)"),
        (np.bool_(True), "got a numpy.bool (np.True_)"),
        (torch.tensor(True), "got a torch.bool tensor"),
        (torch.tensor([False]), "got a torch.bool tensor"),
    ],
)
def test_a_truth_value_is_refused_alike_with_the_cast_to_use(tmp_path, value, said):
    with track.init("truth", root=tmp_path) as run, pytest.raises(TrackingError) as refused:
        run.log({"ok": value})
    assert str(refused.value).startswith(f"metric 'ok' must be a number or a one-element tensor, {said}")
    assert "float(value)" in str(refused.value) or "value.float()" in str(refused.value)
    assert "if 0/1 is meant" in str(refused.value)


def test_a_name_logged_twice_in_a_step_keeps_the_last_value(tmp_path):
    toy = Toy()
    run = track.init("twice", root=tmp_path, loss="nonsaturating", real=toy.real)
    for step in range(2):
        for critic in range(3):  # a penalty logged at every critic update
            run.log({"gp": torch.tensor(10.0 * step + critic)})
        toy.step(run)
    run.finish()
    assert [float(r["gp"]) for r in metrics_rows(tmp_path, "twice")] == [2.0, 12.0]


# --------------------------------------------- 7. a busy folder is said first; no noise in the chain
def test_a_folder_another_writer_holds_is_said_as_in_use_before_anything_else(tmp_path):
    toy = Toy()
    holder = track.init("held", root=tmp_path, loss="nonsaturating", real=toy.real)  # points
    toy.step(holder)
    try:
        for given in ({}, {"resume": True}, {"resume": True, "loss": "hinge"}):
            with pytest.raises(RunBusyError) as refused:  # not "already exists", nor the data kind or loss
                track.init("held", root=tmp_path, **{"loss": "nonsaturating", **given})
            said = str(refused.value)
            assert said.startswith(f"run 'held' is in use by this process {os.getpid()} on ")
            assert "already exists" not in said and "was recorded with" not in said
            assert refused.value.__cause__ is None and refused.value.__suppress_context__
    finally:
        holder.finish()
    with pytest.raises(RunDirError, match="already exists"):  # free again: what is said of a free folder
        track.init("held", root=tmp_path, loss="nonsaturating")


def test_a_resume_refused_for_another_loss_carries_no_chained_file_exists_error(tmp_path):
    toy = Toy()
    with track.init("first", root=tmp_path, loss="nonsaturating", real=toy.real) as run:
        toy.step(run)
    with pytest.raises(RunDirError) as refused:
        track.init("first", root=tmp_path, loss="hinge", real=toy.real, resume=True)
    assert "was recorded with loss='nonsaturating', not 'hinge'" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__context__ is None  # no "During handling..."
    with pytest.raises(RunDirError) as taken:
        track.init("first", root=tmp_path, loss="nonsaturating")
    assert str(taken.value).startswith("run 'first' already exists in ")
    assert taken.value.__cause__ is None and taken.value.__context__ is None


# ------------------------------------------------- 5. a NaN of your own is a blank cell, as README says
def test_a_nan_custom_metric_is_a_blank_cell_and_inf_is_kept(tmp_path):
    toy = Toy()
    run = track.init("nan", root=tmp_path, loss="nonsaturating", real=toy.real)
    for value in (1.0, math.nan, math.inf):
        toy.step(run, {"mine": value})
    toy.step(run)  # a step that does not log it: blank too
    run.finish()
    assert [r["mine"] for r in metrics_rows(tmp_path, "nan")] == ["1", "", "inf", ""]
    readme = (ROOT / "README.md").read_text()
    assert "A NaN is recorded as a blank cell, the same as a step that did not log the" in readme


# ------------------------------------- 6. sys.exit(N) outside `with run:` is a clean exit, as documented
SCRIPT = """
import sys, torch
import gan_core.track as track
run = track.init("exits", root=sys.argv[1], steps=10)
for _ in range(3):
    run.d_step(torch.randn(8), torch.randn(8), d_loss=1.0, d_grad_norm=1.0)
    run.g_step(0.7, g_grad_norm=1.0)
if sys.argv[2] == "with":
    with run:
        sys.exit(3)
sys.exit(3)
"""


@pytest.mark.parametrize(
    ("where", "status", "error"),
    [
        ("with", "failed", "the script exited with status 3 (sys.exit(3))"),
        ("without", "stopped", "the script exited at step 3 of its target 10 without finish()"),
    ],
)
def test_sys_exit_3_fails_the_run_inside_with_and_is_a_clean_exit_outside(tmp_path, where, status, error):
    script = tmp_path / "exits.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs"), where],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    found = json.loads((tmp_path / "runs" / "exits" / "status.json").read_text())
    assert (found["status"], found["error"]) == (status, error)
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "outside `with run:` it ends the run as a clean exit does" in readme
