"""The tracking API's answers to bad input (`gan_core.track`): one `TrackingError` that says what is wrong
and what is allowed, nothing already recorded lost, no half-made run folder left behind by a failed
`init`; and a script that exits short of its target without `finish` is recorded as stopped."""

from __future__ import annotations

import argparse
import gc
import json
import re
import runpy
import sys
import weakref
from pathlib import Path

import pytest
import torch
from torch import nn

import gan_core.track as track
import gan_core.tracking.track as track_module
from gan_core.config import DATASETS, GANConfig
from gan_core.data import load_data
from gan_core.rundir import RunDir, RunDirError

ROOT = Path(__file__).resolve().parents[1]


def status_of(root: Path, run_id: str) -> dict:
    return json.loads((root / run_id / "status.json").read_text())


def trained_step(run, D: nn.Module, G: nn.Module) -> None:
    """One textbook step on 2D points: D's backward, then d_step; G's backward, then g_step."""
    real, fake = torch.randn(8, 2), G(torch.randn(8, 2))
    real_logits, fake_logits = D(real), D(fake.detach())
    d_loss = nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()
    D.zero_grad(set_to_none=True)
    d_loss.backward()
    run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
    g_loss = nn.functional.softplus(-D(fake)).mean()
    G.zero_grad(set_to_none=True)
    g_loss.backward()
    run.g_step(g_loss, g_params=G)


@pytest.fixture
def nets():
    torch.manual_seed(0)
    return nn.Linear(2, 1), nn.Linear(2, 2)  # D, G


# ---------------------------------------------------------------------------- 1. counts
@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("steps", 10**25, "[0, 1000000000]"),
        ("sample_every", 10**10, "[1, 1000000000]"),
        ("eval_every", 0, "[1, 1000000000]"),
        ("steps", 2.0, "[0, 1000000000]"),
    ],
)
def test_counts_beyond_the_built_in_configs_bounds_are_refused_naming_the_range(
    tmp_path, field, value, allowed
):
    root = tmp_path / "runs"
    with pytest.raises(track.TrackingError) as caught:
        track.init("big", root=root, **{field: value})
    assert str(caught.value).startswith(f"{field}={value!r} is invalid: allowed a whole number in {allowed}")
    assert not root.exists()  # refused before any folder is made


def test_the_bound_is_the_built_in_configs_own(tmp_path):
    """The largest target the built-in config takes is taken; one more is not (steps and the others)."""
    assert GANConfig(steps=10**9, sample_every=10**9, eval_every=10**9).steps == 10**9
    with pytest.raises(
        ValueError, match=r"steps=1000000001 is invalid: allowed a number in \[0, 1000000000\]"
    ):
        GANConfig(steps=10**9 + 1)
    run = track.init("top", root=tmp_path, steps=10**9, sample_every=10**9, eval_every=10**9)
    run.finish()
    assert status_of(tmp_path, "top")["steps"] == 10**9


# ---------------------------------------------------------------------------- 2. seed, and no folder left
@pytest.mark.parametrize("seed", [2**70, "x", 1.5, -1, True])
def test_a_bad_seed_is_refused_before_any_folder_is_made(tmp_path, seed):
    root = tmp_path / "runs"
    with pytest.raises(track.TrackingError) as caught:
        track.init("seeded", root=root, seed=seed, real=torch.randn(64, 2))
    assert str(caught.value) == f"seed={seed!r} is invalid: allowed a whole number in [0, 2147483647]"
    assert not root.exists()


def test_a_start_that_fails_after_its_folder_is_made_leaves_no_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(track.TrackingError) as caught:  # TensorBoard's folder cannot be made inside a file
        track.init("tb", root=tmp_path / "runs", tensorboard=blocker / "tb")
    assert str(caught.value) == (
        f"tensorboard={str(blocker / 'tb')!r}: the folder cannot be made or written (Not a directory); "
        "allowed: True (the run folder's tensorboard/) or a folder that can be written"
    )
    assert not (tmp_path / "runs" / "tb").exists()
    with pytest.raises(track.TrackingError, match=r"^tensorboard=1 is invalid: allowed False, True"):
        track.init("tb", root=tmp_path / "runs", tensorboard=1)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == []

    def broken_view(*args, **kwargs):
        raise RuntimeError("no view today")

    monkeypatch.setattr(track_module, "real_view", broken_view)  # fails inside TrackedRun's start
    with pytest.raises(RuntimeError, match="no view today"):
        track.init("view", root=tmp_path / "runs", real=torch.randn(64, 2))
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == []


def test_a_failed_resume_keeps_the_folder_it_continued(tmp_path, nets):
    D, G = nets
    run = track.init("kept", root=tmp_path, steps=2)
    trained_step(run, D, G)
    trained_step(run, D, G)
    run.finish()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(track.TrackingError, match="the folder cannot be made or written"):
        track.init("kept", root=tmp_path, resume=True, tensorboard=blocker / "tb")
    assert status_of(tmp_path, "kept")["status"] == "finished"
    assert RunDir.open(tmp_path, "kept").read_metrics()["step"].tolist() == [1, 2]
    RunDir.open(tmp_path, "kept").claim("a test").release()  # its claim was given back


# ---------------------------------------------------------------------------- 3. no gradients
def test_d_step_before_backward_says_so_and_keeps_the_rows(tmp_path, nets):
    D, G = nets
    run = track.init("nograd", root=tmp_path, commit_every=60.0)
    trained_step(run, D, G)
    D.zero_grad(set_to_none=True)  # as before the next backward
    logits = D(torch.randn(8, 2))
    expected = (
        r"d_params has no gradients \(none of its 2 parameters has a \.grad\): call d_step after D's "
        r"backward\(\) and before the next zero_grad\(\)"
    )
    with pytest.raises(track.TrackingError, match=expected):  # the usual call (the fast path)
        run.d_step(logits, logits, d_loss=logits.mean(), d_params=D)
    with pytest.raises(track.TrackingError, match=expected):  # any other call
        run.d_step(logits, logits, d_params=list(D.parameters()))
    with pytest.raises(track.TrackingError, match="d_params has no trainable parameters"):
        run.d_step(logits, logits, d_loss=logits.mean(), d_params=[])
    run.finish()
    assert run.status == "finished" and run.error is None  # not "diverged at step 1"
    assert RunDir.open(tmp_path, "nograd").read_metrics()["step"].tolist() == [1]


def test_g_step_before_backward_says_so(tmp_path, nets):
    D, G = nets
    run = track.init("nograd-g", root=tmp_path)
    trained_step(run, D, G)
    G.zero_grad(set_to_none=True)
    logits = D(torch.randn(8, 2))
    expected = (
        r"g_params has no gradients .*: call g_step after G's backward\(\) and before the next zero_grad"
    )
    D.zero_grad(set_to_none=True)
    logits.mean().backward()
    run.d_step(logits.detach(), logits.detach(), d_loss=logits.mean().detach(), d_params=D)
    with pytest.raises(track.TrackingError, match=expected):  # the usual call (the fast path)
        run.g_step(torch.tensor(0.5), g_params=G)
    with pytest.raises(track.TrackingError, match=expected):  # any other call
        run.g_step(0.5, g_params=G)
    assert run.step == 1  # the refused calls took no step: the loop may take it again
    G(torch.randn(8, 2)).sum().backward()
    run.g_step(torch.tensor(0.5), g_params=G)
    assert run.step == 2
    run.finish()
    assert run.status == "finished" and status_of(tmp_path, "nograd-g")["step"] == 2
    frame = RunDir.open(tmp_path, "nograd-g").read_metrics()
    assert frame["step"].tolist() == [1, 2] and frame["d_steps"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------------------- 4. dataset
@pytest.mark.parametrize("dataset", ["cifar", "ring-8", "Digits"])
def test_an_unknown_dataset_is_refused_listing_the_names(tmp_path, dataset):
    with pytest.raises(track.TrackingError) as caught:
        track.init("data", root=tmp_path / "runs", dataset=dataset)
    message = str(caught.value)
    assert message.startswith(f"dataset={dataset!r} is unknown: allowed ")
    assert all(name in message for name in DATASETS) and "'' (None) for data of your own" in message
    assert not (tmp_path / "runs").exists()


def test_no_dataset_is_allowed_as_none_or_empty(tmp_path):
    for run_id, dataset in (("none", None), ("empty", ""), ("ring", "ring8")):
        run = track.init(run_id, root=tmp_path, dataset=dataset)
        run.finish()
        assert run.meta.dataset == (dataset or "")


# ---------------------------------------------------------------------------- 5. logits' shape
@pytest.mark.parametrize(
    ("real_shape", "fake_shape"),
    [((4, 2), (4, 2)), ((4,), (4, 3)), ((), ()), ((0,), (0,)), ((4, 1, 2), (4,))],
)
def test_logits_that_are_not_one_per_example_are_refused(tmp_path, real_shape, fake_shape):
    run = track.init("logits", root=tmp_path)
    with pytest.raises(track.TrackingError) as caught:
        run.d_step(torch.zeros(real_shape), torch.zeros(fake_shape), d_loss=torch.tensor(1.0))
    assert str(caught.value).startswith("d_step's logits must be one per example, shape (B,) or (B, 1)")
    assert f"got real_logits {real_shape} and fake_logits {fake_shape}" in str(caught.value)
    run.finish()


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
def test_logits_that_are_no_scores_are_refused(tmp_path, dtype):
    """(real_logits > 0).int() was recorded as if D's scores (d_real 0.68, the accuracies nonsense)."""
    run = track.init("decisions", root=tmp_path)
    with pytest.raises(track.TrackingError) as caught:
        run.d_step(torch.ones(4, dtype=dtype), torch.randn(4), d_loss=torch.tensor(1.0))
    assert str(caught.value) == (
        f"d_step's logits must be D's raw outputs, floating point, got real_logits {dtype} and fake_logits "
        "torch.float32 (a thresholded decision, such as (logits > 0).int(), is no score to measure)"
    )
    run.finish()
    assert RunDir.open(tmp_path, "decisions").read_metrics().empty


def test_one_logit_per_example_is_taken_whatever_its_trailing_ones_and_batch_sizes(tmp_path):
    run = track.init("one-each", root=tmp_path, commit_every=0.0)
    for real_shape, fake_shape in (((8,), (8, 1)), ((6, 1), (4,)), ((5, 1, 1, 1), (5, 1, 1, 1))):
        run.d_step(torch.ones(real_shape), -torch.ones(fake_shape), d_loss=torch.tensor(1.0))
        row = run.g_step(torch.tensor(0.5))
        assert row["d_acc_real"] == 1.0 and row["d_acc_fake"] == 1.0
    run.finish()
    assert RunDir.open(tmp_path, "one-each").read_metrics()["step"].tolist() == [1, 2, 3]


# ---------------------------------------------------------------------------- 6. watch tries G
def test_watch_with_noise_that_does_not_fit_g_says_so_at_once(tmp_path, nets):
    D, G = nets
    run = track.init("noise", root=tmp_path, real=torch.randn(64, 2))
    with pytest.raises(track.TrackingError) as caught:
        run.watch(G, torch.randn(8, 3), D=D)
    message = str(caught.value)
    assert "fixed_noise of shape (8, 3)" in message and "mat1 and mat2 shapes cannot be multiplied" in message
    assert "allowed: noise that G takes as its input" in message
    with pytest.raises(track.TrackingError, match="call watch"):  # nothing of the failed watch was kept
        run.snapshot()
    run.watch(G, torch.randn(8, 2), D=D)  # noise that fits: watched, and the run ends cleanly
    trained_step(run, D, G)
    run.finish()
    assert run.status == "finished" and run.error is None


def test_watch_tries_g_as_a_snapshot_does_leaving_its_mode_and_batchnorm_statistics(tmp_path):
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    G.train()
    before = G[1].running_mean.clone(), G[1].num_batches_tracked.clone()
    run = track.init("bn", root=tmp_path, data_kind="points")
    run.watch(G, torch.randn(16, 2) * 5 + 3)
    assert G.training and G[1].training
    assert torch.equal(G[1].running_mean, before[0]) and torch.equal(G[1].num_batches_tracked, before[1])
    run.finish()
    assert [step for step, _ in RunDir.open(tmp_path, "bn").snapshot_steps()] == [0]  # the tried view


# ---------------------------------------------------------------------------- 7. exit without finish
def test_a_script_that_exits_short_of_its_target_without_finish_is_stopped(tmp_path, nets, monkeypatch):
    """What the interpreter's exit does (`_at_exit`) to runs left open: stopped short of the target,
    finished at it or without one."""
    D, G = nets
    active: weakref.WeakSet = weakref.WeakSet()
    monkeypatch.setattr(track_module, "_ACTIVE", active)
    monkeypatch.setattr(track_module, "_UNCAUGHT", [])
    short = track.init("short", root=tmp_path, steps=5)
    done = track.init("done", root=tmp_path, steps=2)
    open_ended = track.init("open", root=tmp_path)
    for run, steps in ((short, 2), (done, 2), (open_ended, 2)):
        active.add(run)
        for _ in range(steps):
            trained_step(run, D, G)
    assert done.should_stop and done.stop_reason == "steps"
    track_module._at_exit()
    status = status_of(tmp_path, "short")
    assert status["status"] == "stopped" and status["step"] == 2
    assert status["error"] == "the script exited at step 2 of its target 5 without finish()"
    events = RunDir.open(tmp_path, "short").read_events()
    assert (
        events["detail"].iloc[-1] == "stopped: the script exited at step 2 of its target 5 without finish()"
    )
    assert RunDir.open(tmp_path, "short").read_metrics()["step"].tolist() == [1, 2]  # nothing lost
    for run_id in ("done", "open"):
        assert (
            status_of(tmp_path, run_id)["status"] == "finished"
            and status_of(tmp_path, run_id)["error"] is None
        )


def test_a_run_dropped_unfinished_is_finished_with_its_rows_when_collected(tmp_path, nets):
    """A loop in a function that returns without finish(): the run object goes with it, its waiting rows
    and status written as at the interpreter's exit (it read as interrupted, its rows lost)."""
    D, G = nets

    def train(run_id, steps, target):
        run = track.init(run_id, root=tmp_path, steps=target, commit_every=60.0)  # rows wait in one batch
        for _ in range(steps):
            trained_step(run, D, G)

    train("early", 3, 5)
    train("reached", 2, 2)
    gc.collect()  # (freed at once where nothing holds the run in a cycle)
    status = status_of(tmp_path, "early")
    assert (status["status"], status["step"]) == ("stopped", 3)
    assert (
        status["error"] == "the run object was garbage-collected at step 3 of its target 5 without finish()"
    )
    assert RunDir.open(tmp_path, "early").read_metrics()["step"].tolist() == [1, 2, 3]
    assert (status_of(tmp_path, "reached")["status"], status_of(tmp_path, "reached")["step"]) == (
        "finished",
        2,
    )
    assert not RunDir.open(tmp_path, "early").in_use()  # the folder is free to resume


def test_finish_short_of_the_target_is_a_stop_unless_said_otherwise(tmp_path, nets):
    D, G = nets
    early = track.init("early", root=tmp_path, steps=5)
    trained_step(early, D, G)
    early.finish()
    status = status_of(tmp_path, "early")
    assert (status["status"], status["error"]) == ("stopped", "finish() at step 1 of its target 5")
    meant = track.init("meant", root=tmp_path, steps=5)
    trained_step(meant, D, G)
    meant.finish("finished")  # a loop that ended early as it meant to
    assert (status_of(tmp_path, "meant")["status"], status_of(tmp_path, "meant")["error"]) == (
        "finished",
        None,
    )


def test_calls_after_finish_say_the_run_is_finished(tmp_path, nets):
    D, G = nets
    run = track.init("done", root=tmp_path, real=torch.randn(64, 2))
    run.watch(G, torch.randn(16, 2))
    trained_step(run, D, G)
    run.finish()
    samples = sorted(p.name for p in (tmp_path / "done" / "samples").iterdir())
    assert "step_00000001.npz" in samples  # finish's own last snapshot
    for call in (
        lambda: run.snapshot(),
        lambda: run.watch(G, torch.randn(16, 2)),
        lambda: run.log({"m": 1.0}),
    ):
        with pytest.raises(track.TrackingError, match="run 'done' is finished: start a new one"):
            call()
    assert sorted(p.name for p in (tmp_path / "done" / "samples").iterdir()) == samples


def test_parameters_given_wrongly_are_named(tmp_path, nets):
    D, G = nets
    run = track.init("params", root=tmp_path)
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    real, fake = D(torch.randn(8, 2)), D(G(torch.randn(8, 2)).detach())
    (real.mean() - fake.mean()).backward()
    with pytest.raises(
        track.TrackingError, match=r"parameters given \(SGD\) are not iterable: allowed the network"
    ):
        run.d_step(real, fake, d_loss=0.5, d_params=opt)
    used = D.parameters()  # a generator made once, before the loop
    run.d_step(real, fake, d_loss=0.5, d_params=used)  # the first step reads it
    with pytest.raises(track.TrackingError, match=r"a generator such as D.parameters\(\) made once before"):
        run.d_step(real, fake, d_loss=0.5, d_params=used)
    run.finish()


def test_config_must_map_names_to_values(tmp_path):
    with pytest.raises(track.TrackingError, match=r"config must map names to values .*got list"):
        track.init("listed", root=tmp_path, config=["a"])
    assert not (tmp_path / "listed").exists()
    args = argparse.Namespace(lr=2e-4, batch_size=64)
    run = track.init("namespace", root=tmp_path, config=args)
    run.finish()
    assert json.loads((tmp_path / "namespace" / "run.json").read_text())["hparams"] == vars(args)


def test_config_numbers_held_in_tensors_or_numpy_are_recorded_as_numbers(tmp_path):
    """A review's config={"lr": torch.tensor(0.1)} was recorded as the text "tensor(0.1000)", which
    Compare could only diff as text."""
    import numpy as np

    config = {
        "lr": torch.tensor(0.1),
        "lr_d": torch.tensor(3e-4, dtype=torch.float16),
        "wd": torch.tensor(1e-5, dtype=torch.bfloat16),
        "gp": torch.tensor(0.1, dtype=torch.float64),
        "beta2": np.float32(0.999),
        "steps": torch.tensor([3]),
        "beta1": np.float32(0.5),
        "n": np.int64(7),
        "flag": torch.tensor(True),
        "weights": torch.tensor([1.0, 2.0]),
        "name": "dcgan",
    }
    track.init("numbers", root=tmp_path, config=config).finish()
    held = json.loads((tmp_path / "numbers" / "run.json").read_text())["hparams"]
    assert held == {
        "lr": 0.1,  # as written (float32's value is 0.10000000149011612: Compare read it as another lr)
        "lr_d": 0.0003,  # float16's 0.00030004978 at its shortest
        "wd": float(str(np.float32(torch.tensor(1e-5, dtype=torch.bfloat16).item()))),  # bfloat16's own
        "gp": 0.1,
        "beta2": 0.999,
        "steps": 3,
        "beta1": 0.5,
        "n": 7,
        "flag": "tensor(True)",  # a truth value is no number: its text, as before
        "weights": "tensor([1., 2.])",  # more than one number: its text
        "name": "dcgan",
    }
    assert type(held["steps"]) is int and type(held["lr"]) is float


def test_init_under_torchrun_before_the_process_group_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(
        track.TrackingError, match=r"2-process job .* before torch.distributed.init_process_group"
    ):
        track.init("ddp", root=tmp_path)
    assert not (tmp_path / "ddp").exists()


# ---------------------------------------------------------------------------- 8. the words
def test_should_stop_says_it_turns_true_at_the_steps_target(tmp_path, nets):
    doc = track.TrackedRun.should_stop.__doc__
    assert "``steps`` target" in doc and '``"steps"``' in doc
    D, G = nets
    run = track.init("target", root=tmp_path, steps=1)
    trained_step(run, D, G)
    assert run.should_stop and run.stop_reason == "steps"
    run.finish()


@pytest.mark.parametrize("example", ["own_dcgan.py", "lightning_gan.py"])
def test_the_examples_on_a_taken_run_id_do_not_offer_resume(tmp_path, monkeypatch, example):
    """Their command lines cannot reach resume=True: the message says to give another --run-id, in one
    line (run as ``python examples/...``, here in this process: ``sys.exit`` with the message)."""
    (tmp_path / "mine").mkdir()
    argv = [example, "--steps", "5", "--out", str(tmp_path), "--run-id", "mine"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(ROOT / "examples" / example), run_name="__main__")
    message = caught.value.code
    assert isinstance(message, str) and "\n" not in message
    assert message.startswith(f"error: run 'mine' already exists in {str(tmp_path)!r}: ")
    assert "give another --run-id" in message and "resume" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


# ---------------------------------------------------------------------------- 6. real images' range
MAP_HOW = {
    "unit": "images in [0, 1]: pass real * 2 - 1",
    "bytes": "images in 0..255: pass real / 127.5 - 1",
    "standardised": "map them there (grids clip what is outside; quality metrics read it as it is)",
}


@pytest.mark.parametrize(
    ("real", "low", "high", "kind"),
    [
        (torch.rand(64, 1, 8, 8), 0, 1, "unit"),
        (torch.randint(1, 255, (64, 3, 8, 8), dtype=torch.uint8), 0, 255, "bytes"),
        (torch.randn(64, 1, 8, 8).clamp(-2, 2), -2.5, 2.5, "standardised"),
        (torch.rand(64, 1, 8, 8) * 2 - 1, -1, 1.2, "standardised"),  # just past the slack
        (torch.rand(64, 1, 8, 8) * 2, 0, 2, "standardised"),  # [0, 2]: no 0..255 advice
    ],
    ids=["unit", "bytes", "standardised", "past-slack", "zero-to-two"],
)
def test_real_images_outside_minus_one_to_one_are_recorded_with_a_warning(tmp_path, real, low, high, kind):
    real.view(-1)[0], real.view(-1)[-1] = low, high  # the range the message names
    with pytest.warns(track.TrackingWarning) as warned:
        run = track.init("ranged", root=tmp_path, real=real)
    run.finish()
    assert [str(w.message) for w in warned] == [
        f"real images hold values from {low:g} to {high:g}; the dashboard shows and measures images in "
        f"[-1, 1] ({MAP_HOW[kind]}, and G's output alike)"
    ]
    assert warned[0].filename == __file__  # pointed at the caller's line
    assert RunDir.open(tmp_path, "ranged").load_snapshot("real")["grid"].shape[-1] == 3  # recorded


def test_real_images_in_minus_one_to_one_and_points_anywhere_warn_nothing(tmp_path, recwarn):
    images = torch.rand(64, 1, 8, 8) * 2 - 1
    images.view(-1)[0], images.view(-1)[1] = -1.0, 1.04  # within the slack of a float pipeline
    track.init("images", root=tmp_path, real=images).finish()
    track.init("points", root=tmp_path, real=torch.rand(256, 2) * 40).finish()  # 2D data has no range
    track.init("other", root=tmp_path, real=torch.rand(64, 5) * 9).finish()
    assert [w for w in recwarn if issubclass(w.category, track.TrackingWarning)] == []


# ---------------------------------------------------------------------------- 7. real, data_kind, dataset
@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"dataset": "digits", "real": torch.rand(300, 2)},
            "dataset='digits' is images, but the run records points data: allowed real as (N, 1 or 3, H, W) "
            "images for it, or dataset='' for data of your own",
        ),
        (
            {"dataset": "ring8", "real": torch.rand(64, 1, 8, 8) * 2 - 1},
            "dataset='ring8' is points, but the run records images data: allowed real as (N, 2) points for "
            "it, or dataset='' for data of your own",
        ),
        (
            {"data_kind": "points", "real": torch.rand(64, 1, 8, 8) * 2 - 1},
            "real of shape (64, 1, 8, 8) is not data_kind='points': allowed (N, 2) points, or "
            "data_kind='other'",
        ),
        (
            {"data_kind": "images", "real": torch.rand(64, 2)},
            "real of shape (64, 2) is not data_kind='images': allowed (N, 1 or 3, H, W) images, or "
            "data_kind='other'",
        ),
        (
            {"dataset": "digits", "real": torch.rand(64, 8, 8) * 2 - 1},
            "dataset='digits' is images, but real has shape (64, 8, 8): allowed (N, 1 or 3, H, W) images "
            "(one channel: real.unsqueeze(1)), or dataset='' for data of your own",
        ),
        (
            {"dataset": "mnist", "real": torch.rand(64, 28, 28, 1) * 2 - 1},
            "dataset='mnist' is images, but real has shape (64, 28, 28, 1): allowed (N, 1 or 3, H, W) images "
            "(channels first: real.permute(0, 3, 1, 2)), or dataset='' for data of your own",
        ),
    ],
    ids=["digits-points", "ring8-images", "points-images", "images-points", "digits-hw", "mnist-hwc"],
)
def test_real_that_does_not_fit_its_kind_or_dataset_is_refused_before_anything_is_written(
    tmp_path, given, message
):
    root = tmp_path / "runs"
    with pytest.raises(track.TrackingError) as caught:
        track.init("mismatch", root=root, **given)
    assert str(caught.value) == message
    assert not root.exists()


def test_flattened_images_with_a_dataset_name_are_taken_as_other_data(tmp_path):
    """An MLP GAN's (N, 784) MNIST: no grid or quality metric can be drawn of it, but it is no mistake;
    nor are images in another layout said to be other data."""
    run = track.init("flat", root=tmp_path, dataset="mnist", real=torch.rand(64, 784) * 2 - 1)
    run.finish()
    assert run.meta.data_kind == "other"
    said = track.init("hw", root=tmp_path, dataset="digits", data_kind="other", real=torch.rand(64, 8, 8))
    said.finish()
    assert said.meta.data_kind == "other"


def test_real_that_fits_its_dataset_is_taken_at_any_image_size(tmp_path):
    track.init("mnist32", root=tmp_path, dataset="mnist", real=torch.rand(64, 1, 32, 32) * 2 - 1).finish()
    ring = load_data(GANConfig(dataset="ring8")).sample(256, torch.Generator().manual_seed(0))
    track.init("ring", root=tmp_path, dataset="ring8", real=ring).finish()
    track.init("nodata", root=tmp_path, dataset="digits").finish()  # no real: nothing to compare
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist32", "nodata", "ring"]


def test_real_of_another_geometry_than_its_named_toy_is_refused_with_what_it_measured(tmp_path):
    """A reviewer's ring of radius 0.8 passed as dataset='ring8' (radius 2, std 0.02) read 0 modes covered
    and a false mode_collapse for 6,000 steps while G matched it: the mode measures count samples near
    the toy's own centres, not real's."""
    generator = torch.Generator().manual_seed(1)
    ring = load_data(GANConfig(dataset="ring8")).sample(1_000, generator)
    with pytest.raises(track.TrackingError) as refused:
        track.init("small-ring", root=tmp_path, dataset="ring8", real=0.4 * ring)
    message = str(refused.value)
    assert "dataset='ring8' counts modes at its own 8 centres (std 0.02" in message
    assert "0% of real's points lie within 5 std" in message and "dataset=''" in message
    # a few strays (8 in 100 off the modes) are a sample of the toy still; 15 in 100 are not
    for strays, taken in ((0.08, True), (0.15, False)):
        mixed = ring.clone()
        mixed[: int(strays * len(ring))] += 1.0
        if taken:
            track.init(f"strays-{strays}", root=tmp_path, dataset="ring8", real=mixed).finish()
        else:
            with pytest.raises(track.TrackingError, match=r"but 8[0-9.]+% of real's points"):
                track.init(f"strays-{strays}", root=tmp_path, dataset="ring8", real=mixed)
    grid = load_data(GANConfig(dataset="grid25")).sample(1_000, generator)
    track.init("grid", root=tmp_path, dataset="grid25", real=grid).finish()
    with pytest.raises(
        track.TrackingError,
        match=r"dataset='ring8' counts modes at its own 8 centres .* but [0-9.]+% of real",
    ):
        track.init("grid-as-ring", root=tmp_path, dataset="ring8", real=grid)
    track.init("own", root=tmp_path, dataset="", real=0.4 * ring).finish()  # points of one's own: taken
    # a small true sample is never refused by chance (at 3 std, one 8-point batch in 12 was): every one
    # of 300 batches of 8 points of each toy is taken
    for toy in ("ring8", "grid25"):
        source = load_data(GANConfig(dataset=toy))
        for seed in range(300):
            batch = source.sample(8, torch.Generator().manual_seed(seed))
            track_module._check_real_values(batch, "points", toy)  # (no run folder: the check alone)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid", "own", "strays-0.08"]  # refused: no folder


def test_real_with_nan_or_inf_is_refused_naming_how_many_and_where(tmp_path):
    """NaN in real read grid_kl 0.0 and grid_js 0.0 ("matches") at every evaluation, and every 2D snapshot
    was unreadable (bounds not finite)."""
    points = torch.randn(1_000, 2)
    points[::10, 1] = float("nan")
    points[5, 0] = float("inf")
    with pytest.raises(track.TrackingError) as refused:
        track.init("nan-points", root=tmp_path, real=points)
    assert str(refused.value) == (
        "real has 101 non-finite values (NaN or inf) in 101 of its 1,000 examples, the first at index 0: "
        "allowed finite numbers (the quality measures and snapshots are drawn against them)"
    )
    images = torch.rand(8, 1, 8, 8) * 2 - 1
    images[3, 0, 2, 2] = float("-inf")
    with pytest.raises(
        track.TrackingError, match="1 non-finite value .* in 1 of its 8 examples, the first at index 3"
    ):
        track.init("nan-images", root=tmp_path, real=images)
    # a tensor with no values, or no examples: refused, not a raw error from reading it
    with pytest.raises(
        track.TrackingError, match="real is a tensor on the meta device, which holds no values"
    ):
        track.init("meta-real", root=tmp_path, real=torch.empty(10, 2, device="meta"))
    with pytest.raises(
        track.TrackingError, match="real must hold examples along its first dimension, got a 0-d"
    ):
        track.init("scalar-real", root=tmp_path, real=torch.tensor(float("nan")), data_kind="other")
    track.init(
        "uint8", root=tmp_path, real=torch.zeros(8, 1, 8, 8, dtype=torch.uint8)
    ).finish()  # always finite
    assert [p.name for p in tmp_path.iterdir()] == ["uint8"]


def test_a_meta_tensor_is_refused_when_logged_not_when_its_row_is_written(tmp_path):
    run = track.init("meta", root=tmp_path)
    with pytest.raises(
        track.TrackingError, match="metric 'm' is a tensor on the meta device, which holds no value"
    ):
        run.log({"m": torch.empty((), device="meta")})
    run.log({"m": 1.0})
    run.finish()
    assert RunDir.open(tmp_path, "meta").read_status()["status"] == "finished"


# ---------------------------------------------------------------------------- 8. Ctrl-C in an evaluation
def test_a_ctrl_c_during_an_evaluation_keeps_every_trained_row(tmp_path, nets, monkeypatch):
    """The first evaluation takes seconds (imports, the feature networks): a Ctrl-C landing in it lost
    the batch's rows from the evaluation's step on (status.json said 250, metrics.csv ended at 249)."""
    D, G = nets

    def interrupted(self, G):
        raise KeyboardInterrupt

    monkeypatch.setattr(track_module.Evaluator, "evaluate", interrupted)
    run = track.init("ctrlc", root=tmp_path, real=torch.randn(256, 2), eval_every=10, commit_every=60.0)
    run.watch(G, torch.randn(16, 2))
    with pytest.raises(KeyboardInterrupt), run:
        for _ in range(14):
            trained_step(run, D, G)  # g_step of step 10 commits its batch, and the evaluation is interrupted
    assert run.step == 10
    folder = RunDir.open(tmp_path, "ctrlc")
    frame = folder.read_metrics()
    assert frame["step"].tolist() == list(range(1, 11))  # step 10's row too
    assert frame["diversity"].isna().all() and frame["d_loss"].notna().all()
    status = status_of(tmp_path, "ctrlc")
    assert (status["status"], status["step"], status["error"]) == ("stopped", 10, "interrupted (Ctrl-C)")
    errors = [e for e in folder.read_events().to_dict("records") if e["kind"] == "eval_error"]
    assert [(e["step"], e["fields"]["error"]) for e in errors] == [
        (10, "KeyboardInterrupt: the evaluation was interrupted")
    ]


# ---------------------------------------------------------------------------- 9. resume
def overpowered_step(run, D: nn.Module, G: nn.Module) -> None:
    """A step whose logits say D is sure of every example: d_overpowers goes up after its warm-up."""
    real, fake = torch.randn(8, 2), G(torch.randn(8, 2))
    d_loss = nn.functional.softplus(-D(real)).mean() + nn.functional.softplus(D(fake.detach())).mean()
    D.zero_grad(set_to_none=True)
    d_loss.backward()
    run.d_step(torch.full((8, 1), 6.0), torch.full((8, 1), -6.0), d_loss=d_loss, d_params=D)
    g_loss = nn.functional.softplus(-D(fake)).mean()
    G.zero_grad(set_to_none=True)
    g_loss.backward()
    run.g_step(g_loss, g_params=G)


def test_a_resume_keeps_the_flags_up_and_takes_no_step_past_its_target(tmp_path, nets):
    """Resumed, a run lost its flag monitor: d_overpowers vanished from the rows with no flag_cleared and
    was raised a second time later; resumed at its target, the loop took a step past it."""
    D, G = nets
    with track.init("long", root=tmp_path, steps=320) as run:
        while not run.should_stop:
            overpowered_step(run, D, G)
    folder = RunDir.open(tmp_path, "long")
    raised_at = [e["step"] for e in folder.read_events().to_dict("records") if e["kind"] == "flag"]
    assert len(raised_at) == 1 and 250 <= raised_at[0] < 320  # up before the end (a check of the test)
    with track.init("long", root=tmp_path, steps=320, resume=True) as run:
        assert run.should_stop and run.stop_reason == "steps"  # at its target already
    assert folder.last_metrics_step() == 320
    with track.init("long", root=tmp_path, steps=340, resume=True) as run:
        assert not run.should_stop
        while not run.should_stop:
            overpowered_step(run, D, G)
    frame = folder.read_metrics()
    assert frame["step"].tolist() == list(range(1, 341))
    assert set(frame["flags"].iloc[320:]) == {"d_overpowers"}  # still up, every row after the resume
    events = folder.read_events().to_dict("records")
    assert [e["step"] for e in events if e["kind"] in ("flag", "flag_cleared")] == raised_at


def test_a_diverged_run_resumed_with_its_settings_mended_goes_on(tmp_path, nets):
    """Its last row's flags say diverged, which nothing clears: restored, it ended the resumed run at its
    first step ("diverged at step 7: a value not finite", every value finite)."""
    D, G = nets
    with track.init("div", root=tmp_path, steps=100) as run:
        for _ in range(5):
            trained_step(run, D, G)
        run.d_step(torch.randn(8), torch.randn(8), d_loss=float("nan"), d_grad_norm=1.0)
        run.g_step(1.0, g_grad_norm=1.0)
        run.flush()
        assert run.stop_reason == "diverged"
    with track.init("div", root=tmp_path, steps=10, resume=True) as run:
        while not run.should_stop:
            trained_step(run, D, G)
    assert run.stop_reason == "steps" and run.error is None
    assert RunDir.open(tmp_path, "div").read_metrics()["step"].tolist() == list(range(1, 11))


def test_a_resume_records_the_baselines_once(tmp_path, nets, monkeypatch):
    D, G = nets
    monkeypatch.setattr(track_module.Evaluator, "evaluate", lambda self, G: {})
    baseline = [("baseline", {"fd_cls": 1.5})]
    monkeypatch.setattr(track_module.Evaluator, "take_events", lambda self: list(baseline))
    for steps, resume in ((10, False), (20, True)):
        with track.init("base", root=tmp_path, real=torch.randn(64, 2), eval_every=5, steps=steps,
                        resume=resume) as run:  # fmt: skip
            run.watch(G, torch.randn(8, 2))
            while not run.should_stop:
                trained_step(run, D, G)
    events = RunDir.open(tmp_path, "base").read_events().to_dict("records")
    assert [e["step"] for e in events if e["kind"] == "baseline"] == [5]


# ---------------------------------------------------------------------------- 10. a classifier not at hand
def test_a_dataset_whose_classifier_cannot_be_trained_here_keeps_its_other_metrics(tmp_path, monkeypatch):
    """dataset="mnist" with one's own images and no MNIST files: every evaluation failed whole (an
    eval_error each time, diversity and every other metric blank) and the run still said finished."""
    import gan_core.evaluation as evaluation
    from gan_core.data import DataError

    def no_files(cfg):
        raise DataError("mnist not found under 'data'")

    monkeypatch.setattr(evaluation, "get_classifier", no_files)
    G = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Unflatten(1, (1, 8, 8)))
    real = torch.rand(200, 1, 8, 8) * 2 - 1
    with track.init("mn", root=tmp_path, real=real, dataset="mnist", eval_every=5, steps=10) as run:
        run.watch(G, torch.randn(64, 4))
        while not run.should_stop:
            loss = G(torch.randn(8, 4)).mean()
            loss.backward()
            run.d_step(torch.randn(8), torch.randn(8), d_loss=1.0, d_grad_norm=1.0)
            run.g_step(loss, g_params=G)
    folder = RunDir.open(tmp_path, "mn")
    frame = folder.read_metrics().set_index("step")
    assert frame.loc[[5, 10], "diversity"].between(0.01, 5.0).all()  # measured at both evaluations
    assert frame.loc[[5, 10], "classes_covered"].isna().all() and frame.loc[[5, 10], "fd_cls"].isna().all()
    errors = [e for e in folder.read_events().to_dict("records") if e["kind"] == "eval_error"]
    assert [(e["step"], e["fields"]["error"]) for e in errors] == [
        (
            5,
            "class metrics left out: the mnist classifier cannot be trained here "
            "(mnist not found under 'data')",
        )
    ]
    assert status_of(tmp_path, "mn")["status"] == "finished"


def test_a_resume_without_its_real_examples_says_to_pass_them(tmp_path, nets):
    D, G = nets
    run = track.init("points", root=tmp_path, real=torch.randn(64, 2))
    trained_step(run, D, G)
    run.finish()
    with pytest.raises(RunDirError, match=r"data_kind='points', not 'other' \(pass the same real examples"):
        track.init("points", root=tmp_path, resume=True)
    assert RunDir.open(tmp_path, "points").read_metrics()["step"].tolist() == [1]


def test_a_one_element_numpy_array_is_logged_as_its_number(tmp_path):
    """A review (a W&B user): np.array(1.5), what np.mean of an array's slice can give, was refused as
    "got ndarray" though the README says numpy numbers are taken."""
    import numpy as np

    with track.init("arrays", root=tmp_path) as run:
        run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
        run.log({"zero_d": np.array(1.5), "one": np.array([2], dtype=np.int64), "f32": np.float32(0.25)})
        run.g_step(np.array(0.75), g_grad_norm=1.0)
        for bad, said in (
            (np.array([1.0, 2.0]), "got a numpy array of shape (2,)"),
            (np.array("a"), "got a numpy array of dtype <U1"),
            (np.array(True), "got a bool (True)"),
        ):
            with pytest.raises(track.TrackingError, match=re.escape(said)):
                run.log({"bad": bad})
    row = RunDir.open(tmp_path, "arrays").read_metrics().iloc[0]
    assert (row["zero_d"], row["one"], row["f32"], row["g_loss"]) == (1.5, 2.0, 0.25, 0.75)
    assert "bad" not in RunDir.open(tmp_path, "arrays").read_metrics().columns


@pytest.mark.parametrize("flags", [["--batch-size", "0"], ["--nz", "-1"], ["--lr", "0"], ["--lr", "1.5"]])
def test_the_own_dcgan_example_refuses_its_flags_out_of_range_before_any_run(
    tmp_path, monkeypatch, capsys, flags
):
    """--batch-size 0 ended in a traceback about the logits' shape and left a failed run behind; --lr 0
    finished a run in which nothing learned: refused in one line naming the bounds, nothing written."""
    monkeypatch.setattr(sys, "argv", ["own_dcgan.py", "--steps", "5", "--out", str(tmp_path), *flags])
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(ROOT / "examples" / "own_dcgan.py"), run_name="__main__")
    assert caught.value.code == 2
    said = capsys.readouterr().err.splitlines()[-1]
    assert (
        said == "own_dcgan.py: error: out of range; allowed: --batch-size and --nz at least 1, --lr in (0, 1]"
    )
    assert list(tmp_path.iterdir()) == []
