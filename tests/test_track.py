"""The tracking API (`gan_core.track`): a user's own loop gets the built-in run's row, flags, events, lock,
crash safety and the dashboard's Pause/Stop; bad calls get one clear message."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import gan_core.track as track
import gan_core.tracking.track as track_module
from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RunBusyError, RunDir, RunDirError
from gan_core.runner import Runner
from gan_core.tracking.schema import D_METRICS, G_METRICS, RECORD_COLUMNS
from gan_core.tracking.sink import tensorboard_tag
from gan_core.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "format1"
TIMEOUT = 60.0


def poll(condition, timeout: float = TIMEOUT, every: float = 0.05):
    """Wait for ``condition()`` to be truthy (a file another thread or process writes: nothing to wait
    on but a poll); returns its value, or fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"condition not met within {timeout:g} s")


def status_of(root: Path, run_id: str) -> dict:
    try:
        return json.loads((root / run_id / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def rows_of(root: Path, run_id: str) -> int:
    try:
        return max(0, (root / run_id / "metrics.csv").read_bytes().count(b"\n") - 1)
    except OSError:
        return 0


class ToyGAN:
    """A tiny MLP GAN on 2D points, trained the textbook way, recorded through the API."""

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        self.G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        self.D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
        self.opt_g = torch.optim.Adam(self.G.parameters(), 1e-3, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), 1e-3, betas=(0.5, 0.999))
        self.real = torch.randn(512, 2) * 0.2 + torch.tensor([1.0, -1.0])
        self.bce = nn.BCEWithLogitsLoss()

    def step(self, run) -> None:
        real = self.real[torch.randint(len(self.real), (32,))]
        fake = self.G(torch.randn(32, 4))
        real_logits, fake_logits = self.D(real), self.D(fake.detach())
        d_loss = self.bce(real_logits, torch.ones_like(real_logits)) + self.bce(
            fake_logits, torch.zeros_like(fake_logits)
        )
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=self.D)
        g_logits = self.D(fake)
        g_loss = self.bce(g_logits, torch.ones_like(g_logits))
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        run.g_step(g_loss, g_params=self.G)


# ------------------------------------------------------------------------------------------ the same row
@pytest.mark.parametrize("loss", ["nonsaturating", "lsgan", "hinge", "wgan"])
@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_the_builtin_trainers_step_through_the_api_gives_the_builtin_row(tmp_path, loss, commit_every):
    """The trainer's own D and G updates, done by hand and recorded through the API, give the row the
    built-in path records, to 1e-6 (same seed, same batches, same updates): step by step
    (``commit_every=0``) and with the three steps measured as one batch at `flush`."""
    cfg = GANConfig(
        dataset="ring8", loss=loss, width=16, batch_size=32, label_smoothing=0.0, instance_noise=0.0, seed=3
    )
    builtin = Trainer(cfg)
    expected = [builtin.step() for _ in range(3)]

    t = Trainer(cfg)
    run = track.init(
        "same-row", root=tmp_path, loss=loss, opt_d=t.opt_d, opt_g=t.opt_g, commit_every=commit_every
    )
    rows = []
    for _ in range(3):
        batch = cfg.batch_size
        real = t.data.sample(batch, t.rng)
        fake_graph = t.G(torch.randn(batch, cfg.latent_dim, generator=t.rng))
        real_logits, fake_logits = t.D(real), t.D(fake_graph.detach())
        loss_real, loss_fake = t.loss.d(real_logits, fake_logits, 1.0)
        d_loss = loss_real + loss_fake
        t.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        t.opt_d.step()
        if t.loss.clips_weights:
            with torch.no_grad():
                for p in t.d_params:
                    p.clamp_(-cfg.clip_value, cfg.clip_value)
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=t.d_params)
        g_loss = t.loss.g(t.D(fake_graph))
        t.opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=t.g_params)
        t.opt_g.step()
        rows.append(run.g_step(g_loss, g_params=t.g_params))
    if commit_every == 0:  # each g_step sends its step, and on the CPU its values are there at once
        assert [r["step"] for r in rows] == [1.0, 2.0, 3.0]
        assert run.flush() is None
    else:  # the three wait for their batch: flush measures and commits them together
        assert rows == [None, None, None] and RunDir.open(tmp_path, "same-row").read_metrics().empty
        assert run.flush()["step"] == 3.0 and run.flush() is None
        frame = RunDir.open(tmp_path, "same-row").read_metrics()
        rows = [dict(zip(RECORD_COLUMNS, row)) for row in frame[list(RECORD_COLUMNS)].to_numpy()]
    run.finish()
    compared = (*D_METRICS, *G_METRICS, "step", "lr_g", "lr_d", "beta1", "beta2", "d_steps")
    for got, want in zip(rows, expected):
        for name in compared:
            assert got[name] == pytest.approx(want[name], rel=1e-6, abs=1e-6), name
    assert tuple(rows[0]) == RECORD_COLUMNS
    frame = RunDir.open(tmp_path, "same-row").read_metrics()
    assert frame["d_acc_real"].tolist() == pytest.approx([r["d_acc_real"] for r in expected], abs=1e-6)


# ------------------------------------------------------------------------------------------ a whole run
def test_a_tracked_run_writes_what_the_dashboard_reads(tmp_path):
    gan = ToyGAN()
    fixed = torch.randn(200, 4)
    with track.init(
        "mine", root=tmp_path, loss="nonsaturating", config={"lr": 1e-3, "layers": [16, 16]}, real=gan.real,
        steps=40, sample_every=10, eval_every=20, opt_d=gan.opt_d, opt_g=gan.opt_g,
    ) as run:  # fmt: skip
        run.watch(gan.G, fixed, D=gan.D)
        while not run.should_stop:
            if run.step >= 5:
                run.log({"my_metric": float(run.step), "gap": torch.tensor(0.5)})
            gan.step(run)
    assert run.status == "finished" and run.step == 40 and run.stop_reason == "steps"
    view = RunRegistry(tmp_path).view("mine")
    assert view.status == "finished" and not view.owned and view.cfg is None
    assert not view.unwatched  # its G was watched: pictures and quality metrics
    assert view.meta.source == "api" and view.meta.data_kind == "points"
    assert view.meta.hparams == {"lr": 1e-3, "layers": [16, 16]}
    assert view.custom_columns == ("my_metric", "gap")
    frame = view.run_dir.read_metrics()
    assert frame["step"].tolist() == list(range(1, 41))
    assert frame["my_metric"].isna().sum() == 5 and frame["my_metric"].iloc[-1] == 39.0
    assert frame["gap"].dropna().tolist() == [0.5] * 35
    assert frame["lr_d"].tolist() == [1e-3] * 40 and set(frame["d_steps"]) == {1.0}
    evaluated = frame.dropna(subset=["grid_js"])["step"].tolist()
    assert evaluated == [20, 40]
    assert ((frame["d_acc_real"] >= 0) & (frame["d_acc_real"] <= 1)).all()
    assert view.snapshot_steps() == [0, 10, 20, 30, 40]
    step, snap = view.snapshot()
    assert step == 40 and snap["points"].shape == (200, 2) and snap["heatmap"].shape == (48, 48)
    assert view.real_view()["points"].shape == (1000, 2)
    kinds = [e["kind"] for e in view.events]
    assert (
        kinds[0] == "status" and kinds[-1] == "status" and view.events[-1]["fields"]["status"] == "finished"
    )
    assert view.hparams["steps"] == 40


def test_an_exception_in_the_loop_marks_the_run_failed_and_releases_it(tmp_path):
    gan = ToyGAN()
    with pytest.raises(RuntimeError, match="boom"), track.init("crash", root=tmp_path) as run:
        for _ in range(3):
            gan.step(run)
        raise RuntimeError("boom")
    status = status_of(tmp_path, "crash")
    assert status["status"] == "failed" and status["error"] == "RuntimeError: boom" and status["step"] == 3
    RunDir.open(tmp_path, "crash").claim("a test").release()  # the claim was given back


def test_one_writer_per_run_folder_and_resume_continues_the_rows(tmp_path):
    gan = ToyGAN()
    first = track.init("one", root=tmp_path)
    gan.step(first)
    with pytest.raises(RunBusyError, match="one"):
        track.init("one", root=tmp_path, resume=True)
    with pytest.raises(RunBusyError, match="'one' is in use by this process"):  # said first: not "exists"
        track.init("one", root=tmp_path)
    first.finish()
    with pytest.raises(RunDirError, match="already exists"):
        track.init("one", root=tmp_path)
    again = track.init("one", root=tmp_path, resume=True)
    gan.step(again)
    again.finish()
    assert RunDir.open(tmp_path, "one").read_metrics()["step"].tolist() == [1, 2]


def test_a_loop_that_broke_at_its_first_batch_starts_again_under_its_id(tmp_path):
    """Run again after a fix, the same command found its id taken ("choose another run id, or pass
    resume=True") though the run had recorded nothing; now it starts again in its folder, the earlier
    failure kept in its events, as the Lightning callback's does. A run with a row is still refused."""
    gan = ToyGAN()
    with pytest.raises(RuntimeError, match="shape bug"), track.init("fixed", root=tmp_path, steps=3):
        raise RuntimeError("shape bug")  # (before any d_step)
    assert RunDir.open(tmp_path, "fixed").read_status()["status"] == "failed"
    said = r"^run 'fixed' ended with no row recorded: it starts again"
    with pytest.warns(track.TrackingWarning, match=said):
        run = track.init("fixed", root=tmp_path, steps=3)
    with run:
        while not run.should_stop:
            gan.step(run)
    folder = RunDir.open(tmp_path, "fixed")
    assert folder.read_metrics()["step"].tolist() == [1, 2, 3]
    assert folder.read_status()["status"] == "finished"
    said = folder.read_events()["detail"].tolist()  # the status events, the earlier end first
    assert said[:3] == ["running", "failed: RuntimeError: shape bug", "running"] and said[-1] == "finished"
    with pytest.raises(RunDirError, match="already exists"):  # rows recorded: never started over
        track.init("fixed", root=tmp_path, steps=3)
    assert folder.read_metrics()["step"].tolist() == [1, 2, 3]


def test_a_resume_with_a_new_config_records_each_change_and_run_json_takes_it(tmp_path):
    gan = ToyGAN()
    with track.init("cfg", root=tmp_path, config={"lr": 2e-4, "beta1": 0.5, "depth": 3}) as first:
        gan.step(first)
        gan.step(first)
    with track.init("cfg", root=tmp_path, config={"lr": 1e-3, "beta1": 0.5, "ema": True}, resume=True) as run:
        gan.step(run)
    run_dir = RunDir.open(tmp_path, "cfg")
    assert run_dir.read_meta().hparams == {"lr": 1e-3, "beta1": 0.5, "ema": True}
    events = run_dir.read_events()
    changes = events[events["kind"] == "hparam"]
    assert changes["step"].tolist() == [2, 2, 2]  # at the resume, after its resume event
    assert [(f["field"], f["old"], f["new"]) for f in changes["fields"]] == [
        ("depth", 3, None),
        ("ema", None, True),
        ("lr", 2e-4, 1e-3),
    ]
    assert changes.index.min() > events.index[events["kind"] == "resume"].max()
    assert RunRegistry(tmp_path).view("cfg").hparams["lr"] == 1e-3  # Compare reads today's
    assert not (tmp_path / "cfg" / "checkpoints").exists()  # the loop keeps its own checkpoints
    today = {"lr": 1e-3, "beta1": 0.5, "ema": True}
    with track.init("cfg", root=tmp_path, config=today, resume=True) as same:
        gan.step(same)
    events = RunDir.open(tmp_path, "cfg").read_events()
    assert (events["kind"] == "hparam").sum() == 3  # the same config again: no change recorded


def test_a_run_whose_loop_watched_no_generator_says_so_once_ended(tmp_path):
    gan = ToyGAN()
    run = track.init("blind", root=tmp_path, real=gan.real)
    gan.step(run)
    assert not RunRegistry(tmp_path).view("blind").unwatched  # still running: a watch may come
    run.finish()
    assert RunRegistry(tmp_path).view("blind").unwatched
    with track.init("late", root=tmp_path, sample_every=50, real=gan.real) as watched:
        watched.watch(gan.G, torch.randn(16, 4))
        gan.step(watched)  # ends at step 1, before the first snapshot step: one is taken at the end
    assert not RunRegistry(tmp_path).view("late").unwatched


def test_bad_calls_get_one_clear_message(tmp_path):
    with pytest.raises(track.TrackingError, match="loss='bce' is unknown: allowed minimax"):
        track.init("bad", root=tmp_path, loss="bce")
    with pytest.raises(track.TrackingError, match="steps=-1 is invalid"):
        track.init("bad", root=tmp_path, steps=-1)
    assert not (tmp_path / "bad").exists()
    run = track.init("ok", root=tmp_path)
    with pytest.raises(track.TrackingError, match="is a built-in column"):
        run.log({"d_loss": 1.0})
    with pytest.raises(track.TrackingError, match="metric name '1st' is invalid"):
        run.log({"1st": 1.0})
    with pytest.raises(track.TrackingError, match="must be a scalar"):
        run.log({"vec": torch.ones(3)})
    with pytest.raises(track.TrackingError, match="needs real_logits and fake_logits as tensors"):
        run.d_step([0.1], [0.2])
    run.finish()
    with pytest.raises(track.TrackingError, match="is finished"):
        run.g_step(0.5)


# ------------------------------------------------------------------------------------------ commands
def test_pause_resume_and_stop_from_the_dashboard_reach_the_loop(tmp_path):
    gan = ToyGAN()
    run = track.init("ctl", root=tmp_path)
    errors, said = [], []

    def loop():
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                while not run.should_stop:
                    gan.step(run)
                run.finish()
            said.extend(str(w.message) for w in caught if issubclass(w.category, track.TrackingWarning))
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        run_dir = RunDir.open(tmp_path, "ctl")
        poll(lambda: rows_of(tmp_path, "ctl") >= 5)
        track.send_command(run_dir, "pause")
        poll(lambda: status_of(tmp_path, "ctl").get("status") == "paused")
        held = rows_of(tmp_path, "ctl")
        # Paused: three looks at the command file (0.2 s apart) and not one row more.
        deadline = time.monotonic() + 0.7
        while time.monotonic() < deadline:
            assert rows_of(tmp_path, "ctl") in (held, held + 1)  # the step in flight may land
            time.sleep(0.05)
        track.send_command(str(tmp_path / "ctl"), "resume")  # the folder's path does as well
        poll(lambda: rows_of(tmp_path, "ctl") >= held + 5)
        track.send_command(tmp_path / "ctl", "stop")
        worker.join(TIMEOUT)
    finally:
        if worker.is_alive():
            run._should_stop = True
            worker.join(TIMEOUT)
    assert not errors and not worker.is_alive()
    assert status_of(tmp_path, "ctl")["status"] == "stopped"
    events = RunDir.open(tmp_path, "ctl").read_events()
    commands = [fields["command"] for fields in events.loc[events["kind"] == "command", "fields"]]
    assert commands == ["pause", "resume", "stop"]
    statuses = events.loc[events["kind"] == "status", "detail"].tolist()
    assert statuses == ["running", "paused", "running", "stopped"]
    # the script's terminal is told why its loop waits (a review: it seemed to hang without a word)
    paused_at = int(events.loc[events["kind"] == "status", "step"].tolist()[1])
    stopped_at = int(events.loc[events["kind"] == "command", "step"].tolist()[2])
    assert said == [
        f"run 'ctl' paused at step {paused_at} by 'script': the loop waits in g_step until Resume there "
        "(Stop ends it: should_stop becomes True)",
        f"run 'ctl' asked to stop at step {stopped_at} by 'script': should_stop is True, and the run ends "
        "stopped at finish()",
    ]


def test_a_command_to_a_folder_that_is_no_run_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="no run 'empty'"):
        track.send_command(tmp_path / "empty", "stop")
    with pytest.raises(TypeError, match="run_dir must be a RunDir or a run folder's path, got int"):
        track.send_command(3, "stop")
    with pytest.raises(ValueError, match="command 'halt' is unknown: allowed pause, resume, stop"):
        track.send_command(tmp_path / "empty", "halt")
    assert not (tmp_path / "empty" / "commands.json").exists()


def test_a_cli_run_obeys_the_command_file(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "gan_core", "train", "--dataset", "ring8", "--steps", "0", "--width", "16"]
    proc = subprocess.Popen(
        [*args, "--out", str(tmp_path), "--run-id", "cli", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        poll(lambda: rows_of(tmp_path, "cli") >= 5)
        registry = RunRegistry(tmp_path)
        assert registry.view("cli").external and registry.view("cli").status == "running"
        run_dir = RunDir.open(tmp_path, "cli")
        track.send_command(run_dir, "pause")
        poll(lambda: status_of(tmp_path, "cli").get("status") == "paused")
        track.send_command(run_dir, "stop")
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert status_of(tmp_path, "cli")["status"] == "stopped"
    assert RunRegistry(tmp_path).view("cli").checkpoint_steps()  # it can be resumed from the dashboard


KILLED_LOOP = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.test_track import ToyGAN
import gan_core.track as track
gan = ToyGAN()
run = track.init("killed", root={out!r})
while True:
    gan.step(run)
"""


def test_kill_9_leaves_an_interrupted_run_and_no_torn_row(tmp_path):
    code = KILLED_LOOP.format(root=str(ROOT), out=str(tmp_path))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        poll(lambda: rows_of(tmp_path, "killed") >= 50)
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    view = RunRegistry(tmp_path).view("killed")
    assert view.status == "interrupted" and not view.problems
    frame, problems = view.run_dir.read_metrics_checked()
    assert not problems and frame["step"].tolist() == list(range(1, len(frame) + 1))
    assert len(frame) >= 50
    # resumed, its clock goes on from the last row (status.json, written every few seconds, is behind it)
    killed_at = frame["time_s"].iloc[-1]
    assert 0.0 <= view.run_dir.read_status()["train_seconds"] <= killed_at  # (0 here: written at the start)
    gan = ToyGAN()
    with track.init("killed", root=tmp_path, resume=True) as again:
        for _ in range(3):
            gan.step(again)
    resumed = RunDir.open(tmp_path, "killed").read_metrics()
    assert resumed["step"].tolist() == list(range(1, len(frame) + 4))
    assert resumed["time_s"].is_monotonic_increasing
    assert killed_at <= resumed["time_s"].iloc[-3] < killed_at + 5.0


# ------------------------------------------------------------------------------------------ sinks
def test_tensorboard_sink_holds_the_same_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    gan = ToyGAN()
    config = {"lr": 2e-4, "layers": [64, 64], "note": None}
    with track.init("tb", root=tmp_path, tensorboard=True, config=config) as run:
        for i in range(5):
            gan.step(run)
            run.log({"spiky": math.inf if i == 1 else -math.inf if i == 2 else math.nan if i == 3 else 1.0})
        run.log({"my_metric": 0.5})
        gan.step(run)
    accumulator = EventAccumulator(str(tmp_path / "tb" / "tensorboard"))
    accumulator.Reload()
    frame = RunDir.open(tmp_path, "tb").read_metrics()
    # every column with a value, under its panel's group (as TensorBoard groups them: before the "/");
    # +-inf too, as metrics.csv keeps it (a review: TensorBoard's dropped it), a blank (NaN) left out
    tags = set(accumulator.Tags()["scalars"])
    for column in frame.columns.drop(["step", "flags"]):
        values = frame[column].to_numpy(dtype=float)
        if np.isnan(values).all():
            assert tensorboard_tag(column) not in tags, column
            continue
        scalars = accumulator.Scalars(tensorboard_tag(column))
        assert [e.step for e in scalars] == frame["step"][~np.isnan(values)].tolist(), column
        np.testing.assert_allclose([e.value for e in scalars], values[~np.isnan(values)], rtol=1e-6)
    assert [e.value for e in accumulator.Scalars("custom/spiky")] == [1.0, math.inf, -math.inf, 1.0]
    # the settings, for the HParams tab (in this run's own folder) and as text (a review: config never
    # reached TensorBoard)
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator as Plugins
    from tensorboard.plugins.hparams import plugin_data_pb2

    plugins = Plugins(str(tmp_path / "tb" / "tensorboard"))
    plugins.Reload()
    content = plugins.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert start.hparams["lr"].number_value == 2e-4 and start.hparams["loss"].string_value == "nonsaturating"
    assert start.hparams["layers"].string_value == "[64, 64]" and start.hparams["note"].string_value == "null"
    assert list((tmp_path / "tb" / "tensorboard").iterdir()) == list(
        (tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*")
    )  # one file: no add_hparams sub-folder
    assert {"losses/d_loss", "d_accuracy/d_acc_real", "grad_norms/g_grad_norm", "custom/my_metric"} <= tags
    assert "hparams/lr_g" not in tags  # (no optimizer given: not measured)
    (status,) = accumulator.Tensors("status/text_summary")
    assert status.step == 6 and status.tensor_proto.string_val == [b"finished"]


def hparams_table(logdir: Path) -> tuple[list[str], list[str]]:
    """The metrics' tags and the hyperparameters' names of TensorBoard's HParams table for the runs under
    ``logdir``, as its hparams plugin computes them (`backend_context.Context.experiment_from_metadata`)."""
    from tensorboard import context as tb_context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import backend_context

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    context = backend_context.Context(
        base_plugin.TBContext(logdir=str(logdir), multiplexer=multiplexer, data_provider=provider)
    )
    ctx = tb_context.RequestContext()
    experiment = context.experiment_from_metadata(
        ctx, "", True, context.hparams_metadata(ctx, ""), context.hparams_from_data_provider(ctx, "", 100)
    )
    return sorted(m.name.tag for m in experiment.metric_infos), sorted(
        h.name for h in experiment.hparam_infos
    )


def test_tensorboards_hparams_table_offers_every_metric_a_sweep_logged(tmp_path):
    """A review: the HParams tab's table listed the two losses only (the experiment summary named them), so
    a sweep's runs could not be sorted there by their FID or their own val/fid. Without that summary
    TensorBoard takes every scalar tag the runs logged."""
    for run_id, lr in (("lr-a", 1e-4), ("lr-b", 2e-4)):
        logdir = tmp_path / "tb" / run_id
        with track.init(run_id, root=tmp_path, tensorboard=str(logdir), config={"lr": lr}) as run:
            for i in range(3):
                run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
                run.log({"val/fid": 10.0 - i})
                run.g_step(torch.tensor(0.7))
    metrics, hparams = hparams_table(tmp_path / "tb")
    assert {"custom/val/fid", "losses/d_loss", "losses/g_loss", "d_accuracy/d_acc_real"} <= set(metrics)
    assert hparams == ["loss", "lr"]


def test_a_resume_from_a_step_leaves_tensorboard_one_history(tmp_path):
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    gan = ToyGAN()
    with track.init("tb", root=tmp_path, tensorboard=True) as run:
        for _ in range(8):
            gan.step(run)
    with track.init("tb", root=tmp_path, tensorboard=True, resume=True, resume_from=5) as run:
        for _ in range(2):
            gan.step(run)
    frame = RunDir.open(tmp_path, "tb").read_metrics()
    assert frame["step"].tolist() == list(range(1, 8))
    # the first run's steps 6-8 are purged (SummaryWriter's purge_step): one value a step, the rows' own,
    # in TensorBoard's Python loader (its Rust data server drops a tag's points when its steps go back)
    accumulator = EventAccumulator(str(tmp_path / "tb" / "tensorboard"))
    accumulator.Reload()
    d_loss = accumulator.Tensors("losses/d_loss")
    assert [e.step for e in d_loss] == list(range(1, 8))
    values = [tensor_util.make_ndarray(e.tensor_proto).item() for e in d_loss]
    np.testing.assert_allclose(values, frame["d_loss"].to_numpy(dtype=float), rtol=1e-6)
    statuses = accumulator.Tensors("status/text_summary")
    assert [s.step for s in statuses] == [7]  # (the first run's "finished" at step 8 is purged with it)


def test_tensorboard_gets_a_diverged_rows_nan_and_the_runs_end_in_hparams(tmp_path):
    """A review: a failed run's HParams read STATUS_SUCCESS (torch's hparams() writes it at the start), and
    its NaN loss was left out of TensorBoard, whose charts then ended at the step before, unmarked. The
    diverged row's losses are NaN there; the blanks of other steps stay out; the session ends failed."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator as Plugins
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    ends = {}
    for name, nan_at in (("nan", 3), ("fine", None)):
        run = track.init(name, root=tmp_path, tensorboard=True, config={"lr": 1e-3}, commit_every=0)
        for step in range(1, 5):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(float("nan") if step == nan_at else 0.7))
            if run.should_stop:
                break
        run.finish()
        plugins = Plugins(str(tmp_path / name / "tensorboard"))
        plugins.Reload()
        content = plugins.PluginTagToContent("hparams")["_hparams_/session_end_info"]
        ends[name] = plugin_data_pb2.HParamsPluginData.FromString(content).session_end_info.status
        accumulator = EventAccumulator(str(tmp_path / name / "tensorboard"), size_guidance={"scalars": 0})
        accumulator.Reload()
        g_loss = [(e.step, e.value) for e in accumulator.Scalars("losses/g_loss")]
        d_grad = accumulator.Tags()["scalars"]
        if nan_at is not None:
            assert [s for s, _ in g_loss] == [1, 2, 3] and math.isnan(g_loss[-1][1])
            assert [round(v, 6) for _, v in g_loss[:2]] == [0.7, 0.7]
        else:
            assert [s for s, _ in g_loss] == [1, 2, 3, 4] and not any(math.isnan(v) for _, v in g_loss)
        assert "grad_norms/d_grad_norm" not in d_grad  # (never measured: no NaN of it, diverged or not)
    assert ends == {"nan": api_pb2.STATUS_FAILURE, "fine": api_pb2.STATUS_SUCCESS}


def test_a_resume_from_a_step_past_the_last_row_says_the_gap(tmp_path):
    """A checkpoint newer than the rows (rows to 4, resume_from=7): steps 5 to 7 have no row, said at init
    (a review found metrics.csv going 3, 4, 8 without a word); a resume_from at or below the last row
    says nothing of it."""
    gan = ToyGAN()
    with track.init("gap", root=tmp_path) as run:
        for _ in range(4):
            gan.step(run)
    said = (
        r"^resume_from=7: run 'gap''s rows end at step 4, so steps 5 to 7 have no row \(its charts show "
        r"the gap\): .* resume from your checkpoint of step 4 or earlier \(resume_from= its step\)$"
    )
    with pytest.warns(track.TrackingWarning, match=said) as caught:
        run = track.init("gap", root=tmp_path, resume=True, resume_from=7)
    assert len(caught) == 1 and caught[0].filename == __file__
    with run:
        gan.step(run)
    run_dir = RunDir.open(tmp_path, "gap")
    assert run_dir.read_metrics()["step"].tolist() == [1, 2, 3, 4, 8]
    events = run_dir.read_events()
    warned = events[events["kind"] == "warning"]
    assert warned["fields"].tolist() == [{"check": "rows_missing", "last_row": 4, "from_step": 7}]
    assert warned["step"].tolist() == [7]
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        with track.init("gap", root=tmp_path, resume=True, resume_from=8) as run:  # its last row: no gap
            gan.step(run)
    assert run_dir.read_metrics()["step"].tolist() == [1, 2, 3, 4, 8, 9]


# ------------------------------------------------------------------------------------------ older folders
def test_run_folders_of_the_previous_format_open_resume_and_compare(tmp_path):
    """Folders written by the version before run.json (committed under tests/fixtures/format1) open with
    every chart's data, resume from their checkpoint and compare beside a tracked run."""
    for folder in FIXTURES.iterdir():
        shutil.copytree(folder, tmp_path / folder.name)
    registry = RunRegistry(tmp_path)
    view = registry.view("format1-ring8")
    assert view.owned and view.meta.format == 1 and view.meta.source == "trainer"
    assert view.meta.loss == view.cfg.loss and view.data_kind == "points"
    assert len(view.store) == 60 and view.status == "finished" and not view.problems
    assert view.snapshot_steps() == [0, 20, 40, 60] and view.checkpoint_steps() == [30, 60]
    digits = registry.view("format1-digits")
    assert digits.data_kind == "images" and digits.snapshot()[1]["grid"].ndim == 3

    runner = Runner.reopen(RunDir.open(tmp_path, "format1-ring8"), {"steps": 70}).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    assert RunDir.open(tmp_path, "format1-ring8").read_metrics()["step"].tolist() == list(range(1, 71))

    gan = ToyGAN()
    with track.init("tracked", root=tmp_path, config={"lr": 1e-3}) as run:
        for _ in range(3):
            gan.step(run)
    summaries = {row["run_id"]: row for row in RunRegistry(tmp_path).summaries()}
    assert summaries["format1-ring8"]["source"] == "trainer" and summaries["tracked"]["source"] == "api"
    assert summaries["format1-ring8"]["step"] == 70

    from streamlit.testing.v1 import AppTest

    os.environ["GAN_DASHBOARD_RUNS"] = str(tmp_path)
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "2_Compare.py"), default_timeout=60)
        at.session_state["cmp_runs"] = ["format1-ring8", "tracked"]
        at.run()
    finally:
        del os.environ["GAN_DASHBOARD_RUNS"]
    assert not at.exception and not at.error
    diff = at.dataframe[1].value  # the config fields that differ (after the runs' summary)
    assert "(source)" in diff.index and diff.loc["(source)", "tracked"] == "api"


# ------------------------------------------------------------------------------------------ the example
def test_the_own_dcgan_example_writes_where_the_dashboard_looks_without_out(tmp_path):
    """Without --out it wrote ./runs, while the dashboard (and gan_core's own default) watched
    $GAN_DASHBOARD_RUNS: the run never showed."""
    watched, cwd = tmp_path / "watched", tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "GAN_DASHBOARD_RUNS": str(watched)}
    done = subprocess.run(
        [sys.executable, ROOT / "examples" / "own_dcgan.py", "--steps", "3", "--run-id", "env"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"in {watched / 'env'}")
    assert (watched / "env" / "metrics.csv").is_file() and not (cwd / "runs").exists()
    # its settings are the training's: not --out and --run-id, which Compare listed as differing
    meta = json.loads((watched / "env" / "run.json").read_text())
    assert meta["hparams"] == {"lr": 2e-4, "batch_size": 64, "nz": 32} and meta["model"] == "dcgan"


def test_the_own_dcgan_example_writes_a_run_the_dashboard_shows(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "examples/own_dcgan.py", "--steps", "100", "--out", tmp_path, "--run-id", "mine"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "run mine: finished at step 100" in done.stdout
    again = subprocess.run(  # the same command again: the id is taken, said in one line
        [sys.executable, "examples/own_dcgan.py", "--steps", "5", "--out", tmp_path, "--run-id", "mine"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("error: run 'mine' already exists in ") and again.stderr.count("\n") == 1
    assert "give another --run-id" in again.stderr
    rows = {row["run_id"]: row for row in RunRegistry(tmp_path).summaries()}
    assert rows["mine"]["status"] == "finished" and rows["mine"]["source"] == "api"
    assert rows["mine"]["dataset"] == "digits" and rows["mine"]["step"] == 100
    measured = RunDir.open(tmp_path, "mine").read_metrics().dropna(subset=["classes_covered"])
    assert measured["step"].tolist() == [100]  # its quality metrics, every 100 steps (eval_every)
    assert 1 <= measured["classes_covered"].iloc[0] <= 10

    from streamlit.testing.v1 import AppTest

    from gan_core.export import metrics_csv_bytes

    os.environ["GAN_DASHBOARD_RUNS"] = str(tmp_path)
    try:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.query_params["run"] = "mine"
        at.run()
    finally:
        del os.environ["GAN_DASHBOARD_RUNS"]
    assert not at.exception and not at.error
    status = at.markdown[0].value
    assert "run `mine`" in status and "recorded by your own loop" in status and "`finished`" in status
    assert [h.value for h in at.subheader] == ["Custom metrics"]
    assert at.button(key="btn_resume").disabled and at.button(key="btn_step").disabled
    header = metrics_csv_bytes(RunDir.open(tmp_path, "mine")).split(b"\n", 1)[0].decode()
    assert header.startswith("step,time_s,d_loss") and header.endswith("fake_std,flags")


def test_what_a_loop_does_not_pass_is_blank_not_a_divergence(tmp_path):
    """No parameters for the norms, D updated every other step only: blank cells, no `diverged`."""
    gan = ToyGAN()
    with track.init("sparse", root=tmp_path, steps=6) as run:
        while not run.should_stop:
            real = gan.real[:32]
            fake = gan.G(torch.randn(32, 4))
            if run.step % 2 == 0:
                real_logits, fake_logits = gan.D(real), gan.D(fake.detach())
                run.d_step(real_logits, fake_logits)
            g_logits = gan.D(fake)
            run.g_step(gan.bce(g_logits, torch.ones_like(g_logits)))
    assert run.status == "finished" and run.error is None and "diverged" not in run.monitor.raised
    frame = RunDir.open(tmp_path, "sparse").read_metrics()
    assert frame["d_steps"].tolist() == [1, 0, 1, 0, 1, 0]
    assert frame["d_acc_real"].isna().tolist() == [False, True] * 3
    assert frame["g_grad_norm"].isna().all() and frame["g_loss"].notna().all()


def test_training_time_leaves_out_set_up_and_goes_on_after_a_resume(tmp_path):
    gan = ToyGAN()
    run = track.init("clock", root=tmp_path, loss="nonsaturating")
    time.sleep(0.5)  # the user's own set-up after init: not training time
    for _ in range(3):
        gan.step(run)
    run.finish()
    first = RunDir.open(tmp_path, "clock").read_metrics()
    assert 0.0 <= first["time_s"].iloc[0] < 0.4 and first["time_s"].is_monotonic_increasing
    with pytest.raises(RunDirError, match="loss='nonsaturating', not 'hinge'"):
        track.init("clock", root=tmp_path, loss="hinge", resume=True)
    again = track.init("clock", root=tmp_path, loss="nonsaturating", resume=True)
    gan.step(again)
    again.finish()
    frame = RunDir.open(tmp_path, "clock").read_metrics()
    assert frame["step"].tolist() == [1, 2, 3, 4]
    assert frame["time_s"].iloc[3] >= frame["time_s"].iloc[2]
    events = RunDir.open(tmp_path, "clock").read_events()
    resumed = events[events["kind"] == "resume"]
    assert len(resumed) == 1 and resumed["fields"].iloc[0]["from_step"] == 3
    assert resumed["detail"].iloc[0] == "from its last row, at step 3"  # (said "from_step=3, replaced=0")


@pytest.mark.parametrize("name", ["rows", "fid_min", "loss_max", "x_nonfinite"])
def test_metric_names_the_charts_derive_are_refused(tmp_path, name):
    with track.init("names", root=tmp_path) as run, pytest.raises(track.TrackingError, match="reserved"):
        run.log({name: 1.0})


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_a_last_row_that_diverged_ends_the_run_failed_and_the_step_after_a_divergence_is_not_kept(
    tmp_path, commit_every
):
    """A NaN is found when its row is committed: at once (``commit_every=0`` on the CPU: the loop stops
    at it), or with its batch, here at finish; either way the run ends failed at the diverged row, and
    the steps after it in its batch are not kept."""
    for name, nan_at, calls in (("last", 5, 5), ("middle", 3, 5)):
        gan = ToyGAN()
        run = track.init(
            name,
            root=tmp_path,
            loss="nonsaturating",
            opt_d=gan.opt_d,
            opt_g=gan.opt_g,
            commit_every=commit_every,
        )
        for step in range(1, calls + 1):
            real_logits, fake_logits = torch.randn(8), torch.randn(8)
            run.d_step(real_logits, fake_logits, d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(float("nan") if step == nan_at else 0.7))
            if run.should_stop:
                break
        run.finish()
        assert run.status == "failed" and f"diverged at step {nan_at}" in run.error, name
        frame = RunDir.open(tmp_path, name).read_metrics()
        assert frame["step"].tolist() == list(range(1, nan_at + 1)), name
        assert RunDir.open(tmp_path, name).read_status()["status"] == "failed"


class _Landing:
    """A CUDA event stand-in: the copy lands when the test says so (`query`), or when waited on."""

    def __init__(self, log: list[str]):
        self.log, self.done = log, False

    def synchronize(self) -> None:
        if not self.done:  # a real wait: the copy had not landed
            self.log.append("wait")
        self.done = True

    def query(self) -> bool:
        return self.done


def test_batches_on_their_way_are_committed_when_they_land_and_at_most_two_are_in_flight(tmp_path):
    """The lagged read-back on the CPU with stand-in events (issue 15): a batch whose copy has not landed
    is left for a later g_step, read as soon as it has, and waited on only when a third would need the
    read-back's buffer; the rows land in order, none lost."""
    from gan_core.tracking.readback import PendingValues

    gan = ToyGAN()
    run = track.init("lagged", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    log: list[str] = []
    events: list[_Landing] = []

    def start(values):
        events.append(_Landing(log))
        return PendingValues(values.detach().clone(), events[-1])

    run._readback.start = start
    committed = []
    for step in range(1, 5):
        gan.step(run)
        committed.append(run.store.last_step)
        if step == 2:
            events[0].done = True  # step 1's copy lands while step 2 trains: step 3 reads it, no wait
    # step 1: nothing landed; step 2: step 1 not yet; step 3: step 1 landed; step 4: steps 2 and 3 are
    # in flight, so step 2's is waited for before step 4's copy starts
    assert committed == [None, None, 1.0, 2.0] and log == ["wait"]
    assert run.flush()["step"] == 4.0 and log == ["wait"] * 3  # steps 3 and 4 not landed: waited for
    run.finish()
    assert RunDir.open(tmp_path, "lagged").read_metrics()["step"].tolist() == [1, 2, 3, 4]


def test_steps_wait_for_their_batch_until_commit_every_or_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(track_module, "MAX_PENDING_STEPS", 4)
    gan = ToyGAN()
    run = track.init("batched", root=tmp_path, loss="nonsaturating", commit_every=60.0)
    for _ in range(3):
        gan.step(run)
    assert run.store.last_step is None and RunDir.open(tmp_path, "batched").read_metrics().empty
    gan.step(run)  # the fourth: the cap sends the batch, and on the CPU it commits at once
    assert run.store.last_step == 4.0
    run.commit_every = 0.0
    gan.step(run)
    assert run.store.last_step == 5.0
    run.finish()
    frame = RunDir.open(tmp_path, "batched").read_metrics()
    assert frame["step"].tolist() == [1, 2, 3, 4, 5]
    assert frame["d_acc_real"].between(0.0, 1.0).all() and (frame["d_grad_norm"] > 0).all()
    with pytest.raises(track.TrackingError, match="commit_every=-1 is invalid: allowed seconds from 0 to 60"):
        track.init("bad", root=tmp_path, commit_every=-1)


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_tensors_the_loop_changes_in_place_later_keep_their_steps_values(tmp_path, commit_every):
    """A reused logits buffer (a compiled graph's output) and a running mean kept in place: each row holds
    its step's values, whether the step is measured at once or later with its batch."""
    run = track.init("inplace", root=tmp_path, loss="nonsaturating", commit_every=commit_every)
    ema, logits = torch.zeros(()), torch.zeros(8)
    for step in range(1, 5):
        logits.copy_(torch.linspace(-1, 1, 8) + step)
        ema.mul_(0.5).add_(step)
        run.d_step(logits, -logits, d_loss=ema * 0 + step, d_grad_norm=ema)
        run.log({"ema": ema})
        run.g_step(ema + 0, g_grad_norm=ema)
    run.finish()
    frame = RunDir.open(tmp_path, "inplace").read_metrics()
    expected_ema = [1.0, 2.5, 4.25, 6.125]
    assert frame["ema"].tolist() == expected_ema
    assert frame["d_grad_norm"].tolist() == expected_ema and frame["g_grad_norm"].tolist() == expected_ema
    assert frame["d_loss"].tolist() == [1.0, 2.0, 3.0, 4.0]
    d_real = [float(torch.sigmoid(torch.linspace(-1, 1, 8) + s).mean()) for s in range(1, 5)]
    assert frame["d_real"].tolist() == pytest.approx(d_real, rel=1e-6)


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_logits_of_any_shape_with_the_batch_first_give_the_same_row(tmp_path, commit_every):
    """D's logits as (B, 1), as (B,), one of each, and batches of two sizes: every row holds the accuracy
    and mean output of its own logits, and the gradient norms `get_total_norm` gives."""
    run = track.init("shapes", root=tmp_path, loss="nonsaturating", commit_every=commit_every)
    D, G = nn.Linear(3, 1), nn.Linear(2, 3)
    expected = []
    shapes = [((8, 1), (8, 1)), ((8,), (8,)), ((8, 1), (6,)), ((5,), (7, 1))]
    for step, (real_shape, fake_shape) in enumerate(shapes, start=1):
        real = torch.linspace(-2, 3, math.prod(real_shape)).reshape(real_shape) + step
        fake = torch.linspace(-3, 1, math.prod(fake_shape)).reshape(fake_shape) - step + 0.1
        D.zero_grad(set_to_none=True)
        (D(torch.randn(4, 3)) * step).sum().backward()
        d_norm = float(torch.nn.utils.get_total_norm([p.grad for p in D.parameters()]))
        run.d_step(real, fake, d_params=D)
        G.zero_grad(set_to_none=True)
        (G(torch.randn(4, 2)) ** 2 * step).sum().backward()
        g_norm = float(torch.nn.utils.get_total_norm([p.grad for p in G.parameters()]))
        run.g_step(torch.tensor(0.5 * step), g_params=G)
        expected.append(
            [
                float((real > 0).float().mean()),
                float((fake < 0).float().mean()),
                float(torch.sigmoid(real).mean()),
                float(torch.sigmoid(fake).mean()),
                d_norm,
                g_norm,
            ]
        )
    run.finish()
    frame = RunDir.open(tmp_path, "shapes").read_metrics()
    columns = ["d_acc_real", "d_acc_fake", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"]
    for row, want in zip(frame[columns].itertuples(index=False), expected, strict=True):
        assert list(row) == pytest.approx(want, rel=1e-6)
    assert frame["g_loss"].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert len({round(x, 6) for x in frame["g_grad_norm"]}) == 4


def test_a_divergence_found_after_a_stop_still_ends_the_run_failed_at_its_row(tmp_path):
    """A Stop from the dashboard at step 7, while step 5's NaN waits in the batch: the run ends failed at
    step 5, its error says so, and steps 6 and 7 are not kept."""
    run = track.init("stop-nan", root=tmp_path, loss="nonsaturating", commit_every=60.0)
    for step in range(1, 11):
        run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
        if step == 7:
            track.send_command(run.run_dir, "stop")
            run._poller._next = 0.0  # this g_step reads it (the poller looks at most every 0.2 s)
        run.g_step(torch.tensor(float("nan") if step == 5 else 0.5), g_grad_norm=1.0)
        if run.should_stop:
            break
    run.finish()
    assert step == 7 and run.status == "failed" and run.stop_reason == "diverged"
    assert "diverged at step 5" in run.error
    assert RunDir.open(tmp_path, "stop-nan").read_metrics()["step"].tolist() == [1, 2, 3, 4, 5]
    assert RunDir.open(tmp_path, "stop-nan").read_status()["step"] == 5


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_log_final_puts_a_value_measured_after_the_last_step_in_the_last_row(tmp_path, commit_every):
    """A value measured after the last g_step (a final validation) went nowhere: log() holds it for a
    next step that never comes, and finish() dropped it with a warning. log_final() writes it into the
    last row, whether that row was already written (commit_every=0) or still waiting for its batch."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    gan = ToyGAN()
    run = track.init("final", root=tmp_path, commit_every=commit_every, tensorboard=True)
    with pytest.raises(
        track.TrackingError, match=r"log_final\(\) before the first g_step: the run has no row"
    ):
        run.log_final({"val/score": 1.0})
    for _ in range(3):
        gan.step(run)
    run.log_final({"val/score": torch.tensor(0.25, dtype=torch.float64), "val/n": 3})
    with pytest.raises(track.TrackingError, match="metric name 'fid' is a built-in column"):
        run.log_final({"fid": 1.0})
    gan.step(run)  # the loop may go on: the file was rewritten, and the rows go on after it
    run.log_final({"val/score": 0.5})
    run.finish()
    frame = RunDir.open(tmp_path, "final").read_metrics()
    assert frame["step"].tolist() == [1, 2, 3, 4]
    assert frame["val/score"].isna().tolist() == [True, True, False, False]  # blank before, both after
    assert frame["val/score"].tolist()[2:] == [0.25, 0.5]
    assert frame["val/n"].isna().tolist() == [True, True, False, True] and frame["val/n"][2] == 3
    assert frame["d_loss"].notna().all() and frame["g_grad_norm"].notna().all()  # rows kept their own
    assert not [e for e in run.events if e["kind"] == "warning"]  # nothing said unrecorded at finish
    accumulator = EventAccumulator(str(tmp_path / "final" / "tensorboard"))
    accumulator.Reload()
    assert [(e.step, e.value) for e in accumulator.Scalars("custom/val/score")] == [(3, 0.25), (4, 0.5)]


def test_log_final_after_a_divergence_the_loop_ran_past_is_refused(tmp_path):
    """The record of a diverged run ends at the diverged row; a loop that ran a step past it has no row of
    its step: the value is refused, not written into a row of other parameters."""
    run = track.init("nan", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    for g_loss in (0.7, float("nan"), 0.7):
        run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
        run.g_step(torch.tensor(g_loss))
    assert (run.step, run.recorded_step) == (3, 2)
    with pytest.raises(track.TrackingError, match=r"record ends at step 2 \(it diverged there"):
        run.log_final({"val/score": 1.0})
    run.finish()
    assert "val/score" not in RunDir.open(tmp_path, "nan").read_metrics().columns


# ------------------------------------------------------------------ a run on the cores the dashboard needs
@pytest.mark.parametrize(
    ("threads", "cores", "said"), [(2, 2, True), (3, 2, True), (1, 2, False), (1, 1, False)]
)
def test_a_live_cpu_run_whose_torch_takes_every_core_says_what_watching_costs_it(
    tmp_path, monkeypatch, threads, cores, said
):
    """A loop on this machine's CPU with torch on every core, watched live: the dashboard and the browser
    took cores its steps waited for (0.58 of its unwatched speed on 2 cores) and nothing said so."""
    import gan_core.registry as registry_module

    monkeypatch.setattr(registry_module, "machine_cores", lambda: cores)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gan = ToyGAN()
        with track.init("cpu", root=tmp_path, steps=0) as run:
            gan.step(run)
            line = RunRegistry(tmp_path).view("cpu").cores_contended
            monkeypatch.setattr(registry_module.socket, "gethostname", lambda: "another-host")
            elsewhere = RunRegistry(tmp_path).view("cpu").cores_contended
            monkeypatch.undo()
            monkeypatch.setattr(registry_module, "machine_cores", lambda: cores)
        ended = RunRegistry(tmp_path).view("cpu").cores_contended
    finally:
        torch.set_num_threads(before)
    if said:
        assert line.startswith(
            f"This run trains on this machine's CPU with torch on {threads} threads, all of its {cores} cores"
        )
        assert line.endswith(f"Start the run with `OMP_NUM_THREADS={cores - 1}` to leave the dashboard a "
                             "core, or close this page while it trains.")  # fmt: skip
    else:
        assert line is None
    assert elsewhere is None and ended is None  # a writer on another host; a run that ended
